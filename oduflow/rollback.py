"""All-or-nothing multi-step operations.

Each step registers how to undo itself; on failure the undos run in reverse order and
the error names the failing step::

    with Steps("create_environment", progress) as steps:
        steps.begin("clone repository")
        clone(...)
        steps.undo(lambda: rmtree(...))
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType

from oduflow.contracts import Progress, no_progress
from oduflow.errors import OduflowError, StepError

log = logging.getLogger("oduflow.rollback")


class Steps:
    """Runs named steps; rolls back registered undos when one fails."""

    def __init__(self, operation: str, progress: Progress = no_progress) -> None:
        self.operation = operation
        self.progress = progress
        self.current = "start"
        self._undo: list[tuple[str, Callable[[], object]]] = []
        self.rollback_errors: list[str] = []

    def begin(self, step: str) -> None:
        self.current = step
        self.progress(step)

    def undo(self, action: Callable[[], object]) -> None:
        self._undo.append((self.current, action))

    def commit(self) -> None:
        """Forget the undos: the operation succeeded."""
        self._undo.clear()

    def rollback(self) -> None:
        while self._undo:
            step, action = self._undo.pop()
            try:
                action()
            except Exception as exc:
                log.exception("rollback of step %r failed", step)
                self.rollback_errors.append(f"{step}: {exc}")

    def __enter__(self) -> Steps:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.commit()
            return
        self.rollback()
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            return
        error = StepError(self.operation, self.current, exc)
        if self.rollback_errors:
            error = StepError(
                self.operation,
                self.current,
                OduflowError(
                    f"{exc}\nrollback incomplete: {'; '.join(self.rollback_errors)} "
                    "(run 'oduflow cleanup' to remove leftovers)"
                ),
            )
        raise error from exc
