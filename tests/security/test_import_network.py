"""Attacks through ``import_template_from_odoo``'s URL (an open SSRF before): internal addresses
in any spelling, a redirect from an allowed server to an internal one, DNS rebinding, a huge or
endless backup, a server that never finishes, and a server whose answers carry long or hostile
text. Every attack fails, nothing reaches the internal servers, and no template or staging
directory is left behind."""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from oduflow.app import App
from oduflow.errors import ExternalCommandError, OduflowError, ValidationError
from tests.docker.odoo_env import TEAM, call
from tests.security.netservers import (
    ConnectionCounter,
    FakeOdoo,
    RebindingDns,
    in_rebinding_namespace,
    network_gateway,
    restricted_app,
    send,
)

MASTER = "master-pw-5d1e"


def no_trace(app: App, name: str) -> None:
    """Template ``name`` does not exist, and no import staging directory is left."""
    root = app.team_dir(TEAM) / "templates"
    assert not (root / name).exists()
    assert not list(root.glob(".import-*")) if root.exists() else True
    assert not app.db().exists(app.names.template_db(TEAM, name))


def run_import(app: App, url: str, name: str = "imp-attack", **extra: str) -> dict[str, object]:
    return call(
        app, "import_template_from_odoo", odoo_url=url, master_pwd=MASTER, template_name=name, **extra
    )  # type: ignore[no-any-return]


def test_internal_addresses_are_refused_before_any_connection(app: App) -> None:
    gateway = network_gateway(app)
    guarded = restricted_app(app, "192.0.2.99")
    with ConnectionCounter() as counter:
        port = counter.port
        for url in (
            f"http://127.0.0.1:{port}",
            f"https://127.0.0.2:{port}",
            f"https://2130706433:{port}",
            f"https://0x7f.1:{port}",
            f"https://[::ffff:127.0.0.1]:{port}",
            f"https://[::1]:{port}",
            f"https://localhost:{port}",
            f"https://0.0.0.0:{port}",
            f"https://{gateway}:{port}",
            "https://169.254.169.254",
            "http://8.8.8.8",  # a public host over plaintext: the master password would travel in clear
        ):
            with pytest.raises(ValidationError) as err:
                run_import(guarded, url)
            assert MASTER not in str(err.value)
        assert counter.accepted == []
    no_trace(app, "imp-attack")


@pytest.mark.parametrize("where", ["loopback", "docker-gateway"])
def test_a_redirect_to_an_internal_server_is_not_followed(app: App, where: str) -> None:
    inner_host = "127.0.0.2" if where == "loopback" else network_gateway(app)
    with FakeOdoo(host=inner_host) as inner:
        outer = FakeOdoo()

        def redirect(req: BaseHTTPRequestHandler, body: bytes) -> None:
            send(req, 302, b"", {"Location": inner.url(req.path)})

        outer.overrides["/web/webclient/version_info"] = redirect
        with outer:
            body = json.dumps({"jsonrpc": "2.0", "method": "call", "params": {}, "id": 1}).encode()
            urllib.request.urlopen(  # noqa: S310 - the control: urllib's default opener follows it
                urllib.request.Request(outer.url("/web/webclient/version_info"), data=body), timeout=10
            ).close()
            assert inner.requests
            inner.requests.clear()
            with pytest.raises(ExternalCommandError, match="redirect"):
                run_import(restricted_app(app, "127.0.0.1"), outer.url())
            assert outer.requests and not inner.requests
    no_trace(app, "imp-attack")


def test_dns_rebinding_cannot_move_the_connection(tmp_path: Path) -> None:
    name = "rebind-odoo.oduflow.test"
    with FakeOdoo() as good, FakeOdoo(host="127.0.0.2", port=good.port) as evil:
        evil.version = {"server_serie": "evil"}
        url = f"http://{name}:{good.port}"
        dns = RebindingDns(name, first="127.0.0.1", later="127.0.0.2").start()
        argv = [sys.executable, "-m", "tests.security.rebind_probe"]
        try:
            control = in_rebinding_namespace([*argv, "naive-import", url, str(tmp_path)], dns, tmp_path)
            assert '"evil"' in control and evil.requests  # an unpinned client is moved
            evil.requests.clear()
            good.requests.clear()
            dns.answers.clear()
            out = in_rebinding_namespace([*argv, "import", url, str(tmp_path)], dns, tmp_path)
        finally:
            dns.stop()
        assert '"18.0"' in out, out
        assert dns.answers == ["127.0.0.1"] and good.requests and not evil.requests


