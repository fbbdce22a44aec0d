"""Command line and ``[options]`` configuration, like Odoo's ``odoo.tools.config``.

Command line options override the configuration file (``-c``, else ``$ODOO_RC``, else
``~/.odoorc``). The command line is parsed by :mod:`optparse` like the real server's, so errors
are the real ones: an unknown option, a missing or badly typed value, a positional argument or an
invalid ``--addons-path`` print ``Usage: odoo server [options]`` and ``odoo server: error: ...`` on
standard error and exit with code 2; long options may be abbreviated; ``--version`` prints
``Odoo Server 18.0-YYYYMMDD`` and exits 0.
"""

from __future__ import annotations

import configparser
import contextlib
import optparse
import os
import sys
from dataclasses import dataclass
from typing import Any

from odoo import release


@dataclass(frozen=True)
class Opt:
    """One option: destination key, flags, kind (str, int, bool, true, false, append) and default."""

    dest: str
    flags: tuple[str, ...]
    kind: str = "str"
    default: Any = False


_OPTS = [
    Opt("config", ("-c", "--config"), default=None),
    Opt("save", ("-s", "--save"), "true"),
    Opt("init", ("-i", "--init"), default=""),
    Opt("update", ("-u", "--update"), default=""),
    Opt("without_demo", ("--without-demo",)),
    Opt("server_wide_modules", ("--load",), default="base,web"),
    Opt("pidfile", ("--pidfile",)),
    Opt("addons_path", ("--addons-path",), default=""),
    Opt("upgrade_path", ("--upgrade-path",), default=""),
    Opt("pre_upgrade_scripts", ("--pre-upgrade-scripts",), default=""),
    Opt("data_dir", ("-D", "--data-dir"), default=os.path.expanduser("~/.local/share/Odoo")),
    Opt("http_interface", ("--http-interface",), default=""),
    Opt("http_port", ("-p", "--http-port"), "int", 8069),
    Opt("gevent_port", ("--gevent-port", "--longpolling-port"), "int", 8072),
    Opt("http_enable", ("--no-http",), "false", True),
    Opt("proxy_mode", ("--proxy-mode",), "true"),
    Opt("x_sendfile", ("--x-sendfile",), "true"),
    Opt("dbfilter", ("--db-filter",), default=""),
    Opt("test_file", ("--test-file",)),
    Opt("test_enable", ("--test-enable",), "true"),
    Opt("test_tags", ("--test-tags",), default=None),
    Opt("screencasts", ("--screencasts",)),
    Opt("screenshots", ("--screenshots",), default="/tmp/odoo_tests"),
    Opt("logfile", ("--logfile",)),
    Opt("syslog", ("--syslog",), "true"),
    Opt("log_handler", ("--log-handler",), "append", ()),
    Opt("log_db", ("--log-db",)),
    Opt("log_db_level", ("--log-db-level",), default="warning"),
    Opt("log_level", ("--log-level",), default="info"),
    Opt("email_from", ("--email-from",)),
    Opt("from_filter", ("--from-filter",)),
    Opt("smtp_server", ("--smtp",), default="localhost"),
    Opt("smtp_port", ("--smtp-port",), "int", 25),
    Opt("smtp_ssl", ("--smtp-ssl",), "true"),
    Opt("smtp_user", ("--smtp-user",)),
    Opt("smtp_password", ("--smtp-password",)),
    Opt("db_name", ("-d", "--database")),
    Opt("db_user", ("-r", "--db_user")),
    Opt("db_password", ("-w", "--db_password")),
    Opt("pg_path", ("--pg_path",)),
    Opt("db_host", ("--db_host",)),
    Opt("db_replica_host", ("--db_replica_host",)),
    Opt("db_port", ("--db_port",), "int"),
    Opt("db_replica_port", ("--db_replica_port",), "int"),
    Opt("db_sslmode", ("--db_sslmode",), default="prefer"),
    Opt("db_maxconn", ("--db_maxconn",), "int", 64),
    Opt("db_template", ("--db-template",), default="template0"),
    Opt("load_language", ("--load-language",)),
    Opt("language", ("-l", "--language")),
    Opt("overwrite_existing_translations", ("--i18n-overwrite",), "true"),
    Opt("list_db", ("--no-database-list",), "false", True),
    Opt("dev_mode", ("--dev",), default=""),
    Opt("shell_interface", ("--shell-interface",)),
    Opt("stop_after_init", ("--stop-after-init",), "true"),
    Opt("osv_memory_count_limit", ("--osv-memory-count-limit",), "int", 0),
    Opt("transient_age_limit", ("--transient-age-limit",), default=1.0),
    Opt("max_cron_threads", ("--max-cron-threads",), "int", 2),
    Opt("unaccent", ("--unaccent",), "true"),
    Opt("geoip_city_db", ("--geoip-city-db", "--geoip-db"), default="/usr/share/GeoIP/GeoLite2-City.mmdb"),
    Opt("geoip_country_db", ("--geoip-country-db",), default="/usr/share/GeoIP/GeoLite2-Country.mmdb"),
    Opt("workers", ("--workers",), "int", 0),
    Opt("limit_memory_soft", ("--limit-memory-soft",), "int", 2048 * 1024 * 1024),
    Opt("limit_memory_hard", ("--limit-memory-hard",), "int", 2560 * 1024 * 1024),
    Opt("limit_time_cpu", ("--limit-time-cpu",), "int", 60),
    Opt("limit_time_real", ("--limit-time-real",), "int", 120),
    Opt("limit_time_real_cron", ("--limit-time-real-cron",), "int", -1),
    Opt("limit_request", ("--limit-request",), "int", 65536),
]
SHELL_OPTS = (Opt("shell_file", ("--shell-file",), default=""),)
_BY_DEST = {opt.dest: opt for opt in (*_OPTS, *SHELL_OPTS)}
_FILE_ONLY = {
    "admin_passwd": "admin",
    "csv_internal_sep": ",",
    "reportgz": False,
    "publisher_warranty_url": "",
}
_OPTPARSE_KINDS: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "int": {"type": "int"},
    "true": {"action": "store_true"},
    "false": {"action": "store_false"},
    "append": {"action": "append"},
}


