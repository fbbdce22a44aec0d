"""Attack: a repository whose sanitize folder (or one script in it) is a symlink to a host folder,
so that the host's scripts run against the new database. The folder and its scripts are read
without following links: the creation is refused and leaves nothing behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from oduflow.app import App
from oduflow.errors import StepError
from tests.docker.odoo_env import TEAM, call
from tests.docker.test_environments import leftovers
from tests.fixtures.instance import Instance, git, make_remote


def host_scripts(tmp_path: Path) -> Path:
    """A host folder with a script that would mark the database if it ever ran."""
    folder = tmp_path / "host-sanitize"
    folder.mkdir()
    (folder / "01_host.sql").write_text("CREATE TABLE public.host_script_ran (x int);\n")
    return folder


@pytest.mark.parametrize("what", ["folder", "script"])
def test_a_linked_sanitize_folder_or_script_is_refused(
    app: App, instance: Instance, base_template: str, tmp_path: Path, what: str
) -> None:
    host = host_scripts(tmp_path)
    remote = make_remote(tmp_path, "demo_ok")
    if what == "folder":
        os.symlink(host, remote.work / ".odoo_sanitize")
    else:
        (remote.work / ".odoo_sanitize").mkdir()
        (remote.work / ".odoo_sanitize" / "00_ok.sql").write_text("SELECT 1;\n")
        os.symlink(host / "01_host.sql", remote.work / ".odoo_sanitize" / "01_host.sql")
    remote.push(f"sanitize {what} is a link")
    assert "120000" in git("ls-tree", "-r", "HEAD", cwd=remote.work)  # committed as a symlink
    branch = f"link-{what}"
    with pytest.raises(StepError) as err:
        call(app, "create_environment", branch_name=branch, template_name=base_template,
             repo_url=remote.url, odoo_image=instance.odoo_image)  # fmt: skip
    assert err.value.step.startswith("sanitize database")
    assert "refused" in str(err.value) and "symlink" in str(err.value)
    assert leftovers(app, branch, branch) == []
    assert sorted(p.name for p in host.iterdir()) == ["01_host.sql"]
    assert not app.db().list_databases(app.names.env_db(TEAM, branch))
