"""Test case classes addons import from ``odoo.tests.common`` / ``odoo.tests``."""

from __future__ import annotations

import contextlib
import functools
import itertools
import threading
import unittest
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from odoo import SUPERUSER_ID, api
from odoo.tools import config

ADMIN_USER_ID = 2
HOST = "127.0.0.1"
PORT = 8069
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


class HttpCase(TransactionCase):
    """Browser tests: skipped by the stand-in (there is no browser)."""

    def setUp(self) -> None:
        super().setUp()
        self.skipTest("HttpCase is not supported by the Odoo stand-in")

    def url_open(self, *args: Any, **kwargs: Any) -> Any:
        """Not supported."""
        raise unittest.SkipTest("HttpCase is not supported by the Odoo stand-in")

    start_tour = browser_js = url_open


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
