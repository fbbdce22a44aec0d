"""``odoo.tools``: configuration, data file conversion and helpers used by addons."""

from odoo.tools import misc
from odoo.tools.config import config
from odoo.tools.misc import (
    DEFAULT_SERVER_DATE_FORMAT,
    DEFAULT_SERVER_DATETIME_FORMAT,
    DEFAULT_SERVER_TIME_FORMAT,
    file_open,
    file_path,
    float_compare,
    float_is_zero,
    float_repr,
    float_round,
    groupby,
    html_escape,
    lazy_property,
    mute_logger,
    ormcache,
    ormcache_context,
    split_every,
    str2bool,
    ustr,
)
from odoo.tools.translate import _, _lt

__all__ = [
    "DEFAULT_SERVER_DATETIME_FORMAT",
    "DEFAULT_SERVER_DATE_FORMAT",
    "DEFAULT_SERVER_TIME_FORMAT",
    "_",
    "_lt",
    "config",
    "file_open",
    "file_path",
    "float_compare",
    "float_is_zero",
    "float_repr",
    "float_round",
    "groupby",
    "html_escape",
    "lazy_property",
    "misc",
    "mute_logger",
    "ormcache",
    "ormcache_context",
    "split_every",
    "str2bool",
    "ustr",
]
