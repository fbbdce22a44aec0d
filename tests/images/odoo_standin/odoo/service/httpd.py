"""HTTP endpoints of the stand-in, answering like Odoo 18 (threaded stdlib server).

``/web/health``; ``/web/login`` (session cookie + database selection like ``ensure_db``: a new
session asking for ``?db=`` gets a 302 to the same URL with its cookie, no database a 303 to the
selector; the first request for a database loads its registry, a database without ``base``
answers 500); ``/web/webclient/version_info``, ``/web/session/authenticate``, ``/jsonrpc`` (db,
common, object services), ``/web/database/{manager,selector,list,backup}``. Anything else: 404.
"""

from __future__ import annotations

import json
import logging
import secrets
import tempfile
import threading
import time
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import psycopg2

from odoo.service import db as db_service
from odoo.service import pages, rpc
from odoo.tools import config

_logger = logging.getLogger(__name__)
_werkzeug = logging.getLogger("werkzeug")
_server_logger = logging.getLogger("odoo.service.server")
_sessions: dict[str, dict[str, Any]] = {}
_sessions_lock = threading.Lock()
Reply = tuple[int, dict[str, str], bytes]


class OdooHTTPServer(ThreadingHTTPServer):
    """Threaded server logging the real server's start-up line."""

    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self) -> None:
        super().server_bind()
        _server_logger.info("HTTP service (werkzeug) running on %s:%s", self.server_name, self.server_port)


def make_server(interface: str, port: int) -> OdooHTTPServer:
    """Bind the HTTP service."""
    return OdooHTTPServer((interface, port), Handler)


def _html(status: int, body: str, headers: dict[str, str] | None = None) -> Reply:
    return status, {"Content-Type": "text/html; charset=utf-8", **(headers or {})}, body.encode()


def _redirect(status: int, location: str, headers: dict[str, str] | None = None) -> Reply:
    body = f'<!doctype html>\n<title>Redirecting...</title>\n<a href="{location}">{location}</a>\n'
    return (
        status,
        {"Location": location, "Content-Type": "text/html; charset=utf-8", **(headers or {})},
        body.encode(),
    )


def _json(data: Any, status: int = 200) -> Reply:
    return status, {"Content-Type": "application/json"}, json.dumps(data).encode()


