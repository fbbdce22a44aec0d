"""Change analysis for ``pull_and_apply``: what changed between two revisions, and what to do.

The core collects the changed files (:func:`collect_changes`), every
``oduflow_analyze_changes`` implementation turns them into :class:`Decision` objects,
and :func:`merge_decisions` folds those into one :class:`ChangePlan`.
Git is only ever read through the revisions, never through the work tree, so the
result is the same whatever is checked out.
"""

from __future__ import annotations

import enum
import posixpath
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from oduflow.errors import ValidationError
from oduflow.git import run_git_bytes
from oduflow.gitaccess import add_config

MANIFEST_NAMES = ("__manifest__.py", "__openerp__.py")
"""File names that make a directory an Odoo module (``__openerp__.py``: before Odoo 10)."""

_T = TypeVar("_T")
MAX_TEXT_BYTES = 16 * 1024 * 1024
MAX_TOTAL_TEXT_BYTES = 256 * 1024 * 1024
"""Texts of one change set read at most (larger files, and files past it, count as binary)."""
GIT_TIMEOUT = 300
"""Seconds one git command on a repository may take."""
_NULL_SHA = "0" * 40
_REGULAR_MODES = {"100644", "100755"}
DIFF_OPTIONS = ("--raw", "-M", "-z", "--no-abbrev", "--no-color", "--no-ext-diff", "--no-relative")


class Action(enum.IntEnum):
    """What a change needs, in priority order: a higher action includes the lower ones."""

    NOTHING = 0
    REFRESH = 1
    RESTART = 2
    UPGRADE = 3
    INSTALL = 4


@dataclass(frozen=True)
class FileChange:
    """One changed file. ``status`` is ``A``, ``M``, ``D`` or ``R`` (then ``old_path`` is set).

    ``old_text``/``new_text`` hold the content on each side, ``None`` when the file does
    not exist on that side or is binary, not UTF-8, or larger than 16 MiB.
    """

    path: str
    status: str
    old_path: str | None = None
    old_text: str | None = None
    new_text: str | None = None

    @property
    def source_path(self) -> str:
        """The path of the file in the old revision."""
        return self.old_path or self.path


