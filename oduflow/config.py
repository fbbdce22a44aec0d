"""``oduflow.toml`` loaded into frozen dataclasses.

Search order: ``ODUFLOW_TOML``, ``/etc/oduflow/oduflow.toml``, ``~/.oduflow/oduflow.toml``.
Precedence: CLI flag > ``ODUFLOW_*`` environment variable > file > default.
Environment variables are named ``ODUFLOW_<SECTION>_<KEY>`` (``ODUFLOW_SERVER_PORT``)
and ``ODUFLOW_TEAM_<ID>_<KEY>`` for team keys (``ODUFLOW_TEAM_1_AUTH_TOKEN``).
"""

from __future__ import annotations

import itertools
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from oduflow.errors import ConfigError
from oduflow.layout import team_dir_name
from oduflow.urlpolicy import check_allowed_hosts

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

ENV_TOML = "ODUFLOW_TOML"
SYSTEM_CONFIG_DIR = Path("/etc/oduflow")


def user_config_dir() -> Path:
    return Path.home() / ".oduflow"


def search_paths() -> list[Path]:
    """The places ``oduflow.toml`` is looked for, in order."""
    paths = []
    if os.environ.get(ENV_TOML):
        paths.append(Path(os.environ[ENV_TOML]).expanduser())
    paths += [SYSTEM_CONFIG_DIR / "oduflow.toml", user_config_dir() / "oduflow.toml"]
    return paths


@dataclass(frozen=True)
class ServerConfig:
    host: str = "0.0.0.0"
    port: int = 8000
    trace: bool = False
    allow_local_repos: bool = False
    """Accept ``file://``, local paths, plaintext transports and local/private addresses
    (repository URLs and imported Odoo servers)."""
    allowed_hosts: tuple[str, ...] = ()
    """Host names, addresses and CIDR networks the operator trusts (see :mod:`oduflow.urlpolicy`)."""
    name_prefix: str = "oduflow"
    """Prefix of every Docker resource name and label value of this instance."""
    git_ca_file: str = ""
    """PEM bundle of the certificate authorities git trusts for ``https://`` repositories
    instead of the system's (``http.sslCAInfo``); empty: the system's."""


@dataclass(frozen=True)
class RoutingConfig:
    mode: str = "port"
    """The router: any name a plugin registers (``oduflow plugins`` lists them)."""


CLONE_STRATEGIES = ("auto", "reflink", "pool", "file_copy")


@dataclass(frozen=True)
class DatabaseConfig:
    user: str = "odoo"
    """The PostgreSQL superuser Oduflow administers the shared server with."""
    password: str = ""
    """Its password; empty (the default): a random one made by ``oduflow init`` and kept, mode
    0600, in ``<data_dir>/postgres/superuser.password``."""
    image: str = "postgres:15"
    pool_size: int = 1
    """Spare clones kept per template so that creation renames one instead of copying (0: off)."""
    clone_strategy: str = "auto"
    """How environment databases are cloned: ``auto`` (the best the server allows), ``reflink``
    (PostgreSQL >= 18 on a reflink filesystem), ``pool`` or ``file_copy``
    (see :mod:`oduflow.services.clonestrategy`)."""
    data_in_data_dir: bool = False
    """Keep the server's data directory in ``<data_dir>/postgres/data`` (a bind mount) instead of
    the Docker volume, so that it is on the data directory's filesystem (XFS or btrfs: reflink
    clones). Implied by ``[storage].cow_image_size_gb``. Only for a new server: Oduflow refuses
    to switch one whose databases are in the other place."""


@dataclass(frozen=True)
class StorageConfig:
    data_dir: str = ""
    cow_image_size_gb: int = 0
    """Size (GB, sparse) of the XFS (reflink=1) image file Oduflow mounts at ``data_dir``, so that
    databases and filestores are copy-on-write on any host filesystem; 0: off
    (see :mod:`oduflow.services.cowfs`)."""
    cow_image: str = ""
    """That image file (an absolute path outside ``data_dir``); empty: ``<data_dir>.xfs``."""


