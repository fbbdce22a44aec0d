"""Auxiliary services: a team's sidecar containers (Redis, Meilisearch...) and their presets.

A service is one container ``{prefix}_{team}_svc.{name}`` of any image (refused when it brings
labels of Oduflow's or Traefik's namespace), restart policy ``unless-stopped``, confined like the
Odoo containers (:func:`oduflow.services.runtime.hardening`), routed by the routing plugin
(owner ``service:{name}``: a host port of the team's range, or a Traefik host). It is on its
team's network alone (:func:`oduflow.services.runtime.team_network`), where the team's Odoo
containers reach it as ``{prefix}-svc-{name}:{port}``; another team's containers can neither
resolve nor reach it.

Every create and update saves the service's configuration as a preset (the state store's
per-team records, kind :data:`PRESETS`), which :func:`restore_service` recreates after a delete.
Environment values are secrets: listings show the variable names only.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import docker.errors
from docker.models.containers import Container

from oduflow import docker_api, images
from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.contracts import Progress, Route, RouteRequest, no_progress
from oduflow.errors import ConflictError, ExternalCommandError, NotFoundError, ValidationError
from oduflow.naming import validate_name
from oduflow.rollback import Steps
from oduflow.services import runtime

PRESETS = "service_preset"
ROLE = "service"
MASK = "***"
START_GRACE_S = 3.0
"""A service must still run this long after its start (else its start failed)."""

_PAIR_START = re.compile(r",(?=\s*[A-Za-z_][A-Za-z0-9_.-]*=)")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_HOST = re.compile(
    r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
)


def parse_env_vars(text: str) -> dict[str, str]:
    """``"K=V,K2=V2"`` as a dict; values may hold spaces (and commas not followed by ``KEY=``)."""
    out: dict[str, str] = {}
    for pair in _PAIR_START.split(text.strip()) if text.strip() else []:
        key, sep, value = pair.strip().partition("=")
        if not sep or not _KEY.fullmatch(key):
            raise ValidationError(f"env_vars: {pair.strip()!r} is not KEY=VALUE (give 'K=V,K2=V2')")
        out[key] = value
    return out


def check_hostname(hostname: str) -> str:
    """``hostname`` lowercased if it is a DNS name (or empty), else :class:`ValidationError`."""
    host = hostname.strip().lower()
    if host and not _HOST.fullmatch(host):
        raise ValidationError(f"invalid hostname {hostname!r}: give a DNS name such as search.example.com")
    return host


@dataclass(frozen=True)
class ServiceSpec:
    """What recreates a service: its preset."""

    name: str
    image: str
    port: int
    hostname: str = ""
    env: dict[str, str] = field(default_factory=dict)

    def masked(self) -> dict[str, Any]:
        """The preset as listings show it: variable names, values masked."""
        return {
            "name": self.name,
            "image": self.image,
            "port": self.port,
            "hostname": self.hostname,
            "env_vars": dict.fromkeys(self.env, MASK),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServiceSpec:
        return cls(
            data["name"], data["image"], int(data["port"]), data.get("hostname", ""), dict(data["env"])
        )


def new_spec(name: str, image: str, port: int, hostname: str = "", env_vars: str = "") -> ServiceSpec:
    """A validated :class:`ServiceSpec` from the tools' arguments."""
    validate_name("service", name)
    if not image.strip():
        raise ValidationError("image is required, e.g. 'redis:7'")
    if not 1 <= port <= 65535:
        raise ValidationError(f"port {port} is not a port number (1-65535)")
    return ServiceSpec(name, image.strip(), port, check_hostname(hostname), parse_env_vars(env_vars))


# --- containers ---------------------------------------------------------------------------------
def route_request(team: TeamConfig, spec: ServiceSpec) -> RouteRequest:
    """The route of a service: ``svc--{name}`` can be no environment's slug (no ``--`` in those)."""
    return RouteRequest(
        team=team,
        owner=f"service:{spec.name}",
        slug=f"svc--{spec.name}",
        container_port=spec.port,
        host=spec.hostname,
    )


def find(app: App, team: TeamConfig, name: str) -> Container | None:
    """The team's container of service ``name`` (only one carrying its labels counts)."""
    container = docker_api.get_container(app.docker(), app.names.service_container(team.id, name))
    if container is None:
        return None
    wanted = app.names.labels(ROLE, team.id, service=name)
    return container if all(container.labels.get(k) == v for k, v in wanted.items()) else None


