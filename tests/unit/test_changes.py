"""Change analysis of ``pull_and_apply`` on real git repositories (core types + built-in plugin)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oduflow.changes import Action, ChangePlan, Decision, collect_changes, merge_decisions
from oduflow.errors import ValidationError
from tests.unit.gitrepo_helpers import MODELS, PNG, GitRepo, analyze, brief, odoo_project

pytestmark = pytest.mark.unit

UPG, INS, RST, REF, NOP = "UPGRADE", "INSTALL", "RESTART", "REFRESH", "NOTHING"
MODELS_PY = "sale_ext/models/partner.py"
VIEWS_XML = "sale_ext/views/partner_views.xml"


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return odoo_project(tmp_path / "project")


def one(repo: GitRepo, old: str) -> Decision:
    """The only decision for the changes of the last commit."""
    _ctx, decisions, _plan = analyze(repo, old, repo.git("rev-parse", "HEAD"))
    assert len(decisions) == 1, brief(decisions)
    return decisions[0]


def edit(repo: GitRepo, path: str, old: str, new: str) -> Decision:
    base = repo.git("rev-parse", "HEAD")
    repo.replace(path, old, new)
    repo.commit()
    return one(repo, base)


# --- manifests ------------------------------------------------------------------------
def test_new_module_is_installed_with_all_its_files(repo: GitRepo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.write("new_mod/__manifest__.py", '{"name": "New", "version": "1.0", "depends": ["base"]}\n')
    repo.write("new_mod/__init__.py", "from . import models\n")
    repo.write("new_mod/models/x.py", "from odoo import fields, models\n")
    new = repo.commit()
    ctx, decisions, plan = analyze(repo, base, new)
    assert ctx.module_is_new("new_mod") and not ctx.module_is_new("sale_ext")
    assert brief(decisions) == [
        (INS, "new_mod/__init__.py", "new_mod"),
        (INS, "new_mod/__manifest__.py", "new_mod"),
        (INS, "new_mod/models/x.py", "new_mod"),
    ]
    assert (plan.install, plan.upgrade, plan.action) == (["new_mod"], [], Action.INSTALL)
    assert plan.restart and plan.restart_implied


def test_new_module_not_installable_is_not_installed(repo: GitRepo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.write("draft/__manifest__.py", '{"name": "Draft", "installable": False}\n')
    _ctx, decisions, plan = analyze(repo, base, repo.commit())
    assert brief(decisions) == [(NOP, "draft/__manifest__.py", "draft")]
    assert plan.install == [] and "not installable" in decisions[0].reason


def test_manifest_version_changed_upgrades(repo: GitRepo) -> None:
    d = edit(repo, "sale_ext/__manifest__.py", '"17.0.1.0.0"', '"17.0.1.0.1"')
    assert (d.action, d.module) == (Action.UPGRADE, "sale_ext")
    assert "17.0.1.0.0 -> 17.0.1.0.1" in d.reason


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('"data/data.xml",', '"data/data.xml",\n        "data/more.xml",', "data"),
        ('"license"', '"demo": ["demo/demo.xml"],\n    "license"', "demo"),
        ('static/src/**/*"]', 'static/src/**/*", "web/static/x.js"]', "assets"),
        ('"license"', '"qweb": ["static/src/xml/*.xml"],\n    "license"', "qweb"),
        ('["sale"]', '["sale", "stock"]', "depends"),
    ],
)
def test_manifest_file_lists_changed_upgrade(repo: GitRepo, old: str, new: str, key: str) -> None:
    d = edit(repo, "sale_ext/__manifest__.py", old, new)
    assert (d.action, d.module) == (Action.UPGRADE, "sale_ext")
    assert d.reason.startswith(f"manifest {key} changed")


def test_manifest_descriptive_keys_do_nothing(repo: GitRepo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.replace("sale_ext/__manifest__.py", '"Extends sales"', '"Extends sales a lot"')
    repo.replace("sale_ext/__manifest__.py", '"author": "Test"', '"author": "Someone"')
    repo.commit()
    d = one(repo, base)
    assert (d.action, d.module) == (Action.NOTHING, "sale_ext")
    assert d.reason == "only descriptive manifest keys changed (author, summary)"


def test_manifest_deleted_reports_removed_module(repo: GitRepo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.delete("addons/sub/nested_mod")
    _ctx, decisions, plan = analyze(repo, base, repo.commit())
    assert {d.action for d in decisions} == {Action.NOTHING}
    manifest = [d for d in decisions if d.path.endswith("__manifest__.py")]
    assert [(d.module, d.warning) for d in manifest] == [("nested_mod", True)]
    assert len(decisions) == 4 and plan.action == Action.NOTHING
    assert "warning: module nested_mod removed" in plan.summary()


# --- Python ---------------------------------------------------------------------------
def test_field_added_upgrades(repo: GitRepo) -> None:
    d = edit(
        repo,
        MODELS_PY,
        '    code = Char(string="Code")\n',
        '    code = Char(string="Code")\n    note = fields.Text()\n',
    )
    assert (d.action, d.module) == (Action.UPGRADE, "sale_ext")
    assert d.reason == "model schema changed: ResPartner (res.partner): field note added"


def test_field_removed_upgrades(repo: GitRepo) -> None:
    d = edit(repo, MODELS_PY, '    code = Char(string="Code")\n', "")
    assert d.action == Action.UPGRADE and "field code removed" in d.reason


def test_multiline_field_definition_changed_upgrades(repo: GitRepo) -> None:
    d = edit(repo, MODELS_PY, '[("a", "A"), ("b", "B")],', '[("a", "A"), ("b", "B"), ("c", "C")],')
    assert d.action == Action.UPGRADE and "field level changed" in d.reason


def test_required_added_on_its_own_line_upgrades(repo: GitRepo) -> None:
    d = edit(repo, MODELS_PY, "        default=0,\n", "        default=0,\n        required=True,\n")
    assert d.action == Action.UPGRADE and "field points changed" in d.reason


def test_field_imported_from_odoo_fields_changed_upgrades(repo: GitRepo) -> None:
    d = edit(repo, MODELS_PY, 'Char(string="Code")', 'Char(string="Code", index=True)')
    assert d.action == Action.UPGRADE and "field code changed" in d.reason


def test_inherit_changed_upgrades(repo: GitRepo) -> None:
    d = edit(repo, MODELS_PY, '_inherit = "res.partner"', '_inherit = ["res.partner", "mail.thread"]')
    assert d.action == Action.UPGRADE and "attr _inherit changed" in d.reason


def test_sql_constraints_changed_upgrades(repo: GitRepo) -> None:
    d = edit(repo, MODELS_PY, '"unique(code)"', '"unique(code, company_id)"')
    assert d.action == Action.UPGRADE and "attr _sql_constraints changed" in d.reason


def test_api_constrains_added_upgrades(repo: GitRepo) -> None:
    d = edit(
        repo,
        MODELS_PY,
        "    def action_reset(self):",
        '    @api.constrains("code")\n    def _check_code(self):\n        pass\n\n'
        "    def action_reset(self):",
    )
    assert d.action == Action.UPGRADE and "@api.constrains _check_code added" in d.reason


def test_api_constrains_field_list_changed_upgrades(repo: GitRepo) -> None:
    d = edit(repo, MODELS_PY, '@api.constrains("points")', '@api.constrains("points", "level")')
    assert d.action == Action.UPGRADE and "@api.constrains _check_points changed" in d.reason


def test_model_class_added_upgrades(repo: GitRepo) -> None:
    d = edit(
        repo,
        MODELS_PY,
        "class Helper:",
        "class Wizard(models.TransientModel):\n    _name = 'x.wiz'\n\n\nclass Helper:",
    )
    assert d.action == Action.UPGRADE and d.reason.endswith("model class Wizard (x.wiz) added")


def test_method_body_change_restarts(repo: GitRepo) -> None:
    d = edit(repo, MODELS_PY, "        self.points = 0\n", "        self.points = 1\n")
    assert (d.action, d.module) == (Action.RESTART, "sale_ext")
    assert d.reason == "Python code changed (no field or model change)"


def test_comments_and_whitespace_in_model_restart(repo: GitRepo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.replace(MODELS_PY, "    # loyalty points\n", "    # loyalty points, counted per order\n\n")
    repo.replace(MODELS_PY, 'string="Points",', "string='Points',  # label")
    repo.replace(MODELS_PY, 'code = Char(string="Code")', 'code = Char(\n        string="Code"\n    )')
    repo.commit()
    assert one(repo, base).action == Action.RESTART


def test_non_model_class_field_like_change_restarts(repo: GitRepo) -> None:
    assert (
        edit(repo, MODELS_PY, "    value = fields.Char()", "    value = fields.Text()").action
        == Action.RESTART
    )


def test_controller_change_restarts(repo: GitRepo) -> None:
    d = edit(repo, "sale_ext/controllers/main.py", "'hello'", "'bye'")
    assert (d.action, d.module) == (Action.RESTART, "sale_ext")


def test_python_that_no_longer_parses_upgrades(repo: GitRepo) -> None:
    d = edit(repo, MODELS_PY, "    def action_reset(self):", "    def action_reset(self:")
    assert (d.action, d.module) == (Action.UPGRADE, "sale_ext")
    assert d.reason.startswith("Python file does not parse (line ")


def test_python_that_parses_again_upgrades(repo: GitRepo) -> None:
    repo.replace(MODELS_PY, "    def action_reset(self):", "    def action_reset(self:")
    broken = repo.commit()
    repo.write(MODELS_PY, MODELS)
    repo.commit()
    assert one(repo, broken).action == Action.UPGRADE


# --- XML, CSV, security, translations, assets --------------------------------------------
def test_security_files_upgrade(repo: GitRepo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.write(
        "sale_ext/security/ir.model.access.csv", "id,name,model_id:id,group_id:id,perm_read\na,b,c,,1\n"
    )
    repo.replace("sale_ext/security/rules.xml", "(1, '=', 1)", "('id', '>', 0)")
    _ctx, decisions, plan = analyze(repo, base, repo.commit())
    assert brief(decisions) == [
        (UPG, "sale_ext/security/ir.model.access.csv", "sale_ext"),
        (UPG, "sale_ext/security/rules.xml", "sale_ext"),
    ]
    assert plan.upgrade == ["sale_ext"]


def test_view_arch_change_refreshes_even_next_to_actions_and_menus(repo: GitRepo) -> None:
    d = edit(repo, VIEWS_XML, '<field name="points"/>', '<field name="points" readonly="1"/>')
    assert (d.action, d.module) == (Action.REFRESH, "sale_ext")
    assert d.reason == "view architecture changed (view_partner_form_points); hot-reloaded by --dev=xml"


def test_qweb_template_change_refreshes(repo: GitRepo) -> None:
    d = edit(repo, "sale_ext/views/templates.xml", '<div class="points">', '<div class="points big">')
    assert d.action == Action.REFRESH


def test_xml_comment_only_change_does_nothing(repo: GitRepo) -> None:
    assert edit(repo, VIEWS_XML, "<odoo>\n", "<odoo>\n    <!-- points -->\n").action == Action.NOTHING


@pytest.mark.parametrize(
    "snippet",
    [
        '<record id="action_more" model="ir.actions.server"><field name="name">X</field></record>',
        '<menuitem id="menu_more" name="More" parent="menu_points"/>',
        '<record id="cron_points" model="ir.cron"><field name="name">Cron</field></record>',
        '<record id="rule_more" model="ir.rule"><field name="name">R</field></record>',
        '<record id="access_more" model="ir.model.access"><field name="name">A</field></record>',
        '<record id="partner_more" model="res.partner"><field name="name">P</field></record>',
        '<function model="res.partner" name="_init_points"/>',
        '<delete model="ir.ui.menu" id="menu_old"/>',
    ],
)
def test_xml_other_records_upgrade(repo: GitRepo, snippet: str) -> None:
    d = edit(repo, VIEWS_XML, "</odoo>", f"    {snippet}\n</odoo>")
    assert (d.action, d.module) == (Action.UPGRADE, "sale_ext")
    assert d.reason.startswith("records other than views changed (<")


def test_xml_action_changed_upgrades(repo: GitRepo) -> None:
    d = edit(repo, VIEWS_XML, '<field name="name">Points</field>', '<field name="name">Loyalty</field>')
    assert d.action == Action.UPGRADE and "<record ir.actions.act_window action_points>" in d.reason


def test_new_view_in_existing_file_upgrades(repo: GitRepo) -> None:
    d = edit(
        repo,
        "sale_ext/views/templates.xml",
        "</odoo>",
        '    <template id="portal_more"><div/></template>\n</odoo>',
    )
    assert d.action == Action.UPGRADE and d.reason.startswith("views added portal_more")


def test_view_inherit_id_changed_upgrades(repo: GitRepo) -> None:
    d = edit(repo, VIEWS_XML, "base.view_partner_form", "base.view_partner_simple_form")
    assert d.action == Action.UPGRADE and d.reason.startswith("view attributes changed")


def test_xml_noupdate_data_change_upgrades(repo: GitRepo) -> None:
    assert edit(repo, "sale_ext/data/data.xml", ">Demo<", ">Demo 2<").action == Action.UPGRADE


def test_xml_file_added_upgrades(repo: GitRepo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.write("sale_ext/views/more_views.xml", "<odoo>\n    <template id='t'><div/></template>\n</odoo>\n")
    repo.commit()
    d = one(repo, base)
    assert (d.action, d.path) == (Action.UPGRADE, "sale_ext/views/more_views.xml")


def test_broken_xml_upgrades(repo: GitRepo) -> None:
    d = edit(repo, VIEWS_XML, "</odoo>", "</odo>")
    assert d.action == Action.UPGRADE and d.reason.startswith("XML does not parse")


def test_csv_data_file_upgrades(repo: GitRepo) -> None:
    d = edit(repo, "sale_ext/data/res.partner.category.csv", "cat_a,A", "cat_a,A+")
    assert (d.action, d.module) == (Action.UPGRADE, "sale_ext")


def test_assets_refresh(repo: GitRepo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.replace("sale_ext/static/src/js/widget.js", "= 1", "= 2")
    repo.replace("sale_ext/static/src/scss/style.scss", "red", "blue")
    repo.replace("sale_ext/static/src/css/legacy.css", "0", "1px")
    _ctx, decisions, plan = analyze(repo, base, repo.commit())
    assert {d.action for d in decisions} == {Action.REFRESH} and len(decisions) == 3
    assert (plan.action, plan.refresh, plan.restart) == (Action.REFRESH, True, False)
    assert plan.summary() == "reload the browser (3 view/asset files changed)"


def test_po_upgrades_and_pot_does_nothing(repo: GitRepo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.replace("sale_ext/i18n/fr.po", 'msgstr "Points"', 'msgstr "Points de fidélité"')
    repo.replace("sale_ext/i18n/sale_ext.pot", '"Points"', '"Loyalty points"')
    _ctx, decisions, _plan = analyze(repo, base, repo.commit())
    assert brief(decisions) == [
        (UPG, "sale_ext/i18n/fr.po", "sale_ext"),
        (NOP, "sale_ext/i18n/sale_ext.pot", "sale_ext"),
    ]


def test_binary_file_changed(repo: GitRepo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.write("sale_ext/static/description/icon.png", PNG + b"\x00more")
    repo.write("sale_ext/data/logo.bin", b"\x00\x01\x02")
    ctx, decisions, _plan = analyze(repo, base, repo.commit())
    icon = next(c for c in ctx.changes if c.path.endswith("icon.png"))
    assert (icon.status, icon.old_text, icon.new_text) == ("M", None, None)
    assert brief(decisions) == [
        (UPG, "sale_ext/data/logo.bin", "sale_ext"),
        (REF, "sale_ext/static/description/icon.png", "sale_ext"),
    ]


def test_tests_migrations_and_docs_do_nothing(repo: GitRepo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.replace("sale_ext/tests/test_points.py", "True", "1 == 1")
    repo.replace("sale_ext/migrations/17.0.1.0.1/post-migrate.py", "pass", "return None")
    repo.replace("sale_ext/README.rst", "Sale", "Sales")
    _ctx, decisions, plan = analyze(repo, base, repo.commit())
    assert {d.action for d in decisions} == {Action.NOTHING} and len(decisions) == 3
    assert plan.summary() == "nothing to do (3 files need no action)"


# --- deletions, renames, nested modules ----------------------------------------------------
def test_deleted_files_in_module(repo: GitRepo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.delete("sale_ext/data/data.xml")
    repo.delete("sale_ext/controllers/main.py")
    repo.delete("addons/sub/nested_mod/models/thing.py")
    repo.delete("sale_ext/static/src/css/legacy.css")
    _ctx, decisions, plan = analyze(repo, base, repo.commit())
    assert brief(decisions) == [
        (UPG, "addons/sub/nested_mod/models/thing.py", "nested_mod"),
        (RST, "sale_ext/controllers/main.py", "sale_ext"),
        (UPG, "sale_ext/data/data.xml", "sale_ext"),
        (REF, "sale_ext/static/src/css/legacy.css", "sale_ext"),
    ]
    assert plan.upgrade == ["nested_mod", "sale_ext"]


def test_nested_module_found_by_walking_up(repo: GitRepo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.replace(
        "addons/sub/nested_mod/models/thing.py", "name = fields.Char()", "name = fields.Char(required=True)"
    )
    ctx, decisions, _plan = analyze(repo, base, repo.commit())
    assert brief(decisions) == [(UPG, "addons/sub/nested_mod/models/thing.py", "nested_mod")]
    assert ctx.module_of("addons/sub/nested_mod/models/thing.py") == "nested_mod"
    assert ctx.module_dir_of("addons/sub/nested_mod/models/thing.py") == "addons/sub/nested_mod"
    assert ctx.module_of("addons/sub/README.md") is None


def test_renamed_file_within_module(repo: GitRepo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.move("sale_ext/controllers/main.py", "sale_ext/controllers/portal.py")
    repo.move("sale_ext/views/templates.xml", "sale_ext/views/portal_templates.xml")
    ctx, decisions, _plan = analyze(repo, base, repo.commit())
    renamed = {c.path: (c.status, c.old_path) for c in ctx.changes}
    assert renamed["sale_ext/controllers/portal.py"] == ("R", "sale_ext/controllers/main.py")
    assert brief(decisions) == [
        (RST, "sale_ext/controllers/portal.py", "sale_ext"),
        (UPG, "sale_ext/views/portal_templates.xml", "sale_ext"),
    ]


def test_file_moved_between_modules_is_removed_and_added(repo: GitRepo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.move("sale_ext/data/res.partner.category.csv", "addons/sub/nested_mod/data/res.partner.category.csv")
    _ctx, decisions, plan = analyze(repo, base, repo.commit())
    assert brief(decisions) == [
        (UPG, "addons/sub/nested_mod/data/res.partner.category.csv", "nested_mod"),
        (UPG, "sale_ext/data/res.partner.category.csv", "sale_ext"),
    ]
    assert plan.upgrade == ["nested_mod", "sale_ext"]


def test_moved_module_is_not_new(repo: GitRepo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.move("addons/sub/nested_mod", "addons/nested_mod")
    ctx, decisions, plan = analyze(repo, base, repo.commit())
    assert not ctx.module_is_new("nested_mod") and not ctx.module_is_removed("nested_mod")
    assert plan.install == [] and plan.upgrade == []
    assert brief(decisions)[-1] == (RST, "addons/nested_mod/models/thing.py", "nested_mod")


def test_module_added_together_with_upgrade_elsewhere(repo: GitRepo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.write("new_mod/__manifest__.py", '{"name": "New", "version": "1.0"}\n')
    repo.replace(
        MODELS_PY,
        '    code = Char(string="Code")\n',
        '    code = Char(string="Code")\n    x = fields.Float()\n',
    )
    repo.replace("sale_ext/controllers/main.py", "'hello'", "'bye'")
    _ctx, _decisions, plan = analyze(repo, base, repo.commit())
    assert (plan.install, plan.upgrade, plan.action) == (["new_mod"], ["sale_ext"], Action.INSTALL)
    assert plan.summary() == (
        "install: new_mod; upgrade: sale_ext (model schema changed: ResPartner (res.partner): field x added"
        " in sale_ext/models/partner.py); restart after install/upgrade (not needed separately)"
    )


def test_module_of_reads_revisions_not_the_work_tree(repo: GitRepo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.write("late_mod/__manifest__.py", '{"name": "Late"}\n')
    repo.write("late_mod/models/x.py", "X = 1\n")
    new = repo.commit()
    repo.git("checkout", "-q", base)
    ctx = collect_changes(repo.root, base, new)
    assert ctx.module_of("late_mod/models/x.py") == "late_mod"
    assert ctx.read_new("late_mod/models/x.py") == "X = 1\n" and ctx.read_old("late_mod/models/x.py") is None
    assert ctx.read_old("README.md") == "# project\n"


# --- repository root -------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["requirements.txt", "apt_packages.txt"])
def test_dependency_files_reinstall_and_restart(repo: GitRepo, path: str) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.write(path, repo.read(path) + "extra\n")
    _ctx, decisions, plan = analyze(repo, base, repo.commit())
    assert brief(decisions) == [(RST, path, None)] and decisions[0].reinstall_dependencies
    assert (plan.dependencies, plan.restart, plan.action) == (True, True, Action.RESTART)


def test_odoo_conf_restarts(repo: GitRepo) -> None:
    d = edit(repo, "odoo.conf", "workers = 0", "workers = 2")
    assert (d.action, d.module, d.reinstall_dependencies) == (Action.RESTART, None, False)


def test_sanitize_scripts_and_files_outside_modules_do_nothing(repo: GitRepo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.write(".odoo_sanitize/10_mail.sql", "DELETE FROM ir_mail_server WHERE true;\n")
    repo.write("README.md", "# project 2\n")
    repo.write(".github/workflows/ci.yml", "on: [push]\n")
    _ctx, decisions, plan = analyze(repo, base, repo.commit())
    assert brief(decisions) == [
        (NOP, ".github/workflows/ci.yml", None),
        (NOP, ".odoo_sanitize/10_mail.sql", None),
        (NOP, "README.md", None),
    ]
    assert "only when an environment is created" in decisions[1].reason
    assert plan.action == Action.NOTHING


# --- core types --------------------------------------------------------------------------------
def test_plan_merge_rules() -> None:
    plan = merge_decisions(
        [
            Decision(Action.UPGRADE, "a/x.py", "a", "fields changed"),
            Decision(Action.INSTALL, "a/__manifest__.py", "a", "new module a"),
            Decision(Action.UPGRADE, "b/y.xml", "b", "records changed"),
            Decision(Action.REFRESH, "b/static/z.js", "b", "asset"),
        ]
    )
    assert (plan.install, plan.upgrade, plan.action, plan.refresh) == (["a"], ["b"], Action.INSTALL, True)
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["action"] == "install" and len(data["decisions"]) == 4
    assert data["summary"].startswith("install: a; upgrade: b (records changed in b/y.xml)")


def test_plan_dependencies_force_a_restart_and_empty_plan_does_nothing() -> None:
    plan = ChangePlan(
        [Decision(Action.NOTHING, "requirements.txt", None, "deps", reinstall_dependencies=True)]
    )
    assert (plan.action, plan.restart, plan.restart_implied) == (Action.RESTART, True, False)
    assert merge_decisions([]).to_dict()["summary"] == "nothing to do"


def test_upgrade_decision_needs_a_module() -> None:
    with pytest.raises(ValueError, match="needs a module"):
        Decision(Action.UPGRADE, "x.py", None, "no module")


def test_collect_changes_rejects_option_like_revisions(repo: GitRepo) -> None:
    with pytest.raises(ValidationError):
        collect_changes(repo.root, "--output=/tmp/x", "HEAD")


def test_hook_through_the_plugin_manager(repo: GitRepo) -> None:
    from oduflow.plugins import Hooks, new_plugin_manager
    from oduflow_plugins import changes

    pm = new_plugin_manager()
    pm.register(changes, name="changes")
    base = repo.git("rev-parse", "HEAD")
    repo.replace("sale_ext/__manifest__.py", '"17.0.1.0.0"', '"17.0.2.0.0"')
    plan = Hooks(pm).analyze_changes(collect_changes(repo.root, base, repo.commit()))
    assert plan.upgrade == ["sale_ext"]
