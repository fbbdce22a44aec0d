"""The extra addons panel in headless Chromium against the real server and a real git remote:
clone a repository, pull it, protect it (Delete disabled, the API refusing too), invisible to
team 2, unprotect and delete after the confirmation."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from oduflow.app import App
from oduflow.errors import OduflowError
from tests.browser.conftest import PASSWORDS, SCREENSHOTS, team_url
from tests.docker.odoo_env import call
from tests.e2e.conftest import Server
from tests.fixtures.instance import make_remote

NAME = "panel-ent"
MODULE = {"panel_only/__init__.py": "", "panel_only/__manifest__.py": "{'name': 'Panel Only'}\n"}


def test_an_extra_repo_cloned_pulled_protected_and_deleted_in_the_panel(
    web_server: Server, open_page: Callable[..., Page], app: App, tmp_path: Path
) -> None:
    remote = make_remote(tmp_path, files=MODULE)
    page = open_page(PASSWORDS["1"])
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(team_url(web_server))
        form = page.locator("#repo-form")
        form.locator('input[name="name"]').fill(NAME)
        form.locator('input[name="repo_url"]').fill(remote.url)
        page.locator("#repo-submit").click()
        row = page.locator(f'#repo-rows tr[data-repo="{NAME}"]')
        expect(row).to_contain_text("main", timeout=60_000)
        expect(form.locator('input[name="name"]')).to_have_value("")

        remote.push("a release branch", branch="18.0")
        row.get_by_role("button", name="Pull").click()
        expect(page.locator("#notice-text")).to_contain_text("environments keep their pinned worktrees")
        expect(row).to_contain_text("18.0, main")

        row.get_by_role("button", name="Protect").click()
        expect(row.locator(".repo-protected")).to_have_text("yes")
        expect(row.get_by_role("button", name="Delete")).to_be_disabled()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.locator("#repo-title").scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / "extra_addons.png"))

        other = open_page(PASSWORDS["2"])
        other.goto(team_url(web_server, "2"))
        expect(other.locator("#repo-empty")).to_be_visible()
        expect(other.locator("#repo-rows tr")).to_have_count(0)

        row.get_by_role("button", name="Unprotect").click()
        expect(row.locator(".repo-protected")).to_have_text("no")
        page.once("dialog", lambda d: d.accept())
        row.get_by_role("button", name="Delete").click()
        expect(row).to_have_count(0)
        expect(page.locator("#repo-empty")).to_be_visible()
        assert errors == []
    finally:
        with contextlib.suppress(OduflowError):
            call(app, "unprotect_extra_repo", name=NAME)
            call(app, "delete_extra_repo", name=NAME)
