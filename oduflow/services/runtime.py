"""Odoo containers: configuration, container specs, job containers and readiness.

Works with the official ``odoo`` images unchanged: the configuration file is mounted at
``/etc/odoo/odoo.conf`` (the image's ``ODOO_RC``), the repository at ``/mnt/extra-addons``,
the filestore at ``/var/lib/odoo/filestore/<db>``.

Every container Oduflow runs from an Odoo image (environments, template editors, jobs,
dependency builds, probes) is hardened by :func:`hardening`: only the capabilities Odoo and
a root shell installing packages need, ``no-new-privileges`` (except where root commands are
run with ``docker exec``), and the ``[limits]`` on memory, CPU and processes. The image's
entrypoint is not run: it would copy ``db_password`` from ``odoo.conf`` onto Odoo's command
line, visible in the host's ``ps`` (see :func:`entry`).
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker.errors
from docker.models.containers import Container

from oduflow import boundedhttp, docker_api, images
from oduflow.app import App
from oduflow.contracts import (
    NEEDS_REMOUNT,
    DependencyContext,
    DependencyStep,
    Progress,
    StorageBackend,
    no_progress,
)
from oduflow.errors import ExternalCommandError, ValidationError
from oduflow.fsutil import UnsafePathError, read_nofollow
from oduflow.services import cowfs

CONF_PATH = "/etc/odoo/odoo.conf"
ADDONS_PATH = "/mnt/extra-addons"
EXTRA_ADDONS_PREFIX = "/mnt/extra-addons-"
"""Where extra addons repository ``NAME`` is mounted (read-only): ``/mnt/extra-addons-NAME``."""
DATA_DIR = "/var/lib/odoo"
ODOO_PORT = 8069

RUN_CAPS = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID")
"""Capabilities left to Odoo containers: what ``root`` needs to install packages (``dpkg``
chowns and writes others' files, ``apt`` drops to its ``_apt`` user) and to signal Odoo.
Docker's defaults less ``MKNOD`` (device nodes land on host directories), ``NET_RAW``,
``NET_BIND_SERVICE``, ``SYS_CHROOT``, ``SETFCAP``, ``SETPCAP`` and ``AUDIT_WRITE``."""
BUILD_CAPS = (*RUN_CAPS, "SETFCAP")
"""Dependency builds also keep ``SETFCAP``: package scripts (``setcap``) give files capabilities."""


def hardening(app: App, *, build: bool = False, root_exec: bool = False) -> dict[str, Any]:
    """``containers.create`` arguments that confine a container of an Odoo image.

    Exactly :data:`RUN_CAPS` (:data:`BUILD_CAPS` for ``build``) whatever the engine's defaults,
    no privilege gain through setuid or file capabilities (``no-new-privileges``), and the
    ``[limits]`` ``container_memory_mb`` (no swap beyond it), ``container_cpus`` and
    ``container_pids`` (0: unlimited).

    ``root_exec`` (serving containers, where ``run_odoo_command`` runs commands as root with
    ``docker exec``): without ``no-new-privileges``. Docker gives a root ``docker exec`` in a
    container whose main process is not root its capabilities only at ``execve`` (the rule for
    uid 0), which ``no-new-privileges`` turns off: root would have none, not even ``CHOWN``,
    and could not install a package. The capability set stays :data:`RUN_CAPS`.
    """
    limits = app.config.limits
    args: dict[str, Any] = {"cap_drop": ["ALL"], "cap_add": list(BUILD_CAPS if build else RUN_CAPS)}
    if not root_exec:
        args["security_opt"] = ["no-new-privileges:true"]
    if limits.container_memory_mb > 0:
        args["mem_limit"] = args["memswap_limit"] = f"{limits.container_memory_mb}m"
    if limits.container_cpus > 0:
        args["nano_cpus"] = int(limits.container_cpus * 1e9)
    if limits.container_pids > 0:
        args["pids_limit"] = limits.container_pids
    return args


def entry(command: list[str]) -> dict[str, Any]:
    """``entrypoint`` and ``command`` that run ``command`` itself, without the image's entrypoint.

    The official entrypoint only waits for PostgreSQL (Oduflow has done so) and appends
    ``--db_host/--db_port/--db_user/--db_password`` read from ``odoo.conf``, which Odoo reads
    anyway: so the password stays in the file and never reaches a command line. An ``odoo``
    command gets ``-c`` with the mounted configuration (the image's ``ODOO_RC``).
    """
    program, *args = command
    if program == "odoo" and not any(a in ("-c", "--config") or a.startswith("--config=") for a in args):
        args = [*args, "-c", CONF_PATH]
    return {"entrypoint": [program], "command": args}


def docker_restarts(app: App, backend: StorageBackend | None) -> bool:
    """Whether Docker may restart an environment's container by itself (after a reboot).

    Not when its filestore is a mount Oduflow makes (``needs_remount`` backends such as
    ``overlay``), nor when the whole data directory is (the copy-on-write filesystem of
    :mod:`oduflow.services.cowfs`): after a reboot the container would serve empty directories,
    which Docker would even create on the bare mount point. Oduflow starts those itself once
    everything is mounted again (:func:`oduflow.services.environments.restore_environments`).
    ``backend`` None: an environment without a recorded filestore backend.
    """
    if cowfs.managed(app.config) is not None:
        return False
    return backend is None or NEEDS_REMOUNT not in backend.capabilities


@dataclass(frozen=True)
class OdooConf:
    """Connection settings Oduflow forces into an environment's ``odoo.conf``."""

    db_host: str
    db_user: str
    db_password: str
    db_name: str
    db_port: int = 5432


def render_conf(
    template_text: str,
    conf: OdooConf,
    *,
    admin_passwd: str | None = None,
    addons_path: str = ADDONS_PATH,
    extra_paths: Sequence[str] = (),
) -> str:
    """The final ``odoo.conf``: the template's settings plus the forced connection keys.

    ``extra_paths`` (the mounts of extra addons repositories) are appended to ``addons_path``
    (the template's, else ``addons_path``) unless already listed there.
    """
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
    listed = [p.strip() for p in opts["addons_path"].split(",") if p.strip()]
    if any(p not in listed for p in extra_paths):
        opts["addons_path"] = ",".join([*listed, *(p for p in extra_paths if p not in listed)])
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
        client, image, app.names.job_container("sys", "id"), app.names.labels("job"), **hardening(app)
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
        images.check_image(app.docker(), tag, own=app.names.labels("deps-image"))
        return tag
    committed: list[str] = []
    try:
        for step in steps:
            progress(f"dependencies: {step.name}")
            committed.append(_build_step(app, image, committed[-1] if committed else image, step, repo_dir))
        if not _has_image(app, tag):  # else a parallel build of the same files finished first
            repository, _, version = tag.partition(":")
            images.check_image(app.docker(), committed[-1], own=app.names.labels("deps-image"))
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
        **hardening(app, build=True),
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
    team: str | None = None
    """Set for a team's serving container: it joins the team's network (its services) too."""

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
    """Create (not start) the container of ``spec``, hardened; Docker restarts it only if ``restart``."""
    # refused (and removed) when the image brings labels of a reserved namespace along
    container = docker_api.create_container(
        app.docker(),
        spec.image,
        name=spec.name,
        **entry(spec.command),
        volumes=spec.volumes(),
        labels=spec.labels,
        ports=dict(spec.ports),
        network=app.names.network,
        restart_policy={"Name": "unless-stopped" if restart else "no"},
        stop_signal="SIGTERM",
        **hardening(app, root_exec=True),
    )
    if spec.team is not None:
        try:
            app.docker().networks.get(team_network(app, spec.team)).connect(container)
        except docker.errors.APIError as exc:
            docker_api.discard(container)
            raise ExternalCommandError(
                f"cannot attach {spec.name} to its team's network",
                command="docker network connect",
                output=str(exc.explanation),
            ) from None
    return container


def team_network(app: App, team_id: str) -> str:
    """The name of ``team_id``'s own network, created when missing.

    A team's services are on it alone, its environments' containers on it and on the shared
    network: another team's containers can neither resolve nor reach its services.
    """
    client, name = app.docker(), app.names.team_network(team_id)
    if any(n.name == name for n in client.networks.list(names=[name])):
        return name
    try:
        client.networks.create(name, driver="bridge", labels=app.names.labels("team-network", team_id))
    except docker.errors.APIError as exc:
        if exc.status_code != 409:  # 409: a parallel call created it first
            raise ExternalCommandError(
                f"cannot create network {name}", command="docker network create", output=str(exc.explanation)
            ) from None
    return name


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
        **entry(spec.command),
        volumes=spec.volumes(),
        network=app.names.network,
        environment=dict(environment or {}),
        **hardening(app),
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
            logs = docker_api.read_logs(container, tail=80, max_output=16_000)[0]
            raise ExternalCommandError(
                f"Odoo exited before serving database '{db_name}'",
                command="odoo",
                exit_code=container.attrs["State"].get("ExitCode"),
                output=logs,
            )
        ip = container_ip(app, container)
        if ip:
            url = f"http://{ip}:{ODOO_PORT}/web/login?db={db_name}"
            # Odoo answers a first visit with a redirect that sets the session cookie; each
            # attempt has a deadline of its own: a server that drips its answer cannot stall it
            cookies = urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
            try:
                with (
                    boundedhttp.Deadline(min(30.0, max(1.0, deadline - time.monotonic()))) as bound,
                    boundedhttp.opener(bound, cookies).open(url, timeout=30) as resp,
                ):
                    if resp.status == 200:
                        return
                    last = f"HTTP {resp.status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError) as exc:
                last = str(getattr(exc, "reason", exc))
        time.sleep(0.3)
    logs = docker_api.read_logs(container, tail=60, max_output=16_000)[0]
    raise ExternalCommandError(
        f"Odoo did not serve database '{db_name}' within {timeout} s (last answer: {last or 'none'})",
        command="GET /web/login",
        output=logs,
    )
