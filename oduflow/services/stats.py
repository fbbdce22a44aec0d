"""Resource usage: CPU and memory of a team's environment containers, load and memory of the host,
size and free space of the data directory's filesystem."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker.errors

from oduflow import docker_api
from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.services import cowfs
from oduflow.services.environments import container_states, container_stats

MAX_SAMPLERS = 8
"""Containers sampled at once (Docker takes about a second per sample)."""
MEMINFO = Path("/proc/meminfo")


def _usage(client: docker_api.DockerClient, branch: str, name: str) -> dict[str, Any] | None:
    try:
        container = docker_api.get_container(client, name)
        stats = container_stats(container) if container is not None else {}
    except docker.errors.NotFound:  # removed between the listing and its sample
        return None
    return {"branch": branch, "container": name, **stats} if stats else None


def environment_usage(app: App, team: TeamConfig) -> list[dict[str, Any]]:
    """CPU and memory of each running environment container of ``team``, by branch."""
    branches = {rec.slug: rec.branch for rec in app.store.list_envs(team.id)}
    running = [
        (branches[slug], name)
        for slug, (name, status) in sorted(container_states(app, team).items())
        if status == "running" and slug in branches
    ]
    if not running:
        return []
    client = app.docker()
    with ThreadPoolExecutor(max_workers=min(MAX_SAMPLERS, len(running))) as pool:
        found = list(pool.map(lambda pair: _usage(client, *pair), running))
    return [row for row in found if row is not None]


def _meminfo(path: Path = MEMINFO) -> dict[str, int]:
    """``/proc/meminfo`` in KiB by field (empty where there is none)."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    values: dict[str, int] = {}
    for line in lines:
        key, _, rest = line.partition(":")
        number = rest.split()[0] if rest.split() else ""
        if number.isdigit():
            values[key] = int(number)
    return values


def host_usage() -> dict[str, Any]:
    """Load average (1, 5, 15 min), CPU count and memory of the host the server runs on."""
    mem = _meminfo()
    total = mem.get("MemTotal", 0)
    available = mem.get("MemAvailable", mem.get("MemFree", 0))
    return {
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpu_count": os.cpu_count() or 1,
        "memory_total_mb": round(total / 1024, 1),
        "memory_available_mb": round(available / 1024, 1),
        "memory_used_percent": round((total - available) / total * 100, 1) if total else 0.0,
    }


def system_stats(app: App, team: TeamConfig) -> dict[str, Any]:
    """The team's environment containers' usage, the host's, and the data directory's filesystem
    (:func:`oduflow.services.cowfs.usage`)."""
    return {
        "containers": environment_usage(app, team),
        "host": host_usage(),
        "data_filesystem": cowfs.usage(app.config),
    }