@dataclass(frozen=True)
class LimitsConfig:
    ready_timeout: int = 180
    """Seconds an environment may take to serve its database after start."""
    command_timeout: int = 1800
    """Seconds an install, upgrade, test or shell run may take."""
    exec_timeout: int = 120
    """Seconds a plain command inside a container may take."""
    query_timeout: int = 30
    """Statement timeout of ``run_db_query`` in seconds."""
    query_max_rows: int = 500
    max_concurrent_per_team: int = 4
    """Tool calls one team may run at once (every surface and process together); more are refused."""
    import_max_mb: int = 10240
    """Largest backup ``import_template_from_odoo`` downloads (MB); it extracts at most 8 times that."""
    import_timeout: int = 3600
    """Seconds an import from a running Odoo may take, download and extraction included."""
    container_memory_mb: int = 4096
    """Memory of each Odoo container (environment, editor, job, dependency build), MB; 0: unlimited."""
    container_cpus: float = 2.0
    """CPUs each Odoo container may use (fractions allowed); 0: unlimited."""
    container_pids: int = 1024
    """Processes and threads each Odoo container may run; 0: unlimited."""


@dataclass(frozen=True)
class TeamConfig:
    id: str
    hostname: str = "localhost"
    auth_token: str = ""
    ui_password: str = ""
    port_range: tuple[int, int] = (50000, 50100)
    """Host ports ``[start, end)``; a team without one gets its own block (:func:`_default_port_ranges`)."""
    max_environments: int = 20
    """Environments the team may have at once; 0: unlimited."""


