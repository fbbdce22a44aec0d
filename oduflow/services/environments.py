"""Environments: one per branch (listing and inspection)."""

from __future__ import annotations

from typing import Any

from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.errors import OduflowError
from oduflow.state import EnvRecord


def container_states(app: App, team: TeamConfig) -> dict[str, str]:
    """Container name -> Docker status for the team's environment containers."""
    client = app.docker()
    return {c.name: c.status for c in client.containers.list(
        all=True, filters=app.names.instance_filter(role="env", team=team.id))}


def summarize(app: App, rec: EnvRecord, states: dict[str, str] | None) -> dict[str, Any]:
    p = rec.params
    name = app.names.env_container(rec.team, rec.slug)
    if states is None:
        status = "unknown"
    elif rec.status != "ready":
        status = rec.status
    else:
        status = states.get(name, "missing")
    return {"branch": rec.branch, "status": status, "url": p.get("url", ""),
            "template": p.get("template", ""), "odoo_image": p.get("odoo_image", ""),
            "repo_url": p.get("repo_url", ""), "protected": rec.protected,
            "container": name}


def list_environments(app: App, team: TeamConfig) -> list[dict[str, Any]]:
    """The team's environments with status, URL, image, template and repository."""
    records = app.store.list_envs(team.id)
    try:
        states: dict[str, str] | None = container_states(app, team)
    except OduflowError:
        states = None
    return [summarize(app, rec, states) for rec in records]
