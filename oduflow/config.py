"""``oduflow.toml`` loaded into frozen dataclasses.

Search order: ``ODUFLOW_TOML``, ``/etc/oduflow/oduflow.toml``, ``~/.oduflow/oduflow.toml``.
Precedence: CLI flag > ``ODUFLOW_*`` environment variable > file > default.
Environment variables are named ``ODUFLOW_<SECTION>_<KEY>`` (``ODUFLOW_SERVER_PORT``)
and ``ODUFLOW_TEAM_<ID>_<KEY>`` for team keys (``ODUFLOW_TEAM_1_AUTH_TOKEN``).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from oduflow.errors import ConfigError

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
    """Accept ``file://``, local paths and loopback hosts as repository URLs."""
    name_prefix: str = "oduflow"
    """Prefix of every Docker resource name and label value of this instance."""


@dataclass(frozen=True)
class RoutingConfig:
    mode: str = "port"
    acme_email: str = ""


@dataclass(frozen=True)
class DatabaseConfig:
    user: str = "odoo"
    password: str = "odoo"
    image: str = "postgres:15"
    pool_size: int = 1
    """Spare clones kept per template so that creation renames one instead of copying (0: off)."""


@dataclass(frozen=True)
class StorageConfig:
    data_dir: str = ""
    overlay_threshold_mb: int = 50


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


@dataclass(frozen=True)
class TeamConfig:
    id: str
    hostname: str = "localhost"
    auth_token: str = ""
    ui_password: str = ""
    port_range: tuple[int, int] = (50000, 50100)


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
        return self.data_dir / f"team_{self.team(team_id).id}"


_SECTIONS: dict[str, type] = {
    "server": ServerConfig,
    "routing": RoutingConfig,
    "database": DatabaseConfig,
    "storage": StorageConfig,
    "limits": LimitsConfig,
}


def _coerce(where: str, key: str, value: Any, default: Any, from_env: bool = False) -> Any:
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
    if expected is str and not isinstance(value, str):
        raise ConfigError(f"{where}: key '{key}' expects a string, got {value!r}")
    return value


def _build(cls: type, where: str, raw: Mapping[str, Any], env_prefix: str, **fixed: Any) -> Any:
    default = cls(**fixed)
    known = {f.name for f in fields(cls)} - set(fixed)
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
            f"expected one of {', '.join(sorted(known))}"
        )
    values: dict[str, Any] = {}
    for name in sorted(known):
        env_name = f"{env_prefix}_{name.upper()}"
        if env_name in os.environ:
            values[name] = _coerce(
                f"environment variable {env_name}",
                name,
                os.environ[env_name],
                getattr(default, name),
                from_env=True,
            )
        elif name in raw:
            values[name] = _coerce(where, name, raw[name], getattr(default, name))
    return replace(default, **values)


def _validate(cfg: Config, where: str) -> None:
    if cfg.routing.mode not in ("port", "traefik"):
        raise ConfigError(
            f'{where} [routing]: key \'mode\' expects "port" or "traefik", '
            f"got {cfg.routing.mode!r} (other modes need their plugin installed)"
        )
    if cfg.routing.mode == "traefik" and not cfg.routing.acme_email:
        raise ConfigError(f"{where} [routing]: key 'acme_email' is required when mode = \"traefik\"")
    if cfg.storage.overlay_threshold_mb < 0:
        raise ConfigError(f"{where} [storage]: key 'overlay_threshold_mb' expects a number >= 0")
    tokens = [t.auth_token for t in cfg.teams.values() if t.auth_token]
    if len(tokens) != len(set(tokens)):
        raise ConfigError(f"{where}: two teams share the same auth_token")
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,30}", cfg.server.name_prefix):
        raise ConfigError(
            f"{where} [server]: key 'name_prefix' expects lowercase letters, digits "
            f"and '-', got {cfg.server.name_prefix!r}"
        )


def parse(raw: Mapping[str, Any], where: str = "oduflow.toml", path: Path | None = None) -> Config:
    """Build a :class:`Config` from parsed TOML (plus ``ODUFLOW_*`` overrides)."""
    unknown = set(raw) - set(_SECTIONS) - {"team"}
    if unknown:
        raise ConfigError(
            f"{where}: unknown section(s) {', '.join(sorted(unknown))}; expected "
            f"{', '.join(sorted([*_SECTIONS, 'team.<id>']))}"
        )
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        section = raw.get(name, {})
        if not isinstance(section, Mapping):
            raise ConfigError(f"{where}: [{name}] must be a table")
        sections[name] = _build(cls, f"{where} [{name}]", section, f"ODUFLOW_{name.upper()}")
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
    cfg = Config(teams=teams, path=path, **sections)
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
