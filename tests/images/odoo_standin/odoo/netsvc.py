"""Logging set-up with Odoo's record format.

``%(asctime)s %(pid)s %(levelname)s %(dbname)s %(name)s: %(message)s %(perf_info)s`` where
``dbname`` is the database of the current thread (``?`` outside any) and ``perf_info`` is empty,
which is why every record ends with a space, like the real server's.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

FORMAT = "%(asctime)s %(pid)s %(levelname)s %(dbname)s %(name)s: %(message)s %(perf_info)s"
LEVELS = {
    "debug_rpc_answer": logging.DEBUG,
    "debug_rpc": logging.DEBUG,
    "debug_sql": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "runbot": logging.INFO,
    "test": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "notset": logging.NOTSET,
}


class DBFormatter(logging.Formatter):
    """Adds ``pid``, ``dbname`` and ``perf_info`` to every record."""

    def format(self, record: logging.LogRecord) -> str:
        record.pid = os.getpid()
        record.dbname = getattr(threading.current_thread(), "dbname", "?")
        record.perf_info = ""
        return super().format(record)


def init_logger(
    log_level: str = "info", logfile: str | None = None, handlers: list[str] | None = None
) -> None:
    """Send records to ``logfile`` or stderr, at ``log_level`` plus ``LOGGER:LEVEL`` handlers."""
    logging.addLevelName(25, "INFO")
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    if logfile:
        directory = os.path.dirname(logfile)
        if directory:
            os.makedirs(directory, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(logfile)
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(DBFormatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(LEVELS.get(str(log_level).lower(), logging.INFO))
    for spec in handlers or []:
        name, _, level = spec.rpartition(":")
        logging.getLogger(name or None).setLevel(level.upper() if level else "INFO")
