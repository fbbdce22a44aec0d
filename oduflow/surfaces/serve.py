"""Running the server: HTTP (uvicorn) or stdio."""

from __future__ import annotations

import logging

import docker.errors
import uvicorn

from oduflow.app import App
from oduflow.errors import OduflowError, ValidationError
from oduflow.services import dbserver, system
from oduflow.services.environments import restore_environments
from oduflow.surfaces.http import build_http_app, startup_lines, startup_warnings
from oduflow.surfaces.mcp import build_mcp

log = logging.getLogger("oduflow")


def mount_data(app: App) -> None:
    """Mount the managed copy-on-write filesystem at ``data_dir`` (a loop mount does not survive
    a reboot) and start the database container Docker could not start without it.

    A filesystem that cannot be mounted stops the server (:class:`OduflowError`): it would
    write its state onto the bare mount point. A database server that does not start is logged.
    """
    if not system.mount_data_filesystem(app, system.Report(), log.info):
        return
    log.info("mounted the copy-on-write filesystem at %s", app.data_dir)
    try:
        if dbserver.start_existing(app, log.info):
            log.info("started %s", app.names.db_container)
    except (OduflowError, docker.errors.DockerException) as exc:
        log.warning("the database server did not start (run 'oduflow init'): %s", exc)


def restore_mounts(app: App) -> None:
    """Remount environment filestores (mounts do not survive a reboot or a dead daemon) and
    start the environments whose container waits for it; each failure is logged, none stops
    the others."""
    try:
        report = restore_environments(app, log.info)
    except OduflowError as exc:
        log.warning("filestores not checked at start: %s", exc)
        return
    if report.repaired:
        log.info("remounted %d filestore(s): %s", len(report.repaired), ", ".join(report.repaired))
    if report.started:
        log.info("started %d environment(s): %s", len(report.started), ", ".join(report.started))
    for key, reason in report.failed.items():
        log.warning("environment %s not restored (its container stays stopped): %s", key, reason)


def serve(
    app: App,
    *,
    transport: str = "http",
    host: str | None = None,
    port: int | None = None,
    stdio_team: str = "1",
) -> None:
    """Serve MCP over Streamable HTTP (``/mcp``) or stdio until interrupted."""
    mount_data(app)
    restore_mounts(app)
    if transport == "stdio":
        build_mcp(app, fixed_team=stdio_team).run(transport="stdio", show_banner=False)
        return
    if transport != "http":
        raise ValidationError(f"unknown transport {transport!r}: use http or stdio")
    host = host or app.config.server.host
    port = port or app.config.server.port
    for line in startup_lines(app.config, port):
        log.info(line)
    for line in startup_warnings(app.config):
        log.warning(line)
    uvicorn.run(build_http_app(app), host=host, port=port, log_level="info", workers=1)
