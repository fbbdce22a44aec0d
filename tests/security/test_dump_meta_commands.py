"""Attack: psql meta-commands in a plain ``.sql`` dump (``\\!``, ``\\o |cmd``, ``\\copy ... to
program``), placed in a template folder or handed over with ``--dump-path``. Oduflow never runs a
dump with psql: the load is refused with the line, nothing runs, nothing is left. ``pg_restore``
(custom-format dumps) runs unprivileged, without network, with the dump file alone read-only."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from typer.testing import CliRunner

from oduflow.app import App
from oduflow.errors import ValidationError
from oduflow.services import templates
from oduflow.surfaces.cli import cli
from tests.docker.odoo_env import TEAM, call
from tests.fixtures.engine import EngineWatch
from tests.fixtures.instance import Instance

runner = CliRunner()
PAYLOADS = {
    "shell": ("\\! touch /dump/pwned", "\\!"),
    "pipe": ("\\o |touch /dump/pwned", "\\o"),
    "program": ("\\copy (SELECT 1) to program 'touch /dump/pwned'", "\\copy"),
}


@pytest.fixture(scope="module")
def plain_dump(instance: Instance, base_template: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pg_dump`` (plain) of the base template, in a folder of the operator's."""
    app = instance.app()
    db = app.db()
    clone = "oduflowsec_plain_source"
    db.clone(clone, app.names.template_db(TEAM, base_template))
    try:
        argv = ["docker", "exec", "-e", f"PGPASSWORD={app.superuser_password()}", app.names.db_container]
        argv += ["pg_dump", "-h", "/var/run/postgresql", "-U", app.config.database.user, "--no-owner"]
        out = subprocess.run([*argv, "-d", clone], capture_output=True, check=True).stdout
    finally:
        db.drop(clone)
    path = tmp_path_factory.mktemp("operator") / "legit.sql"
    path.write_bytes(out)
    return path


def status(app: App, name: str) -> str:
    return {t["name"]: t["status"] for t in call(app, "list_templates")}.get(name, "absent")


def nothing_left(app: App, name: str) -> None:
    assert [d for d in app.db().list_databases("oduflow") if name in d] == []
    assert app.docker().containers.list(all=True, filters=app.names.instance_filter(role="pg-job")) == []


@pytest.mark.parametrize("where", ["top", "end"])
@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_meta_commands_in_a_template_folder_dump_never_run(
    app: App, plain_dump: Path, engine_watch: EngineWatch, payload: str, where: str
) -> None:
    line, command = PAYLOADS[payload]
    legit = plain_dump.read_text()
    text = f"{line}\n{legit}" if where == "top" else f"{legit}{line}\nSELECT 1;\n"
    name = f"evil-{payload}-{where}"
    folder = app.team_dir(TEAM) / "templates" / name
    folder.mkdir()
    (folder / "dump.sql").write_text(text)
    lineno = 1 if where == "top" else legit.count("\n") + 1
    try:
        assert status(app, name) == "DB NOT LOADED"
        with pytest.raises(ValidationError) as err:
            templates.reload_template(app, app.config.team(TEAM), name)
        assert str(err.value).startswith(f"dump.sql line {lineno}: psql meta-command '{command}' refused")
        assert sorted(p.name for p in folder.iterdir()) == ["dump.sql"]  # no pwned, no metadata
        assert status(app, name) == "DB NOT LOADED"
        nothing_left(app, name)
    finally:
        call(app, "delete_template", template_name=name)
    engine_watch.assert_clean()


def test_meta_commands_in_a_dump_path_never_run(app: App, instance: Instance, plain_dump: Path) -> None:
    folder = plain_dump.parent / "evil"
    folder.mkdir()
    dump = folder / "evil.sql"
    dump.write_text(plain_dump.read_text() + "\\! touch /dump/pwned\n\\! touch " + str(folder) + "/pwned\n")
    env = {"ODUFLOW_TOML": str(instance.config_path)}
    result = runner.invoke(cli, ["reload-template", "evilpath", "--dump-path", str(dump)], env=env)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "evil.sql line" in result.output and "psql meta-command '\\!' refused" in result.output
    assert sorted(p.name for p in folder.iterdir()) == ["evil.sql"]
    assert status(app, "evilpath") == "absent"
    nothing_left(app, "evilpath")


