"""Sub-command dispatch and the start-up steps shared by ``server`` and ``shell``."""

from __future__ import annotations

import getpass
import logging
import os
import sys

from odoo import netsvc, release
from odoo.tools import config

_logger = logging.getLogger("odoo")
COMMANDS = ("server", "shell", "scaffold", "help")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``/usr/bin/odoo``; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    command = "server"
    if args and not args[0].startswith("-"):
        command, args = args[0], args[1:]
    if command not in COMMANDS:
        sys.exit(f"Unknown command {command!r}")
    if command == "help":
        print("Available commands:\n" + "\n".join(f"    {name}" for name in COMMANDS))
        return 0
    if command == "scaffold":
        from odoo.cli.scaffold import scaffold

        return scaffold(args)
    if command == "shell":
        from odoo.cli.shell import run_shell

        return run_shell(args)
    from odoo.cli.server import run_server

    return run_server(args)


def setup(args: list[str], command: str = "server") -> None:
    """Parse the configuration, set up logging, report the configuration like the real server.

    A command line error (unknown option, ...) exits with code 2 and optparse's usage message
    (``Usage: odoo server [options]``); ``--version`` prints the version and exits 0.
    """
    if os.name == "posix" and getpass.getuser() == "root":
        sys.stderr.write("Running as user 'root' is a security risk.\n")
    warnings = config.parse_config(args, prog=f"{os.path.basename(sys.argv[0]) or 'odoo'} {command}")
    netsvc.init_logger(config["log_level"], config["logfile"] or None, list(config["log_handler"] or ()))
    for warning in warnings:
        logging.getLogger("odoo.tools.config").warning("%s", warning)
    if (config["db_user"] or os.environ.get("PGUSER")) == "postgres":
        sys.stderr.write("Using the database user 'postgres' is a security risk, aborting.")
        sys.exit(1)
    from odoo.modules.module import addons_paths, initialize_sys_path

    initialize_sys_path()
    _logger.info("Odoo version %s", release.version)
    if os.path.isfile(config.rcfile):
        _logger.info("Using configuration file at %s", config.rcfile)
    _logger.info("addons paths: %s", addons_paths())
    host = config["db_host"] or os.environ.get("PGHOST", "default")
    port = config["db_port"] or os.environ.get("PGPORT", "default")
    user = config["db_user"] or os.environ.get("PGUSER", "default")
    _logger.info("database: %s@%s:%s", user, host, port)
    load_server_wide_modules()


def load_server_wide_modules() -> None:
    """Import ``base`` and ``web`` (the real server's ``--load``) and log what base reports at import."""
    from odoo.modules.module import load_openerp_module

    sys.stderr.write("Warn: Can't find .pfb for face 'Courier'\n")
    for module in ("base", "web"):
        load_openerp_module(module)
    report_logger = logging.getLogger("odoo.addons.base.models.ir_actions_report")
    report_logger.info("You need Wkhtmltopdf to print a pdf version of the reports.")
    report_logger.info("You need Wkhtmltoimage to generate images from html.")
