"""Test case classes addons import from ``odoo.tests.common`` / ``odoo.tests``."""

from __future__ import annotations

import contextlib
import functools
import http.cookiejar
import itertools
import json
import threading
import unittest
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from odoo import SUPERUSER_ID, api
from odoo.tools import config

ADMIN_USER_ID = 2
HOST = "127.0.0.1"
_savepoints = itertools.count()


def get_db_name() -> str:
    """The database under test."""
    return getattr(threading.current_thread(), "dbname", None) or (config.db_names or [""])[0]


def tagged(*tags: str) -> Callable[[type], type]:
    """Add (``tag``) or remove (``-tag``) tags of a test class (default: standard, at_install)."""

    def decorate(cls: type) -> type:
        include = {t for t in tags if not t.startswith("-")}
        exclude = {t[1:] for t in tags if t.startswith("-")}
        cls.test_tags = (set(getattr(cls, "test_tags", set())) | include) - exclude  # type: ignore[attr-defined]
        return cls

    return decorate


class BaseCase(unittest.TestCase):
    """Common helpers (``ref``, ``assertRecordValues``, DB-safe ``assertRaises``)."""

    test_tags: ClassVar[set[str]] = {"standard", "at_install"}
    test_module: str | None = None
    registry: Any = None
    env: Any = None
    cr: Any = None
    uid: int = SUPERUSER_ID
    longMessage = True

    def ref(self, xid: str) -> int:
        """The id of the record with external id ``xid``."""
        return int(self.env.ref(xid).id)

    def browse_ref(self, xid: str) -> Any:
        """The record with external id ``xid``."""
        return self.env.ref(xid)

    @contextlib.contextmanager
    def _savepoint_raises(self, exception: Any, msg: Any = None) -> Iterator[Any]:
        with unittest.TestCase.assertRaises(self, exception, msg=msg) as ctx, self.env.cr.savepoint():
            yield ctx

    def assertRaises(self, exception: Any, func: Any = None, *args: Any, **kwargs: Any) -> Any:
        """Like unittest's, but a database error does not break the test's transaction."""
        if func is not None:
            with self._savepoint_raises(exception):
                func(*args, **kwargs)
            return None
        return self._savepoint_raises(exception, kwargs.get("msg"))

    def assertRecordValues(self, records: Any, expected_values: list[dict[str, Any]]) -> None:
        """Each record has the expected field values (relational fields compared by ids)."""
        self.assertEqual(len(records), len(expected_values), "Wrong number of records to compare.")
        for record, expected in zip(records, expected_values, strict=True):
            for name, value in expected.items():
                actual = record[name]
                if hasattr(actual, "_ids"):
                    actual = actual.ids if record._fields[name].type != "many2one" else actual.id
                self.assertEqual(actual, value, f"{record}.{name}")


class TransactionCase(BaseCase):
    """One transaction per class, rolled back at the end; a savepoint rolled back after each test."""

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        from odoo.modules.registry import Registry

        cls.registry = Registry(get_db_name())
        cls.cr = cls.registry.cursor()
        cls.addClassCleanup(cls.cr.close)
        cls.env = api.Environment(cls.cr, SUPERUSER_ID, {})
        cls.uid = SUPERUSER_ID

    def setUp(self) -> None:
        super().setUp()
        name = f"test_{next(_savepoints)}"
        self.cr.execute(f'SAVEPOINT "{name}"')
        self.addCleanup(self.cr.execute, f'ROLLBACK TO SAVEPOINT "{name}"')
        self.env.invalidate_all()
        self.addCleanup(self.env.invalidate_all)


class SingleTransactionCase(BaseCase):
    """One transaction for every test of the class, rolled back at the end."""

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        from odoo.modules.registry import Registry

        cls.registry = Registry(get_db_name())
        cls.cr = cls.registry.cursor()
        cls.addClassCleanup(cls.cr.close)
        cls.env = api.Environment(cls.cr, SUPERUSER_ID, {})


