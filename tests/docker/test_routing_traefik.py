"""Traefik routing, through the real Traefik: every environment at ``https://{slug}.{hostname}``.

Two teams each create an environment of the same branch; requests sent to Traefik with each
environment's host name reach that environment's Odoo (its ``/web/login`` names its own
database), HTTP is redirected to HTTPS, an unknown host gets Traefik's 404, and a deleted
environment's host is no longer routed. See :mod:`tests.docker.traefik_env` for the set-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import docker
import pytest

from oduflow import catalog
from tests.docker import traefik_env
from tests.docker.traefik_env import TraefikMode
from tests.fixtures.instance import Instance, make_remote

BRANCH = "shared-name"
SLUG = "shared-name"
TEAMS = ("1", "2")


@pytest.fixture(scope="module")
def traefik(instance: Instance, docker_client: docker.DockerClient) -> Iterator[TraefikMode]:
    with traefik_env.started(instance, docker_client, "traefik-routing") as mode:
        yield mode


@pytest.fixture(scope="module")
def environments(
    traefik: TraefikMode, instance: Instance, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """Branch ``shared-name`` of one repository in team 1 and in team 2 (template "none")."""
    app = traefik.app
    remote = make_remote(tmp_path_factory.mktemp("traefik-routing"), "demo_ok")
    created: dict[str, Any] = {}
    try:
        for team in TEAMS:
            created[team] = catalog.invoke(
                app,
                app.config.team(team),
                "create_environment",
                {"branch_name": BRANCH, "template_name": "none", "repo_url": remote.url,
                 "odoo_image": instance.odoo_image},
            )  # fmt: skip
        yield created
    finally:
        for team in TEAMS:
            if app.store.get_env(team, BRANCH):
                catalog.invoke(app, app.config.team(team), "delete_environment", {"branch_name": BRANCH})


def test_each_team_host_reaches_its_own_environment(
    traefik: TraefikMode, environments: dict[str, Any]
) -> None:
    databases = {team: environments[team]["database"] for team in TEAMS}
    assert databases["1"] != databases["2"]
    for team in TEAMS:
        host = traefik.host(team, SLUG)
        assert environments[team]["url"] == f"https://{host}"
        health = traefik.wait(host, "/web/health", lambda r: r.status_code == 200)
        assert health.json() == {"status": "pass"}
        assert traefik.login_database(host) == databases[team]


def test_traefik_reaches_each_team_over_the_teams_own_network(
    traefik: TraefikMode, environments: dict[str, Any], docker_client: docker.DockerClient
) -> None:
    """A team's services are on its own network alone (no other team resolves them), so Traefik
    joins every team's network and routes each container over it; the environments answering
    through Traefik (the test above) are reached that way."""
    names = traefik.app.names
    proxy = docker_client.containers.get(names.traefik_container)
    attached = set(proxy.attrs["NetworkSettings"]["Networks"])
    for team in TEAMS:
        network = names.team_network(team)
        assert network in attached
        env = docker_client.containers.get(names.env_container(team, SLUG))
        assert env.labels["traefik.docker.network"] == network
        assert network in env.attrs["NetworkSettings"]["Networks"]


def test_unknown_hosts_get_404(traefik: TraefikMode, environments: dict[str, Any]) -> None:
    traefik.wait(traefik.host("1", SLUG), "/web/health", lambda r: r.status_code == 200)
    for host in (
        "other-branch.t1.oduflow.test",
        f"{SLUG}.t3.oduflow.test",
        f"{SLUG}.t1.oduflow.test.example.com",
        f"x.{SLUG}.t1.oduflow.test",
    ):
        resp = traefik.get(host, "/web/health")
        assert resp.status_code == 404 and resp.text.strip() == "404 page not found", host


def test_http_is_redirected_to_https(traefik: TraefikMode, environments: dict[str, Any]) -> None:
    host = traefik.host("2", SLUG)
    resp = traefik.get(host, "/web/login?x=1", tls=False)
    assert resp.status_code in (301, 308)
    assert resp.headers["location"] == f"https://{host}/web/login?x=1"


def test_a_deleted_environment_is_no_longer_routed(
    traefik: TraefikMode, environments: dict[str, Any]
) -> None:
    app = traefik.app
    kept, gone = traefik.host("2", SLUG), traefik.host("1", SLUG)
    traefik.wait(gone, "/web/health", lambda r: r.status_code == 200)
    catalog.invoke(app, app.config.team("1"), "delete_environment", {"branch_name": BRANCH})
    traefik.wait(gone, "/web/health", lambda r: r.status_code == 404)
    assert traefik.login_database(kept) == environments["2"]["database"]


SERVE = (
    "import http.server as s, sys\n"
    "body = sys.argv[1].encode()\n"
    "class H(s.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        self.send_response(200); self.end_headers(); self.wfile.write(body)\n"
    "s.HTTPServer(('', 8069), H).serve_forever()\n"
)


def test_only_this_instance_environment_and_editor_containers_are_routed(
    traefik: TraefikMode, instance: Instance, docker_client: docker.DockerClient
) -> None:
    """Traefik's Docker provider reads the labels of this instance's environment and
    template-editor containers only: a job container or another instance's container with
    router labels of its own is not routed (the positive controls show Traefik saw them all)."""
    names = traefik.app.names
    cases = {
        "env": (names.labels("env", "1", env="probe"), 200),
        "template-editor": (names.labels("template-editor", "1", template="probe"), 200),
        "job": (names.labels("job", "1"), 404),
        "other-instance": ({**names.labels("env", "1"), names.label_instance: "oduflowtest-other"}, 404),
        "unmanaged": ({}, 404),
    }
    started = []
    try:
        for case, (labels, _) in cases.items():
            router = f"probe-{case}"
            started.append(
                docker_client.containers.run(
                    instance.odoo_image,
                    entrypoint=["python3", "-c", SERVE, case],
                    name=f"{names.prefix}-probe-{case}",
                    network=names.network,
                    detach=True,
                    labels={
                        **labels,
                        "oduflow.test": "true",
                        "traefik.enable": "true",
                        f"traefik.http.routers.{router}.rule": f"Host(`{case}.probe.oduflow.test`)",
                        f"traefik.http.routers.{router}.entrypoints": "websecure",
                        f"traefik.http.routers.{router}.tls": "true",
                        f"traefik.http.services.{router}.loadbalancer.server.port": "8069",
                    },
                )
            )
        for case in ("env", "template-editor"):
            traefik.wait(f"{case}.probe.oduflow.test", "/", lambda r, c=case: r.text == c)
        for case, (_, status) in cases.items():
            assert traefik.get(f"{case}.probe.oduflow.test", "/").status_code == status, case
    finally:
        for container in started:
            container.remove(force=True, v=True)


def test_a_service_is_routed_by_traefik_over_its_teams_network(
    traefik: TraefikMode, docker_client: docker.DockerClient
) -> None:
    """A service in traefik mode answers at its host through Traefik, over the team's network (the
    only one it is on). The service is a second Traefik with its ``/ping`` on port 8080: the
    proxy itself has no ping, so the 200 "OK" comes from the service."""
    from tests.images.traefik import ensure_traefik_image

    app, names = traefik.app, traefik.app.names
    team = app.config.team("1")
    env_vars = "TRAEFIK_ENTRYPOINTS_WEB_ADDRESS=:8080,TRAEFIK_PING=true,TRAEFIK_PING_ENTRYPOINT=web"
    image = ensure_traefik_image(docker_client)
    args = {"name": "pinger", "image": image, "port": 8080, "env_vars": env_vars}
    created = catalog.invoke(app, team, "create_service", args)
    try:
        host = created["url"].removeprefix("https://")
        assert traefik.wait(host, "/ping", lambda r: r.status_code == 200).text.strip() == "OK"
        container = docker_client.containers.get(names.service_container("1", "pinger"))
        network = names.team_network("1")
        assert set(container.attrs["NetworkSettings"]["Networks"]) == {network}
        assert container.labels["traefik.docker.network"] == network
        assert traefik.get(traefik.host("2", "svc--pinger"), "/ping").status_code == 404  # not team 2's host
    finally:
        catalog.invoke(app, team, "delete_service", {"name": "pinger"})
        catalog.invoke(app, team, "delete_service_preset", {"name": "pinger"})  # the instance is shared
