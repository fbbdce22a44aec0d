"""The dashboard's terminal in headless Chromium: ``odoo shell`` answers in the xterm screen,
and closing the viewer kills the shell in the container."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from oduflow import docker_api
from oduflow.services.envmodel import get_env
from tests.browser.conftest import PASSWORDS, SCREENSHOTS, team_url
from tests.docker.odoo_env import TEAM, call, environment
from tests.e2e.conftest import Server
from tests.fixtures.instance import Instance, make_remote

BRANCH = "browser-terminal"
CODE = "print(env['res.users'].search_count([]))"
TIMEOUT_MS = 60_000


@pytest.fixture
def branch(instance: Instance, tmp_path: Path) -> Iterator[str]:
    with environment(instance.app(), BRANCH, make_remote(tmp_path), instance.odoo_image):
        yield BRANCH


def shells(instance: Instance, branch: str) -> list[str]:
    """``odoo shell`` processes in the environment's container (``ps`` inside it)."""
    app = instance.app()
    name = get_env(app, app.config.team(TEAM), branch).container_name
    container = docker_api.get_container(app.docker(), name)
    assert container is not None
    res = docker_api.exec_in(container, ["ps", "-eo", "pid,args"], user="root", timeout=30)
    return [ln for ln in res.stdout.splitlines() if "odoo shell" in ln and "ps -eo" not in ln]


def test_terminal_runs_odoo_shell(
    web_server: Server, instance: Instance, open_page: Callable[..., Page], branch: str
) -> None:
    expected = call(instance.app(), "run_odoo_shell", branch_name=branch, code=CODE)
    assert expected["ok"], expected
    page: Page = open_page(PASSWORDS["1"])
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(team_url(web_server))
    page.locator(f'#env-rows tr[data-branch="{branch}"] button[data-action="terminal"]').click()
    box = page.locator("#terminal")
    expect(box).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)
    screen = box.locator(".xterm-rows")
    expect(screen).to_contain_text(">>>", timeout=TIMEOUT_MS)
    assert shells(instance, branch), "the terminal's shell should run in the container"
    page.keyboard.type(CODE)
    page.keyboard.press("Enter")
    answer = re.compile(
        re.escape(CODE) + r"\s*" + re.escape(expected["stdout"].strip()) + r"\s*>>>"
    )  # rows join without breaks
    expect(screen).to_contain_text(answer, timeout=TIMEOUT_MS)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-terminal.png"))
    page.locator("#terminal-dialog [data-close]").click()
    deadline = time.monotonic() + 20
    while (left := shells(instance, branch)) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert left == [], "closing the viewer must kill the shell"
    assert errors == []
