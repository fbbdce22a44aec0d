"""Auxiliary services on the real engine with a Redis image built from Debian's ``redis-server``.

Create (labels, restart policy, capabilities, the published port answering PING), logs, masked
listings, update (unchanged digest, re-tagged image, a failing new image), presets, and the
failure paths (bad image, reserved labels, a start that fails, no free port), each followed by a
"nothing left" check. Team isolation: team 1's Odoo container resolves and reaches its Redis by
the service's alias, team 2's cannot resolve it, and team 2 can neither list nor delete it.
"""

from __future__ import annotations

import contextlib
import io
import socket
import time
from collections.abc import Callable, Iterator

import docker
import pytest

from oduflow.app import App
from oduflow.errors import NotFoundError, OduflowError, ValidationError
from oduflow.ports import port_is_free
from oduflow.services import aux_services, cleanup, env_create, environments
from oduflow.services.envmodel import get_env
from tests.docker.odoo_env import call
from tests.fixtures.engine import EngineWatch
from tests.fixtures.instance import GitRemote, Instance
from tests.images import build
from tests.images.redis import ensure_redis_image

SECRET = "s3cr3t value"


@pytest.fixture(scope="module")
def redis_image(docker_client: docker.DockerClient) -> str:
    return ensure_redis_image(docker_client)


@pytest.fixture
def derived(docker_client: docker.DockerClient, instance: Instance) -> Iterator[Callable[[str, str], str]]:
    """Build images ``FROM`` the Redis image under a tag of this session; removed afterwards."""
    built: list[str] = []

    def make(tag: str, dockerfile: str) -> str:
        ref = f"{instance.prefix}-svcimg:{tag}"
        image, _ = docker_client.images.build(
            fileobj=io.BytesIO(dockerfile.encode()), tag=ref, labels=build.LABELS, pull=False, rm=True
        )
        built.append(str(image.id))
        return ref

    yield make
    for image_id in reversed(built):  # superseded tags too: none stays dangling
        with contextlib.suppress(docker.errors.APIError):
            docker_client.images.remove(image_id, force=True)


