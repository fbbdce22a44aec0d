"""Per-branch, per-team and system locks that never queue.

Locks are ``flock`` locks on files under ``{data_dir}/locks/``, so they hold across
threads of the server and across processes (the server and ``oduflow call``).
A second operation on a held scope fails at once with :class:`BusyError`, which
names the operation holding the lock and since when. :meth:`LockManager.slot` hands out
one of N slots the same way (a team's concurrent operations).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from oduflow.errors import BusyError
from oduflow.naming import digest, slugify


@dataclass(frozen=True)
class LockScope:
    """What a lock covers: ``system``, ``team:<id>`` or ``branch:<team>:<branch>``."""

    kind: str
    key: str

    @classmethod
    def system(cls) -> LockScope:
        return cls("system", "system")

    @classmethod
    def team(cls, team: str) -> LockScope:
        return cls("team", str(team))

    @classmethod
    def branch(cls, team: str, branch: str) -> LockScope:
        return cls("branch", f"{team}:{branch}")

    @classmethod
    def template(cls, team: str, template: str) -> LockScope:
        """Shared by creations from the template, exclusive for changes to it."""
        return cls("template", f"{team}:{template}")

    def describe(self) -> str:
        if self.kind in ("branch", "template"):
            return f"{self.kind} '{self.key.split(':', 1)[1]}'"
        return f"{self.kind} '{self.key}'" if self.kind != "system" else "the system"

    def filename(self) -> str:
        return f"{self.kind}-{slugify(self.key)[:60]}-{digest(self.key)}.lock"


class LockManager:
    """Hands out non-blocking locks; see the module docstring."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @contextmanager
    def hold(self, scope: LockScope, operation: str, *, shared: bool = False) -> Iterator[None]:
        """Hold ``scope`` for ``operation`` or raise :class:`BusyError` at once.

        ``shared`` holders (creations from one template) exclude exclusive ones (changes to
        that template) but not each other.
        """
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.root / scope.filename()
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
            except BlockingIOError:
                raise BusyError(self._busy_message(path, scope, shared)) from None
            info = json.dumps({"operation": operation, "since": time.time(), "pid": os.getpid()})
            if not shared:
                os.ftruncate(fd, 0)
                os.pwrite(fd, info.encode(), 0)
            try:
                yield
            finally:
                if not shared:
                    os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @contextmanager
    def slot(self, group: str, limit: int, operation: str, *, holder: str) -> Iterator[None]:
        """Hold one of ``limit`` slots of ``group`` for ``operation`` or raise :class:`BusyError` at once.

        ``holder`` names the group in the message (``team '1'``). Slots are lock files too, so
        they count the operations of every process (server and ``oduflow call``) and a process
        that dies gives its slot back.
        """
        root = self.root / "slots"
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        base = f"{slugify(group)[:40]}-{digest(group)}"
        running = []
        for index in range(max(1, limit)):
            path = root / f"{base}-{index}.lock"
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                running.append(self._holder_operation(path))
                continue
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, json.dumps({"operation": operation, "since": time.time()}).encode(), 0)
                yield
                return
            finally:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
        ops = ", ".join(sorted(op for op in running if op)) or "other operations"
        raise BusyError(
            f"{holder} already runs {len(running)} operation(s) ({ops}), the most it may run at "
            "once. Wait for one to finish and retry."
        )

    @staticmethod
    def _holder_operation(path: Path) -> str:
        try:
            return str(json.loads(path.read_text() or "{}").get("operation", ""))
        except (OSError, ValueError):
            return ""

    @staticmethod
    def _busy_message(path: Path, scope: LockScope, shared: bool = False) -> str:
        try:
            info = json.loads(path.read_text() or "{}")
        except (OSError, ValueError):
            info = {}
        default = "a change to it" if shared else "another operation"
        if scope.kind == "template" and not shared and not info:
            default = "an environment creation from it"
        op = info.get("operation", default)
        since = info.get("since")
        when = ""
        if isinstance(since, (int, float)):
            started = time.strftime("%H:%M:%S", time.localtime(since))
            when = f" since {started} ({int(time.time() - since)} s ago)"
        return f"{scope.describe()} is busy: {op} is running{when}. Wait for it to finish and retry."
