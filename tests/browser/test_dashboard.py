"""The dashboard end to end in headless Chromium against the real server.

One environment goes through the whole life a person gives it in the dashboard: created from
the form (its steps shown as they happen), running, its live log, protected (delete refused, the
error shown), unprotected, deleted after the confirmation. Logins with a wrong password are
refused, and another team's environment never shows. The run saves the screenshots of
``docs/dashboard.md`` into ``docs/img/``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Dialog, Locator, Page, expect

from oduflow.services.envmodel import EnvParams
from oduflow.state import EnvRecord
from tests.browser.conftest import PASSWORDS, PHONE, SCREENSHOTS, team_url
from tests.docker.odoo_env import call, delete_if_present
from tests.e2e.conftest import Server
from tests.fixtures.instance import Instance, make_remote
from tests.fixtures.templates import base_template

CREATE_TIMEOUT_MS = 240_000
"""Time the creation from the form may take (clone, database, dependencies, Odoo ready)."""
LIFECYCLE_TIMEOUT_MS = 120_000
"""Time a delete or a protect/unprotect may take."""
STREAM_END_S = 20.0
"""Seconds the server may take to stop following a log once its viewer is closed."""


class Dashboard:
    """The dashboard page as a person uses it (locators by the ids and data attributes of app.js)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def row(self, branch: str) -> Locator:
        return self.page.locator(f'#env-rows tr[data-branch="{branch}"]')

    def button(self, branch: str, action: str) -> Locator:
        return self.row(branch).locator(f'button[data-action="{action}"]')

    def notice(self) -> Locator:
        return self.page.locator("#notice-text")

    def create(self, branch: str, repo_url: str, image: str, template: str) -> None:
        form = self.page.locator("#create-form")
        form.locator('input[name="branch_name"]').fill(branch)
        form.locator('input[name="repo_url"]').fill(repo_url)
        form.locator('input[name="odoo_image"]').fill(image)
        form.locator('select[name="template_name"]').select_option(template)
        form.locator('button[type="submit"]').click()

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / name))


@pytest.fixture
def remote_url(tmp_path: Path) -> str:
    return make_remote(tmp_path, "demo_ok").url


@pytest.fixture
def template(instance: Instance) -> Iterator[str]:
    """A ready template of team 1 (``base`` installed), deleted afterwards."""
    yield from base_template(instance, f"browser-tpl-{secrets.token_hex(2)}")


@pytest.fixture
def team2_env(instance: Instance) -> Iterator[str]:
    """A record-only environment of team 2 (no container): team 1 must never see it."""
    app = instance.app()
    branch = f"team2-secret-{secrets.token_hex(3)}"
    params = EnvParams(
        branch=branch,
        slug=branch,
        template="none",
        repo_url="file:///nowhere/team2.git",
        odoo_image="odoo:18.0",
        run_image="odoo:18.0",
        db_name="",
        db_role="",
        db_password="",
        storage="",
        url="",
    )
    app.store.add_env(
        EnvRecord(team="2", branch=branch, slug=branch, status="ready", params=params.to_dict())
    )
    try:
        yield branch
    finally:
        app.store.remove_env("2", branch)


def _create_and_watch(board: Dashboard, branch: str, repo_url: str, image: str) -> None:
    board.create(branch, repo_url, image, "none")
    steps = board.page.locator("#create-steps li")
    # the steps appear while the creation runs: one is in progress, those before it are done
    expect(board.page.locator("#create-steps li.active")).to_have_count(1, timeout=CREATE_TIMEOUT_MS)
    expect(steps.filter(has_text="clone")).to_have_count(1, timeout=CREATE_TIMEOUT_MS)
    expect(board.page.locator("#create-steps li.done").first).to_be_visible(timeout=CREATE_TIMEOUT_MS)
    board.screenshot("dashboard-creating.png")
    expect(board.page.locator("#create-result.ok")).to_contain_text(
        f"Created {branch}", timeout=CREATE_TIMEOUT_MS
    )
    assert board.page.locator("#create-steps li.active, #create-steps li.failed").count() == 0
    names = steps.all_inner_texts()
    assert "start Odoo" in names and names[-1] == "wait until Odoo serves the database", names


