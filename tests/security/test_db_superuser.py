"""Attack: the PostgreSQL superuser from an environment (``run_odoo_command`` gives a shell on the
Docker network of the database server). ``pg_hba.conf`` refuses the superuser from every network
address, whatever the password; its password is random (mode 0600 on the host), and Oduflow
administers the server through the container's socket directory only."""

from __future__ import annotations

import json
import re
import shlex
import stat
from collections.abc import Callable
from pathlib import Path

import docker
import psycopg
import pytest
from typer.testing import CliRunner

from oduflow.app import App, resource_path
from oduflow.config import load
from oduflow.database import Database, DbEndpoint, PasswordRejectedError
from oduflow.services import dbserver, envmodel, system
from oduflow.surfaces.cli import cli
from tests.docker.odoo_env import TEAM, call, delete_if_present
from tests.fixtures.engine import EngineWatch
from tests.fixtures.instance import GitRemote, Instance

runner = CliRunner()


def psql_in_env(app: App, branch: str, user: str, password: str, dbname: str = "postgres") -> dict:
    """``psql`` over the Docker network from inside the environment's Odoo container."""
    command = (
        f"PGPASSWORD={shlex.quote(password)} psql -h {app.names.db_container} -U {shlex.quote(user)} "
        f"-d {shlex.quote(dbname)} -Atc 'select current_user'"
    )
    return dict(call(app, "run_odoo_command", branch_name=branch, command=command))


def test_superuser_is_refused_from_an_environment_even_with_the_real_password(
    app: App, instance: Instance, git_remote: Callable[..., GitRemote]
) -> None:
    real = app.superuser_password_file.read_text().strip()
    superuser = app.config.database.user
    branch = "su-attacker"
    try:
        call(app, "create_environment", branch_name=branch, template_name="none",
             repo_url=git_remote("demo_ok").url, odoo_image=instance.odoo_image)  # fmt: skip
        for password in (real, "odoo"):
            res = psql_in_env(app, branch, superuser, password)
            assert res["exit_code"] != 0, res
            assert 'pg_hba.conf rejects connection for host "' in res["stderr"], res
            assert f'user "{superuser}"' in res["stderr"] and res["stdout"] == ""
        for dbname in ("template1", app.names.env_db(TEAM, branch)):  # no database makes an exception
            res = psql_in_env(app, branch, superuser, real, dbname)
            assert res["exit_code"] != 0 and "pg_hba.conf rejects" in res["stderr"], res
        # the environment's own role still connects over the network, to its own database
        params = envmodel.get_env(app, app.config.team(TEAM), branch).params
        own = psql_in_env(app, branch, params.db_role, params.db_password, params.db_name)
        assert own["exit_code"] == 0 and own["stdout"].strip() == params.db_role, own
    finally:
        delete_if_present(app, branch)
    # Oduflow itself: the superuser over the socket directory on the host
    assert app.db().query("SELECT rolsuper FROM pg_roles WHERE rolname = current_user") == [(True,)]


def test_the_server_is_reachable_from_the_host_through_its_socket_only(
    app: App, docker_client: docker.DockerClient
) -> None:
    db = docker_client.containers.get(app.names.db_container)
    assert not db.attrs["HostConfig"].get("PortBindings") and set(db.ports.values()) <= {None}
    mounts = {m["Destination"]: m for m in db.attrs["Mounts"]}
    assert mounts["/var/run/postgresql"]["Source"] == str(app.db_socket_dir)
    assert mounts["/etc/postgresql/pg_hba.conf"]["RW"] is False
    hba = (app.db_dir / "pg_hba.conf").read_text()
    assert re.search(rf'^host\s+all\s+"{app.config.database.user}"\s+all\s+reject$', hba, re.M)
    assert hba.index("reject") < hba.index("host    all       all")
    # the superuser's password over the socket is required there too
    ep = app.db_endpoint()
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(host=ep.host, port=ep.port, user=ep.user, password="odoo", dbname="postgres")


def test_password_file_is_private_and_the_default_config_sets_none(app: App, instance: Instance) -> None:
    assert load(resource_path("oduflow.toml")).database.password == ""
    assert "password" not in instance.config_path.read_text().split("[database]")[1].split("[")[0]
    assert app.config.database.password == ""
    path = app.superuser_password_file
    assert path == instance.root / "data" / "postgres" / "superuser.password"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert re.fullmatch(r"[0-9a-f]{64}\n", path.read_text())
    assert app.db_endpoint().password == path.read_text().strip()
    db = app.docker().containers.get(app.names.db_container)
    env = dict(e.split("=", 1) for e in db.attrs["Config"]["Env"])
    assert env["POSTGRES_PASSWORD"] == path.read_text().strip()  # only the initialisation reads it


def _old_style_container(app: App, client: docker.DockerClient) -> None:
    """Replace the database container by one as earlier versions made it: a published port, no
    shared socket, no pg_hba.conf (same data volume)."""
    client.containers.get(app.names.db_container).remove(force=True, v=True)
    client.containers.run(
        app.config.database.image,
        ["postgres", "-c", "config_file=/etc/postgresql/postgresql.conf"],
        name=app.names.db_container,
        detach=True,
        labels=app.names.labels("db"),
        network=app.names.network,
        ports={"5432/tcp": ("127.0.0.1", None)},
        volumes={
            app.names.db_volume: {"bind": "/var/lib/postgresql/data", "mode": "rw"},
            str(app.db_dir / "postgresql.conf"): {"bind": "/etc/postgresql/postgresql.conf", "mode": "ro"},
        },
    )


def test_an_install_on_the_old_fixed_password_is_moved_to_a_random_one(
    instance: Instance, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    data = tmp_path / "data"
    text = instance.other_instance_toml("old", data)
    old_cfg, new_cfg = tmp_path / "old.toml", tmp_path / "oduflow.toml"
    old_cfg.write_text(text.replace("[database]\n", '[database]\npassword = "odoo"\n'))
    new_cfg.write_text(text)
    old = App(load(old_cfg))
    with EngineWatch(docker_client, old.names.prefix) as watch:
        try:
            system.init(old)
            assert not old.superuser_password_file.exists()  # the operator's value is used as is
            _old_style_container(old, docker_client)
            result = runner.invoke(cli, ["init"], env={"ODUFLOW_TOML": str(new_cfg)})
            assert result.exit_code == 0, result.output
            report = json.loads(result.stdout)
            created = "\n".join(report["created"])
            assert f"recreated container {old.names.db_container}" in created
            assert f"data volume {old.names.db_volume} kept" in created
            assert "the old default replaced by the random one" in created
            new = App(load(new_cfg))
            assert new.db().query("SELECT current_user") == [("odoo",)]
            assert stat.S_IMODE(new.superuser_password_file.stat().st_mode) == 0o600
            legacy = Database(DbEndpoint(str(new.db_socket_dir), 5432, "odoo", dbserver.LEGACY_PASSWORD))
            with pytest.raises(PasswordRejectedError):
                legacy.wait_ready(timeout=10)
            again = runner.invoke(cli, ["init"], env={"ODUFLOW_TOML": str(new_cfg)})
            assert json.loads(again.stdout)["created"] == []
        finally:
            system.destroy(App(load(new_cfg)))
        assert not (data / "postgres").exists()  # password file, socket directory, conf files
        watch.assert_clean()
