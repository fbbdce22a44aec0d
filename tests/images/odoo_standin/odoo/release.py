"""Version information of the stand-in, like a packaged community build of Odoo.

The series comes from ``ODOO_VERSION`` (set by the image, as in the official one); the packaged
release date is appended like the official packages do: ``odoo --version`` prints
``Odoo Server 18.0-20241005`` while ``serie``/``major_version`` stay ``18.0``.
"""

from __future__ import annotations

import os

RELEASE_DATE = "20241005"
_RAW = os.environ.get("ODOO_VERSION", "18.0")
_MAJOR, _, _MINOR = _RAW.partition(".")

version_info: tuple[int, int, int, str, int, str] = (int(_MAJOR), int(_MINOR or 0), 0, "final", 0, "")
serie = series = major_version = f"{version_info[0]}.{version_info[1]}"
version = f"{serie}-{RELEASE_DATE}"
product_name = "Odoo"
description = "Odoo Server"
nt_service_name = f"odoo-server-{serie}"
author = "OpenERP S.A."
url = "https://www.odoo.com"
license = "LGPL-3"
