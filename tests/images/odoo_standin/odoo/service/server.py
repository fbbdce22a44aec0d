"""Server life cycle: signals, HTTP service, registry preloading, tests, shutdown; the exit code.

Like Odoo 18's ``ThreadedServer``: the HTTP service starts under ``--test-enable`` (or
``test_enable`` in the configuration file) whatever ``--no-http`` says, because HttpCase tests need
it, and otherwise unless ``--no-http`` or ``--stop-after-init``. ``http_spawn`` binds the socket in
the main thread (werkzeug's server constructor binds), so a port already held by another server
raises ``OSError: [Errno 98] Address already in use`` out of ``odoo.cli`` as an uncaught traceback
(exit code 1, no log record) before any database is loaded. SIGTERM/SIGINT start a clean shutdown
(a second one forces it). After ``--stop-after-init`` with tests, the summary of each loaded
database is logged on ``odoo.tests.result`` at ERROR (a test failed), WARNING (no test ran) or
INFO. The exit code is 0, the number of databases whose tests failed, or 255 when a database
failed to load.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from typing import Any

from odoo import sql_db
from odoo.tools import config

_logger = logging.getLogger(__name__)


class Server:
    """The threaded server (``workers`` > 0 is accepted but runs threaded too)."""

    def __init__(self) -> None:
        self.httpd: Any = None
        self.quit = threading.Event()
        self.signals = 0
        self.preloading = False

    def signal_handler(self, sig: int, frame: Any) -> None:
        """First signal: shut down cleanly; second: exit at once."""
        self.signals += 1
        if self.signals > 1:
            sys.stderr.write("Forced shutdown.\n")
            os._exit(0)
        self.quit.set()
        if self.preloading:
            raise KeyboardInterrupt()

    def http_spawn(self) -> None:
        """Bind the HTTP service here (a bind error propagates), then serve it in a daemon thread."""
        from odoo.service import httpd

        self.httpd = httpd.make_server(config["http_interface"] or "0.0.0.0", int(config["http_port"]))
        threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.25},
            name="odoo.service.httpd",
            daemon=True,
        ).start()

    def start(self, stop: bool = False) -> None:
        """Install the signal handlers; start the HTTP service when tests or serving need it."""
        signal.signal(signal.SIGINT, self.signal_handler)
        signal.signal(signal.SIGTERM, self.signal_handler)
        signal.signal(signal.SIGHUP, self.signal_handler)
        test_mode = config["test_enable"] or config["test_file"]
        if test_mode or (config["http_enable"] and not stop):
            # some tests need the http daemon to be available...
            self.http_spawn()

    def run(self, preload: list[str], stop: bool = False) -> int:
        """Preload the databases, then serve until a signal (or return at once with ``stop``)."""
        self.start(stop=stop)
        if preload and config["test_enable"]:
            logging.getLogger("odoo.tests.common").info("Importing test framework")
        self.preloading = True
        try:
            rc = preload_registries(preload)
        except KeyboardInterrupt:
            rc = 0
        finally:
            self.preloading = False
        if stop:
            if config["test_enable"]:
                log_test_summaries()
            self.stop()
            return rc
        while not self.quit.wait(1.0):
            pass
        self.stop()
        return 0

    def stop(self) -> None:
        """Log the shutdown lines, stop serving HTTP, close the connections."""
        _logger.info("Initiating shutdown")
        _logger.info("Hit CTRL-C again or send a second signal to force the shutdown.")
        if self.httpd is not None:
            self.httpd.shutdown()
        sql_db.close_all(test=bool(config["test_enable"]))


def log_test_summaries() -> None:
    """``N failed, M error(s) of K tests when loading database 'DB'`` for every loaded database."""
    from odoo.modules.registry import Registry

    for dbname, registry in list(Registry.registries.items()):
        if registry.test_result is not None:
            registry.test_result.log_summary(dbname)


def preload_registries(dbnames: list[str]) -> int:
    """Load (and install/update/test) each database; -1 when one fails, else the failed test runs."""
    from odoo.modules.registry import Registry
    from odoo.tests import loader

    rc = 0
    for dbname in dbnames:
        try:
            update_module = bool(config["init"] or config["update"])
            threading.current_thread().dbname = dbname  # type: ignore[attr-defined]
            registry = Registry.new(dbname, update_module=update_module)
            report = registry.test_result
            if config["test_enable"]:
                started, queries, before = time.time(), sql_db.sql_counter, report.testsRun
                names = registry.updated_modules if update_module else sorted(registry._init_modules)
                _logger.info("Starting post tests")
                for name in names:
                    report.add(name, loader.run_module_tests(registry, name, "post_install"))
                _logger.info(
                    "%d post-tests in %.2fs, %s queries",
                    report.testsRun - before,
                    time.time() - started,
                    sql_db.sql_counter - queries,
                )
                report.log_stats()
            if report is not None and not report.wasSuccessful():
                rc += 1
        except Exception:
            _logger.critical("Failed to initialize database `%s`.", dbname, exc_info=True)
            return -1
    return rc


def start(preload: list[str] | None = None, stop: bool = False) -> int:
    """Run the server; return its exit code (0 when nothing failed)."""
    rc = Server().run(preload or [], stop)
    return rc if rc else 0