@dataclass(frozen=True)
class ChangeContext:
    """The files changed between ``old_rev`` and ``new_rev`` (full commit ids) of ``repo_dir``."""

    repo_dir: Path
    old_rev: str
    new_rev: str
    changes: tuple[FileChange, ...]
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def _memo(self, key: str, compute: Callable[[], _T]) -> _T:
        if key not in self._cache:
            self._cache[key] = compute()
        value: _T = self._cache[key]
        return value

    def _files(self, rev: str) -> frozenset[str]:
        def compute() -> frozenset[str]:
            out = _git(self.repo_dir, "ls-tree", "-r", "-z", "--name-only", "--full-tree", rev)
            return frozenset(p for p in out.decode("utf-8", "surrogateescape").split("\0") if p)

        return self._memo(f"files:{rev}", compute)

    def _module_dirs(self, rev: str) -> frozenset[str]:
        def compute() -> frozenset[str]:
            found = {
                posixpath.dirname(p) for p in self._files(rev) if posixpath.basename(p) in MANIFEST_NAMES
            }
            return frozenset(found - {""})

        return self._memo(f"modules:{rev}", compute)

    def module_dirs(self, *, old: bool = False) -> frozenset[str]:
        """Repo-relative directories holding a manifest in the new (or ``old``) revision.

        A manifest at the repository root is not a module: modules are the
        sub-directories of the mounted addons directory.
        """
        return self._module_dirs(self.old_rev if old else self.new_rev)

    def module_dir_of(self, path: str, *, old: bool | None = None) -> str | None:
        """The directory of the module ``path`` belongs to: the nearest parent with a manifest.

        ``old=None`` looks in the new revision when the file exists there, else in the old one
        (deleted files); ``True``/``False`` force the revision.
        """
        if old is None:
            old = path not in self._files(self.new_rev) and path in self._files(self.old_rev)
        dirs = self.module_dirs(old=old)
        current = posixpath.dirname(path)
        while current:
            if current in dirs:
                return current
            current = posixpath.dirname(current)
        return None

    def module_of(self, path: str, *, old: bool | None = None) -> str | None:
        """The name of the Odoo module that ``path`` belongs to, or ``None`` outside modules.

        Walks up from the file to the nearest directory holding ``__manifest__.py``
        in the new revision (in the old one for deleted files; see :meth:`module_dir_of`).
        """
        found = self.module_dir_of(path, old=old)
        return posixpath.basename(found) if found is not None else None

    def module_path(self, module: str, *, old: bool = False) -> str | None:
        """The directory of the module named ``module`` in the new (or ``old``) revision."""
        matches = sorted(d for d in self.module_dirs(old=old) if posixpath.basename(d) == module)
        return matches[0] if matches else None

    def module_is_new(self, module: str) -> bool:
        """True when ``module`` has a manifest in the new revision and none in the old one.

        Odoo knows modules by name, so a module moved to another directory is not new.
        """
        return self.module_path(module) is not None and self.module_path(module, old=True) is None

    def module_is_removed(self, module: str) -> bool:
        """True when ``module`` had a manifest in the old revision and has none in the new one."""
        return self.module_path(module) is None and self.module_path(module, old=True) is not None

    def _change(self, path: str, *, old: bool) -> FileChange | None:
        skip = "A" if old else "D"
        index = self._memo(
            f"index:{old}",
            lambda: {c.source_path if old else c.path: c for c in self.changes if c.status != skip},
        )
        return index.get(path)

    def read_old(self, path: str) -> str | None:
        """The text of ``path`` in the old revision (``None``: missing or binary)."""
        change = self._change(path, old=True)
        if change is not None:
            return change.old_text
        return _read_blob(self.repo_dir, self.old_rev, path)

    def read_new(self, path: str) -> str | None:
        """The text of ``path`` in the new revision (``None``: missing or binary)."""
        change = self._change(path, old=False)
        if change is not None:
            return change.new_text
        return _read_blob(self.repo_dir, self.new_rev, path)


@dataclass(frozen=True)
class Decision:
    """What one changed file needs. ``module`` is required for install and upgrade.

    ``warning`` marks a reason the user must read (it is repeated in the plan's summary).
    """

    action: Action
    path: str
    module: str | None
    reason: str
    reinstall_dependencies: bool = False
    warning: bool = False

    def __post_init__(self) -> None:
        if self.action >= Action.UPGRADE and not self.module:
            raise ValueError(f"{self.action.name} decision for {self.path} needs a module")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {**asdict(self), "action": self.action.name.lower()}