def _convert(opt: Opt | None, value: Any) -> Any:
    """Turn a raw string into the option's type (``False``/``None`` strings become falsy)."""
    if not isinstance(value, str):
        return value
    if value in ("False", "false", "None", ""):
        return False if (opt is None or opt.kind != "append") else ()
    if opt is None:
        return value
    if opt.kind == "int":
        return int(value)
    if opt.kind in ("true", "false", "bool"):
        return value.lower() in ("1", "true", "yes", "on")
    return value


class Configuration:
    """The parsed options; read like a dict (``config['db_name']``)."""

    def __init__(self) -> None:
        self.options: dict[str, Any] = {opt.dest: opt.default for opt in (*_OPTS, *SHELL_OPTS)}
        self.options.update(_FILE_ONLY)
        self.rcfile = os.path.expanduser("~/.odoorc")
        self.warnings: list[str] = []

    def __getitem__(self, key: str) -> Any:
        return self.options[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.options[key] = value

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, or ``default``."""
        return self.options.get(key, default)

    def parse_config(self, args: list[str] | None = None, prog: str = "odoo server") -> list[str]:
        """Parse ``args`` (the command line after the sub-command) and the config file.

        A command line error exits like optparse (usage and error on standard error, code 2).
        """
        given = _parse_args(list(sys.argv[1:] if args is None else args), prog)
        self.rcfile = os.path.abspath(
            given.get("config")
            or os.environ.get("ODOO_RC")
            or os.environ.get("OPENERP_SERVER")
            or self.rcfile
        )
        self._load_file(self.rcfile)
        self.options.update(given)
        self._post_process()
        return self.warnings

    def _load_file(self, path: str) -> None:
        parser = configparser.RawConfigParser()
        try:
            parser.read(path)
        except configparser.Error as exc:
            self.warnings.append(f"could not read {path}: {exc}")
            return
        if not parser.has_section("options"):
            return
        for key, raw in parser.items("options"):
            opt = _BY_DEST.get(key)
            if opt is not None and opt.kind == "append":
                self.options[key] = tuple(v.strip() for v in raw.split(",") if v.strip())
            else:
                self.options[key] = _convert(opt, raw)

    def _post_process(self) -> None:
        opts = self.options
        for key in ("init", "update"):
            value = opts[key]
            if isinstance(value, str | bool):
                names = str(value or "").split(",") if value else []
                opts[key] = {name.strip(): 1 for name in names if name.strip()}
        if opts.get("test_tags"):
            opts["test_enable"] = True
        for key in ("data_dir", "logfile", "pidfile"):
            if opts.get(key):
                opts[key] = os.path.abspath(os.path.expanduser(str(opts[key])))
        if isinstance(opts.get("without_demo"), str) and opts["without_demo"].lower() in ("0", "no"):
            opts["without_demo"] = False
        dev = opts.get("dev_mode") or ""
        opts["dev_mode"] = [d.strip() for d in str(dev).split(",") if d.strip()]

    @property
    def db_names(self) -> list[str]:
        """``db_name`` as a list (it may hold several comma-separated names)."""
        return [name.strip() for name in str(self.options.get("db_name") or "").split(",") if name.strip()]

    @property
    def addons_data_dir(self) -> str:
        """``DATA_DIR/addons/SERIE``, created when possible (like the real server)."""
        path = os.path.join(self.options["data_dir"], "addons", release.serie)
        with contextlib.suppress(OSError):
            os.makedirs(path, exist_ok=True)
        return path

    @property
    def session_dir(self) -> str:
        """``DATA_DIR/sessions``."""
        return os.path.join(self.options["data_dir"], "sessions")

    def filestore(self, dbname: str) -> str:
        """``DATA_DIR/filestore/DBNAME``."""
        return os.path.join(self.options["data_dir"], "filestore", dbname)

    def verify_admin_password(self, password: str) -> bool:
        """Whether ``password`` is the master password (``admin_passwd``)."""
        return bool(password) and str(self.options.get("admin_passwd")) == str(password)

    def set_admin_password(self, password: str) -> None:
        """Change the master password for this process."""
        self.options["admin_passwd"] = password


def make_parser(prog: str = "odoo server", extra: tuple[Opt, ...] = ()) -> optparse.OptionParser:
    """The option parser of the real server (``prog`` is ``odoo server`` or ``odoo shell``)."""
    parser = optparse.OptionParser(prog=prog, version=f"{release.description} {release.version}")
    for opt in (*_OPTS, *extra):
        if opt.dest == "addons_path":
            parser.add_option(
                *opt.flags, dest=opt.dest, type="string", action="callback", callback=_addons_path_callback
            )
        else:
            parser.add_option(*opt.flags, dest=opt.dest, **_OPTPARSE_KINDS[opt.kind])
    parser.set_defaults(**dict.fromkeys(parser.defaults))
    return parser


def _parse_args(args: list[str], prog: str) -> dict[str, Any]:
    """The options given on the command line (``None`` = not given); positional arguments are errors."""
    parser = make_parser(prog, SHELL_OPTS if prog.endswith(" shell") else ())
    values, positional = parser.parse_args(args)
    if positional:
        parser.error("unrecognized parameters: '{}'".format(" ".join(positional)))
    given = {key: value for key, value in vars(values).items() if value is not None}
    if "log_handler" in given:
        given["log_handler"] = tuple(given["log_handler"])
    return given


def _addons_path_callback(option: Any, flag: str, value: str, parser: optparse.OptionParser) -> None:
    try:
        setattr(parser.values, option.dest, _check_addons_path(flag, value))
    except ValueError as exc:
        raise optparse.OptionValueError(str(exc)) from None


def _check_addons_path(flag: str, value: str) -> str:
    """Validate ``--addons-path`` like optparse's callback in the real server."""
    paths = []
    for raw in value.split(","):
        if not raw.strip():
            continue
        path = os.path.abspath(os.path.expanduser(raw.strip()))
        if not os.path.isdir(path):
            raise ValueError(f"option {flag}: no such directory: {path!r}")
        if not _is_addons_dir(path):
            raise ValueError(f"option {flag}: the path {raw.strip()!r} is not a valid addons directory")
        paths.append(path)
    return ",".join(paths)


def _is_addons_dir(path: str) -> bool:
    for name in os.listdir(path):
        mod = os.path.join(path, name)
        if os.path.isfile(os.path.join(mod, "__init__.py")) and (
            os.path.isfile(os.path.join(mod, "__manifest__.py"))
            or os.path.isfile(os.path.join(mod, "__openerp__.py"))
        ):
            return True
    return False


config = Configuration()
