"""How environment databases are cloned from their template: chosen by what the server can do.

Three strategies, best first:

- ``reflink``: PostgreSQL >= 18 with its data directory on a filesystem that can clone files
  (XFS with ``reflink=1``, btrfs). ``CREATE DATABASE ... STRATEGY FILE_COPY`` with
  ``file_copy_method = clone`` shares every extent of the template: tens of milliseconds and a
  few hundred KiB whatever the template's size. Spares (``pool_size``) are kept too, as reflink
  clones that cost no disk: renaming one saves the clone's two checkpoints (measured: 83 ms
  instead of 225 ms for the whole step), and a burst beyond them is still cloned in milliseconds.
- ``pool``: ``[database].pool_size`` > 0 spare clones per template (:mod:`dbpool`); a create
  renames one, a new spare is copied in the background.
- ``file_copy``: a plain ``CREATE DATABASE ... STRATEGY FILE_COPY`` on the critical path.

``[database].clone_strategy = "auto"`` (the default) picks the first one the server allows; an
explicit name is used when possible and refused with the reason otherwise. The reflink test is
a real clone of a probe file in the server's data directory (:func:`oduflow.reflink.supports_reflink`):
on ext4 PostgreSQL 18 silently copies instead, so the version alone says nothing.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass

from oduflow import reflink
from oduflow.app import App
from oduflow.errors import PrerequisiteNotMetError
from oduflow.services import dbserver

STRATEGIES = ("reflink", "pool", "file_copy")
CLONE_MIN_VERSION = 180000
"""``server_version_num`` from which ``file_copy_method = clone`` exists (PostgreSQL 18)."""
CACHE_SECONDS = 300.0
"""How long a detection is reused: it changes only when the operator recreates the server."""

_cache: dict[str, tuple[float, CloneStrategy]] = {}
_guard = threading.Lock()


@dataclass(frozen=True)
class CloneStrategy:
    """The strategy in use and what it was chosen from (reported by ``init`` and in environment info)."""

    name: str
    """``reflink``, ``pool`` or ``file_copy``."""
    reason: str
    """Why: the facts that decided, in one sentence."""
    server_version: int
    """The server's ``server_version_num`` (150008, 180001, ...)."""
    data_dir: str
    """The server's data directory on this host ("" when it cannot be seen from here)."""
    filesystem: str
    """Its filesystem type (``xfs``, ``ext4``, ...; "" when unknown)."""
    reflink: bool
    """True when files in the data directory can be reflink copies of one another."""

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @property
    def keeps_spares(self) -> bool:
        """Spare clones are kept (``[database].pool_size`` of them) and renamed by a create."""
        return self.name in ("reflink", "pool")

    @property
    def file_copy_method(self) -> str:
        """The ``file_copy_method`` to clone with ("" on servers before PostgreSQL 18)."""
        return "clone" if self.name == "reflink" else ""


def _server_version(app: App) -> int:
    return int(app.db().query("SELECT pg_catalog.current_setting('server_version_num')")[0][0])


def _choose(wanted: str, version: int, can_clone: bool, pool_size: int) -> tuple[str, str]:
    """The strategy's name and the reason, or :class:`PrerequisiteNotMetError` for a wish that cannot be."""
    fast = version >= CLONE_MIN_VERSION and can_clone
    why_not = (
        f"PostgreSQL {version // 10000} has no file_copy_method = clone (18 or newer has)"
        if version < CLONE_MIN_VERSION
        else "the server's data directory is not on a filesystem that can clone files (XFS with "
        "reflink=1, btrfs)"
    )
    if wanted == "reflink" and not fast:
        raise PrerequisiteNotMetError(f"[database].clone_strategy = 'reflink' cannot be used: {why_not}")
    if wanted == "pool" and pool_size <= 0:
        raise PrerequisiteNotMetError("[database].clone_strategy = 'pool' needs [database].pool_size > 0")
    if wanted == "auto":
        if fast:
            wanted = "reflink"
        else:
            wanted = "pool" if pool_size > 0 else "file_copy"
    reasons = {
        "reflink": f"PostgreSQL {version // 10000} with its data on a reflink filesystem: "
        "clones share the template's blocks",
        "pool": f"{pool_size} spare clone(s) per template, refilled in the background ({why_not})"
        if not fast
        else f"{pool_size} spare clone(s) per template (chosen in [database].clone_strategy)",
        "file_copy": "a full copy of the template per environment "
        + (f"({why_not}; [database].pool_size = 0)" if not fast else "(chosen in [database].clone_strategy)"),
    }
    return wanted, reasons[wanted]


def detect(app: App, *, fresh: bool = False) -> CloneStrategy:
    """The strategy of this server (cached for :data:`CACHE_SECONDS`; ``fresh`` probes again)."""
    key = f"{app.names.db_container}:{app.config.database.clone_strategy}:{app.config.database.pool_size}"
    with _guard:
        cached = _cache.get(key)
    if cached and not fresh and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    version = _server_version(app)
    data_dir = dbserver.host_data_dir(app)
    can_clone = data_dir is not None and reflink.supports_reflink(data_dir)
    name, reason = _choose(
        app.config.database.clone_strategy, version, can_clone, app.config.database.pool_size
    )
    found = CloneStrategy(
        name=name,
        reason=reason,
        server_version=version,
        data_dir=str(data_dir or ""),
        filesystem=reflink.filesystem_type(data_dir) if data_dir else "",
        reflink=can_clone,
    )
    with _guard:
        _cache[key] = (time.monotonic(), found)
    return found


def clone_database(app: App, name: str, source_db: str, owner: str | None = None) -> CloneStrategy:
    """``CREATE DATABASE name TEMPLATE source_db`` the fastest way this server allows.

    Never takes a spare (that is :mod:`dbpool`'s, for templates only): with ``pool`` or
    ``file_copy`` this is a full copy. Returns the strategy used.
    """
    strategy = detect(app)
    app.db().clone(name, source_db, owner=owner, file_copy_method=strategy.file_copy_method)
    return strategy