@dataclass
class ChangePlan:
    """The merged decisions of every plugin, and the actions they add up to.

    Priority is install > upgrade > restart > refresh > nothing. Installs and upgrades run
    together, then the server restarts; a module both installed and upgraded is only installed.
    """

    decisions: list[Decision] = field(default_factory=list)

    @property
    def install(self) -> list[str]:
        """Modules to install (sorted)."""
        return sorted({d.module for d in self.decisions if d.action == Action.INSTALL and d.module})

    @property
    def upgrade(self) -> list[str]:
        """Modules to upgrade (sorted), not counting those installed."""
        wanted = {d.module for d in self.decisions if d.action == Action.UPGRADE and d.module}
        return sorted(wanted - set(self.install))

    @property
    def dependencies(self) -> bool:
        """True when system/Python dependencies must be installed again (image rebuilt)."""
        return any(d.reinstall_dependencies for d in self.decisions)

    @property
    def action(self) -> Action:
        """The highest action of all decisions (at least a restart when dependencies change)."""
        top = max((d.action for d in self.decisions), default=Action.NOTHING)
        return max(top, Action.RESTART) if self.dependencies else top

    @property
    def restart(self) -> bool:
        """True when the server must restart, including the restart that follows install/upgrade."""
        return self.action >= Action.RESTART

    @property
    def restart_implied(self) -> bool:
        """True when the restart happens anyway after installing or upgrading modules."""
        return bool(self.install or self.upgrade)

    @property
    def refresh(self) -> bool:
        """True when the browser must be reloaded to see view or asset changes."""
        return any(d.action == Action.REFRESH for d in self.decisions)

    def warnings(self) -> list[str]:
        """Reasons that need the user's attention."""
        return [f"{d.reason} ({d.path})" for d in self.decisions if d.warning]

    def summary(self) -> str:
        """One line saying what will be done and why."""
        parts: list[str] = []
        if self.dependencies:
            paths = sorted({d.path for d in self.decisions if d.reinstall_dependencies})
            parts.append(f"reinstall dependencies ({', '.join(paths)} changed)")
        if self.install:
            parts.append("install: " + ", ".join(self.install))
        if self.upgrade:
            parts.append(
                "upgrade: " + ", ".join(f"{m} ({self._why(Action.UPGRADE, m)})" for m in self.upgrade)
            )
        if self.restart_implied:
            parts.append("restart after install/upgrade (not needed separately)")
        elif self.restart:
            parts.append("restart: " + (self._why(Action.RESTART) or "dependencies changed"))
        if self.refresh:
            count = sum(d.action == Action.REFRESH for d in self.decisions)
            parts.append(f"reload the browser ({count} view/asset file{'s' if count != 1 else ''} changed)")
        if not parts:
            parts.append(
                "nothing to do" + (f" ({len(self.decisions)} files need no action)" if self.decisions else "")
            )
        parts.extend(f"warning: {w}" for w in self.warnings())
        return "; ".join(parts)

    def _why(self, action: Action, module: str | None = None) -> str:
        mine = [d for d in self.decisions if d.action == action and (module is None or d.module == module)]
        if not mine:
            return ""
        more = f", +{len(mine) - 1} more" if len(mine) > 1 else ""
        return f"{mine[0].reason} in {mine[0].path}{more}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form with per-file reasons and a one-line ``summary``."""
        return {
            "action": self.action.name.lower(),
            "install": self.install,
            "upgrade": self.upgrade,
            "restart": self.restart,
            "restart_implied": self.restart_implied,
            "refresh": self.refresh,
            "dependencies": self.dependencies,
            "warnings": self.warnings(),
            "summary": self.summary(),
            "decisions": [d.to_dict() for d in self.decisions],
        }


def merge_decisions(decisions: Iterable[Decision]) -> ChangePlan:
    """Merge the decisions of every plugin into one plan (order kept, one entry per input)."""
    return ChangePlan(decisions=list(decisions))


# --- git ----------------------------------------------------------------------------
def _run(
    repo_dir: Path, *args: str, stdin: bytes | None = None, check: bool = False
) -> subprocess.CompletedProcess[bytes]:
    # An environment's checkout belongs to the container user: git running as root refuses
    # it ("dubious ownership") unless safe.directory names it.
    env = add_config({}, [("safe.directory", str(repo_dir.resolve()))])
    return run_git_bytes(args, cwd=repo_dir, env=env, stdin=stdin, check=check, timeout=GIT_TIMEOUT)


def _git(repo_dir: Path, *args: str, stdin: bytes | None = None) -> bytes:
    return _run(repo_dir, *args, stdin=stdin, check=True).stdout


def _resolve(repo_dir: Path, rev: str) -> str:
    if not rev or rev.startswith("-"):
        raise ValidationError(f"invalid git revision: {rev!r}")
    return _git(repo_dir, "rev-parse", "--verify", f"{rev}^{{commit}}").decode().strip()


def _decode(data: bytes) -> str | None:
    if len(data) > MAX_TEXT_BYTES or b"\0" in data[:8000]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _read_blob(repo_dir: Path, rev: str, path: str) -> str | None:
    size = _run(repo_dir, "cat-file", "-s", f"{rev}:{path}")
    if size.returncode != 0 or int(size.stdout.strip() or 0) > MAX_TEXT_BYTES:
        return None  # read only what may be a text: a repository's files can be of any size
    proc = _run(repo_dir, "cat-file", "blob", f"{rev}:{path}")
    return _decode(proc.stdout) if proc.returncode == 0 else None


