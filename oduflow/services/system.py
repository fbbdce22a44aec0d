"""Shared infrastructure: ``oduflow init`` and ``oduflow destroy``, team directories."""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker.errors

from oduflow import docker_api
from oduflow.app import App, resource_path
from oduflow.config import TeamConfig, default_config_path, load
from oduflow.contracts import Progress, no_progress
from oduflow.errors import ConflictError, PrerequisiteNotMetError
from oduflow.layout import team_layout
from oduflow.services import cleanup, clonestrategy, cowfs, dbserver


@dataclass
class Report:
    """What an idempotent operation created, found in place, or removed."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "existing": self.existing,
            "removed": self.removed,
            "changed": bool(self.created or self.removed),
        }


def _copy_if_missing(src: Path, dest: Path, report: Report, mode: int = 0o644) -> None:
    if dest.exists():
        report.existing.append(str(dest))
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    dest.chmod(mode)
    report.created.append(str(dest))


def write_default_config(report: Report) -> Path:
    """Copy the bundled ``oduflow.toml`` (and the overridable conf files) when missing."""
    path = default_config_path()
    _copy_if_missing(resource_path("oduflow.toml"), path, report, mode=0o600)
    return path


def ensure_team_dirs(app: App, team: TeamConfig, report: Report) -> Path:
    """Create a team's directory tree with the default sanitize script and agent guides."""
    layout = team_layout(app, team.id)
    for d in (layout.root, *layout.subdirs()):
        if not d.is_dir():
            d.mkdir(parents=True, mode=0o700 if d == layout.root else 0o755)
            report.created.append(str(d))
    for src in sorted(resource_path("sanitize").iterdir()):
        _copy_if_missing(src, layout.sanitize / src.name, report)
    for src in sorted(resource_path("agent_guides").iterdir()):
        if src.suffix == ".md":
            _copy_if_missing(src, layout.guides / src.name, report)
    return layout.root


def _ensure_network(app: App, report: Report) -> None:
    client = app.docker()
    name = app.names.network
    if client.networks.list(names=[name]):
        report.existing.append(f"network {name}")
        return
    client.networks.create(name, driver="bridge", labels=app.names.labels("network"))
    report.created.append(f"network {name}")


def init(app: App, progress: Progress = no_progress) -> dict[str, Any]:
    """Create the shared network, the PostgreSQL container and every team's directories.

    The superuser password (random unless ``[database].password`` is set), ``pg_hba.conf`` and
    the socket directory come first: see :mod:`oduflow.services.dbserver`.
    Idempotent: a second run changes nothing and says so.
    """
    report = Report()
    mount_data_filesystem(app, report, progress, create_missing=True)
    dbserver.check_image(app, progress)
    for name in ("postgresql.conf", "odoo.conf", "pg_hba.conf"):
        _copy_if_missing(resource_path(name), app.config.config_dir / name, report)
    _ensure_network(app, report)
    dbserver.ensure_server(app, report, progress)
    app.router.init_infrastructure()
    for team in app.config.teams.values():
        ensure_team_dirs(app, team, report)
    app.store  # noqa: B018 - creates state.db
    strategy = clonestrategy.detect(app, fresh=True)
    progress(f"clone strategy: {strategy.name} ({strategy.reason})")
    return {
        **report.to_dict(),
        "clone_strategy": strategy.to_dict(),
        "data_filesystem": cowfs.usage(app.config),
    }


def mount_data_filesystem(
    app: App, report: Report, progress: Progress = no_progress, *, create_missing: bool = False
) -> bool:
    """Mount the managed copy-on-write filesystem at ``data_dir`` when configured and not mounted
    (``create_missing``: make it first when there is no image); True when it was (made and) mounted.
    See :mod:`oduflow.services.cowfs`."""
    what, description = cowfs.ensure(app.config, progress, create_missing=create_missing)
    if what == "existing":
        report.existing.append(description)
    elif what:
        report.created.append(description)
    return what in ("mounted", "created")


def bootstrap(progress: Progress = no_progress) -> dict[str, Any]:
    """``oduflow init``: write the bundled ``oduflow.toml`` when none exists, load it, then :func:`init`."""
    written = Report()
    write_default_config(written)
    result = init(App(load()), progress)
    result["created"] = written.created + result["created"]
    result["changed"] = bool(result["created"] or result["removed"])
    return result


def environment_containers(app: App) -> list[str]:
    client = app.docker()
    return [c.name for c in docker_api.list_containers(client, app.names.instance_filter(role="env"))]


def destroy(app: App, progress: Progress = no_progress) -> dict[str, Any]:
    """Remove the shared infrastructure; refuses while environments exist."""
    envs = [f"{e.team}/{e.branch}" for e in app.store.list_envs()]
    envs += [n for n in environment_containers(app) if n not in envs]
    if envs:
        raise ConflictError(
            f"{len(envs)} environment(s) still exist ({', '.join(envs[:10])}): "
            "delete them first (delete_environment)"
        )
    report = Report()
    client = app.docker()
    app.router.destroy_infrastructure()
    for name in (app.names.db_container,):
        progress(f"removing {name}")
        if docker_api.remove_container(client, name):
            report.removed.append(f"container {name}")
    for image in client.images.list(filters={"label": f"oduflow.instance={app.names.prefix}"}):
        if docker_api.remove_image(client, image.id):  # an untagged parent may be gone with its child
            report.removed.append(f"image {', '.join(image.tags) or image.short_id}")
    for vol in client.volumes.list(filters={"label": f"oduflow.instance={app.names.prefix}"}):
        vol.remove(force=True)
        report.removed.append(f"volume {vol.name}")
    for name in cleanup.leftover_volumes(app):  # what containers removed without -v left
        with contextlib.suppress(docker.errors.APIError):
            if docker_api.remove_volume(client, name):
                report.removed.append(f"anonymous volume {name}")
    team_networks = client.networks.list(filters=app.names.instance_filter(role="team-network"))
    for net in [*team_networks, *client.networks.list(names=[app.names.network])]:
        try:
            net.remove()
            report.removed.append(f"network {net.name}")
        except docker.errors.APIError as exc:
            raise PrerequisiteNotMetError(f"cannot remove network {net.name}: {exc.explanation}") from None
    dbserver.remove_files(app, report)
    _unmount_data_filesystem(app, report)
    return report.to_dict()


def _unmount_data_filesystem(app: App, report: Report) -> None:
    """``destroy``: unmount the managed filesystem; its image file stays (it holds the templates
    and workspaces, which ``destroy`` keeps everywhere: the next ``init`` mounts it again)."""
    fs = cowfs.managed(app.config)
    if fs is None:
        return
    store = app.__dict__.get("store")  # the state database is on it: close it if it was opened
    if store is not None:
        store.close()
    if cowfs.unmount(fs):
        report.removed.append(
            f"mount of {fs.image} at {fs.mount_point} (the image file is kept: it holds the "
            "templates and workspaces; delete it to free its space)"
        )
