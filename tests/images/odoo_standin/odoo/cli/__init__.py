"""``odoo`` command line: ``odoo [server] [options]``, ``odoo shell``, ``odoo scaffold``, ``odoo help``."""

from __future__ import annotations

import sys

from odoo.cli.command import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