class Response:
    """What :meth:`HttpCase.url_open` returns (the parts of ``requests.Response`` tests use)."""

    def __init__(self, url: str, status_code: int, headers: Any, content: bytes) -> None:
        self.url, self.status_code, self.headers, self.content = url, status_code, headers, content

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.content.decode("utf-8", errors="replace")

    @property
    def ok(self) -> bool:
        """Whether the status is below 400."""
        return self.status_code < 400

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.content)

    def raise_for_status(self) -> None:
        """Raise ``urllib.error.HTTPError`` for a 4xx/5xx status."""
        if not self.ok:
            raise urllib.error.HTTPError(self.url, self.status_code, self.text[:200], self.headers, None)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class HttpCase(TransactionCase):
    """Tests talking HTTP to the server of the test run itself (``127.0.0.1:http_port``).

    ``url_open`` and ``authenticate`` really request the run's HTTP server (started under
    ``--test-enable`` whatever ``--no-http`` says). The requests do not share the test's cursor
    (no ``registry.enter_test_mode``): they see committed data only. ``start_tour`` and
    ``browser_js`` skip the test like Odoo does when Chrome is not installed (the official image
    has no Chrome either).
    """

    @classmethod
    def base_url(cls) -> str:
        """``http://127.0.0.1:PORT`` of the run's own HTTP server."""
        return f"http://{HOST}:{int(config['http_port'])}"

    def setUp(self) -> None:
        super().setUp()
        self.cookies = http.cookiejar.CookieJar()

    def url_open(
        self,
        url: str,
        data: Any = None,
        files: Any = None,
        timeout: float = 12,
        headers: dict[str, str] | None = None,
        allow_redirects: bool = True,
        head: bool = False,
    ) -> Response:
        """GET (POST with ``data``, HEAD with ``head``) ``url``; a path is relative to :meth:`base_url`."""
        if url.startswith("/"):
            url = self.base_url() + url
        body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
        if isinstance(body, str):
            body = body.encode()
        method = "HEAD" if head else ("POST" if body is not None else "GET")
        handlers: list[Any] = [urllib.request.HTTPCookieProcessor(self.cookies)]
        if head or not allow_redirects:
            handlers.append(_NoRedirect())
        request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
        try:
            with urllib.request.build_opener(*handlers).open(request, timeout=timeout) as reply:
                return Response(reply.geturl(), reply.status, reply.headers, reply.read())
        except urllib.error.HTTPError as error:
            return Response(url, error.code, error.headers, error.read())

    def authenticate(self, user: str | None, password: str | None, browser: Any = None) -> None:
        """Log ``user`` in through ``/web/session/authenticate`` (the session cookie is kept)."""
        self.cookies.clear()
        if not user:
            return
        params = {"db": get_db_name(), "login": user, "password": password}
        payload = json.dumps({"jsonrpc": "2.0", "method": "call", "params": params, "id": 1}).encode()
        reply = self.url_open(
            "/web/session/authenticate", data=payload, headers={"Content-Type": "application/json"}
        ).json()
        if reply.get("error"):
            raise AssertionError(f"authentication of {user!r} failed: {reply['error']}")

    def browser_js(self, *args: Any, **kwargs: Any) -> None:
        """Needs Chrome: skipped, like Odoo without Chrome."""
        raise unittest.SkipTest("Chrome browser not found")

    start_tour = browser_js


class Form:
    """Server-side form emulation: not available in the stand-in."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("odoo.tests.Form is not supported by the Odoo stand-in")


def new_test_user(
    env: Any, login: str = "", groups: str = "base.group_user", context: Any = None, **kwargs: Any
) -> Any:
    """Create a user with ``login`` in the groups given as comma-separated external ids."""
    group_ids = [env.ref(g.strip()).id for g in groups.split(",") if g.strip()]
    vals = {
        "login": login,
        "name": kwargs.pop("name", login),
        "email": kwargs.pop("email", f"{login}@example.com"),
        "groups_id": [(6, 0, group_ids)],
        **kwargs,
    }
    return env["res.users"].with_context(**(context or {})).create(vals)


def users(*logins: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Run the test once per login, as that user."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
            saved_uid, saved_env = self.uid, self.env
            try:
                for login in logins:
                    user = saved_env["res.users"].search([("login", "=", login)], limit=1)
                    self.uid, self.env = user.id, saved_env(user=user.id)
                    func(self, *args, **kwargs)
            finally:
                self.uid, self.env = saved_uid, saved_env

        return wrapper

    return decorate


def warmup(func: Callable[..., Any]) -> Callable[..., Any]:
    """Query-count warm-up decorator (no-op)."""
    return func
