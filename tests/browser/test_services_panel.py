"""The services panel in headless Chromium against the real server: a Redis service created from
the form shows with its address and masked environment, its logs open, team 2 never sees it, and
it is deleted after the confirmation (its preset stays, and is forgotten from the panel)."""

from __future__ import annotations

from collections.abc import Callable

import docker
from playwright.sync_api import Page, expect

from oduflow.app import App
from tests.browser.conftest import PASSWORDS, team_url
from tests.docker.odoo_env import call
from tests.e2e.conftest import Server
from tests.images.redis import ensure_redis_image

SECRET = "panel-secret-value"


def test_a_service_created_seen_and_deleted_in_the_panel(
    web_server: Server, open_page: Callable[..., Page], app: App, docker_client: docker.DockerClient
) -> None:
    image = ensure_redis_image(docker_client)
    page = open_page(PASSWORDS["1"])
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(team_url(web_server))
    form = page.locator("#svc-form")
    form.locator('input[name="name"]').fill("panel-redis")
    form.locator('input[name="image"]').fill(image)
    form.locator('input[name="port"]').fill("6379")
    form.locator('input[name="env_vars"]').fill(f"TOKEN={SECRET}")
    try:
        form.locator('button[type="submit"]').click()
        row = page.locator('#svc-rows tr[data-service="panel-redis"]')
        expect(row).to_contain_text("running", timeout=60_000)
        expect(row).to_contain_text(app.names.service_alias("panel-redis") + ":6379")
        expect(row).to_contain_text("TOKEN")
        assert SECRET not in page.content()
        row.get_by_role("button", name="Logs").click()
        expect(page.locator("#svc-logs")).to_contain_text("Ready to accept connections")

        other = open_page(PASSWORDS["2"])
        other.goto(team_url(web_server, "2"))
        expect(other.locator("#svc-empty")).to_be_visible()
        expect(other.locator("#svc-rows tr")).to_have_count(0)

        page.once("dialog", lambda d: d.accept())
        row.get_by_role("button", name="Delete").click()
        expect(row).to_have_count(0, timeout=60_000)
        preset = page.locator('#preset-rows tr[data-preset="panel-redis"]')
        expect(preset).to_be_visible()
        preset.get_by_role("button", name="Forget").click()
        expect(preset).to_have_count(0)
        assert errors == []
    finally:
        if any(s["name"] == "panel-redis" for s in call(app, "list_services")):
            call(app, "delete_service", name="panel-redis")
        if any(p["name"] == "panel-redis" for p in call(app, "list_service_presets")):
            call(app, "delete_service_preset", name="panel-redis")
