"""``odoo [server]``: create missing databases named by ``-d``, then run the server."""

from __future__ import annotations

import logging
import sys

import psycopg2
from psycopg2 import errorcodes

from odoo.cli.command import setup
from odoo.tools import config

_logger = logging.getLogger("odoo.cli.server")


def run_server(args: list[str]) -> int:
    """Run the server; exits with its return code (255 when a database failed to initialize)."""
    setup(args)
    from odoo.service import db as db_service
    from odoo.service import server

    preload = config.db_names
    for dbname in preload:
        try:
            db_service.create_empty_database(dbname)
            config["init"]["base"] = True
        except db_service.DatabaseExists:
            pass
        except psycopg2.ProgrammingError as err:
            if err.pgcode != errorcodes.INSUFFICIENT_PRIVILEGE:
                raise
            _logger.info("Could not determine if database %s exists, skipping auto-creation: %s", dbname, err)
    rc = server.start(preload=preload, stop=bool(config["stop_after_init"]))
    sys.exit(rc)
