"""Running the server: HTTP (uvicorn) or stdio."""

from __future__ import annotations

import logging

import uvicorn

from oduflow.app import App
from oduflow.errors import OduflowError, ValidationError
from oduflow.services.environments import restore_environments
from oduflow.surfaces.http import build_http_app, startup_lines, startup_warnings
from oduflow.surfaces.mcp import build_mcp

log = logging.getLogger("oduflow")


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
