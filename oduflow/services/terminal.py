"""Interactive ``odoo shell`` on a TTY inside an environment's running container (the web terminal).

The shell is :func:`oduflow.services.odoo_ops.terminal_argv` (the options of ``run_odoo_shell``:
``--no-http`` and a random ``--http-port``, since Odoo starts its HTTP server in a shell under
``test_enable`` whatever ``--no-http`` says, and the serving server holds the usual port) started
with ``docker exec`` on a TTY as the image's user. The engine does not stop an exec'd process when
its stream closes, so the process writes its pid to a file first and :meth:`Terminal.close` kills
its process group from inside the container. ``timeout`` ends it in the container after
:data:`MAX_SESSION` seconds even if this server died.

A team holds at most :data:`MAX_TERMINALS_PER_TEAM` terminals at once (lock-file slots like the
catalog's operation slots, but their own group: an open terminal does not take an operation slot).
"""

from __future__ import annotations

import contextlib
import secrets
from contextlib import ExitStack
from dataclasses import dataclass, field

from oduflow import docker_api
from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.docker_api import TtyExec
from oduflow.errors import BusyError, ConflictError, OduflowError
from oduflow.services import odoo_ops
from oduflow.services.envmodel import get_env

MAX_TERMINALS_PER_TEAM = 3
"""Terminals a team may have open at once; one more is refused (:class:`~oduflow.errors.BusyError`)."""
MAX_SESSION = 4 * 3600
"""Seconds a terminal lives at most (ended by the surface, and by ``timeout`` in the container)."""
IDLE_TIMEOUT = 30 * 60
"""Seconds without input or output after which the surface closes a terminal."""
OUTPUT_RATE = 512 * 1024
"""Bytes per second of output the surface forwards at most (a runaway loop is slowed, not lost)."""
MIN_SIZE, MAX_SIZE = (10, 2), (500, 200)
"""Bounds of a terminal's (columns, rows)."""
TERM = "xterm-256color"

_PID_WRAPPER = 'echo $$ > "$1" && shift && exec timeout --foreground -k 5 "$@"'
# wait for the pid file (the process may not have written it yet), stop the group, kill it
_KILL_SCRIPT = """\
for i in 1 2 3 4 5 6 7 8 9 10; do [ -s "$1" ] && break; sleep 0.2; done
pid=$(cat "$1" 2>/dev/null); rm -f "$1"
[ -n "$pid" ] || exit 0
kill -TERM "-$pid" 2>/dev/null || exit 0
for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 "-$pid" 2>/dev/null || exit 0; sleep 0.2; done
kill -KILL "-$pid" 2>/dev/null
exit 0
"""


def clamp_size(cols: int, rows: int) -> tuple[int, int]:
    """``(cols, rows)`` within :data:`MIN_SIZE` .. :data:`MAX_SIZE`."""
    return (
        max(MIN_SIZE[0], min(MAX_SIZE[0], int(cols))),
        max(MIN_SIZE[1], min(MAX_SIZE[1], int(rows))),
    )


@dataclass
class Terminal:
    """An open terminal: ``odoo shell`` on a TTY; :meth:`close` kills it and frees the team's slot."""

    branch: str
    process: TtyExec
    pid_file: str
    _resources: ExitStack = field(default_factory=ExitStack)
    closed: bool = False

    def read(self) -> bytes:
        """The next output bytes (blocking); ``b""`` when the shell has ended or :meth:`close` ran."""
        return self.process.read()

    def write(self, data: bytes) -> None:
        """Type ``data``; ignored once the terminal is closed."""
        if not self.closed:
            with contextlib.suppress(OSError):
                self.process.write(data)

    def resize(self, cols: int, rows: int) -> None:
        """Resize the TTY (clamped, see :func:`clamp_size`)."""
        if not self.closed:
            self.process.resize(*clamp_size(cols, rows))

    def close(self) -> None:
        """Kill the shell's process group in the container, close the stream, free the slot."""
        if self.closed:
            return
        self.closed = True
        try:
            if self.process.running():
                argv = ["sh", "-c", _KILL_SCRIPT, "sh", self.pid_file]
            else:
                argv = ["rm", "-f", "--", self.pid_file]
            with contextlib.suppress(OduflowError):  # the container went away: so did the shell
                docker_api.exec_in(self.process.container, argv, user="root", timeout=30)
        finally:
            self.process.close()
            self._resources.close()


def open_terminal(app: App, team: TeamConfig, branch: str, cols: int = 80, rows: int = 24) -> Terminal:
    """Start ``odoo shell`` on a TTY of ``cols`` x ``rows`` on ``branch``'s database.

    Raises :class:`~oduflow.errors.NotFoundError` for an unknown environment, :class:`ConflictError`
    when it is not running, :class:`~oduflow.errors.BusyError` when the team has
    :data:`MAX_TERMINALS_PER_TEAM` terminals open.
    """
    env = get_env(app, team, branch)
    try:
        container = odoo_ops.running_container(app, env)
    except ConflictError:
        raise ConflictError(f"environment '{env.branch}' is stopped: start it first") from None
    resources = ExitStack()
    slot = app.locks.slot(
        f"terminal:{team.id}", MAX_TERMINALS_PER_TEAM, f"terminal {env.branch}", holder=f"team '{team.id}'"
    )
    try:
        resources.enter_context(slot)
    except BusyError:
        raise BusyError(
            f"team '{team.id}' has {MAX_TERMINALS_PER_TEAM} terminals open, the most it may: close one "
            "and retry"
        ) from None
    try:
        pid_file = f"/tmp/oduflow-terminal-{secrets.token_hex(8)}.pid"
        shell = odoo_ops.terminal_argv(env.params.db_name, odoo_ops.job_http_port())
        argv = ["sh", "-c", _PID_WRAPPER, "sh", pid_file, str(MAX_SESSION), *shell]
        process = docker_api.exec_tty(
            container, argv, user=odoo_ops.IMAGE_USER, env={"TERM": TERM}, size=clamp_size(cols, rows)
        )
    except BaseException:
        resources.close()
        raise
    return Terminal(env.branch, process, pid_file, resources)