class Handler(BaseHTTPRequestHandler):
    """Routes requests to the endpoint methods below."""

    server_version = "Werkzeug/3.0.1"
    sys_version = "Python/3"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are logged by :meth:`_dispatch` instead."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    # -- plumbing -------------------------------------------------------------------------
    def _dispatch(self, method: str) -> None:
        threading.current_thread().dbname = "?"  # type: ignore[attr-defined]
        started = time.time()
        url = urlsplit(self.path)
        self.params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        self.body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if method == "POST" else b""
        self.new_cookie: str | None = None
        route = ROUTES.get((method if method != "HEAD" else "GET", url.path.rstrip("/") or "/"))
        try:
            status, headers, body = route(self) if route else _html(404, pages.not_found())
        except Exception:
            _logger.exception("Exception during request handling.")
            status, headers, body = _html(500, pages.server_error())
        self.send_response_only(status)
        if self.new_cookie:
            headers["Set-Cookie"] = (
                f"session_id={self.new_cookie}; Max-Age=604800; HttpOnly; Path=/; SameSite=Lax"
            )
        for key, value in {
            "Content-Length": str(len(body)),
            "Date": self.date_time_string(),
            **headers,
        }.items():
            self.send_header(key, value)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(body)
        _werkzeug.info(
            '%s - - [%s] "%s %s %s" %d - %d %.3f %.3f',
            self.client_address[0],
            time.strftime("%d/%b/%Y %H:%M:%S"),
            method,
            self.path,
            self.request_version,
            status,
            0,
            0.0,
            time.time() - started,
        )

    def form(self) -> dict[str, str]:
        """Fields of an urlencoded or multipart body, plus the query string."""
        ctype = self.headers.get("Content-Type", "")
        fields = dict(self.params)
        if ctype.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(
                f"Content-Type: {ctype}\r\n\r\n".encode() + self.body
            )
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if name:
                    fields[str(name)] = (
                        part.get_content()
                        if part.get_content_maintype() == "text"
                        else (part.get_payload(decode=True) or b"").decode(errors="replace")
                    )
        else:
            fields.update({k: v[-1] for k, v in parse_qs(self.body.decode(errors="replace")).items()})
        return fields

    def session(self) -> dict[str, Any]:
        """The session of the ``session_id`` cookie (a new one when missing or unknown)."""
        sid = None
        for chunk in (self.headers.get("Cookie") or "").split(";"):
            key, _, value = chunk.strip().partition("=")
            if key == "session_id":
                sid = value
        with _sessions_lock:
            if sid and sid in _sessions:
                return _sessions[sid]
            return self._new_session()

    def _new_session(self, db: str | None = None) -> dict[str, Any]:
        sid = secrets.token_urlsafe(30)
        _sessions[sid] = {"db": db, "uid": None, "login": None}
        self.new_cookie = sid
        return _sessions[sid]

    # -- database selection ---------------------------------------------------------------
    def select_db(self, sess: dict[str, Any]) -> tuple[str | None, Reply | None]:
        """``(db, None)`` or ``(None, redirect)`` like Odoo's session db + ``ensure_db``."""
        host = self.headers.get("Host")
        dbname = None
        if sess["db"] and db_service.db_filter([sess["db"]], host):
            dbname = sess["db"]
        else:
            all_dbs = db_service.db_list(force=True, host=host)
            if len(all_dbs) == 1:
                dbname = all_dbs[0]
        if sess["db"] != dbname:
            sess.update(db=dbname, uid=None, login=None)
        db = (self.params.get("db") or "").strip() or None
        if db and db not in db_service.db_filter([db], host):
            db = None
        if db and not sess["db"]:
            sess["db"] = db
            return None, _redirect(302, self.path)
        db = db or sess["db"]
        if not db:
            return None, _redirect(303, "/web/database/selector")
        if db != sess["db"]:
            with _sessions_lock:
                self._new_session(db)
            return None, _redirect(302, self.path)
        return db, None

    def registry(self, db: str) -> Any:
        """The registry of ``db`` (loaded on first use, reloaded when another process changed it)."""
        return rpc.registry_for(db)

    # -- endpoints ------------------------------------------------------------------------
    def health(self) -> Reply:
        if self.params.get("db_server_status"):
            ok = db_service.exp_db_exist("postgres")
            return _json({"status": "pass" if ok else "fail", "db_server_status": ok}, 200 if ok else 500)
        return _json({"status": "pass"})

    def _db_page(self, render: Any) -> Reply:
        sess = self.session()
        db, redirect = self.select_db(sess)
        if redirect:
            return redirect
        assert db is not None
        threading.current_thread().dbname = db  # type: ignore[attr-defined]
        try:
            registry = self.registry(db)
        except (psycopg2.OperationalError, psycopg2.ProgrammingError):
            sess.update(db=None, uid=None)
            db, redirect = self.select_db(sess)
            return redirect or _html(500, pages.server_error())
        if "ir.module.module" not in registry.models:
            return _html(500, pages.server_error())
        return render(db, sess)  # type: ignore[no-any-return]

    def login_get(self) -> Reply:
        return self._db_page(lambda db, sess: _html(200, pages.login_page(db)))

    def login_post(self) -> Reply:
        form = self.form()
        self.params.setdefault("db", form.get("db", ""))

        def render(db: str, sess: dict[str, Any]) -> Reply:
            uid = rpc.authenticate(db, form.get("login", ""), form.get("password", ""))
            if uid:
                sess.update(uid=uid, login=form.get("login"))
                return _redirect(303, form.get("redirect") or "/odoo")
            return _html(200, pages.login_page(db, "Wrong login/password", form.get("login", "")))

        return self._db_page(render)

    def webclient(self) -> Reply:
        sess = self.session()
        if not sess.get("uid") or not sess.get("db"):
            return _redirect(303, "/web/login?redirect=" + quote(self.path, safe=""))
        return _html(200, pages.webclient_page(sess["db"], sess.get("login") or ""))

    def root(self) -> Reply:
        return _redirect(303, "/odoo")

    def version_info(self) -> Reply:
        return rpc.jsonrpc_reply(self.body, lambda params: rpc.version_info())

    def session_authenticate(self) -> Reply:
        sess = self.session()

        def call(params: dict[str, Any]) -> Any:
            uid = rpc.authenticate(params.get("db", ""), params.get("login", ""), params.get("password", ""))
            if not uid:
                from odoo.exceptions import AccessDenied

                raise AccessDenied()
            sess.update(db=params.get("db"), uid=uid, login=params.get("login"))
            return {"uid": uid, "db": params.get("db"), "username": params.get("login"), **rpc.version_info()}

        return rpc.jsonrpc_reply(self.body, call)

    def jsonrpc(self) -> Reply:
        return rpc.jsonrpc_reply(self.body, rpc.dispatch)

    def database_list(self) -> Reply:
        return rpc.jsonrpc_reply(self.body, lambda params: db_service.db_list(host=self.headers.get("Host")))

    def database_manager(self) -> Reply:
        try:
            databases = db_service.db_list(host=self.headers.get("Host"))
        except Exception:  # noqa: BLE001  (AccessDenied when list_db is off)
            databases = []
        return _html(200, pages.database_manager(databases, bool(config["list_db"])))

    def backup(self) -> Reply:
        form = self.form()
        master_pwd, name = form.get("master_pwd", ""), form.get("name", "")
        backup_format = form.get("backup_format") or "zip"
        if config.verify_admin_password("admin") and master_pwd:
            config.set_admin_password(master_pwd)
        try:
            db_service.check_super(master_pwd)
            if name not in db_service.db_list(host=self.headers.get("Host")):
                raise Exception(f"Database {name!r} is not known")
            with_filestore = str(form.get("filestore", "1")).lower() not in ("0", "false", "")
            with tempfile.TemporaryFile() as out:
                db_service.dump_db(name, out, backup_format, with_filestore)
                out.seek(0)
                data = out.read()
        except Exception as exc:
            _logger.exception("Database.backup")
            error = f"Database backup error: {str(exc) or repr(exc)}"
            return _html(200, pages.database_manager([], bool(config["list_db"]), error))
        filename = f"{name}_{time.strftime('%Y-%m-%d_%H-%M-%S', time.gmtime())}.{backup_format}"
        return (
            200,
            {
                "Content-Type": "application/octet-stream; charset=binary",
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            },
            data,
        )


ROUTES: dict[tuple[str, str], Any] = {
    ("GET", "/web/health"): Handler.health,
    ("GET", "/web/login"): Handler.login_get,
    ("POST", "/web/login"): Handler.login_post,
    ("GET", "/odoo"): Handler.webclient,
    ("GET", "/web"): Handler.webclient,
    ("GET", "/"): Handler.root,
    ("POST", "/web/webclient/version_info"): Handler.version_info,
    ("POST", "/web/session/authenticate"): Handler.session_authenticate,
    ("POST", "/jsonrpc"): Handler.jsonrpc,
    ("POST", "/web/database/list"): Handler.database_list,
    ("GET", "/web/database/manager"): Handler.database_manager,
    ("GET", "/web/database/selector"): Handler.database_manager,
    ("POST", "/web/database/backup"): Handler.backup,
}