@dataclass(frozen=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    teams: Mapping[str, TeamConfig] = field(default_factory=lambda: {"1": TeamConfig(id="1")})
    path: Path | None = None
    """The file this configuration was read from (None: built-in defaults)."""
    plugin_tables: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """The ``[plugins.NAME]`` tables as read (validated by :func:`oduflow.settings.bind`)."""
    unclaimed: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Keys of the core sections the core does not know: plugin-declared aliases, or errors."""
    settings: Mapping[str, Mapping[str, Any]] | None = None
    """Every plugin's settings, validated, once bound (:func:`oduflow.settings.bind`)."""

    @property
    def where(self) -> str:
        """How messages name this configuration (its file, or ``oduflow.toml``)."""
        return str(self.path) if self.path is not None else "oduflow.toml"

    def plugin_settings(self, plugin: str) -> Mapping[str, Any]:
        """The settings of ``plugin`` (its ``[plugins.NAME]`` table with defaults), read-only."""
        if self.settings is None:
            raise ConfigError("plugin settings are read before the plugins were bound (Hooks.configure)")
        if plugin not in self.settings:
            known = ", ".join(sorted(self.settings)) or "none"
            raise ConfigError(f"no loaded plugin declares settings named '{plugin}' (declared: {known})")
        return self.settings[plugin]

    @property
    def config_dir(self) -> Path:
        """Directory whose ``postgresql.conf``/``odoo.conf`` override the bundled ones."""
        if self.path is not None:
            return self.path.parent
        return SYSTEM_CONFIG_DIR if os.geteuid() == 0 else user_config_dir() / "conf"

    @property
    def data_dir(self) -> Path:
        if self.storage.data_dir:
            return Path(self.storage.data_dir).expanduser()
        if os.geteuid() == 0:
            return Path("/srv/oduflow")
        return user_config_dir() / "data"

    def team(self, team_id: str) -> TeamConfig:
        from oduflow.errors import NotFoundError

        try:
            return self.teams[str(team_id)]
        except KeyError:
            raise NotFoundError(f"team '{team_id}' is not configured in oduflow.toml") from None

    def team_dir(self, team_id: str) -> Path:
        return self.data_dir / team_dir_name(self.team(team_id).id)


_SECTIONS: dict[str, type] = {
    "server": ServerConfig,
    "routing": RoutingConfig,
    "database": DatabaseConfig,
    "storage": StorageConfig,
    "limits": LimitsConfig,
}


def coerce(where: str, key: str, value: Any, default: Any, from_env: bool = False) -> Any:
    """Check ``value`` against the type of ``default``; strings from the environment are parsed."""
    expected = type(default)
    if from_env and expected is not str:
        text = value.strip()
        try:
            if expected is bool:
                if text.lower() in ("1", "true", "yes", "on"):
                    return True
                if text.lower() in ("0", "false", "no", "off", ""):
                    return False
                raise ValueError(text)
            if expected is int:
                return int(text)
            if expected is float:
                return float(text)
            if expected is tuple:
                value = [int(p) for p in text.strip("[]()").split(",")]
        except ValueError:
            raise ConfigError(f"{where}: key '{key}' expects {expected.__name__}, got {value!r}") from None
    if expected is tuple:
        if (
            not isinstance(value, (list, tuple))
            or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            raise ConfigError(f"{where}: key '{key}' expects [start, end] (two integers), got {value!r}")
        start, end = value
        if not 1 <= start < end <= 65536:
            raise ConfigError(f"{where}: key '{key}' expects 1 <= start < end <= 65536, got {value!r}")
        return (start, end)
    if expected is bool and not isinstance(value, bool):
        raise ConfigError(f"{where}: key '{key}' expects true or false, got {value!r}")
    if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{where}: key '{key}' expects an integer, got {value!r}")
    if expected is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: key '{key}' expects a number, got {value!r}")
        return float(value)
    if expected is str and not isinstance(value, str):
        raise ConfigError(f"{where}: key '{key}' expects a string, got {value!r}")
    return value


def _coerce_names(where: str, key: str, value: Any, from_env: bool) -> tuple[str, ...]:
    """A list of strings (comma-separated in an environment variable)."""
    if from_env:
        return tuple(part.strip() for part in str(value).split(",") if part.strip())
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: key '{key}' expects a list of strings, got {value!r}")
    return tuple(value)


def unknown_keys_error(where: str, unknown: set[str], known: set[str]) -> ConfigError:
    """The error of keys nobody declares."""
    return ConfigError(
        f"{where}: unknown key(s) {', '.join(sorted(unknown))}; expected one of {', '.join(sorted(known))}"
    )


def _build(cls: type, where: str, raw: Mapping[str, Any], env_prefix: str, **fixed: Any) -> Any:
    default = cls(**fixed)
    name_lists = {f.name for f in fields(cls) if f.type == "tuple[str, ...]"}
    known = {f.name for f in fields(cls)} - set(fixed)
    unknown = set(raw) - known
    if unknown:
        raise unknown_keys_error(where, unknown, known)
    values: dict[str, Any] = {}
    for name in sorted(known):
        env_name = f"{env_prefix}_{name.upper()}"
        from_env = env_name in os.environ
        if not from_env and name not in raw:
            continue
        source = f"environment variable {env_name}" if from_env else where
        value = os.environ[env_name] if from_env else raw[name]
        if name in name_lists:
            values[name] = _coerce_names(source, name, value, from_env)
        else:
            values[name] = coerce(source, name, value, getattr(default, name), from_env=from_env)
    return replace(default, **values)


def _at_least(
    where: str, section: str, values: object, keys: tuple[str, ...], minimum: int, note: str = ""
) -> None:
    """Refuse a key of ``[section]`` (read from ``values``) below ``minimum``."""
    for key in keys:
        if getattr(values, key) < minimum:
            raise ConfigError(f"{where} [{section}]: key '{key}' expects a number >= {minimum}{note}")


def _validate(cfg: Config, where: str) -> None:
    if not re.fullmatch(r"[a-z][a-z0-9_-]{0,40}", cfg.routing.mode):
        raise ConfigError(f"{where} [routing]: key 'mode' expects a router name, got {cfg.routing.mode!r}")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", cfg.database.user):
        raise ConfigError(
            f"{where} [database]: key 'user' expects a PostgreSQL role name of letters, digits "
            f"and '_', got {cfg.database.user!r}"
        )
    if cfg.database.clone_strategy not in CLONE_STRATEGIES:
        raise ConfigError(
            f"{where} [database]: key 'clone_strategy' expects one of {', '.join(CLONE_STRATEGIES)}, "
            f"got {cfg.database.clone_strategy!r}"
        )
    _at_least(where, "database", cfg.database, ("pool_size",), 0)
    _validate_cow(cfg, where)
    check_allowed_hosts(cfg.server.allowed_hosts, where)
    _at_least(where, "limits", cfg.limits, ("import_max_mb", "import_timeout", "max_concurrent_per_team"), 1)
    _at_least(
        where, "limits", cfg.limits, ("container_memory_mb", "container_cpus", "container_pids"), 0,
        note=" (0: unlimited)",
    )  # fmt: skip
    for team in cfg.teams.values():
        _at_least(where, f"team.{team.id}", team, ("max_environments",), 0)
    tokens = [t.auth_token for t in cfg.teams.values() if t.auth_token]
    if len(tokens) != len(set(tokens)):
        raise ConfigError(f"{where}: two teams share the same auth_token")
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,30}", cfg.server.name_prefix):
        raise ConfigError(
            f"{where} [server]: key 'name_prefix' expects lowercase letters, digits "
            f"and '-', got {cfg.server.name_prefix!r}"
        )


def cow_image_path(cfg: Config) -> Path:
    """The image file of the managed copy-on-write filesystem (``[storage].cow_image``)."""
    if cfg.storage.cow_image:
        return Path(cfg.storage.cow_image).expanduser()
    data_dir = Path(os.path.abspath(cfg.data_dir))
    return data_dir.with_name(data_dir.name + ".xfs")


def _validate_cow(cfg: Config, where: str) -> None:
    """The image of ``[storage].cow_image_size_gb`` is a file outside the data directory it is mounted at."""
    _at_least(where, "storage", cfg.storage, ("cow_image_size_gb",), 0, note=" (0: off)")
    if cfg.storage.cow_image_size_gb == 0:
        return
    image, data_dir = cow_image_path(cfg), Path(os.path.abspath(cfg.data_dir))
    if not image.is_absolute():
        raise ConfigError(f"{where} [storage]: key 'cow_image' expects an absolute path, got {str(image)!r}")
    if data_dir == data_dir.parent:
        raise ConfigError(f"{where} [storage]: cow_image_size_gb cannot mount an image at {data_dir}")
    real_image, real_dir = Path(os.path.realpath(image)), Path(os.path.realpath(data_dir))
    if real_image == real_dir or real_dir in real_image.parents or real_image in real_dir.parents:
        raise ConfigError(
            f"{where} [storage]: key 'cow_image' ({image}) must be outside data_dir ({data_dir}): "
            "the image is mounted there"
        )


def check_port_ranges(cfg: Config, where: str) -> None:
    """Refuse two teams whose port ranges overlap: one could take the other's ports
    (routers that publish host ports call it when the configuration is bound)."""
    teams = sorted(cfg.teams.values(), key=lambda t: t.port_range)
    for a, b in itertools.pairwise(teams):
        if b.port_range[0] < a.port_range[1]:
            raise ConfigError(
                f"{where}: the port_range of [team.{a.id}] {list(a.port_range)} and of "
                f"[team.{b.id}] {list(b.port_range)} overlap; give each team its own range"
            )


PORT_BLOCK = 100
"""Ports of a team without ``port_range``: the first free block of 100 from 50000 on."""


def _default_port_ranges(
    teams: dict[str, TeamConfig], explicit: set[str], where: str
) -> dict[str, TeamConfig]:
    """Give each team without an explicit ``port_range`` its own block, in the file's order,
    skipping the blocks that overlap an explicit range (so that adding a team at the end keeps
    the ranges of the others)."""
    taken = [teams[t].port_range for t in explicit]
    start = TeamConfig(id="_").port_range[0]
    out = dict(teams)
    for team_id, team in teams.items():
        if team_id in explicit:
            continue
        while any(start < end and begin < start + PORT_BLOCK for begin, end in taken):
            start += PORT_BLOCK
        if start + PORT_BLOCK > 65536:
            raise ConfigError(f"{where} [team.{team_id}]: no free default port range left; set port_range")
        out[team_id] = replace(team, port_range=(start, start + PORT_BLOCK))
        taken.append((start, start + PORT_BLOCK))
    return out


def _split_section(cls: type, raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(keys of ``cls``, the others): the others may be aliases that a plugin declares."""
    known = {f.name for f in fields(cls)}
    return {k: v for k, v in raw.items() if k in known}, {k: v for k, v in raw.items() if k not in known}


def _core_sections(raw: Mapping[str, Any], where: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The core sections built, and their unknown keys per section (checked when bound)."""
    sections: dict[str, Any] = {}
    unclaimed: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        section = raw.get(name, {})
        if not isinstance(section, Mapping):
            raise ConfigError(f"{where}: [{name}] must be a table")
        known, others = _split_section(cls, section)
        sections[name] = _build(cls, f"{where} [{name}]", known, f"ODUFLOW_{name.upper()}")
        if others:
            unclaimed[name] = MappingProxyType(others)
    return sections, unclaimed


def _plugin_tables(raw: Mapping[str, Any], where: str) -> Mapping[str, Mapping[str, Any]]:
    """The ``[plugins.NAME]`` tables, as read."""
    tables = raw.get("plugins", {})
    if not isinstance(tables, Mapping) or not all(isinstance(t, Mapping) for t in tables.values()):
        raise ConfigError(f"{where}: [plugins] must contain tables such as [plugins.routing_traefik]")
    return MappingProxyType({str(k): MappingProxyType(dict(v)) for k, v in tables.items()})


def _teams(raw: Mapping[str, Any], where: str, path: Path | None) -> dict[str, TeamConfig]:
    raw_teams = raw.get("team", {})
    if not isinstance(raw_teams, Mapping):
        raise ConfigError(f"{where}: [team] must contain tables such as [team.1]")
    if path is not None and not raw_teams:
        raise ConfigError(
            f'{where}: at least one [team.<id>] section is required, e.g. [team.1] hostname = "localhost"'
        )
    teams: dict[str, TeamConfig] = {}
    for team_id, section in (raw_teams or {"1": {}}).items():
        if str(team_id).lower() in ("template", "pool", "u", "t"):
            raise ConfigError(
                f"{where}: team id {team_id!r} is reserved (it would collide with database names)"
            )
        if not re.fullmatch(r"[A-Za-z0-9-]{1,20}", str(team_id)):
            raise ConfigError(f"{where}: team id {team_id!r} must be 1-20 letters, digits or '-'")
        if not isinstance(section, Mapping):
            raise ConfigError(f"{where}: [team.{team_id}] must be a table")
        teams[str(team_id)] = _build(
            TeamConfig,
            f"{where} [team.{team_id}]",
            section,
            f"ODUFLOW_TEAM_{str(team_id).upper()}",
            id=str(team_id),
        )
    explicit = {
        t
        for t in teams
        if "port_range" in (raw_teams or {}).get(t, {})
        or f"ODUFLOW_TEAM_{t.upper()}_PORT_RANGE" in os.environ
    }
    return _default_port_ranges(teams, explicit, where)


def parse(raw: Mapping[str, Any], where: str = "oduflow.toml", path: Path | None = None) -> Config:
    """Build a :class:`Config` from parsed TOML (plus ``ODUFLOW_*`` overrides).

    Plugin settings (``[plugins.NAME]`` and the aliases plugins declare in core sections)
    are checked when the plugins are bound (:meth:`oduflow.plugins.Hooks.configure`).
    """
    unknown = set(raw) - set(_SECTIONS) - {"team", "plugins"}
    if unknown:
        raise ConfigError(
            f"{where}: unknown section(s) {', '.join(sorted(unknown))}; expected "
            f"{', '.join(sorted([*_SECTIONS, 'plugins.<name>', 'team.<id>']))}"
        )
    sections, unclaimed = _core_sections(raw, where)
    cfg = Config(
        teams=_teams(raw, where, path),
        path=path,
        plugin_tables=_plugin_tables(raw, where),
        unclaimed=MappingProxyType(unclaimed),
        **sections,
    )
    _validate(cfg, where)
    return cfg


def find_config_file() -> Path | None:
    for candidate in search_paths():
        if candidate.is_file():
            return candidate
    if os.environ.get(ENV_TOML):
        raise ConfigError(f"{ENV_TOML}={os.environ[ENV_TOML]}: no such file")
    return None


def load(path: Path | None = None) -> Config:
    """Load the configuration from ``path`` or the search order; defaults when no file exists."""
    path = path or find_config_file()
    if path is None:
        return parse({})
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return parse(raw, where=str(path), path=path)


def default_config_path() -> Path:
    """Where ``oduflow init`` writes the bundled ``oduflow.toml`` when none exists."""
    if os.environ.get(ENV_TOML):
        return Path(os.environ[ENV_TOML]).expanduser()
    if os.geteuid() == 0:
        return SYSTEM_CONFIG_DIR / "oduflow.toml"
    return user_config_dir() / "oduflow.toml"


def section_keys(section: str) -> set[str]:
    """The keys the core itself reads in ``[section]``."""
    return {f.name for f in fields(_SECTIONS[section])}