def get(app: App, team: TeamConfig, name: str) -> Container:
    """The container of service ``name`` or :class:`NotFoundError`."""
    validate_name("service", name)
    container = find(app, team, name)
    if container is None:
        raise NotFoundError(f"no service '{name}' (list_services shows your team's services)")
    return container


def _make(app: App, team: TeamConfig, spec: ServiceSpec, route: Route, name: str) -> Container:
    """Create (not start) the service's container ``name``, on its team's network only."""
    client, network = app.docker(), runtime.team_network(app, team.id)
    endpoint = client.api.create_endpoint_config(aliases=[app.names.service_alias(spec.name)])
    return docker_api.create_container(
        client,
        spec.image,
        name=name,
        labels=app.names.labels(
            ROLE, team.id, service=spec.name, image=spec.image, port=str(spec.port), hostname=spec.hostname
        )
        | dict(route.labels),
        environment=dict(spec.env),
        ports=dict(route.ports),
        network=network,
        networking_config={network: endpoint},
        restart_policy={"Name": "unless-stopped"},
        **runtime.hardening(app),
    )


def _start(container: Container) -> None:
    """Start ``container`` and check that it still runs :data:`START_GRACE_S` later."""
    docker_api.start(container)
    deadline = time.monotonic() + START_GRACE_S
    while time.monotonic() < deadline:
        container.reload()  # unless-stopped: Docker restarts a service that exits, so a restart fails too
        if container.status in ("exited", "dead", "restarting") or container.attrs.get("RestartCount"):
            logs = docker_api.read_logs(container, tail=40, max_output=8_000)[0]
            raise ExternalCommandError(
                f"service container {container.name} exited at start",
                command="docker start",
                exit_code=container.attrs["State"].get("ExitCode"),
                output=logs,
            )
        time.sleep(0.2)


def _check_image(app: App, image: str) -> None:
    docker_api.ensure_image(app.docker(), image)
    images.check_image(app.docker(), image)


def summary(app: App, team: TeamConfig, container: Container) -> dict[str, Any]:
    """What listings show of a service container (env values masked)."""
    spec = spec_of(container)
    route = app.router.route(route_request(team, spec))  # stable: finds the existing route again
    return spec.masked() | {
        "status": container.status,
        "url": route.url,
        "host_port": route.host_port,
        "address": f"{app.names.service_alias(spec.name)}:{spec.port}",
        "container": container.name,
        "image_id": container.attrs.get("Image", ""),
    }


def spec_of(container: Container) -> ServiceSpec:
    """The settings a service container runs with, read back from Docker."""
    labels = container.labels
    config = container.attrs.get("Config") or {}
    wanted = dict(item.partition("=")[::2] for item in config.get("Env") or [])
    image_env = _image_env(container)
    env = {k: v for k, v in wanted.items() if image_env.get(k) != v}
    return ServiceSpec(
        name=labels["oduflow.service"],
        image=labels.get("oduflow.image", config.get("Image", "")),
        port=int(labels.get("oduflow.port", "0")),
        hostname=labels.get("oduflow.hostname", ""),
        env=env,
    )


def _image_env(container: Container) -> dict[str, str]:
    try:
        env = container.image.attrs.get("Config", {}).get("Env") or []
    except docker.errors.ImageNotFound:
        return {}
    return dict(item.partition("=")[::2] for item in env)


# --- operations -----------------------------------------------------------------------------------
def save_preset(app: App, team: TeamConfig, spec: ServiceSpec) -> None:
    app.store.put(team.id, PRESETS, spec.name, asdict(spec))


def create_service(
    app: App, team: TeamConfig, spec: ServiceSpec, progress: Progress = no_progress
) -> dict[str, Any]:
    """Create and start service ``spec``; all or nothing (no container, no port, preset unchanged)."""
    if find(app, team, spec.name) is not None:
        raise ConflictError(f"service '{spec.name}' exists (update_service or delete_service it)")
    progress("check image")
    _check_image(app, spec.image)
    request = route_request(team, spec)
    name = app.names.service_container(team.id, spec.name)
    with Steps("create_service", progress) as steps:
        steps.begin("route")
        route = app.router.route(request)
        steps.undo(lambda: app.router.release(request))
        steps.begin("create container")
        container = _make(app, team, spec, route, name)
        steps.undo(lambda: docker_api.discard(container))
        steps.begin("start container")
        _start(container)
        save_preset(app, team, spec)
    container.reload()
    return summary(app, team, container)


