"""Odoo containers: configuration, container specs, job containers and readiness.

Works with the official ``odoo`` images unchanged: the configuration file is mounted at
``/etc/odoo/odoo.conf`` (the image's ``ODOO_RC``), the repository at ``/mnt/extra-addons``,
the filestore at ``/var/lib/odoo/filestore/<db>``.
"""

from __future__ import annotations

import configparser
import contextlib
import hashlib
import http.cookiejar
import io
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker.errors
from docker.models.containers import Container

from oduflow import docker_api
from oduflow.app import App
from oduflow.contracts import DependencyContext, DependencyStep, Progress, no_progress
from oduflow.errors import ExternalCommandError, PrerequisiteNotMetError, ValidationError
from oduflow.fsutil import UnsafePathError, read_nofollow

CONF_PATH = "/etc/odoo/odoo.conf"
ADDONS_PATH = "/mnt/extra-addons"
DATA_DIR = "/var/lib/odoo"
ODOO_PORT = 8069


@dataclass(frozen=True)
class OdooConf:
    """Connection settings Oduflow forces into an environment's ``odoo.conf``."""

    db_host: str
    db_user: str
    db_password: str
    db_name: str
    db_port: int = 5432


def render_conf(
    template_text: str, conf: OdooConf, *, admin_passwd: str | None = None, addons_path: str = ADDONS_PATH
) -> str:
    """The final ``odoo.conf``: the template's settings plus the forced connection keys."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(template_text.replace("{admin_passwd}", admin_passwd or secrets.token_hex(16)))
    if not parser.has_section("options"):
        parser.add_section("options")
    opts = parser["options"]
    opts["db_host"] = conf.db_host
    opts["db_port"] = str(conf.db_port)
    opts["db_user"] = conf.db_user
    opts["db_password"] = conf.db_password
    opts["db_name"] = conf.db_name
    opts["dbfilter"] = f"^{conf.db_name}$"
    opts["data_dir"] = DATA_DIR
    if "addons_path" not in opts:
        opts["addons_path"] = addons_path
    if "admin_passwd" not in opts:
        opts["admin_passwd"] = admin_passwd or secrets.token_hex(16)
    out = io.StringIO()
    parser.write(out)
    return out.getvalue()


def conf_template(app: App, repo_dir: Path | None) -> tuple[str, str]:
    """(text, source) of the configuration template: repository > config dir > bundled."""
    if repo_dir is not None:
        try:  # the checkout is writable from the container: read once, following no link
            data = read_nofollow(repo_dir, "odoo.conf")
        except UnsafePathError as exc:
            raise ValidationError(f"odoo.conf of the repository refused: {exc}") from None
        if data is not None:
            return data.decode("utf-8", errors="replace"), "repository"
    path = app.config_file("odoo.conf")
    source = "config directory" if path.parent == app.config.config_dir else "bundled"
    return path.read_text(encoding="utf-8"), source


# --- images --------------------------------------------------------------------------------
def image_user(app: App, image: str) -> tuple[int, int]:
    """UID/GID of ``image`` (cached by image id in the state store)."""
    client = app.docker()
    image_id = client.images.get(image).id
    cached = app.store.get("_", "image_user", image_id)
    if cached:
        return int(cached[0]), int(cached[1])
    uid, gid = docker_api.image_user(
        client, image, app.names.job_container("sys", "id"), app.names.labels("job")
    )
    app.store.put("_", "image_user", image_id, [uid, gid])
    return uid, gid


def _deps_key(app: App, image: str, repo_dir: Path, steps: list[DependencyStep]) -> str:
    """Cache key of a dependency image: base image id, the steps and their input files."""
    h = hashlib.sha256(app.docker().images.get(image).id.encode())
    for step in steps:
        h.update(json.dumps([step.name, list(step.argv)]).encode())
        for rel in step.inputs:
            path = repo_dir / rel
            h.update(rel.encode() + (path.read_bytes() if path.is_file() else b"\0"))
    return h.hexdigest()[:16]


def _has_image(app: App, ref: str) -> bool:
    try:
        app.docker().images.get(ref)
    except docker.errors.ImageNotFound:
        return False
    return True


def dependency_image(app: App, image: str, repo_dir: Path, progress: Progress = no_progress) -> str:
    """The image to run: ``image`` itself, or one with the repository's dependencies installed.

    The result is cached by a hash of the base image id, the steps and their input files,
    so the next environment with the same image and files does not install again. A build that
    fails (or loses the race against a parallel build of the same tag) removes the images it
    committed, so that no untagged image stays behind.
    """
    steps = app.hooks.dependency_steps(DependencyContext(repo_dir=repo_dir, odoo_image=image))
    if not steps:
        return image
    tag = app.names.deps_image(_deps_key(app, image, repo_dir, steps))
    if _has_image(app, tag):
        progress("dependencies: cached image reused")
        return tag
    committed: list[str] = []
    try:
        for step in steps:
            progress(f"dependencies: {step.name}")
            committed.append(_build_step(app, image, committed[-1] if committed else image, step, repo_dir))
        if not _has_image(app, tag):  # else a parallel build of the same files finished first
            repository, _, version = tag.partition(":")
            app.docker().images.get(committed[-1]).tag(repository, version)
            committed.clear()
    finally:
        for image_id in reversed(committed):
            with contextlib.suppress(docker.errors.APIError):
                docker_api.remove_image(app.docker(), image_id)
    return tag


def _build_step(app: App, base_image: str, current: str, step: DependencyStep, repo_dir: Path) -> str:
    """Run one dependency step as root in a container of ``current``; the id of the image committed.

    The committed image keeps ``base_image``'s entrypoint, command, user and working directory.
    """
    client = app.docker()
    with docker_api.throwaway(
        client,
        current,
        name=app.names.job_container("sys", "deps"),
        labels=app.names.labels("deps-build"),
        entrypoint=list(step.argv[:1]),
        command=list(step.argv[1:]),
        user="root",
        volumes={str(repo_dir): {"bind": "/mnt/repo", "mode": "ro"}},
    ) as container:
        res = docker_api.finish(container, app.config.limits.command_timeout, tail=60)
        if res.exit_code != 0:
            raise ExternalCommandError(
                f"installing {step.name} " + ("timed out" if res.timed_out else "failed"),
                command=" ".join(step.argv),
                exit_code=res.exit_code,
                output=res.logs,
            )
        base = client.images.get(base_image).attrs.get("Config") or {}
        committed = container.commit(  # untagged: only a complete build gets the cache tag
            conf={
                "Entrypoint": base.get("Entrypoint"),
                "Cmd": base.get("Cmd"),
                "User": base.get("User") or "",
                "WorkingDir": base.get("WorkingDir") or "",
                "Labels": {**(base.get("Labels") or {}), **app.names.labels("deps-image")},
            },
        )
        return str(committed.id)


# --- containers ------------------------------------------------------------------------------
@dataclass
class OdooContainerSpec:
    """Everything needed to create an environment's (or job's) Odoo container."""

    name: str
    image: str
    conf_file: Path
    repo_dir: Path | None
    filestore_dir: Path | None
    db_name: str
    sessions_dir: Path | None = None
    labels: dict[str, str] = field(default_factory=dict)
    ports: Mapping[str, Any] = field(default_factory=dict)
    command: list[str] = field(default_factory=lambda: ["odoo", "--dev=xml"])
    extra_volumes: dict[str, dict[str, str]] = field(default_factory=dict)

    def volumes(self) -> dict[str, dict[str, str]]:
        vols = {str(self.conf_file): {"bind": CONF_PATH, "mode": "ro"}}
        if self.repo_dir is not None:
            vols[str(self.repo_dir)] = {"bind": ADDONS_PATH, "mode": "rw"}
        if self.filestore_dir is not None:
            vols[str(self.filestore_dir)] = {"bind": f"{DATA_DIR}/filestore/{self.db_name}", "mode": "rw"}
        if self.sessions_dir is not None:
            vols[str(self.sessions_dir)] = {"bind": f"{DATA_DIR}/sessions", "mode": "rw"}
        vols.update(self.extra_volumes)
        return vols


def create_container(app: App, spec: OdooContainerSpec, *, restart: bool = True) -> Container:
    client = app.docker()
    try:
        return client.containers.create(
            spec.image,
            name=spec.name,
            command=spec.command,
            volumes=spec.volumes(),
            labels=spec.labels,
            ports=dict(spec.ports),
            network=app.names.network,
            restart_policy={"Name": "unless-stopped"} if restart else None,
            stop_signal="SIGTERM",
        )
    except docker.errors.ImageNotFound:
        raise PrerequisiteNotMetError(f"image '{spec.image}' not found") from None
    except docker.errors.APIError as exc:
        raise ExternalCommandError(
            f"cannot create container {spec.name}", command="docker create", output=str(exc.explanation)
        ) from None


def run_job(
    app: App,
    spec: OdooContainerSpec,
    *,
    timeout: int | None = None,
    environment: Mapping[str, str] | None = None,
) -> tuple[int, str]:
    """Run a one-off Odoo container to completion; returns (exit code, logs).

    Always removed with its anonymous volumes; the logs are bounded (their head is dropped
    beyond :data:`docker_api.MAX_OUTPUT`); exit code 124 means killed after ``timeout`` seconds.
    """
    res = docker_api.run_to_completion(
        app.docker(),
        spec.image,
        name=spec.name,
        labels=spec.labels,
        timeout=timeout or app.config.limits.command_timeout,
        command=spec.command,
        volumes=spec.volumes(),
        network=app.names.network,
        environment=dict(environment or {}),
    )
    return res.exit_code, res.logs


def container_ip(app: App, container: Container) -> str | None:
    container.reload()
    nets = container.attrs.get("NetworkSettings", {}).get("Networks", {})
    net = nets.get(app.names.network) or next(iter(nets.values()), None)
    return (net or {}).get("IPAddress") or None


def wait_ready(app: App, container: Container, db_name: str, timeout: int | None = None) -> None:
    """Wait until Odoo serves ``db_name`` (``GET /web/login?db=`` answers 200).

    ``/web/health`` alone answers before the database is loaded, so it is not readiness.
    Fails early, with the log tail, when the container exits.
    """
    timeout = timeout or app.config.limits.ready_timeout
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        container.reload()
        if container.status in ("exited", "dead"):
            logs = container.logs(tail=80).decode(errors="replace")
            raise ExternalCommandError(
                f"Odoo exited before serving database '{db_name}'",
                command="odoo",
                exit_code=container.attrs["State"].get("ExitCode"),
                output=logs,
            )
        ip = container_ip(app, container)
        if ip:
            url = f"http://{ip}:{ODOO_PORT}/web/login?db={db_name}"
            # Odoo answers a first visit with a redirect that sets the session cookie
            opener = urllib.request.build_opener(
                urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
            )
            try:
                with opener.open(url, timeout=30) as resp:
                    if resp.status == 200:
                        return
                    last = f"HTTP {resp.status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError) as exc:
                last = str(getattr(exc, "reason", exc))
        time.sleep(0.3)
    logs = container.logs(tail=60).decode(errors="replace")
    raise ExternalCommandError(
        f"Odoo did not serve database '{db_name}' within {timeout} s (last answer: {last or 'none'})",
        command="GET /web/login",
        output=logs,
    )
