"""Odoo containers: configuration, container specs, job containers and readiness.

Works with the official ``odoo`` images unchanged: the configuration file is mounted at
``/etc/odoo/odoo.conf`` (the image's ``ODOO_RC``), the repository at ``/mnt/extra-addons``,
the filestore at ``/var/lib/odoo/filestore/<db>``.
"""

from __future__ import annotations

import configparser
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
from oduflow.contracts import DependencyContext, Progress, no_progress
from oduflow.errors import ExternalCommandError, PrerequisiteNotMetError
from oduflow.naming import under

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
    if repo_dir is not None and (repo_dir / "odoo.conf").is_file():
        path = under(repo_dir, "odoo.conf")  # a symlink out of the checkout is refused
        return path.read_text(encoding="utf-8"), "repository"
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


def dependency_image(app: App, image: str, repo_dir: Path, progress: Progress = no_progress) -> str:
    """The image to run: ``image`` itself, or one with the repository's dependencies installed.

    The result is cached by a hash of the base image id, the steps and their input files,
    so the next environment with the same image and files does not install again.
    """
    steps = app.hooks.dependency_steps(DependencyContext(repo_dir=repo_dir, odoo_image=image))
    if not steps:
        return image
    client = app.docker()
    h = hashlib.sha256(client.images.get(image).id.encode())
    for step in steps:
        h.update(json.dumps([step.name, list(step.argv)]).encode())
        for rel in step.inputs:
            path = repo_dir / rel
            h.update(rel.encode() + (path.read_bytes() if path.is_file() else b"\0"))
    tag = app.names.deps_image(h.hexdigest()[:16])
    try:
        client.images.get(tag)
        progress("dependencies: cached image reused")
        return tag
    except docker.errors.ImageNotFound:
        pass
    current = image
    for step in steps:
        progress(f"dependencies: {step.name}")
        container = client.containers.create(
            current,
            name=app.names.job_container("sys", "deps"),
            entrypoint=list(step.argv[:1]),
            command=list(step.argv[1:]),
            user="root",
            volumes={str(repo_dir): {"bind": "/mnt/repo", "mode": "ro"}},
            labels=app.names.labels("deps-build"),
        )
        try:
            container.start()
            result = docker_api.wait_healthy_exit(container, app.config.limits.command_timeout)
            if result.get("StatusCode") != 0:
                logs = container.logs(tail=60).decode(errors="replace")
                raise ExternalCommandError(
                    f"installing {step.name} failed",
                    command=" ".join(step.argv),
                    exit_code=int(result.get("StatusCode", -1)),
                    output=logs,
                )
            base = client.images.get(image).attrs.get("Config") or {}
            committed = container.commit(  # untagged: only a complete build gets the cache tag
                conf={
                    "Entrypoint": base.get("Entrypoint"),
                    "Cmd": base.get("Cmd"),
                    "User": base.get("User") or "",
                    "WorkingDir": base.get("WorkingDir") or "",
                    "Labels": {**(base.get("Labels") or {}), **app.names.labels("deps-image")},
                },
            )
            current = committed.id
        finally:
            container.remove(force=True)
    repository, _, version = tag.partition(":")
    client.images.get(current).tag(repository, version)
    return tag


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
    """Run a one-off Odoo container to completion; returns (exit code, logs). Always removed."""
    client = app.docker()
    try:
        container = client.containers.create(
            spec.image,
            name=spec.name,
            command=spec.command,
            volumes=spec.volumes(),
            labels=spec.labels,
            network=app.names.network,
            environment=dict(environment or {}),
        )
    except docker.errors.APIError as exc:
        raise ExternalCommandError(
            f"cannot create job container {spec.name}", command="docker create", output=str(exc.explanation)
        ) from None
    try:
        container.start()
        result = docker_api.wait_healthy_exit(container, timeout or app.config.limits.command_timeout)
        logs = container.logs(stdout=True, stderr=True).decode(errors="replace")
        return int(result.get("StatusCode", -1)), logs
    finally:
        container.remove(force=True)


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