def _see_running(board: Dashboard, branch: str, repo_url: str, image: str) -> str:
    row = board.row(branch)
    expect(row.locator('[data-status="running"]')).to_be_visible(timeout=LIFECYCLE_TIMEOUT_MS)
    expect(row).to_contain_text(repo_url)
    expect(row).to_contain_text(image)
    expect(row.locator('[data-protected="false"]')).to_be_visible()
    url = row.locator("a").first.get_attribute("href")
    assert url and url.startswith("http"), url
    return url


def _follow_log(board: Dashboard, server: Server, branch: str, env_url: str) -> None:
    board.button(branch, "logs").click()
    dialog = board.page.locator("#log-dialog")
    expect(dialog).to_be_visible()
    output = board.page.locator("#log-output")
    expect(output).to_contain_text("HTTP service (werkzeug) running", timeout=LIFECYCLE_TIMEOUT_MS)
    # a line printed after the viewer opened arrives too: the log is followed
    marker = f"/web/login?followed={secrets.token_hex(4)}"
    httpx.get(env_url.rstrip("/") + marker, timeout=30)
    expect(output).to_contain_text(marker, timeout=LIFECYCLE_TIMEOUT_MS)
    board.screenshot("dashboard-logs.png")
    offset = server.log.size()
    dialog.locator("[data-close]").click()
    expect(dialog).to_be_hidden()
    # closing the viewer ends the server's follow at once (not at its deadline)
    ended = f"live log of {branch} ended (closed)"
    deadline = time.monotonic() + STREAM_END_S
    while ended not in server.log.since(offset) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ended in server.log.since(offset), server.log.since(offset)[-2000:]


def _recreate(board: Dashboard, branch: str) -> None:
    board.page.once("dialog", lambda d: d.accept())
    board.button(branch, "recreate").click()
    # the row shows the operation's progress while it runs, then the environment runs again
    expect(board.row(branch).locator(".busy")).to_be_visible()
    expect(board.notice()).to_contain_text(f"recreate {branch}: done", timeout=CREATE_TIMEOUT_MS)
    expect(board.row(branch).locator(".busy")).to_have_count(0)
    expect(board.row(branch).locator('[data-status="running"]')).to_be_visible(timeout=LIFECYCLE_TIMEOUT_MS)


def _protect_refuses_delete(board: Dashboard, branch: str) -> None:
    board.button(branch, "protect").click()
    expect(board.row(branch).locator('[data-protected="true"]')).to_be_visible(timeout=LIFECYCLE_TIMEOUT_MS)
    board.page.once("dialog", lambda d: d.accept())
    board.button(branch, "delete").click()
    expect(board.notice()).to_contain_text("protected", timeout=LIFECYCLE_TIMEOUT_MS)
    expect(board.notice()).to_contain_text(f"delete {branch} failed")
    expect(board.row(branch).locator('[data-status="running"]')).to_be_visible()
    board.button(branch, "unprotect").click()
    expect(board.row(branch).locator('[data-protected="false"]')).to_be_visible(timeout=LIFECYCLE_TIMEOUT_MS)


def _delete_after_confirmation(board: Dashboard, branch: str) -> None:
    asked: list[str] = []

    def answer(accept: bool) -> Callable[[Dialog], None]:
        def handle(dialog: Dialog) -> None:
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return handle

    board.page.once("dialog", answer(False))
    board.button(branch, "delete").click()
    expect(board.button(branch, "delete")).to_be_enabled()  # dismissed: nothing happened
    board.page.wait_for_timeout(500)
    expect(board.row(branch)).to_have_count(1)
    board.page.once("dialog", answer(True))
    board.button(branch, "delete").click()
    expect(board.row(branch)).to_have_count(0, timeout=LIFECYCLE_TIMEOUT_MS)
    assert len(asked) == 2 and all(branch in message for message in asked), asked