def ping(host: str, port: int, wait_s: float = 10.0) -> bytes:
    """Redis's answer to PING (retried while a just started server does not answer yet)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=10) as conn:
                conn.sendall(b"PING\r\n")
                answer = conn.recv(64)
        except OSError:
            answer = b""
        if answer or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def leftovers(app: App, team: str, name: str) -> list[str]:
    """What a failed operation on service ``name`` of ``team`` may have left."""
    found = [f"container {c.name}" for c in app.docker().containers.list(
        all=True, filters=app.names.instance_filter(role="service", team=team, service=name)
    )]  # fmt: skip
    if app.ports(app.config.team(team)).get(f"service:{name}") is not None:
        found.append(f"port of service:{name}")
    return found


def test_create_list_logs_update_delete_restore(
    app: App, redis_image: str, derived: Callable[[str, str], str], engine_watch: EngineWatch
) -> None:
    ref = derived("v1", f"FROM {redis_image}\n")
    created = call(app, "create_service", name="cache", image=ref, port=6379, env_vars=f"A=1,B={SECRET}")
    try:
        assert created["status"] == "running" and created["env_vars"] == {"A": "***", "B": "***"}
        assert SECRET not in repr(call(app, "list_services")) + repr(call(app, "list_service_presets"))
        host_port = created["host_port"]
        assert instance_range(app)[0] <= host_port < instance_range(app)[1]
        assert ping("127.0.0.1", host_port).startswith(b"+PONG")
        container = app.docker().containers.get(created["container"])
        host = container.attrs["HostConfig"]
        assert host["RestartPolicy"]["Name"] == "unless-stopped"
        assert host["CapDrop"] == ["ALL"] and "no-new-privileges:true" in host["SecurityOpt"]
        assert set(container.attrs["NetworkSettings"]["Networks"]) == {app.names.team_network("1")}
        assert container.labels["oduflow.team"] == "1" and SECRET not in repr(container.labels)
        assert "Ready to accept connections" in call(app, "get_service_logs", name="cache", lines=50)["logs"]
        assert created["address"] == f"{app.names.service_alias('cache')}:6379"
        orphans = cleanup.cleanup(app, app.config.team("1"))["orphans"]
        assert "service:cache" not in orphans["ports"] and created["container"] not in orphans["containers"]

        assert call(app, "update_service", name="cache")["status"] == "already up-to-date"
        derived("v1", f"FROM {redis_image}\nLABEL org.oduflow.test-rev=2\n")  # a new digest under the tag
        updated = call(app, "update_service", name="cache")
        assert updated["updated"] and updated["service"]["host_port"] == host_port
        again = app.docker().containers.get(created["container"])
        assert again.id != container.id and again.attrs["Image"] == updated["image_id"]
        assert {"A=1", f"B={SECRET}"} <= set(again.attrs["Config"]["Env"])
        assert ping("127.0.0.1", host_port).startswith(b"+PONG")

        derived("v1", f'FROM {redis_image}\nCMD ["redis-server", "--no-such-option"]\n')
        with pytest.raises(OduflowError, match="exited at start"):
            call(app, "update_service", name="cache")
        back = app.docker().containers.get(created["container"])
        assert back.id == again.id and back.status == "running"
        assert ping("127.0.0.1", host_port).startswith(b"+PONG")
    finally:
        call(app, "delete_service", name="cache")
    assert leftovers(app, "1", "cache") == []
    presets = call(app, "list_service_presets")
    assert [p["name"] for p in presets] == ["cache"]
    derived("v1", f"FROM {redis_image}\n")  # the tag of the preset runs again
    restored = call(app, "restore_service", name="cache")
    assert restored["env_vars"] == {"A": "***", "B": "***"}
    call(app, "delete_service", name="cache")
    call(app, "delete_service_preset", name="cache")
    assert call(app, "list_service_presets") == []
    with pytest.raises(NotFoundError):
        call(app, "restore_service", name="cache")
    engine_watch.assert_clean()


def instance_range(app: App) -> tuple[int, int]:
    return app.config.team("1").port_range


def test_failures_leave_nothing_and_the_preset_unchanged(
    app: App, redis_image: str, derived: Callable[[str, str], str], engine_watch: EngineWatch
) -> None:
    app.store.put("1", aux_services.PRESETS, "broken", {"name": "broken", "image": "x", "port": 1, "env": {}})
    before = app.store.get("1", aux_services.PRESETS, "broken")
    failing = derived("fails", f'FROM {redis_image}\nCMD ["redis-server", "--no-such-option"]\n')
    foreign = derived("foreign", f"FROM {redis_image}\nLABEL oduflow.team=2\n")
    cases: list[tuple[str, type[Exception], str]] = [
        (f"{app.names.prefix}-no-such-image:1", OduflowError, "could not be pulled"),
        (foreign, ValidationError, "reserved"),
        (failing, OduflowError, "exited at start"),
    ]
    for image, error, message in cases:
        with pytest.raises(error, match=message):
            call(app, "create_service", name="broken", image=image, port=6379)
        assert leftovers(app, "1", "broken") == [], image
        assert app.store.get("1", aux_services.PRESETS, "broken") == before
    start, end = instance_range(app)
    held = []
    try:  # every free port of the team's range taken by another process
        for port in range(start, end):
            if port_is_free(port):
                s = socket.socket()
                s.bind(("0.0.0.0", port))
                s.listen()
                held.append(s)
        with pytest.raises(OduflowError, match="no free port"):
            call(app, "create_service", name="broken", image=redis_image, port=6379)
    finally:
        for s in held:
            s.close()
    assert leftovers(app, "1", "broken") == []
    app.store.delete("1", aux_services.PRESETS, "broken")
    engine_watch.assert_clean()


PROBE = (
    "import socket,sys\n"
    "try:\n"
    "    c = socket.create_connection((sys.argv[1], 6379), timeout=5)\n"
    "except OSError as e:\n"
    "    print('ERR', type(e).__name__, e); sys.exit(3)\n"
    "c.sendall(b'PING\\r\\n'); print(c.recv(16).decode().strip())\n"
)


def test_teams_cannot_see_reach_or_delete_each_others_services(
    app: App, instance: Instance, redis_image: str, git_remote: Callable[..., GitRemote]
) -> None:
    remote = git_remote("demo_ok")
    team1, team2 = app.config.team("1"), app.config.team("2")
    env_create.create_environment(app, team1, "svc-one", "none", remote.url, instance.odoo_image)
    try:
        env_create.create_environment(app, team2, "svc-two", "none", remote.url, instance.odoo_image)
        try:
            call(app, "create_service", name="kv", image=redis_image, port=6379)
            try:
                alias = app.names.service_alias("kv")
                one = app.docker().containers.get(get_env(app, team1, "svc-one").container_name)
                two = app.docker().containers.get(get_env(app, team2, "svc-two").container_name)
                res = one.exec_run(["python3", "-c", PROBE, alias])
                assert (res.exit_code, res.output.decode().strip()) == (0, "+PONG")
                res = two.exec_run(["python3", "-c", PROBE, alias])
                assert res.exit_code == 3 and "gaierror" in res.output.decode(), res.output
                res = two.exec_run(["python3", "-c", PROBE, app.names.service_container("1", "kv")])
                assert res.exit_code == 3 and "gaierror" in res.output.decode(), res.output
                assert call(app, "list_services", team="2") == []
                for tool, args in (("delete_service", {}), ("get_service_logs", {}), ("update_service", {})):
                    with pytest.raises(NotFoundError):
                        call(app, tool, team="2", name="kv", **args)
                assert call(app, "list_service_presets", team="2") == []
                assert [s["name"] for s in call(app, "list_services")] == ["kv"]
            finally:
                call(app, "delete_service", name="kv")
                call(app, "delete_service_preset", name="kv")
        finally:
            environments.delete_environment(app, team2, "svc-two")
    finally:
        environments.delete_environment(app, team1, "svc-one")
