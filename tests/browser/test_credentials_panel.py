"""The git credentials panel in headless Chromium against the real server and a real git server
demanding HTTP Basic credentials: a wrong token is refused and not listed, the right one is
listed masked (the page never holds the token again), validated, invisible to team 2, and
deleted after the confirmation."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from oduflow.app import App
from tests.browser.conftest import PASSWORDS, SCREENSHOTS, team_url
from tests.docker.odoo_env import call
from tests.e2e.conftest import Server
from tests.security.netservers import GitHttpServer, make_bare_repo


def test_a_credential_added_listed_masked_validated_and_deleted_in_the_panel(
    web_server: Server, open_page: Callable[..., Page], app: App, tmp_path: Path
) -> None:
    token = "ghp_" + secrets.token_hex(16)
    make_bare_repo(tmp_path, "private.git")
    page = open_page(PASSWORDS["1"])
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    with GitHttpServer(root=tmp_path, auth=("carol", token)) as server:
        host = f"127.0.0.1:{server.port}"
        url = server.url("private.git").replace("http://", "http://carol:{}@")
        try:
            page.goto(team_url(web_server))
            field = page.locator('#cred-form input[name="repo_url"]')
            field.fill(url.format("ghp_notthetokennotthetoken"))
            page.locator("#cred-submit").click()
            expect(page.locator("#notice-text")).to_contain_text("Authentication failed")
            expect(page.locator("#cred-rows tr")).to_have_count(0)

            field.fill(url.format(token))
            page.locator("#cred-submit").click()
            row = page.locator(f'#cred-rows tr[data-credential="carol@{host}"]')
            expect(row).to_contain_text("ghp_****", timeout=60_000)
            expect(field).to_have_value("")
            assert token not in page.content()

            row.get_by_role("button", name="Validate").click()
            expect(row.locator(".cred-status")).to_have_text("valid")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.locator('section[aria-labelledby="cred-title"]').screenshot(
                path=str(SCREENSHOTS / "credentials.png")
            )

            other = open_page(PASSWORDS["2"])
            other.goto(team_url(web_server, "2"))
            expect(other.locator("#cred-empty")).to_be_visible()
            expect(other.locator("#cred-rows tr")).to_have_count(0)

            page.once("dialog", lambda d: d.accept())
            row.get_by_role("button", name="Delete").click()
            expect(row).to_have_count(0)
            assert errors == []
        finally:
            for cred in call(app, "list_repo_credentials"):
                if cred["host"] == host:
                    call(app, "delete_repo_credential", host=host, username=cred["username"])
