"""The plugin core: entry points only, registration hooks, clear errors, the testing fixtures."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

import pluggy
import pytest

import oduflow
from oduflow import hookspecs
from oduflow.changes import Action, ChangeContext, Decision
from oduflow.config import parse
from oduflow.contracts import (
    DependencyContext,
    DependencyStep,
    FilestoreSpec,
    RoutingContext,
    SanitizeContext,
)
from oduflow.errors import ConfigError, PrerequisiteNotMetError
from oduflow.naming import Names
from oduflow.plugins import Hooks, get_plugin_manager
from oduflow.settings import PluginSettings, Setting
from oduflow.testing import make_change_context, make_sanitize_context, register_builtins

HOOKS = sorted(n for n in dir(hookspecs) if n.startswith("oduflow_"))


def test_core_imports_no_plugin() -> None:
    for path in Path(oduflow.__file__).parent.rglob("*.py"):
        assert "oduflow_plugins" not in path.read_text(), path


def test_every_hookspec_is_documented() -> None:
    for name in HOOKS:
        spec = getattr(hookspecs, name)
        doc = spec.__doc__ or ""
        params = inspect.signature(spec).parameters
        assert all(f":param {p}:" in doc for p in params) and ":return" in doc and "Called" in doc, name


def test_every_hookspec_is_exercised_and_in_the_docs() -> None:
    tests = Path(__file__).read_text()
    docs = (Path(__file__).parents[2] / "docs" / "plugins.md").read_text()
    for name in HOOKS:
        assert f"def test_hook_{name}" in tests, f"no test for {name}"
        assert name in docs, f"{name} is not documented in docs/plugins.md"


class FakeStorage:
    capabilities: frozenset[str] = frozenset()
    legacy_flag = ""

    def __init__(self, name: str = "fake", reason: str | None = None) -> None:
        self.name = name
        self.reason = reason

    def preference(self, filestore_mb: float, config: object) -> int:
        return 0

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
        def oduflow_register_storage(self, register: Callable[[object], None]) -> None:
            register(FakeStorage())
            register(FakeStorage("broken", "no FUSE here"))

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
        def oduflow_register_storage(self, register: Callable[[object], None]) -> None:
            register(FakeStorage("copy"))

    register_plugin(Plugin())
    register_plugin(__import__("oduflow_plugins.storage_copy", fromlist=["x"]))
    with pytest.raises(ConfigError, match="two plugins register the storage backend 'copy'"):
        oduflow_hooks.storage_backends()


def test_a_backend_without_a_name_is_refused(
    oduflow_hooks: Hooks, register_plugin: Callable[..., object]
) -> None:
    class Plugin:
        @oduflow.hookimpl
        def oduflow_register_storage(self, register: Callable[[object], None]) -> None:
            register(object())

    register_plugin(Plugin())
    with pytest.raises(ConfigError, match="registers a storage backend without a 'name'"):
        oduflow_hooks.storage_backends()


def test_hook_oduflow_register_routing(builtin_plugins: pluggy.PluginManager) -> None:
    hooks = Hooks(builtin_plugins)
    assert {"port", "traefik"} <= set(hooks.router_factories())
    with pytest.raises(ConfigError, match=r"unknown routing mode .nginx.*is the plugin installed"):
        hooks.router("nginx", None)  # type: ignore[arg-type]


def test_hook_oduflow_sanitize(tmp_path: Path, oduflow_pm: pluggy.PluginManager) -> None:
    """Production order: third-party plugins registered first, so the built-in one runs first."""
    order: list[str] = []

    class Extra:
        @oduflow.hookimpl
        def oduflow_sanitize(self, ctx: SanitizeContext) -> None:
            order.append("third-party")

    oduflow_pm.register(Extra())
    builtin_plugins = register_builtins(oduflow_pm)
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


# --- calls go through pluggy: order, wrappers, argument-less implementations, checks ----------
def _sanitizer(label: str, order: list[str], **opts: bool) -> object:
    class Plugin:
        @oduflow.hookimpl(**opts)
        def oduflow_sanitize(self, ctx: SanitizeContext) -> None:
            order.append(label)

    return Plugin()


def test_sanitize_honours_tryfirst_and_trylast(tmp_path: Path, oduflow_pm: pluggy.PluginManager) -> None:
    order: list[str] = []
    oduflow_pm.register(_sanitizer("last", order, trylast=True))
    oduflow_pm.register(_sanitizer("plain", order))
    oduflow_pm.register(_sanitizer("first", order, tryfirst=True))
    register_builtins(oduflow_pm)
    run = make_sanitize_context(tmp_path, repo_files={".odoo_sanitize/01.sql": "SELECT 1"})
    Hooks(oduflow_pm).sanitize(run.ctx)
    assert order == ["first", "plain", "last"]
    assert run.names == [".odoo_sanitize/01.sql"]


def test_a_wrapper_runs_around_the_other_implementations(
    tmp_path: Path, oduflow_pm: pluggy.PluginManager
) -> None:
    order: list[str] = []

    class Around:
        @oduflow.hookimpl(wrapper=True)
        def oduflow_install_dependencies(self, ctx: DependencyContext):  # type: ignore[no-untyped-def]
            order.append("before")
            results = yield
            order.append(f"after {len(results)} result(s)")
            return [*results, [DependencyStep(name="added by the wrapper", argv=("true",))]]

    oduflow_pm.register(Around())
    register_builtins(oduflow_pm)
    (tmp_path / "requirements.txt").write_text("phonenumbers\n")
    steps = Hooks(oduflow_pm).dependency_steps(DependencyContext(tmp_path, "odoo:18.0"))
    assert order == ["before", "after 1 result(s)"]
    assert [s.name for s in steps] == ["python requirements", "added by the wrapper"]


def test_an_implementation_may_take_no_argument(
    tmp_path: Path, oduflow_hooks: Hooks, register_plugin: Callable[..., object]
) -> None:
    calls: list[str] = []

    class NoArgs:
        @oduflow.hookimpl
        def oduflow_sanitize(self) -> None:
            calls.append("sanitize")

        @oduflow.hookimpl
        def oduflow_install_dependencies(self) -> list[DependencyStep]:
            return [DependencyStep(name="always", argv=("true",))]

    register_plugin(NoArgs())
    oduflow_hooks.sanitize(make_sanitize_context(tmp_path).ctx)
    assert calls == ["sanitize"]
    assert [s.name for s in oduflow_hooks.dependency_steps(DependencyContext(tmp_path, "i"))] == ["always"]


def test_a_misspelt_hook_is_a_config_error_naming_the_plugin(
    oduflow_pm: pluggy.PluginManager, register_plugin: Callable[..., object]
) -> None:
    class Marked:
        @oduflow.hookimpl
        def oduflow_sanitise(self, ctx: SanitizeContext) -> None: ...

    class Unmarked:
        def oduflow_register_storge(self, register: Callable[[object], None]) -> None: ...

    for plugin, name, hook in (
        (Marked(), "typo-marked", "oduflow_sanitise"),
        (Unmarked(), "typo", "oduflow_register_storge"),
    ):
        with pytest.raises(ConfigError, match=rf"plugin '{name}' is invalid: .*{hook}"):
            register_plugin(plugin, name=name)
        assert not oduflow_pm.is_registered(plugin)


def test_entry_points_register_builtins_last_so_they_run_first() -> None:
    pm = get_plugin_manager()  # check_pending passed for every installed plugin
    impls = pm.hook.oduflow_sanitize.get_hookimpls()  # pluggy calls the last one first
    assert impls[-1].plugin_name == "sanitize"


def test_hook_oduflow_declare_settings(oduflow_hooks: Hooks, builtin_plugins: pluggy.PluginManager) -> None:
    declared = {d.plugin: d for d in oduflow_hooks.settings_declarations()}
    assert {"routing_traefik", "storage_overlay", "routing_port"} <= set(declared)
    traefik = {s.key: s for s in declared["routing_traefik"].settings}
    assert traefik["acme_email"].aliases == ("routing.acme_email",)
    overlay = {s.key: s for s in declared["storage_overlay"].settings}
    assert overlay["threshold_mb"].aliases == ("storage.overlay_threshold_mb",)


def test_two_plugins_declaring_one_table_or_alias_are_refused(
    oduflow_hooks: Hooks, builtin_plugins: pluggy.PluginManager, register_plugin: Callable[..., object]
) -> None:
    class Same:
        @oduflow.hookimpl
        def oduflow_declare_settings(self) -> PluginSettings:
            return PluginSettings("other", (Setting("email", "", aliases=("routing.acme_email",)),))

    register_plugin(Same())
    with pytest.raises(ConfigError, match=r"both declare 'routing\.acme_email'"):
        oduflow_hooks.configure(parse({}))


def test_a_third_party_router_is_selected_by_routing_mode(
    oduflow_hooks: Hooks, builtin_plugins: pluggy.PluginManager, register_plugin: Callable[..., object]
) -> None:
    class Gateway:
        name = "gateway"

        def __init__(self, ctx: RoutingContext) -> None:
            self.ctx = ctx

    class Plugin:
        @oduflow.hookimpl
        def oduflow_register_routing(self, register: Callable[[object], None]) -> None:
            register(Gateway)

    register_plugin(Plugin())
    cfg = oduflow_hooks.configure(parse({"routing": {"mode": "gateway"}}))
    ctx = RoutingContext(config=cfg, names=Names("t"), ports_for=lambda t: None, docker=lambda: None)  # type: ignore[arg-type,return-value]
    router = oduflow_hooks.router(cfg.routing.mode, ctx)
    assert isinstance(router, Gateway) and router.ctx.config.routing.mode == "gateway"
    with pytest.raises(
        ConfigError, match=r"unknown routing mode 'gatewey' \(known: gateway, port, traefik\)"
    ):
        oduflow_hooks.configure(parse({"routing": {"mode": "gatewey"}}))


def test_storage_is_chosen_by_declared_preference_and_legacy_flag(
    oduflow_hooks: Hooks, builtin_plugins: pluggy.PluginManager, register_plugin: Callable[..., object]
) -> None:
    class Big(FakeStorage):
        legacy_flag = "use_big"

        def preference(self, filestore_mb: float, config: object) -> int:
            return 5 if filestore_mb >= 1000 else 0

    class Plugin:
        @oduflow.hookimpl
        def oduflow_register_storage(self, register: Callable[[object], None]) -> None:
            register(Big("big"))

    register_plugin(Plugin())
    cfg = oduflow_hooks.configure(parse({"storage": {"overlay_threshold_mb": 10}}))
    overlay_usable = oduflow_hooks.storage_backends()["overlay"].available() is None
    assert oduflow_hooks.preferred_storage(0.0, cfg) == "copy"
    assert oduflow_hooks.preferred_storage(20.0, cfg) == ("overlay" if overlay_usable else "copy")
    assert oduflow_hooks.preferred_storage(2000.0, cfg) == "big"
    assert oduflow_hooks.template_storage("", {"use_big": True}, cfg) == "big"
    assert oduflow_hooks.template_storage("", {"use_overlay": True, "use_big": False}, cfg) == "overlay"
    assert oduflow_hooks.template_storage("", {"use_overlay": False}, cfg) == "copy"
    assert oduflow_hooks.template_storage("s3", {"use_overlay": True}, cfg) == "s3"
    assert oduflow_hooks.legacy_flags("big") == {"use_big": True, "use_overlay": False}


def test_hook_oduflow_register_tools(oduflow_pm: pluggy.PluginManager) -> None:
    from typing import Any

    from oduflow.catalog import build_catalog
    from oduflow.toolspec import Call, tool

    @tool(title="Ping", read_only=True)
    def ping(call: Call) -> str:
        """Returns "pong"."""
        return "pong"

    class Tools:
        @oduflow.hookimpl
        def oduflow_register_tools(self, register: Any) -> None:
            register(ping)

    oduflow_pm.register(Tools())
    catalog = build_catalog(Hooks(oduflow_pm))
    assert catalog.get("ping").mark.read_only and catalog.get("list_environments")
    with pytest.raises(ConfigError, match="two tools are called 'ping'"):
        Hooks(oduflow_pm).register_tools(catalog.add)


def test_change_context_factory_makes_a_real_repository(
    tmp_path: Path, oduflow_hooks: Hooks, builtin_plugins: pluggy.PluginManager
) -> None:
    ctx = make_change_context(
        tmp_path / "repo",
        {"m/__manifest__.py": "{'name': 'm'}", "m/__init__.py": "", "README.md": "old"},
        {"m/models.py": "X = 1\n", "README.md": None},
    )
    assert {(c.path, c.status) for c in ctx.changes} == {("m/models.py", "A"), ("README.md", "D")}
    assert ctx.read_new("m/models.py") == "X = 1\n" and ctx.module_of("m/models.py") == "m"
    assert oduflow_hooks.analyze_changes(ctx).action >= Action.RESTART


def test_sanitize_context_factory_records_and_fails_like_a_script(
    tmp_path: Path, oduflow_hooks: Hooks, builtin_plugins: pluggy.PluginManager
) -> None:
    run = make_sanitize_context(
        tmp_path,
        team_files={"odoo_sanitize/01.sql": "UPDATE a"},
        repo_files={".odoo_sanitize/02.py": "print(1)", ".odoo_sanitize/03.sql": "BAD"},
        fail=lambda name, text: RuntimeError(name) if text == "BAD" else None,
    )
    with pytest.raises(RuntimeError, match=r"03\.sql"):
        oduflow_hooks.sanitize(run.ctx)
    assert run.calls == [("sql", "odoo_sanitize/01.sql", "UPDATE a"), ("sql", ".odoo_sanitize/03.sql", "BAD")]
    assert run.progress == ["sanitize: odoo_sanitize/01.sql", "sanitize: .odoo_sanitize/03.sql"]
