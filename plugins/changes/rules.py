"""The built-in classification of changed files into decisions (one per file, two per moved file)."""

from __future__ import annotations

import posixpath

from oduflow.changes import MANIFEST_NAMES, Action, ChangeContext, Decision, FileChange

from .manifest import compare_manifest, is_installable
from .pyfields import schema_changes
from .xmlrecords import compare_xml

DEPENDENCY_FILES = frozenset({"requirements.txt", "apt_packages.txt"})
CONFIG_FILES = frozenset({"odoo.conf"})
SANITIZE_DIR = ".odoo_sanitize"
ASSET_EXTS = frozenset({".js", ".mjs", ".ts", ".scss", ".css", ".less", ".sass"})
DOC_EXTS = frozenset({".md", ".rst", ".txt"})
DOC_NAMES = ("readme", "license", "licence", "copying", "changelog", "history", "authors", "contributors")
MIGRATION_DIRS = frozenset({"migrations", "upgrades"})
VERBS = {"A": "added", "M": "changed", "D": "removed", "R": "renamed"}


class Rules:
    """Classifies the changes of one :class:`ChangeContext`."""

    def __init__(self, ctx: ChangeContext) -> None:
        self.ctx = ctx

    def decide(self, change: FileChange) -> list[Decision]:
        """Decisions for one changed file; a file moved to another module is removed there, added here."""
        if change.status == "R" and change.old_path is not None:
            old_module = self.ctx.module_of(change.old_path, old=True)
            if old_module is None or old_module != self.ctx.module_of(change.path, old=False):
                removed = FileChange(change.old_path, "D", None, change.old_text, None)
                added = FileChange(change.path, "A", None, None, change.new_text)
                return [self.decide_one(removed), self.decide_one(added)]
        return [self.decide_one(change)]

    def decide_one(self, change: FileChange) -> Decision:
        """The decision for one changed file that stays in its module (or outside modules)."""
        path = change.path
        if "/" not in path and path in DEPENDENCY_FILES:
            return Decision(
                Action.RESTART,
                path,
                None,
                f"{path} {VERBS[change.status]}: dependencies are "
                "installed again (image rebuilt), then the server restarts",
                reinstall_dependencies=True,
            )
        if "/" not in path and path in CONFIG_FILES:
            return Decision(Action.RESTART, path, None, "Odoo configuration changed; read at server start")
        if path.split("/")[0] == SANITIZE_DIR:
            return Decision(
                Action.NOTHING,
                path,
                None,
                "sanitize scripts run only when an environment is created from a template",
            )
        module_dir = self.ctx.module_dir_of(path, old=change.status == "D")
        if module_dir is None:
            return Decision(Action.NOTHING, path, None, "outside any Odoo module")
        module = posixpath.basename(module_dir)
        rel = path[len(module_dir) + 1 :]
        if self.ctx.module_is_removed(module):
            return self._removed_module(path, module, rel)
        if self.ctx.module_is_new(module):
            return self._new_module(path, module)
        action, reason = self._classify(change, module, rel)
        return Decision(action, path, module, reason)

    def _manifest_text(self, module: str, *, old: bool) -> str | None:
        module_dir = self.ctx.module_path(module, old=old)
        read = self.ctx.read_old if old else self.ctx.read_new
        for name in MANIFEST_NAMES:
            text = read(f"{module_dir}/{name}")
            if text is not None:
                return text
        return None

    def _removed_module(self, path: str, module: str, rel: str) -> Decision:
        if rel in MANIFEST_NAMES:
            return Decision(
                Action.NOTHING,
                path,
                module,
                f"module {module} removed (its manifest was deleted): Oduflow cannot uninstall "
                "it; uninstall it in Odoo or recreate the environment",
                warning=True,
            )
        return Decision(Action.NOTHING, path, module, f"part of the removed module {module}")

    def _new_module(self, path: str, module: str) -> Decision:
        if not is_installable(self._manifest_text(module, old=False)):
            return Decision(
                Action.NOTHING, path, module, f"new module {module} is not installable ('installable': False)"
            )
        return Decision(Action.INSTALL, path, module, f"new module {module} (no manifest before)")

    def _classify(self, change: FileChange, module: str, rel: str) -> tuple[Action, str]:
        parts = rel.split("/")
        name = parts[-1].lower()
        ext = posixpath.splitext(name)[1]
        verb = VERBS[change.status]
        if rel in MANIFEST_NAMES:
            old, new = self._manifest_text(module, old=True), self._manifest_text(module, old=False)
            return compare_manifest(old, new)
        if parts[0] == "tests":
            return Action.NOTHING, "tests are loaded only by test runs"
        if parts[0] in MIGRATION_DIRS:
            return Action.NOTHING, "migration scripts run only when the manifest version changes"
        if parts[0] == "static" or ext in ASSET_EXTS:
            return Action.REFRESH, f"static file {verb}; asset bundles are rebuilt on the next page load"
        if parts[0] == "security":
            return Action.UPGRADE, f"security file {verb}; access rights and record rules load on upgrade"
        if ext == ".po":
            return Action.UPGRADE, (
                f"translation {verb}; .po files load on upgrade (terms already in the "
                "database change only with --i18n-overwrite)"
            )
        if ext == ".pot":
            return Action.NOTHING, "translation template; Odoo loads only the .po files"
        if ext == ".py":
            return self._python(change)
        if ext == ".xml":
            return self._xml(change, verb)
        if ext == ".csv":
            return Action.UPGRADE, f"CSV data file {verb}; loaded on upgrade"
        if ext in DOC_EXTS or name.startswith(DOC_NAMES) or parts[0] == "readme":
            return Action.NOTHING, "documentation"
        return Action.UPGRADE, f"file of unknown kind {verb} (data files may load it); upgrading to be safe"

    @staticmethod
    def _sides(change: FileChange) -> tuple[str | None, str | None, bool]:
        """(old text, new text, unreadable): unreadable when a side exists but has no text."""
        old = change.old_text if change.status != "A" else None
        new = change.new_text if change.status != "D" else None
        unreadable = (change.status != "A" and old is None) or (change.status != "D" and new is None)
        return old, new, unreadable

    def _python(self, change: FileChange) -> tuple[Action, str]:
        old, new, unreadable = self._sides(change)
        if unreadable:
            return Action.UPGRADE, "Python file is not UTF-8 text; cannot compare fields, upgrading"
        try:
            diffs = schema_changes(old, new)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            line = getattr(exc, "lineno", None)
            where = f" (line {line}: {getattr(exc, 'msg', exc)})" if line else f" ({exc})"
            return Action.UPGRADE, (
                f"Python file does not parse{where}; cannot tell whether fields changed, "
                "an upgrade is right either way and reports the error"
            )
        if diffs:
            return Action.UPGRADE, f"model schema changed: {'; '.join(diffs)}"
        return Action.RESTART, f"Python code {VERBS[change.status]} (no field or model change)"

    def _xml(self, change: FileChange, verb: str) -> tuple[Action, str]:
        if change.status in ("A", "D"):
            return Action.UPGRADE, f"XML data file {verb}; its records change only with an upgrade"
        if change.status == "R":
            return Action.UPGRADE, "XML data file renamed; views record their file path, upgrade updates it"
        old, new, unreadable = self._sides(change)
        if unreadable or old is None or new is None:
            return Action.UPGRADE, "XML file is not UTF-8 text; upgrading to be safe"
        return compare_xml(old, new)


def classify(ctx: ChangeContext) -> list[Decision]:
    """One decision per changed file of ``ctx`` (two for a file moved between modules)."""
    rules = Rules(ctx)
    return [decision for change in ctx.changes for decision in rules.decide(change)]