def endless(req: BaseHTTPRequestHandler, body: bytes) -> None:
    """A backup answer without length that never ends (until the client hangs up)."""
    req.send_response(200)
    req.send_header("Content-Type", "application/octet-stream")
    req.end_headers()
    chunk = b"PK" + b"\0" * (1 << 16)
    try:
        for _ in range(1 << 16):  # at most 4 GiB
            req.wfile.write(chunk)
    except OSError:
        return


def declared_huge(req: BaseHTTPRequestHandler, body: bytes) -> None:
    req.send_response(200)
    req.send_header("Content-Length", str(50 << 30))
    req.end_headers()
    try:
        req.wfile.write(b"\0" * (1 << 16))
    except OSError:
        return


@pytest.mark.parametrize("answer", [endless, declared_huge])
def test_a_huge_backup_is_cut_at_the_limit(app: App, answer: object) -> None:
    with FakeOdoo() as server:
        server.overrides["/web/database/backup"] = answer  # type: ignore[assignment]
        started = time.monotonic()
        with pytest.raises(ExternalCommandError, match="import_max_mb"):
            run_import(restricted_app(app, "127.0.0.1", import_max_mb=2), server.url())
        assert time.monotonic() - started < 60
    no_trace(app, "imp-attack")


def test_a_server_that_never_finishes_meets_the_deadline(app: App) -> None:
    def drip(req: BaseHTTPRequestHandler, body: bytes) -> None:
        req.send_response(200)
        req.end_headers()
        try:
            for _ in range(600):
                req.wfile.write(b"P")
                req.wfile.flush()
                time.sleep(0.1)
        except OSError:
            return

    with FakeOdoo() as server:
        server.overrides["/web/database/backup"] = drip
        started = time.monotonic()
        with pytest.raises(ExternalCommandError, match="import_timeout"):
            run_import(restricted_app(app, "127.0.0.1", import_timeout=3), server.url())
        assert time.monotonic() - started < 15
    no_trace(app, "imp-attack")


def test_the_servers_text_is_never_echoed_beyond_a_short_snippet(app: App) -> None:
    hidden = "INTERNAL-" + "x" * 20
    message = "\x1b[31mboom\x1b[0m " + "y" * 2000 + hidden + f" {MASTER} "

    def rpc_error(req: BaseHTTPRequestHandler, body: bytes) -> None:
        payload = {"jsonrpc": "2.0", "id": 1, "error": {"message": "x", "data": {"message": message}}}
        send(req, 200, json.dumps(payload).encode(), {"Content-Type": "application/json"})

    def huge_json(req: BaseHTTPRequestHandler, body: bytes) -> None:
        send(req, 200, b'{"result": "' + b"z" * (3 << 20) + b'"}')

    def page(req: BaseHTTPRequestHandler, body: bytes) -> None:  # the master password reflected
        send(
            req, 200, f"<html><p>Database backup error: bad password {MASTER}</p>{'w' * 5000}</html>".encode()
        )

    guarded = restricted_app(app, "127.0.0.1")
    for route, answer in (
        ("/web/webclient/version_info", rpc_error),
        ("/web/webclient/version_info", huge_json),
        ("/web/database/backup", page),
    ):
        with FakeOdoo() as server:
            server.overrides[route] = answer
            with pytest.raises(OduflowError) as err:
                run_import(guarded, server.url())
        text = str(err.value)
        assert hidden not in text and MASTER not in text and "\x1b" not in text
        assert len(text) < 1200, text
    no_trace(app, "imp-attack")
