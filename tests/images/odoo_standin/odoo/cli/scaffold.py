"""``odoo scaffold NAME [DEST]``: a minimal module skeleton."""

from __future__ import annotations

import os
import sys

_FILES = {
    "__init__.py": "from . import models\n",
    "__manifest__.py": "{{\n    'name': '{title}',\n    'version': '0.1',\n    'depends': ['base'],\n"
    "    'data': [],\n    'license': 'LGPL-3',\n}}\n",
    "models/__init__.py": "from . import models\n",
    "models/models.py": "from odoo import fields, models  # noqa: F401\n",
}


def scaffold(args: list[str]) -> int:
    """Create ``DEST/NAME`` with a manifest and an empty models package."""
    if not args:
        sys.stderr.write("usage: odoo scaffold NAME [DEST]\n")
        return 2
    name, dest = args[0], (args[1] if len(args) > 1 else ".")
    root = os.path.join(dest, name)
    for rel, content in _FILES.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            fh.write(content.format(title=name.replace("_", " ").title()))
    return 0