def test_a_legitimate_plain_dump_still_loads(app: App, instance: Instance, plain_dump: Path) -> None:
    env = {"ODUFLOW_TOML": str(instance.config_path)}
    result = runner.invoke(cli, ["reload-template", "legitplain", "--dump-path", str(plain_dump)], env=env)
    try:
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["dump"] == "dump.sql"
        assert status(app, "legitplain") == "ready"
        tdb = app.names.template_db(TEAM, "legitplain")
        db = app.db()
        db.set_template(tdb, False)
        try:
            rows = db.query("SELECT state FROM public.ir_module_module WHERE name = 'base'", dbname=tdb)
            owner = db.query("SELECT tableowner FROM pg_tables WHERE tablename = 'res_partner'", dbname=tdb)
        finally:
            db.set_template(tdb, True)
        assert rows == [("installed",)]
        assert owner == [(app.names.template_role(TEAM),)]  # loaded as the template owner
    finally:
        call(app, "delete_template", template_name="legitplain")
    nothing_left(app, "legitplain")


class JobWatch:
    """The configuration of every ``pg-job`` container of the instance created while watched."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.seen: list[dict[str, Any]] = []
        self._client = docker.from_env(timeout=60)

    def __enter__(self) -> JobWatch:
        filters = {"type": ["container"], "event": ["create"],
                   "label": [f"oduflow.instance={self.prefix}", "oduflow.role=pg-job"]}  # fmt: skip
        self._events = self._client.events(decode=True, filters=filters)
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()
        return self

    def _pump(self) -> None:
        try:
            for event in self._events:
                self.seen.append(self._client.api.inspect_container(event["Actor"]["ID"]))
        except Exception:  # noqa: BLE001 - closed by __exit__, or removed before the inspection
            return

    def __exit__(self, *exc: object) -> None:
        self._events.close()
        self._thread.join(10)
        self._client.close()


def test_pg_restore_runs_unprivileged_offline_with_the_dump_alone(
    app: App, base_template: str, engine_watch: EngineWatch
) -> None:
    team = app.config.team(TEAM)
    dump = app.team_dir(TEAM) / "templates" / base_template / "dump.pgdump"
    with JobWatch(app.names.prefix) as watch:
        assert templates.reload_template(app, team, base_template)["status"] == "ready"
    [job] = [c for c in watch.seen if c["Path"] == "pg_restore"]
    host = job["HostConfig"]
    assert job["Config"]["User"] == "65534:65534"
    assert host["NetworkMode"] == "none" and host["CapDrop"] == ["ALL"] and host["ReadonlyRootfs"] is True
    assert host["SecurityOpt"] == ["no-new-privileges"] and host["Privileged"] is False
    binds = sorted(host["Binds"])
    assert f"{dump}:/dump/dump.pgdump:ro" in binds  # the file, not its folder
    assert f"{app.db_socket_dir}:/var/run/postgresql:ro" in binds
    assert len(binds) == 3 and any(b.endswith(":/run/oduflow/pgpass:ro") for b in binds)
    assert "PGPASSWORD" not in " ".join(job["Config"]["Env"])
    engine_watch.assert_clean()


@pytest.mark.skipif(
    os.geteuid() != 0, reason="the restore job runs as the host user when Oduflow is not root"
)
def test_a_dump_the_restore_job_cannot_read_is_refused(app: App, base_template: str, tmp_path: Path) -> None:
    private = tmp_path / "private.pgdump"
    private.write_bytes((app.team_dir(TEAM) / "templates" / base_template / "dump.pgdump").read_bytes())
    private.chmod(0o600)
    with pytest.raises(ValidationError, match="not readable by the unprivileged restore job"):
        templates.reload_template(app, app.config.team(TEAM), "privatedump", str(private))
    assert status(app, "privatedump") == "absent"
    nothing_left(app, "privatedump")


@pytest.fixture(autouse=True)
def _no_pwned_anywhere(plain_dump: Path) -> Iterator[None]:
    yield
    assert not list(plain_dump.parent.rglob("pwned"))
