"""``odoo shell -d DB``: run Python from standard input (or interactively on a terminal) with ``env``.

Like the real shell: the server is started and stopped at once (``server.start(preload=[],
stop=True)``: under ``test_enable`` that binds the HTTP port, so a port held by another server
kills the shell with ``OSError: [Errno 98] Address already in use``, and the log shows
``Initiating shutdown``); ``env`` (superuser), ``self`` (its user), ``odoo`` and ``openerp`` are bound;
what the code prints goes to stdout and the log to stderr; nothing is committed unless the code
calls ``env.cr.commit()``. Piped code that raises ends the process with the traceback on stderr
and exit code 1 (the real shell ``exec``s standard input and lets the exception propagate).
"""

from __future__ import annotations

import code
import os
import signal
import sys
import threading
from typing import Any

import odoo
from odoo import SUPERUSER_ID, api
from odoo.cli.command import setup
from odoo.tools import config


def raise_keyboard_interrupt(*a: Any) -> None:
    raise KeyboardInterrupt()


class Console(code.InteractiveConsole):
    """Odoo's console: ``code.InteractiveConsole`` with readline line editing and tab completion."""

    def __init__(self, locals: dict[str, Any] | None = None, filename: str = "<console>") -> None:
        code.InteractiveConsole.__init__(self, locals, filename)
        try:
            import readline
            import rlcompleter
        except ImportError:
            print("readline or rlcompleter not available, autocomplete disabled.")
        else:
            readline.set_completer(rlcompleter.Completer(locals).complete)
            readline.parse_and_bind("tab: complete")


def _console(local_vars: dict[str, Any]) -> None:
    if not os.isatty(sys.stdin.fileno()):
        local_vars["__name__"] = "__main__"
        exec(sys.stdin.read(), local_vars)
        return
    if "env" not in local_vars:
        print(f"No environment set, use `{sys.argv[0]} shell -d dbname` to get one.")
    for name in sorted(local_vars):
        print(f"{name}: {local_vars[name]}")
    # Odoo tries ipython, ptpython, bpython first; the stand-in has none of them: its Console
    Console(locals=local_vars).interact()


def run_shell(args: list[str]) -> int:
    """Run the shell; returns 0."""
    from odoo.service import server

    setup(args, "shell")
    server.start(preload=[], stop=True)
    signal.signal(signal.SIGINT, raise_keyboard_interrupt)
    dbnames = config.db_names
    if len(dbnames) > 1:
        sys.exit("-d/--database/db_name has multiple database, please provide a single one")
    local_vars: dict[str, Any] = {"openerp": odoo, "odoo": odoo}
    if not dbnames:
        _console(local_vars)
        return 0
    threading.current_thread().dbname = dbnames[0]  # type: ignore[attr-defined]
    registry = odoo.registry(dbnames[0])
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        local_vars["env"] = env
        local_vars["self"] = env.user
        _console(local_vars)
        cr.rollback()
    return 0