def delete_service(app: App, team: TeamConfig, name: str) -> dict[str, Any]:
    """Remove the service's container and free its route; its preset is kept."""
    container = get(app, team, name)
    spec = spec_of(container)
    docker_api.remove_container(app.docker(), str(container.name))
    app.router.release(route_request(team, spec))
    return {"name": name, "deleted": True, "preset_kept": app.store.get(team.id, PRESETS, name) is not None}


def list_services(app: App, team: TeamConfig) -> list[dict[str, Any]]:
    """The team's services with status, URL, address and env variable names."""
    found = docker_api.list_containers(app.docker(), app.names.instance_filter(role=ROLE, team=team.id))
    return [summary(app, team, c) for c in sorted(found, key=lambda c: c.labels.get("oduflow.service", ""))]


def service_logs(app: App, team: TeamConfig, name: str, lines: int = 200) -> dict[str, Any]:
    """The last ``lines`` lines of the service's logs."""
    text, truncated = docker_api.read_logs(get(app, team, name), tail=lines)
    return {"name": name, "lines": lines, "logs": text, "truncated": truncated}


def _pull(app: App, image: str) -> str:
    """Pull ``image``; what happened, in words (a failed pull keeps the local image)."""
    try:
        app.docker().images.pull(image)
    except docker.errors.DockerException as exc:
        _check_image(app, image)  # still there locally: compared as it is
        return f"pull failed ({str(exc)[:200]}); compared with the local image"
    return "pulled"


def update_service(app: App, team: TeamConfig, name: str, progress: Progress = no_progress) -> dict[str, Any]:
    """Pull the service's image; recreate it with identical settings when its digest changed.

    All or nothing: the old container is stopped and set aside while the new one starts, and
    back (started again) if the new one fails.
    """
    old = get(app, team, name)
    spec = spec_of(old)
    progress(f"pull {spec.image}")
    pulled = _pull(app, spec.image)
    images.check_image(app.docker(), spec.image)
    new_id = app.docker().images.get(spec.image).id
    if new_id == old.attrs.get("Image"):
        return {
            "name": name,
            "updated": False,
            "status": "already up-to-date",
            "pull": pulled,
            "image_id": new_id,
        }
    container = _replace(app, team, spec, old, progress)
    save_preset(app, team, spec)
    return {"name": name, "updated": True, "status": "recreated", "pull": pulled, "image_id": new_id} | {
        "service": summary(app, team, container)
    }


def _replace(app: App, team: TeamConfig, spec: ServiceSpec, old: Container, progress: Progress) -> Container:
    name = str(old.name)
    was_running = old.status == "running"
    with Steps("update_service", progress) as steps:
        steps.begin("stop old container")
        old.stop(timeout=10)
        steps.undo(lambda: old.start() if was_running else None)
        old.rename(f"{name}.previous")
        steps.undo(lambda: old.rename(name))
        steps.begin("create container")
        container = _make(app, team, spec, app.router.route(route_request(team, spec)), name)
        steps.undo(lambda: docker_api.discard(container))
        steps.begin("start container")
        _start(container)
    docker_api.discard(old)
    container.reload()
    return container


def list_presets(app: App, team: TeamConfig) -> list[dict[str, Any]]:
    """The team's saved presets (env values masked)."""
    return [ServiceSpec.from_dict(v).masked() for v in app.store.items(team.id, PRESETS).values()]


def preset(app: App, team: TeamConfig, name: str) -> ServiceSpec:
    """The preset ``name`` or :class:`NotFoundError`."""
    validate_name("service", name)
    data = app.store.get(team.id, PRESETS, name)
    if data is None:
        raise NotFoundError(f"no service preset '{name}' (list_service_presets shows them)")
    return ServiceSpec.from_dict(data)


def delete_preset(app: App, team: TeamConfig, name: str) -> dict[str, Any]:
    """Forget preset ``name`` (a running service is left alone)."""
    preset(app, team, name)
    app.store.delete(team.id, PRESETS, name)
    return {"name": name, "deleted": True}
