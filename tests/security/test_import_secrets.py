"""Secrets of an import: credentials in ``odoo_url`` and the Odoo master password are used (sent
to the server once) but never stored, shown or logged; a hostile version answer cannot choose
the template's image; the ``import-template`` command never takes the password as an argument."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import pytest
from typer.testing import CliRunner

from oduflow.app import App
from oduflow.services.templates_meta import read_metadata
from oduflow.surfaces.cli import cli
from tests.docker.odoo_env import TEAM, call
from tests.fixtures.instance import Instance
from tests.security.netservers import FakeOdoo, backup_zip, restricted_app
from tests.security.test_git_credentials import files_containing


def test_url_credentials_and_master_password_are_used_never_kept(app: App, tmp_path: Path) -> None:
    master, basic = "mpw-" + secrets.token_hex(10), "bpw-" + secrets.token_hex(10)
    archive = backup_zip(
        tmp_path / "ok.zip",
        {"filestore/ab/attachment": b"travels in the zip"},
        manifest={"version": "18.0", "major_version": "18.0", "modules": {"base": "18.0"}},
    )
    with FakeOdoo(backup_zip=archive) as server:
        server.version = {"server_serie": "x; --privileged evil:latest", "server_version": "18.0"}
        url = server.url().replace("http://", f"http://admin:{basic}@").rstrip("/")
        result = call(restricted_app(app, "127.0.0.1"), "import_template_from_odoo",
                      odoo_url=url, master_pwd=master, template_name="imp-secrets")  # fmt: skip
    try:
        assert result["status"] == "ready" and result["source_db"] == "prod"
        clean = server.url().rstrip("/")
        assert result["source_url"] == clean and result["metadata"]["source_url"] == clean
        assert server.forms == [{"master_pwd": [master], "name": ["prod"], "backup_format": ["zip"]}]
        auth = "Basic " + base64.b64encode(f"admin:{basic}".encode()).decode()
        assert all(r.headers.get("Authorization") == auth for r in server.requests)
        text = json.dumps(result, default=str)
        assert master not in text and basic not in text
        directory = app.team_dir(TEAM) / "templates" / "imp-secrets"
        assert read_metadata(directory).odoo_image == "odoo:18.0"  # the manifest's, not the hostile one
        assert (directory / "filestore" / "ab" / "attachment").read_bytes() == b"travels in the zip"
        for secret in (master, basic):
            assert files_containing(app.data_dir, secret.encode(), skip=Path("/nonexistent")) == []
    finally:
        call(app, "delete_template", template_name="imp-secrets")


def test_the_cli_never_takes_the_master_password_as_an_argument(
    app: App, instance: Instance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    master = "mpw-cli-" + secrets.token_hex(8)
    runner = CliRunner()
    monkeypatch.setenv("ODUFLOW_TOML", str(instance.config_path))
    monkeypatch.setenv("ODUFLOW_SERVER_ALLOW_LOCAL_REPOS", "false")
    monkeypatch.setenv("ODUFLOW_SERVER_ALLOWED_HOSTS", "127.0.0.1")
    with FakeOdoo(backup_zip=None) as server:  # the backup answer is a 404: the form still arrives
        refused = runner.invoke(cli, ["import-template", server.url(), master, "--template-name", "imp-cli"])
        assert refused.exit_code != 0 and master not in refused.output
        assert "--master-pwd-file" in refused.output and not server.requests

        pwd_file = tmp_path / "master"
        pwd_file.write_text(master + "\n")
        pwd_file.chmod(0o600)
        args = ["import-template", server.url(), "--template-name", "imp-cli"]
        by_file = runner.invoke(cli, [*args, "--master-pwd-file", str(pwd_file)])
        monkeypatch.setenv("ODUFLOW_MASTER_PWD", master)
        by_env = runner.invoke(cli, args)
        monkeypatch.delenv("ODUFLOW_MASTER_PWD")
        by_stdin = runner.invoke(cli, args, input=master + "\n")
    assert [form["master_pwd"] for form in server.forms] == [[master]] * 3
    for run in (by_file, by_env, by_stdin):
        assert run.exit_code != 0 and "backup download failed" in run.output
        assert master not in run.output
    assert not (app.team_dir(TEAM) / "templates" / "imp-cli").exists()
