"""Version information of the stand-in (the version comes from ``ODOO_VERSION``, set by the image)."""

from __future__ import annotations

import os

_RAW = os.environ.get("ODOO_VERSION", "18.0")
_MAJOR, _, _MINOR = _RAW.partition(".")

version_info: tuple[int, int, int, str, int, str] = (int(_MAJOR), int(_MINOR or 0), 0, "final", 0, "")
serie = major_version = f"{version_info[0]}.{version_info[1]}"
version = serie
product_name = "Odoo"
description = "Odoo Server"
nt_service_name = f"odoo-server-{serie}"
author = "OpenERP S.A."
url = "https://www.odoo.com"
license = "LGPL-3"
