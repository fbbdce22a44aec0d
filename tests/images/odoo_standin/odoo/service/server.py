"""Server life cycle: signals, HTTP thread, registry preloading, tests, shutdown; the exit code.

Like the real threaded server: the HTTP service runs unless ``--stop-after-init`` (it also runs
for ``--test-enable``), SIGTERM/SIGINT start a clean shutdown (a second one forces it), and the
exit code is 0, the number of databases whose tests failed, or 255 when a database failed to load.
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
        """Serve HTTP in a daemon thread (a bind error is reported by the thread, like the real one)."""
        from odoo.service import httpd

        def serve() -> None:
            self.httpd = httpd.make_server(config["http_interface"] or "0.0.0.0", int(config["http_port"]))
            self.httpd.serve_forever(poll_interval=0.25)

        thread = threading.Thread(target=serve, name="odoo.service.httpd", daemon=True)
        thread.start()
        for _ in range(100):
            if self.httpd is not None or not thread.is_alive():
                break
            time.sleep(0.01)

    def run(self, preload: list[str], stop: bool = False) -> int:
        """Preload the databases, then serve until a signal (or return at once with ``stop``)."""
        signal.signal(signal.SIGINT, self.signal_handler)
        signal.signal(signal.SIGTERM, self.signal_handler)
        signal.signal(signal.SIGHUP, self.signal_handler)
        if config["test_enable"] or (config["http_enable"] and not stop):
            self.http_spawn()
        if config["test_enable"]:
            logging.getLogger("odoo.tests.common").info("Importing test framework")
        self.preloading = True
        try:
            rc = preload_registries(preload)
        except KeyboardInterrupt:
            rc = 0
        finally:
            self.preloading = False
        if stop or self.quit.is_set():
            self.stop()
            return rc
        while not self.quit.wait(1.0):
            pass
        self.stop()
        return 0

    def stop(self) -> None:
        """Log the shutdown lines, stop the HTTP service, close the connections."""
        _logger.info("Initiating shutdown")
        _logger.info("Hit CTRL-C again or send a second signal to force the shutdown.")
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
        sql_db.close_all(test=bool(config["test_enable"]))


def preload_registries(dbnames: list[str]) -> int:
    """Load (and install/update/test) each database; -1 when one fails, else the failed test runs."""
    from odoo.modules.registry import Registry
    from odoo.tests import loader

    rc = 0
    for dbname in dbnames:
        try:
            update_module = bool(config["init"] or config["update"])
            registry = Registry.new(dbname, update_module=update_module)
            if config["test_enable"]:
                report = registry.test_result
                started, queries, before = time.time(), sql_db.sql_counter, report.testsRun
                _logger.info("Starting post tests")
                names = registry.updated_modules if update_module else sorted(registry._init_modules)
                for name in names:
                    report.add(name, loader.run_module_tests(registry, name, "post_install"))
                _logger.info(
                    "%d post-tests in %.2fs, %s queries",
                    report.testsRun - before,
                    time.time() - started,
                    sql_db.sql_counter - queries,
                )
                report.log_stats()
                report.log_summary(dbname)
                if not report.wasSuccessful():
                    rc += 1
        except Exception:
            _logger.critical("Failed to initialize database `%s`.", dbname, exc_info=True)
            return -1
    return rc


def start(preload: list[str] | None = None, stop: bool = False) -> int:
    """Run the server; return its exit code."""
    return Server().run(preload or [], stop)
