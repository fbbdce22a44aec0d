"""A real git repository in a temporary directory, driven through the git CLI, for change-analysis tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from oduflow.changes import ChangeContext, ChangePlan, Decision, collect_changes, merge_decisions
from oduflow_plugins.changes import oduflow_analyze_changes

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
}


class GitRepo:
    """A git work tree with helpers to write, delete, move files and commit."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        env = {**os.environ, **GIT_ENV}
        proc = subprocess.run(
            ["git", "-C", str(self.root), *args], capture_output=True, text=True, env=env, check=True
        )
        return proc.stdout.strip()

    def write(self, path: str, content: str | bytes) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")

    def read(self, path: str) -> str:
        return (self.root / path).read_text(encoding="utf-8")

    def replace(self, path: str, old: str, new: str) -> None:
        text = self.read(path)
        assert old in text, f"{old!r} not in {path}"
        self.write(path, text.replace(old, new, 1))

    def delete(self, path: str) -> None:
        self.git("rm", "-q", "-r", "--", path)

    def move(self, old: str, new: str) -> None:
        (self.root / new).parent.mkdir(parents=True, exist_ok=True)
        self.git("mv", "--", old, new)

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")


def analyze(repo: GitRepo, old: str, new: str) -> tuple[ChangeContext, list[Decision], ChangePlan]:
    """Collect, classify with the built-in plugin and merge, like ``pull_and_apply``."""
    ctx = collect_changes(repo.root, old, new)
    decisions = oduflow_analyze_changes(ctx=ctx)
    return ctx, decisions, merge_decisions(decisions)


def brief(decisions: list[Decision]) -> list[tuple[str, str, str | None]]:
    """(action name, path, module) of each decision, sorted by path."""
    return sorted(((d.action.name, d.path, d.module) for d in decisions), key=lambda t: (t[1], t[0]))


MANIFEST = """{
    "name": "Sale Extension",
    "version": "17.0.1.0.0",
    "summary": "Extends sales",
    "author": "Test",
    "depends": ["sale"],
    "data": [
        "security/ir.model.access.csv",
        "security/rules.xml",
        "views/partner_views.xml",
        "data/data.xml",
    ],
    "assets": {"web.assets_backend": ["sale_ext/static/src/**/*"]},
    "license": "LGPL-3",
}
"""

MODELS = """from odoo import api, fields, models
from odoo.fields import Char


class ResPartner(models.Model):
    _inherit = "res.partner"
    _order = "name"

    # loyalty points
    points = fields.Integer(
        string="Points",
        default=0,
    )
    code = Char(string="Code")
    level = fields.Selection(
        [("a", "A"), ("b", "B")],
        string="Level",
    )

    _sql_constraints = [
        ("code_uniq", "unique(code)", "Code must be unique"),
    ]

    @api.constrains("points")
    def _check_points(self):
        for rec in self:
            if rec.points < 0:
                raise ValueError("negative")

    def action_reset(self):
        self.points = 0
        return True


class Helper:
    value = fields.Char()
"""

VIEWS = """<?xml version="1.0" encoding="utf-8"?>
<odoo>
    <record id="view_partner_form_points" model="ir.ui.view">
        <field name="name">res.partner.form.points</field>
        <field name="model">res.partner</field>
        <field name="inherit_id" ref="base.view_partner_form"/>
        <field name="arch" type="xml">
            <field name="vat" position="after">
                <field name="points"/>
            </field>
        </field>
    </record>
    <record id="action_points" model="ir.actions.act_window">
        <field name="name">Points</field>
        <field name="res_model">res.partner</field>
    </record>
    <menuitem id="menu_points" name="Points" action="action_points"/>
</odoo>
"""

TEMPLATES = """<?xml version="1.0" encoding="utf-8"?>
<odoo>
    <template id="portal_points" name="Portal points">
        <div class="points"><t t-esc="points"/></div>
    </template>
</odoo>
"""

DATA = """<?xml version="1.0" encoding="utf-8"?>
<odoo noupdate="1">
    <record id="partner_demo" model="res.partner">
        <field name="name">Demo</field>
    </record>
</odoo>
"""

RULES = """<?xml version="1.0" encoding="utf-8"?>
<odoo>
    <record id="rule_points" model="ir.rule">
        <field name="name">Points</field>
        <field name="model_id" ref="base.model_res_partner"/>
        <field name="domain_force">[(1, '=', 1)]</field>
    </record>
</odoo>
"""

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


def odoo_project(root: Path) -> GitRepo:
    """A committed addons repository: modules ``sale_ext`` and ``addons/sub/nested_mod``."""
    repo = GitRepo(root)
    files: dict[str, str | bytes] = {
        "README.md": "# project\n",
        "requirements.txt": "requests\n",
        "apt_packages.txt": "libxml2\n",
        "odoo.conf": "[options]\nworkers = 0\n",
        ".odoo_sanitize/10_mail.sql": "DELETE FROM ir_mail_server;\n",
        ".github/workflows/ci.yml": "on: push\n",
        "sale_ext/__manifest__.py": MANIFEST,
        "sale_ext/__init__.py": "from . import models, controllers\n",
        "sale_ext/models/__init__.py": "from . import partner\n",
        "sale_ext/models/partner.py": MODELS,
        "sale_ext/controllers/__init__.py": "from . import main\n",
        "sale_ext/controllers/main.py": "def hello():\n    return 'hello'\n",
        "sale_ext/views/partner_views.xml": VIEWS,
        "sale_ext/views/templates.xml": TEMPLATES,
        "sale_ext/data/data.xml": DATA,
        "sale_ext/data/res.partner.category.csv": "id,name\ncat_a,A\n",
        "sale_ext/security/ir.model.access.csv": "id,name,model_id:id,group_id:id,perm_read\n",
        "sale_ext/security/rules.xml": RULES,
        "sale_ext/static/src/js/widget.js": "export const x = 1;\n",
        "sale_ext/static/src/scss/style.scss": ".points { color: red; }\n",
        "sale_ext/static/src/css/legacy.css": ".a { margin: 0; }\n",
        "sale_ext/static/description/icon.png": PNG,
        "sale_ext/i18n/fr.po": 'msgid "Points"\nmsgstr "Points"\n',
        "sale_ext/i18n/sale_ext.pot": 'msgid "Points"\nmsgstr ""\n',
        "sale_ext/tests/__init__.py": "from . import test_points\n",
        "sale_ext/tests/test_points.py": "def test_points():\n    assert True\n",
        "sale_ext/migrations/17.0.1.0.1/post-migrate.py": "def migrate(cr, version):\n    pass\n",
        "sale_ext/README.rst": "Sale extension\n",
        "addons/sub/nested_mod/__manifest__.py": '{"name": "Nested", "version": "1.0"}\n',
        "addons/sub/nested_mod/__init__.py": "from . import models\n",
        "addons/sub/nested_mod/models/__init__.py": "from . import thing\n",
        "addons/sub/nested_mod/models/thing.py": (
            "from odoo import fields, models\n\n\nclass Thing(models.Model):\n"
            "    _name = 'nested.thing'\n    _description = 'Thing'\n\n    name = fields.Char()\n"
        ),
    }
    for path, content in files.items():
        repo.write(path, content)
    repo.commit("initial")
    return repo
