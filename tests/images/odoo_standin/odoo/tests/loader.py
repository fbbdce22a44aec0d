"""Find the tests of a module and run those selected by ``--test-tags`` at a position."""

from __future__ import annotations

import importlib
import inspect
import logging
import re
import threading
import time
import unittest
from collections.abc import Iterator
from typing import Any

from odoo import sql_db
from odoo.tests.result import ModuleResult, OdooTestResult
from odoo.tools import config

_logger = logging.getLogger(__name__)
_SPEC = re.compile(r"^([+-]?)(\*|\w*)(?:/([\w.]*))?(?::(\w*))?(?:\.(\w*))?(?:\[(.*)\])?$")


class TagsSelector:
    """``[-][tag][/module][:class][.method]`` specs, comma separated (default ``+standard``)."""

    def __init__(self, spec: str | None) -> None:
        self.include: list[tuple[Any, ...]] = []
        self.exclude: list[tuple[Any, ...]] = []
        for raw in (spec or "+standard").split(","):
            raw = raw.strip()
            if not raw:
                continue
            match = _SPEC.match(raw)
            if not match:
                _logger.error("Invalid tag %s", raw)
                continue
            sign, tag, module, klass, method, _params = match.groups()
            entry = (None if tag in ("", "*") else tag, module or None, klass or None, method or None)
            if entry[0] is None and not any(entry[1:]):
                entry = ("standard", None, None, None)
            (self.exclude if sign == "-" else self.include).append(entry)

    @staticmethod
    def _match(entry: tuple[Any, ...], test: Any) -> bool:
        tag, module, klass, method = entry
        return (
            (tag is None or tag in getattr(test, "test_tags", set()))
            and (module is None or module == getattr(test, "test_module", None))
            and (klass is None or klass == type(test).__name__)
            and (method is None or method == getattr(test, "_testMethodName", None))
        )

    def check(self, test: Any) -> bool:
        """Whether ``test`` is selected."""
        if any(self._match(e, test) for e in self.exclude):
            return False
        include = self.include or [("standard", None, None, None)]
        return any(self._match(e, test) for e in include)


def get_test_modules(module: str) -> list[Any]:
    """The ``test_*`` submodules of ``odoo.addons.MODULE.tests`` (imported)."""
    qualname = f"odoo.addons.{module}.tests"
    try:
        package = importlib.import_module(qualname)
    except ImportError as exc:
        if exc.name == qualname:
            return []
        raise
    return [mod for name, mod in inspect.getmembers(package, inspect.ismodule) if name.startswith("test_")]


def _iter_tests(suite: Any) -> Iterator[Any]:
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from _iter_tests(item)
        else:
            yield item


def make_suite(module: str, position: str) -> unittest.TestSuite:
    """The selected tests of ``module`` that run at ``position`` (``at_install`` or ``post_install``)."""
    selector = TagsSelector(config["test_tags"])
    tests = []
    for mod in get_test_modules(module):
        for test in _iter_tests(unittest.TestLoader().loadTestsFromModule(mod)):
            if not isinstance(test, unittest.TestCase):
                tests.append(test)
                continue
            test.test_module = module  # type: ignore[attr-defined]
            tags = getattr(test, "test_tags", set())
            if position not in tags:
                continue
            if selector.check(test):
                tests.append(test)
    return unittest.TestSuite(tests)


def run_module_tests(registry: Any, module: str, position: str) -> ModuleResult:
    """Run the selected tests of ``module`` at ``position`` and count the outcome."""
    threading.current_thread().dbname = registry.db_name  # type: ignore[attr-defined]
    result = ModuleResult()
    try:
        suite = make_suite(module, position)
    except Exception:
        logging.getLogger(f"odoo.addons.{module}.tests").exception("Can not `import %s`.", f"{module}.tests")
        result.errors = result.tests = 1
        return result
    if not suite.countTestCases():
        return result
    started, queries = time.time(), sql_db.sql_counter
    outcome = OdooTestResult()
    suite.run(outcome)
    result.tests = outcome.testsRun
    result.failures = len(outcome.failures)
    result.errors = len(outcome.errors)
    result.skipped = len(outcome.skipped)
    result.classes = len({type(t) for t in _iter_tests(suite)})
    result.seconds = time.time() - started
    result.queries = sql_db.sql_counter - queries
    return result