@pytest.mark.timeout(900)
def test_environment_life_in_the_dashboard(
    web_server: Server,
    instance: Instance,
    open_page: Callable[..., Page],
    remote_url: str,
    team2_env: str,
    template: str,
) -> None:
    branch = "feature-dashboard"  # the instance is the session's own: a readable name for the screenshots
    board = Dashboard(open_page(PASSWORDS["1"]))
    with board.page.expect_response("**/api/templates") as templates:
        response = board.page.goto(team_url(web_server))
    assert response is not None and response.status == 200
    assert templates.value.ok
    known = {t["name"] for t in call(instance.app(), "list_templates")}
    assert template in known
    expect(board.page.locator("#template-rows tr")).to_have_count(len(known))
    expect(board.page.locator(f'#template-rows tr[data-template="{template}"]')).to_contain_text("ready")
    expect(board.page.locator(f'#create-form option[value="{template}"]')).to_be_attached()
    expect(board.page.locator("#guide-list li").first).to_be_visible()
    expect(board.page.locator('#guide-list [data-guide="agent_guide.md"]')).to_be_visible()
    expect(board.page.locator("#host-stats")).to_contain_text("Load")
    try:
        _create_and_watch(board, branch, remote_url, instance.odoo_image)
        env_url = _see_running(board, branch, remote_url, instance.odoo_image)
        usage = board.row(branch).locator('td[data-label="CPU / RAM"]')
        expect(usage).to_contain_text(" MB", timeout=LIFECYCLE_TIMEOUT_MS)  # the container's own stats
        board.screenshot("dashboard-environments.png")
        _follow_log(board, web_server, branch, env_url)
        # (the terminal step is tests/browser/test_terminal.py's)
        _recreate(board, branch)
        _protect_refuses_delete(board, branch)
        phone = Dashboard(open_page(PASSWORDS["1"], viewport=PHONE))
        phone.page.goto(team_url(web_server))
        expect(phone.row(branch).locator('[data-status="running"]')).to_be_visible()
        expect(phone.page.locator("#host-stats")).to_contain_text("Load")
        phone.screenshot("dashboard-phone.png")
        _delete_after_confirmation(board, branch)
        assert team2_env not in board.page.locator("#env-rows").inner_text()
        assert board.errors == [] and phone.errors == []
    finally:
        delete_if_present(instance.app(), branch)


def test_a_wrong_password_is_refused(web_server: Server, open_page: Callable[..., Page]) -> None:
    for password in ("not-the-password", PASSWORDS["2"]):  # team 2's password is not team 1's
        page = open_page(password)
        response = page.goto(team_url(web_server))
        assert response is not None and response.status == 401
        assert "Basic" in (response.header_value("www-authenticate") or "")
    api = httpx.get(f"{web_server.base_url}/api/environments", auth=("admin", "wrong"), timeout=30)
    assert api.status_code == 401 and api.json()["ok"] is False


def test_another_teams_environment_never_shows(
    web_server: Server, open_page: Callable[..., Page], team2_env: str
) -> None:
    team1 = Dashboard(open_page(PASSWORDS["1"]))
    team1.page.goto(team_url(web_server))
    expect(team1.page.locator("#env-empty").or_(team1.page.locator("#env-rows tr").first)).to_be_visible()
    expect(team1.row(team2_env)).to_have_count(0)
    # the same environment is there for its own team, on its own hostname
    team2 = Dashboard(open_page(PASSWORDS["2"]))
    response = team2.page.goto(team_url(web_server, "2"))
    assert response is not None and response.status == 200
    expect(team2.row(team2_env)).to_have_count(1)
    # team 1's live log route does not reach it either
    stream = httpx.get(
        f"{web_server.base_url}/api/environments/{team2_env}/logs/stream?n=5",
        auth=("admin", PASSWORDS["1"]),
        timeout=30,
    )
    assert stream.status_code == 404 and stream.json()["type"] == "NotFoundError", stream.text
    assert team1.errors == [] and team2.errors == []


def test_a_failed_creation_shows_its_failing_step(
    web_server: Server, instance: Instance, open_page: Callable[..., Page], tmp_path: Path
) -> None:
    branch = f"browser-fail-{secrets.token_hex(3)}"
    board = Dashboard(open_page(PASSWORDS["1"]))
    board.page.goto(team_url(web_server))
    try:
        board.create(branch, f"file://{tmp_path}/no-such-repo.git", instance.odoo_image, "none")
        result = board.page.locator("#create-result.error")
        expect(result).to_contain_text("failed at step 'clone repository'", timeout=CREATE_TIMEOUT_MS)
        expect(board.page.locator("#create-steps li.failed")).to_have_text("clone repository")
        expect(board.page.locator("#create-steps li.active")).to_have_count(0)
        expect(board.page.locator("#create-steps li.done").filter(has_text="reserve name")).to_have_count(1)
        expect(board.row(branch)).to_have_count(0)  # rolled back: not listed
        assert board.errors == []
    finally:
        delete_if_present(instance.app(), branch)
