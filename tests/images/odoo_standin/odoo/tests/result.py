"""Test results logged like Odoo 18's ``OdooTestResult`` and the run summary of a database."""

from __future__ import annotations

import logging
import unittest
from dataclasses import dataclass, field
from typing import Any

_stats_logger = logging.getLogger("odoo.tests.stats")
_result_logger = logging.getLogger("odoo.tests.result")


def describe(test: Any) -> str:
    """``Class.method`` (or unittest's description for class-level errors)."""
    method = getattr(test, "_testMethodName", None)
    if method is None:
        return str(test)
    return f"{type(test).__name__}.{method}"


class OdooTestResult(unittest.TestResult):
    """Logs ``Starting X ...`` and each failure/error with its traceback on the test module's logger."""

    def _logger(self, test: Any) -> logging.Logger:
        return logging.getLogger(getattr(test, "__module__", None) or type(test).__module__ or "odoo.tests")

    def startTest(self, test: Any) -> None:
        super().startTest(test)
        self._logger(test).info("Starting %s ...", describe(test))

    def _log_error(self, flavour: str, test: Any, err: Any) -> None:
        logger = self._logger(test)
        logger.info("=" * 70)
        logger.error("%s: %s\n%s", flavour, describe(test), self._exc_info_to_string(err, test))

    def addError(self, test: Any, err: Any) -> None:
        super().addError(test, err)
        self._log_error("ERROR", test, err)

    def addFailure(self, test: Any, err: Any) -> None:
        super().addFailure(test, err)
        self._log_error("FAIL", test, err)

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        if err is not None:
            flavour = "FAIL" if issubclass(err[0], test.failureException) else "ERROR"
            (self.failures if flavour == "FAIL" else self.errors).append(
                (subtest, self._exc_info_to_string(err, test))
            )
            self._log_error(flavour, subtest, err)

    def addSkip(self, test: Any, reason: str) -> None:
        super().addSkip(test, reason)
        self._logger(test).info("skipped %s : %s", describe(test), reason)


@dataclass
class ModuleResult:
    """Outcome of one module's tests at one position."""

    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    classes: int = 0
    seconds: float = 0.0
    queries: int = 0


@dataclass
class TestReport:
    """Totals of a test run over all modules (``N failed, M error(s) of K tests``)."""

    failures: int = 0
    errors: int = 0
    testsRun: int = 0
    stats: dict[str, list[float]] = field(default_factory=dict)

    def add(self, module: str, result: ModuleResult) -> None:
        """Count a module's result."""
        self.failures += result.failures
        self.errors += result.errors
        self.testsRun += result.tests
        if result.tests:
            entry = self.stats.setdefault(module, [0, 0.0, 0])
            entry[0] += result.tests + 2 * result.classes
            entry[1] += result.seconds
            entry[2] += result.queries

    def wasSuccessful(self) -> bool:
        """No failure and no error."""
        return not (self.failures or self.errors)

    def __str__(self) -> str:
        return f"{self.failures} failed, {self.errors} error(s) of {self.testsRun} tests"

    def log_stats(self) -> None:
        """One ``odoo.tests.stats`` line per module that ran tests."""
        for module, (count, seconds, queries) in sorted(self.stats.items()):
            _stats_logger.info("%s: %d tests %.2fs %d queries", module, count, seconds, queries)

    def log_summary(self, dbname: str) -> None:
        """The final ``N failed, M error(s) of K tests when loading database 'DB'`` line.

        ERROR when a test failed, WARNING when no test ran, INFO otherwise (Odoo 18's
        ``ThreadedServer.run``).
        """
        if not self.wasSuccessful():
            level = logging.ERROR
        elif not self.testsRun:
            level = logging.WARNING
        else:
            level = logging.INFO
        _result_logger.log(level, "%s when loading database %r", self, dbname)
