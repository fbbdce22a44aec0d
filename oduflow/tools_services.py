"""Agent tools for auxiliary services (sidecar containers such as Redis) and their presets.

Thin wrappers over :mod:`oduflow.services.aux_services`; services are team resources: a team
sees, reaches and deletes only its own.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, cast

from pydantic import Field

from oduflow.results import ServicePreset, ServiceSummary
from oduflow.services import aux_services
from oduflow.toolspec import Call, tool

ServiceName = Annotated[
    str, Field(description="Service name (lowercase letters, digits, - and _), e.g. 'redis'.")
]


@tool(lock="team", title="Create a service", open_world=True)
def create_service(
    call: Call,
    name: ServiceName,
    image: Annotated[str, Field(description="Docker image, e.g. 'redis:7'.")],
    port: Annotated[int, Field(ge=1, le=65535, description="The port the service listens on, e.g. 6379.")],
    hostname: Annotated[
        str, Field(description="Hostname to route it at in traefik mode; default: derived from the name.")
    ] = "",
    env_vars: Annotated[
        str, Field(description="Environment variables 'K=V,K2=V2' (values may contain spaces).")
    ] = "",
) -> ServiceSummary:
    """Create a sidecar container for your team (Redis, Meilisearch...) and start it.

    Your environments' Odoo containers reach it at ``address`` (``{alias}:{port}``, e.g.
    ``oduflow-svc-redis:6379``); its port is published through your team's routing (``url``).
    Restarted by Docker unless stopped. All or nothing. Its configuration is saved as a preset
    (``restore_service`` recreates it after a delete). Returns the service as ``list_services``
    shows it (environment values masked).
    """
    spec = aux_services.new_spec(name, image, port, hostname, env_vars)
    return cast("ServiceSummary", aux_services.create_service(call.app, call.team, spec, call.progress))


@tool(lock="team", title="Delete a service", destructive=True)
def delete_service(call: Call, name: ServiceName) -> dict[str, Any]:
    """Stop and remove a service container and free its port; its preset is kept.

    Returns ``name``, ``deleted`` and ``preset_kept``.
    """
    return aux_services.delete_service(call.app, call.team, name)


@tool(lock="team", title="Update a service", open_world=True)
def update_service(call: Call, name: ServiceName) -> dict[str, Any]:
    """Pull the service's image; when its digest changed, recreate the container with identical
    settings (image, port, hostname, environment). All or nothing: if the new container fails
    to start, the old one runs again.

    Returns ``name``, ``updated``, ``status`` ("already up-to-date" or "recreated"), ``pull``
    and ``image_id`` (and ``service`` when recreated).
    """
    return aux_services.update_service(call.app, call.team, name, call.progress)


@tool(title="List services", read_only=True, idempotent=True)
def list_services(call: Call) -> list[ServiceSummary]:
    """List your team's services: status, image, port, URL, the ``address`` your Odoo reaches
    them at, and their environment variable names (values masked).

    Returns a list with, per service, ``name``, ``image``, ``port``, ``hostname``, ``env_vars``
    (names, values ``***``), ``status``, ``url``, ``host_port``, ``address``, ``container`` and
    ``image_id``.
    """
    return cast("list[ServiceSummary]", aux_services.list_services(call.app, call.team))


@tool(title="Get service logs", read_only=True, idempotent=True)
def get_service_logs(
    call: Call,
    name: ServiceName,
    lines: Annotated[int, Field(ge=1, le=5000, description="Number of last log lines (1-5000).")] = 200,
) -> dict[str, Any]:
    """The last lines of a service container's log.

    Returns ``name``, ``lines``, ``logs`` and ``truncated``.
    """
    return aux_services.service_logs(call.app, call.team, name, lines)


@tool(title="List service presets", read_only=True, idempotent=True)
def list_service_presets(call: Call) -> list[ServicePreset]:
    """List the saved service configurations (saved at every create and update) that
    ``restore_service`` can recreate.

    Returns a list with ``name``, ``image``, ``port``, ``hostname`` and ``env_vars`` (names,
    values masked).
    """
    return cast("list[ServicePreset]", aux_services.list_presets(call.app, call.team))


@tool(lock="team", title="Restore a service", open_world=True)
def restore_service(
    call: Call,
    name: ServiceName,
    image: Annotated[str, Field(description="Override the preset's image (default: keep it).")] = "",
    port: Annotated[int, Field(ge=0, le=65535, description="Override the preset's port (0: keep it).")] = 0,
    hostname: Annotated[str, Field(description="Override the preset's hostname (default: keep it).")] = "",
    env_vars: Annotated[
        str, Field(description="Override the preset's environment 'K=V,K2=V2' (default: keep it).")
    ] = "",
) -> ServiceSummary:
    """Recreate a deleted service from its preset (same image, port, hostname and environment,
    unless given here).

    Returns the service as ``create_service`` does.
    """
    saved = aux_services.preset(call.app, call.team, name)
    spec = aux_services.new_spec(name, image or saved.image, port or saved.port, hostname or saved.hostname)
    spec = replace(spec, env=aux_services.parse_env_vars(env_vars) if env_vars else saved.env)
    return cast("ServiceSummary", aux_services.create_service(call.app, call.team, spec, call.progress))


@tool(lock="team", title="Delete a service preset", destructive=True)
def delete_service_preset(call: Call, name: ServiceName) -> dict[str, Any]:
    """Forget a saved service preset (a running service is left alone).

    Returns ``name`` and ``deleted``.
    """
    return aux_services.delete_preset(call.app, call.team, name)
