"""The directory layout of a team: the one place that spells its paths.

::

    <data_dir>/team_<id>/          (mode 0700)
        templates/<name>/          dump, metadata.json, filestore/
        workspaces/<slug>/         repo/, repo.git/, extra/<name>/, odoo.conf, sessions/, filestore/,
                                   snapshots/<name>/, .sanitize/, .next-filestore/, .prev-filestore/
        shared_repos/<name>/       bare clones of the extra addons repositories
        odoo_sanitize/             the team's sanitize scripts
        agent_guides/              the team's copies of the agent guides

The git credentials and SSH keys of the team (``.git-credentials``, ``.ssh/``) are
:class:`oduflow.gitaccess.GitAccess`'s; a workspace's filestore directories are named by
:class:`oduflow.contracts.FilestoreSpec`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from oduflow.naming import under, validate_name, validate_template_name

if TYPE_CHECKING:
    from oduflow.app import App

SUBDIRS = ("workspaces", "templates", "shared_repos", "odoo_sanitize", "agent_guides")
"""The directories ``oduflow init`` makes in every team directory."""


def team_dir_name(team_id: str) -> str:
    """The name of a team's directory under ``data_dir``."""
    return f"team_{team_id}"


@dataclass(frozen=True)
class WorkspaceLayout:
    """The directory of one environment (its workspace)."""

    root: Path

    @property
    def repo(self) -> Path:
        """The checkout, mounted into the container."""
        return self.root / "repo"

    @property
    def sessions(self) -> Path:
        return self.root / "sessions"

    @property
    def conf(self) -> Path:
        return self.root / "odoo.conf"

    def extra(self, name: str) -> Path:
        """The worktree of extra addons repository ``name`` (validated; mounted read-only)."""
        validate_name("repository", name)
        return under(self.root / "extra", name)

    @property
    def sanitize_scripts(self) -> Path:
        """Where a Python sanitize script is put while a job container runs it."""
        return self.root / ".sanitize"

    @property
    def snapshots(self) -> Path:
        """The filestores of the environment's snapshots (never mounted into a container)."""
        return self.root / "snapshots"

    def snapshot(self, name: str) -> Path:
        """The filestore of snapshot ``name`` (validated; never outside :attr:`snapshots`)."""
        validate_name("snapshot", name)
        return under(self.snapshots, name)

    @property
    def next_filestore(self) -> Path:
        """Where a reset or a restore prepares the new filestore (a workspace of its own)."""
        return self.root / ".next-filestore"

    @property
    def prev_filestore(self) -> Path:
        """Where the previous filestore waits until a reset or a restore is done."""
        return self.root / ".prev-filestore"


@dataclass(frozen=True)
class TeamLayout:
    """The paths of one team's directory ``root``."""

    root: Path

    @property
    def templates(self) -> Path:
        return self.root / "templates"

    def template(self, name: str) -> Path:
        """The directory of template ``name`` (validated; never outside :attr:`templates`)."""
        validate_template_name(name)
        return under(self.templates, name)

    def template_filestore(self, name: str) -> Path:
        return self.template(name) / "filestore"

    @property
    def workspaces(self) -> Path:
        return self.root / "workspaces"

    def workspace(self, slug: str) -> WorkspaceLayout:
        """The workspace of the environment ``slug`` (never outside :attr:`workspaces`)."""
        return WorkspaceLayout(under(self.workspaces, slug))

    @property
    def shared_repos(self) -> Path:
        """The team's extra addons repositories (bare clones)."""
        return self.root / "shared_repos"

    def shared_repo(self, name: str) -> Path:
        """The bare clone of extra addons repository ``name`` (validated; never outside)."""
        validate_name("repository", name)
        return under(self.shared_repos, name)

    @property
    def sanitize(self) -> Path:
        """The team's sanitize scripts."""
        return self.root / "odoo_sanitize"

    @property
    def guides(self) -> Path:
        """The team's agent guides."""
        return self.root / "agent_guides"

    def subdirs(self) -> list[Path]:
        """The directories ``oduflow init`` makes (:data:`SUBDIRS`)."""
        return [self.root / sub for sub in SUBDIRS]


def team_layout(app: App, team_id: str) -> TeamLayout:
    """The layout of the team's directory (made mode 0700 when missing)."""
    return TeamLayout(app.team_dir(team_id))