def _blob_sizes(repo_dir: Path, shas: list[str]) -> dict[str, int]:
    out = _git(repo_dir, "cat-file", "--batch-check", stdin="".join(s + "\n" for s in shas).encode())
    sizes = {}
    for line in out.decode("ascii", "replace").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2].isdigit():
            sizes[parts[0]] = int(parts[2])
    return sizes


def _readable(repo_dir: Path, shas: list[str]) -> list[str]:
    """Those of ``shas`` that may be texts, as long as they fit :data:`MAX_TOTAL_TEXT_BYTES` together."""
    sizes, budget, readable = _blob_sizes(repo_dir, shas), MAX_TOTAL_TEXT_BYTES, []
    for sha in shas:
        size = sizes.get(sha)
        if size is not None and size <= min(MAX_TEXT_BYTES, budget):
            budget -= size
            readable.append(sha)
    return readable


def _read_blobs(repo_dir: Path, shas: Iterable[str]) -> dict[str, str | None]:
    every = sorted(set(shas))
    texts: dict[str, str | None] = dict.fromkeys(every)
    wanted = _readable(repo_dir, every) if every else []
    if not wanted:
        return texts
    out = _git(repo_dir, "cat-file", "--batch", stdin="".join(s + "\n" for s in wanted).encode())
    pos = 0
    for sha in wanted:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) < 3:  # "<sha> missing"
            texts[sha] = None
            continue
        size = int(header[2])
        texts[sha] = _decode(out[pos : pos + size])
        pos += size + 1
    return texts


def _parse_raw(data: bytes) -> list[tuple[str, str, str | None, str | None, str | None]]:
    """``(status, path, old_path, old_blob, new_blob)`` from ``git diff --raw -M -z``.

    Blob ids are ``None`` on a missing side and for non-regular files (symlinks, submodules).
    """
    parts = data.decode("utf-8", "surrogateescape").split("\0")
    entries: list[tuple[str, str, str | None, str | None, str | None]] = []
    i = 0
    while i < len(parts) and parts[i]:
        old_mode, new_mode, old_sha, new_sha, status = parts[i].lstrip(":").split()
        renamed = status.startswith("R")
        old_path, path = (parts[i + 1], parts[i + 2]) if renamed else (None, parts[i + 1])
        i += 3 if renamed else 2
        letter = "M" if status == "T" else status[0]
        entries.append((letter, path, old_path, _blob(old_mode, old_sha), _blob(new_mode, new_sha)))
    return entries


def _blob(mode: str, sha: str) -> str | None:
    return sha if mode in _REGULAR_MODES and sha != _NULL_SHA else None


def collect_changes(repo_dir: Path, old_rev: str, new_rev: str) -> ChangeContext:
    """Every file changed between ``old_rev`` and ``new_rev`` of the repository ``repo_dir``.

    Runs ``git diff --raw -M -z`` (the name-status listing plus blob ids) and reads every
    text in one ``git cat-file --batch``. Renames become ``R`` changes with ``old_path``.
    Raises :class:`~oduflow.errors.ValidationError` for a revision that looks like an option
    and :class:`~oduflow.errors.ExternalCommandError` when git fails.
    """
    old = _resolve(repo_dir, old_rev)
    new = _resolve(repo_dir, new_rev)
    raw = _git(repo_dir, "diff", *DIFF_OPTIONS, old, new, "--")
    entries = _parse_raw(raw)
    texts = _read_blobs(repo_dir, [sha for e in entries for sha in e[3:] if sha])
    changes = tuple(
        FileChange(
            path=path,
            status=status,
            old_path=old_path,
            old_text=texts.get(old_sha) if old_sha else None,
            new_text=texts.get(new_sha) if new_sha else None,
        )
        for status, path, old_path, old_sha, new_sha in entries
    )
    return ChangeContext(repo_dir=repo_dir, old_rev=old, new_rev=new, changes=changes)
