"""The plugin core: entry points only, registration hooks, clear errors, the testing fixtures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pluggy
import pytest

import oduflow
from oduflow import hookspecs
from oduflow.changes import Action, ChangeContext, Decision
from oduflow.contracts import DependencyContext, DependencyStep, FilestoreSpec, SanitizeContext
from oduflow.errors import ConfigError, PrerequisiteNotMetError
from oduflow.plugins import Hooks, get_plugin_manager

HOOKS = sorted(n for n in dir(hookspecs) if n.startswith("oduflow_"))


def test_core_imports_no_plugin() -> None:
    for path in Path(oduflow.__file__).parent.rglob("*.py"):
        assert "oduflow_plugins" not in path.read_text(), path


def test_every_hookspec_is_documented() -> None:
    for name in HOOKS:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert ":param" in doc and ":return" in doc and "Called" in doc, name


def test_every_hookspec_is_exercised_and_in_the_docs() -> None:
    tests = Path(__file__).read_text()
    docs = (Path(__file__).parents[2] / "docs" / "plugins.md").read_text()
    for name in HOOKS:
        assert f"def test_hook_{name}" in tests, f"no test for {name}"
        assert name in docs, f"{name} is not documented in docs/plugins.md"


class FakeStorage:
    name = "fake"

    def __init__(self, reason: str | None = None) -> None:
        self.reason = reason

    def available(self) -> str | None:
        return self.reason

    def provision(self, spec: FilestoreSpec) -> None: ...
    def is_healthy(self, spec: FilestoreSpec) -> bool:
        return True

    def remount(self, spec: FilestoreSpec) -> bool:
        return False

    def reset(self, spec: FilestoreSpec, lower: Path | None) -> None: ...
    def snapshot(self, spec: FilestoreSpec, dest: Path) -> None: ...
    def release(self, spec: FilestoreSpec) -> None: ...


def test_hook_oduflow_register_storage(oduflow_hooks: Hooks, register_plugin: Callable[..., object]) -> None:
    class Plugin:
        @oduflow.hookimpl
        def oduflow_register_storage(self, register: Callable[[str, object], None]) -> None:
            register("fake", FakeStorage())
            register("broken", FakeStorage("no FUSE here"))

    register_plugin(Plugin())
    assert isinstance(oduflow_hooks.storage("fake"), FakeStorage)
    with pytest.raises(PrerequisiteNotMetError, match="no FUSE here"):
        oduflow_hooks.storage("broken")
    with pytest.raises(ConfigError, match="is the plugin installed"):
        oduflow_hooks.storage("s3")


def test_duplicate_backend_names_are_an_error(
    oduflow_hooks: Hooks, register_plugin: Callable[..., object]
) -> None:
    class Plugin:
        @oduflow.hookimpl
        def oduflow_register_storage(self, register: Callable[[str, object], None]) -> None:
            register("copy", FakeStorage())

    register_plugin(Plugin())
    register_plugin(__import__("oduflow_plugins.storage_copy", fromlist=["x"]))
    with pytest.raises(ConfigError, match="two plugins register"):
        oduflow_hooks.storage_backends()


def test_hook_oduflow_register_routing(builtin_plugins: pluggy.PluginManager) -> None:
    hooks = Hooks(builtin_plugins)
    assert {"port", "traefik"} <= set(hooks.router_factories())
    with pytest.raises(ConfigError, match=r"unknown routing mode .nginx.*is the plugin installed"):
        hooks.router("nginx", None)  # type: ignore[arg-type]


def test_hook_oduflow_sanitize(
    tmp_path: Path, builtin_plugins: pluggy.PluginManager, register_plugin: Callable[..., object]
) -> None:
    order: list[str] = []

    class Extra:
        @oduflow.hookimpl
        def oduflow_sanitize(self, ctx: SanitizeContext) -> None:
            order.append("third-party")

    register_plugin(Extra())
    team, repo = tmp_path / "team", tmp_path / "repo"
    (team / "odoo_sanitize").mkdir(parents=True)
    (repo / ".odoo_sanitize").mkdir(parents=True)
    for folder, files in (
        (team / "odoo_sanitize", ["02_b.py", "01_a.sql", "03_c.sql", "x.txt"]),
        (repo / ".odoo_sanitize", ["01_z.py", "09_y.sql"]),
    ):
        for f in files:
            (folder / f).write_text(f"-- {f}")
    ctx = SanitizeContext(
        team_id="1",
        team_dir=team,
        repo_dir=repo,
        db_name="db",
        run_sql=lambda n, t: order.append(n),
        run_python=lambda n, t: order.append(n),
    )
    Hooks(builtin_plugins).sanitize(ctx)
    assert order == [
        "odoo_sanitize/01_a.sql",
        "odoo_sanitize/03_c.sql",
        "odoo_sanitize/02_b.py",
        ".odoo_sanitize/09_y.sql",
        ".odoo_sanitize/01_z.py",
        "third-party",
    ]


def test_sanitize_refuses_links_out_of_the_folder(
    tmp_path: Path, builtin_plugins: pluggy.PluginManager
) -> None:
    (tmp_path / "repo" / ".odoo_sanitize").mkdir(parents=True)
    (tmp_path / "repo" / ".odoo_sanitize" / "01.sql").symlink_to("/etc/passwd")
    ctx = SanitizeContext(
        team_id="1",
        team_dir=tmp_path,
        repo_dir=tmp_path / "repo",
        db_name="d",
        run_sql=lambda n, t: None,
        run_python=lambda n, t: None,
    )
    with pytest.raises(oduflow.errors.ValidationError):
        Hooks(builtin_plugins).sanitize(ctx)


def test_hook_oduflow_install_dependencies(tmp_path: Path, builtin_plugins: pluggy.PluginManager) -> None:
    hooks = Hooks(builtin_plugins)
    assert hooks.dependency_steps(DependencyContext(tmp_path, "odoo:17.0")) == []
    (tmp_path / "apt_packages.txt").write_text("# comment\nlibfontconfig1\nxfonts-75dpi  libxrender1\n")
    (tmp_path / "requirements.txt").write_text("phonenumbers==8.13.0\n")
    steps = hooks.dependency_steps(DependencyContext(tmp_path, "odoo:17.0"))
    assert [s.name for s in steps] == ["apt packages", "python requirements"]
    assert steps[0].argv[-3:] == ("libfontconfig1", "xfonts-75dpi", "libxrender1")
    assert all(isinstance(s, DependencyStep) and s.inputs for s in steps)
    (tmp_path / "apt_packages.txt").write_text("ok; rm -rf /\n")
    with pytest.raises(oduflow.errors.ValidationError):
        hooks.dependency_steps(DependencyContext(tmp_path, "odoo:17.0"))


def test_hook_oduflow_analyze_changes(
    oduflow_hooks: Hooks, register_plugin: Callable[..., object], tmp_path: Path
) -> None:
    class Rule:
        @oduflow.hookimpl
        def oduflow_analyze_changes(self, ctx: ChangeContext) -> list[Decision]:
            return [Decision(action=Action.UPGRADE, path="m/x.cfg", module="m", reason="custom rule")]

    register_plugin(Rule())
    plan = oduflow_hooks.analyze_changes(
        ChangeContext(repo_dir=tmp_path, old_rev="a", new_rev="b", changes=())
    )
    assert plan.upgrade == ["m"] and plan.action == Action.UPGRADE


def test_entry_point_plugin_manager_loads_builtins() -> None:
    pm = get_plugin_manager()
    assert {
        "storage_overlay",
        "storage_copy",
        "routing_port",
        "routing_traefik",
        "sanitize",
        "changes",
        "dependencies",
    } <= {n for n, _ in pm.list_name_plugin()}
