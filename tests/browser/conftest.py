"""The dashboard in a real browser: Debian's ``chromium`` driven by Playwright (sync API).

Playwright never downloads a browser here (no ``playwright install``): it launches
``/usr/bin/chromium``. The server is the real ``oduflow`` subprocess of the e2e tier
(:func:`tests.e2e.conftest.start_server`) on the session's test instance, with a ``ui_password``
per team; team 2 is reached by its hostname (``team2.localhost`` resolves to loopback in Chromium).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from tests.e2e.conftest import Server, _mark_logs, pytest_runtest_makereport, start_server
from tests.fixtures.instance import Instance

__all__ = ["_mark_logs", "pytest_runtest_makereport"]  # the e2e tier's server-log reports, here too

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORDS = {"1": "ui-pw-1", "2": "ui-pw-2"}
TEAM2_HOST = "team2.localhost"
TEAMS = (
    f'[team.1]\nui_password = "{PASSWORDS["1"]}"\nport_range = [56100, 56150]\n'
    f'[team.2]\nhostname = "{TEAM2_HOST}"\nui_password = "{PASSWORDS["2"]}"\nport_range = [56150, 56200]\n'
)
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
ACTION_TIMEOUT_MS = 30_000
"""Default time a Playwright action or expectation may take."""
expect.set_options(timeout=ACTION_TIMEOUT_MS)  # expectations too (5 s by default): CI machines are slow
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"
"""Where the run saves the dashboard's screenshots (docs/dashboard.md shows them)."""


@pytest.fixture(scope="session")
def web_server(instance: Instance) -> Iterator[Server]:
    """The server with a dashboard password per team."""
    config = instance.write_config("browser.toml", teams=TEAMS)
    yield from start_server(config, instance.root / "browser-server.log")


# package scope, not session: Playwright's sync API keeps an asyncio loop running in the main
# thread while it is started, and every later test that runs a loop of its own (asyncio.run, the
# MCP clients) would fail; it is stopped once the last browser test has run.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"the browser tier needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
    yield browser
    browser.close()


def team_url(server: Server, team: str = "1") -> str:
    """The dashboard's address for ``team`` (team 2 by its hostname)."""
    host = TEAM2_HOST if team == "2" else "127.0.0.1"
    return f"http://{host}:{server.port}/"


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """Factory: a page in a fresh context logged in as ``admin`` with ``password``; closed afterwards."""
    contexts: list[BrowserContext] = []

    def make(password: str, viewport: dict[str, int] = DESKTOP) -> Page:
        context = browser.new_context(
            http_credentials={"username": "admin", "password": password}, viewport=viewport
        )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
