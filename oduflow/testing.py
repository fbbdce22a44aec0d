"""Pytest plugin for plugin authors (installed as the ``oduflow`` pytest11 entry point).

Fixtures:

``oduflow_pm``
    A plugin manager with Oduflow's hook specifications and no plugin loaded (entry
    points are not read), so a test sees exactly the plugins it registers.
``oduflow_hooks``
    The typed :class:`oduflow.plugins.Hooks` facade over ``oduflow_pm``.
``register_plugin``
    ``register_plugin(obj, name=None)`` registers a plugin (module, class instance or
    object with ``@oduflow.hookimpl`` functions) on ``oduflow_pm`` for one test, its hooks
    checked (a misspelt ``oduflow_*`` hook is a :class:`ConfigError`); it is unregistered
    afterwards.
``builtin_plugins``
    Registers Oduflow's built-in plugins on ``oduflow_pm``. pluggy calls the last registered
    plugin first: a plugin registered after them runs before them. For the production order
    (built-ins first), register yours first, then call :func:`register_builtins`.

Helpers: :func:`bound_config` (a configuration with the plugins' settings bound),
:func:`make_sanitize_context` (a :class:`SanitizeContext` that records ``run_sql`` and
``run_python``), :func:`make_change_context` (a real git repository with two commits and its
:class:`ChangeContext`). Contract suites to subclass: :class:`StorageBackendContract` and
:class:`RouterContract` (:mod:`oduflow.contract_suites`).

Example::

    def test_my_storage(oduflow_hooks, register_plugin):
        register_plugin(my_plugin)
        assert "s3" in oduflow_hooks.storage_backends()
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pluggy
import pytest

from oduflow.changes import ChangeContext, collect_changes
from oduflow.config import Config, parse
from oduflow.contract_suites import RouterContract, StorageBackendContract
from oduflow.contracts import SanitizeContext
from oduflow.plugins import BUILTIN_DISTRIBUTION, Hooks, check_hooks, new_plugin_manager, register_checked
from oduflow.settings import bind

__all__ = [
    "RecordedSanitize",
    "RouterContract",
    "StorageBackendContract",
    "bound_config",
    "make_change_context",
    "make_sanitize_context",
    "register_builtins",
]


@pytest.fixture
def oduflow_pm() -> pluggy.PluginManager:
    """A plugin manager with the hook specifications and no plugin."""
    return new_plugin_manager()


@pytest.fixture
def oduflow_hooks(oduflow_pm: pluggy.PluginManager) -> Hooks:
    """The typed hook facade over ``oduflow_pm``."""
    return Hooks(oduflow_pm)


@pytest.fixture
def register_plugin(oduflow_pm: pluggy.PluginManager) -> Iterator[Callable[..., Any]]:
    """Register a plugin on ``oduflow_pm`` for the duration of one test."""
    registered: list[object] = []

    def register(plugin: object, name: str | None = None) -> object:
        register_checked(oduflow_pm, plugin, name)
        registered.append(plugin)
        try:
            check_hooks(oduflow_pm)
        except Exception:
            oduflow_pm.unregister(plugin)
            raise
        return plugin

    yield register
    for plugin in registered:
        if oduflow_pm.is_registered(plugin):
            oduflow_pm.unregister(plugin)


def register_builtins(pm: pluggy.PluginManager) -> pluggy.PluginManager:
    """Register the built-in plugins of Oduflow (from the entry points of its distribution)."""
    for ep in sorted(entry_points(group="oduflow"), key=lambda ep: ep.name, reverse=True):
        dist = getattr(ep, "dist", None)
        if getattr(dist, "name", None) == BUILTIN_DISTRIBUTION and not pm.has_plugin(ep.name):
            register_checked(pm, ep.load(), ep.name)
    return pm


@pytest.fixture
def builtin_plugins(oduflow_pm: pluggy.PluginManager) -> pluggy.PluginManager:
    """Register the built-in plugins of Oduflow on ``oduflow_pm``."""
    return register_builtins(oduflow_pm)


def bound_config(pm: pluggy.PluginManager, raw: Mapping[str, Any] | None = None) -> Config:
    """``oduflow.toml`` content ``raw`` parsed, with the settings of ``pm``'s plugins bound
    (``config.plugin_settings(NAME)`` works; ``[routing].mode`` is not checked)."""
    return bind(parse(raw or {}), Hooks(pm).settings_declarations())


# --- sanitize ---------------------------------------------------------------------------------
@dataclass
class RecordedSanitize:
    """A :class:`SanitizeContext` whose ``run_sql``/``run_python`` calls are recorded."""

    ctx: SanitizeContext
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    """``(kind, name, text)`` per call, kind ``"sql"`` or ``"python"``, in call order."""
    progress: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """The script names in call order."""
        return [name for _, name, _ in self.calls]


def _write_files(root: Path, files: Mapping[str, str] | None) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in (files or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def make_sanitize_context(
    tmp_path: Path,
    *,
    team_files: Mapping[str, str] | None = None,
    repo_files: Mapping[str, str] | None = None,
    db_name: str = "oduflow_test_db",
    team_id: str = "1",
    fail: Callable[[str, str], Exception | None] | None = None,
) -> RecordedSanitize:
    """A sanitize context over ``tmp_path/team`` and ``tmp_path/repo`` filled with the given
    files (relative path -> text). ``fail(name, text)`` may return an exception that the
    recorded call raises, as a failing script would."""
    team_dir, repo_dir = tmp_path / "team", tmp_path / "repo"
    _write_files(team_dir, team_files)
    _write_files(repo_dir, repo_files)
    rec: RecordedSanitize

    def runner(kind: str) -> Callable[[str, str], None]:
        def run(name: str, text: str) -> None:
            rec.calls.append((kind, name, text))
            error = fail(name, text) if fail is not None else None
            if error is not None:
                raise error

        return run

    ctx = SanitizeContext(
        team_id=team_id,
        team_dir=team_dir,
        repo_dir=repo_dir,
        db_name=db_name,
        run_sql=runner("sql"),
        run_python=runner("python"),
        progress=lambda message: rec.progress.append(message),
    )
    rec = RecordedSanitize(ctx)
    return rec


# --- change analysis ----------------------------------------------------------------------
def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "-c",
            "user.name=oduflow-test",
            "-c",
            "user.email=test@oduflow.invalid",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return proc.stdout.strip()


def _commit(repo: Path, files: Mapping[str, str | None], message: str) -> str:
    for rel, text in files.items():
        path = repo / rel
        if text is None:
            path.unlink(missing_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


def make_change_context(
    repo: Path, old: Mapping[str, str | None], new: Mapping[str, str | None]
) -> ChangeContext:
    """A git repository at ``repo`` with a commit of the files ``old`` and one applying ``new``
    on top (``None`` deletes a file), and the :class:`ChangeContext` of ``pull_and_apply``
    between them (:func:`oduflow.changes.collect_changes`)."""
    repo.mkdir(parents=True, exist_ok=True)
    _git(repo, "init", "-q")
    old_rev = _commit(repo, old, "old")
    new_rev = _commit(repo, new, "new")
    return collect_changes(repo, old_rev, new_rev)
