"""Attack: an Odoo image whose ``LABEL``s claim another team's Traefik route and team.

Docker copies an image's labels onto every container made from it, and the caller picks
``odoo_image``. The image here is built ``FROM`` the Odoo stand-in with a Traefik router for team
2's environment host (at a priority that beats Oduflow's own router) and ``oduflow.team=2``.
Through the real Traefik (``tests/docker/traefik_env.py``) the labels are shown to be live: a
container of that image on the instance's network takes team 2's host. Then every way an agent
or operator hands an image to Oduflow is refused before anything is made (create, rebuild and
recreate after the tag moved, the template editor, template generation, dependency builds), and
team 2's host keeps reaching team 2's environment.
"""

from __future__ import annotations

import contextlib
import io
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from oduflow import catalog, docker_api, images
from oduflow.app import App
from oduflow.errors import ValidationError
from oduflow.services import env_create, envmodel, runtime, templates_ops
from tests.docker import traefik_env
from tests.docker.test_environments import leftovers
from tests.docker.test_templates import make_wheel
from tests.docker.traefik_env import TraefikMode
from tests.fixtures.instance import Instance, make_remote

VICTIM = "victim"
HIJACKED = b"hijacked"
SERVE_HIJACKED = (
    "import http.server as s\n"
    "class H(s.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        self.send_response(200); self.end_headers(); self.wfile.write(b'hijacked')\n"
    "s.HTTPServer(('', 8069), H).serve_forever()\n"
)


def evil_dockerfile(base: str, host: str) -> str:
    """``FROM base`` plus a Traefik router for ``host`` and a claim to be team 2's."""
    return (
        f"FROM {base}\n"
        'LABEL traefik.enable="true" \\\n'
        f'      traefik.http.routers.evil.rule="Host(`{host}`)" \\\n'
        '      traefik.http.routers.evil.entrypoints="websecure" \\\n'
        '      traefik.http.routers.evil.tls="true" \\\n'
        '      traefik.http.routers.evil.priority="100000" \\\n'
        '      traefik.http.services.evil.loadbalancer.server.port="8069" \\\n'
        '      oduflow.team="2"\n'
    )


@contextlib.contextmanager
def refused(*keys: str) -> Iterator[None]:
    """The block raises ``ValidationError`` naming each of ``keys``."""
    with pytest.raises(ValidationError) as err:
        yield
    for key in keys:
        assert key in str(err.value)


def invoke(app: App, team: str, tool: str, **args: Any) -> Any:
    return catalog.invoke(app, app.config.team(team), tool, args)


@pytest.fixture(scope="module")
def traefik(instance: Instance, docker_client: docker.DockerClient) -> Iterator[TraefikMode]:
    with traefik_env.started(instance, docker_client, "traefik-labels") as mode:
        yield mode


@pytest.fixture(scope="module")
def remote_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return make_remote(tmp_path_factory.mktemp("labels-remote"), "demo_ok").url


@pytest.fixture(scope="module")
def victim(traefik: TraefikMode, instance: Instance, remote_url: str) -> Iterator[dict[str, Any]]:
    """Team 2's environment, reached through Traefik before the attack starts."""
    app = traefik.app
    created = invoke(app, "2", "create_environment", branch_name=VICTIM, template_name="none",
                     repo_url=remote_url, odoo_image=instance.odoo_image)  # fmt: skip
    try:
        host = traefik.host("2", VICTIM)
        traefik.wait(host, "/web/health", lambda r: r.status_code == 200)
        assert traefik.login_database(host) == created["database"]
        yield {**created, "host": host}
    finally:
        invoke(app, "2", "delete_environment", branch_name=VICTIM)


@pytest.fixture(scope="module")
def evil_image(docker_client: docker.DockerClient, instance: Instance, traefik: TraefikMode) -> Iterator[str]:
    tag = f"oduflowtest-evil-{secrets.token_hex(3)}:1"
    dockerfile = evil_dockerfile(instance.odoo_image, traefik.host("2", VICTIM))
    docker_client.images.build(
        fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True, forcerm=True, pull=False
    )
    try:
        yield tag
    finally:
        docker_client.images.remove(tag, force=True)


def assert_victim_served(traefik: TraefikMode, victim: dict[str, Any]) -> None:
    """Team 2's host reaches team 2's environment (its login page names its database)."""
    resp = traefik.wait(victim["host"], "/web/health", lambda r: r.status_code == 200)
    assert resp.json() == {"status": "pass"}
    assert traefik.login_database(victim["host"]) == victim["database"]


def containers_of(client: docker.DockerClient, image: str) -> list[str]:
    return [c.name for c in client.containers.list(all=True, filters={"ancestor": image})]


def test_the_labels_would_take_the_host_of_another_team(
    traefik: TraefikMode, victim: dict[str, Any], evil_image: str, docker_client: docker.DockerClient
) -> None:
    """The control: a container of the image, labelled as an environment of team 1 (what Oduflow
    would have made without the check), takes team 2's host; gone, the host is team 2's again."""
    app = traefik.app
    labels = {**app.names.labels("env", "1", env="control"), "oduflow.test": "true"}
    container = docker_client.containers.run(
        evil_image, entrypoint=["python3", "-c", SERVE_HIJACKED], name=f"{app.names.prefix}-1-control",
        labels=labels, network=app.names.network, detach=True,
    )  # fmt: skip
    try:
        assert container.labels["oduflow.team"] == "1"  # the container's own label wins ...
        assert container.labels["traefik.http.routers.evil.priority"] == "100000"  # ... the image's stay
        traefik.wait(victim["host"], "/web/health", lambda r: r.content == HIJACKED)
    finally:
        container.remove(force=True, v=True)
    assert_victim_served(traefik, victim)


def test_creating_an_environment_with_the_image_is_refused(
    traefik: TraefikMode,
    victim: dict[str, Any],
    evil_image: str,
    remote_url: str,
    docker_client: docker.DockerClient,
) -> None:
    app = traefik.app
    with pytest.raises(ValidationError) as err:
        invoke(app, "1", "create_environment", branch_name="evil", template_name="none",
               repo_url=remote_url, odoo_image=evil_image)  # fmt: skip
    message = str(err.value)
    assert f"image '{evil_image}'" in message
    for key in ("traefik.enable", "traefik.http.routers.evil.rule", "oduflow.team"):
        assert key in message
    assert "org.oduflow.test-image" not in message  # other namespaces are not the image's fault
    assert leftovers(app, "evil", "evil") == []
    assert containers_of(docker_client, evil_image) == []
    assert traefik.get(traefik.host("1", "evil")).status_code == 404
    assert_victim_served(traefik, victim)


def test_rebuild_and_recreate_refuse_an_image_whose_tag_moved(
    traefik: TraefikMode,
    victim: dict[str, Any],
    evil_image: str,
    remote_url: str,
    instance: Instance,
    docker_client: docker.DockerClient,
) -> None:
    """An environment made from a clean tag that later names the labelled image (a registry tag
    pushed again): rebuild and recreate refuse it and leave the running environment as it was."""
    app, team = traefik.app, traefik.app.config.team("1")
    repo, version = f"oduflowtest-moving-{secrets.token_hex(3)}", "1"
    moving = f"{repo}:{version}"
    docker_client.images.get(instance.odoo_image).tag(repo, version)
    try:
        created = invoke(app, "1", "create_environment", branch_name="moving", template_name="none",
                         repo_url=remote_url, odoo_image=moving)  # fmt: skip
        host = traefik.host("1", "moving")
        traefik.wait(host, "/web/health", lambda r: r.status_code == 200)
        before = docker_client.containers.get(created["container"]).id
        docker_client.images.get(evil_image).tag(repo, version)
        with refused("traefik.http.routers.evil.rule"):
            invoke(app, "1", "rebuild_environment", branch_name="moving")
        with refused("oduflow.team"):
            env_create.recreate_environment(app, team, "moving")
        container = docker_client.containers.get(created["container"])
        assert container.id == before and container.status == "running"
        assert app.store.get_env("1", "moving") is not None
        assert traefik.login_database(host) == created["database"]
        assert container.image.id == docker_client.images.get(instance.odoo_image).id  # the tag's old image
        assert_victim_served(traefik, victim)
    finally:
        if app.store.get_env("1", "moving"):
            invoke(app, "1", "delete_environment", branch_name="moving")
        docker_client.images.remove(moving)


def test_the_template_editor_and_template_generation_refuse_the_image(
    traefik: TraefikMode,
    victim: dict[str, Any],
    evil_image: str,
    base_template: str,
    docker_client: docker.DockerClient,
) -> None:
    app, team = traefik.app, traefik.app.config.team("1")
    with refused("traefik.enable"):
        templates_ops.template_up(app, team, base_template, odoo_image=evil_image)
    assert app.store.get("1", templates_ops.EDITOR, base_template) is None
    tdb = app.names.template_db("1", base_template)
    assert app.db().query("SELECT datistemplate FROM pg_database WHERE datname = %s", [tdb]) == [(True,)]
    assert not (app.team_dir("1") / "templates" / base_template / ".editor").exists()
    with refused("oduflow.team"):
        templates_ops.init_template(app, team, evil_image, "evil-template", "base")
    assert not (app.team_dir("1") / "templates" / "evil-template").exists()
    assert not app.db().list_databases(app.names.template_db("1", "evil-template"))
    assert containers_of(docker_client, evil_image) == []
    assert traefik.get(traefik.host("1", f"template--{base_template}")).status_code == 404
    assert_victim_served(traefik, victim)


def test_environment_containers_carry_only_the_labels_oduflow_sets(
    traefik: TraefikMode, victim: dict[str, Any], docker_client: docker.DockerClient
) -> None:
    app, team = traefik.app, traefik.app.config.team("2")
    env = envmodel.get_env(app, team, VICTIM)
    route = app.router.route(envmodel.route_request(team, env.paths.slug))
    given = envmodel.container_spec(app, env.identity, env.params.run_image, route).labels
    labels = docker_client.containers.get(victim["container"]).labels
    assert {k: v for k, v in labels.items() if images.is_reserved(k)} == {
        k: v for k, v in given.items() if images.is_reserved(k)
    }
    assert any(k.startswith("traefik.http.routers.") for k in given)


def test_no_container_or_dependency_image_of_it_is_ever_made(
    traefik: TraefikMode,
    evil_image: str,
    instance: Instance,
    docker_client: docker.DockerClient,
    tmp_path: Path,
) -> None:
    """Defence in depth below the entry checks: a container of the image is removed as soon as it
    is created (before it could start), and no dependency build starts from it; a dependency
    image of a clean image carries, in the reserved namespaces, Oduflow's labels only."""
    app = traefik.app
    name = app.names.job_container("1", "labels")
    with refused("traefik.http.routers.evil.rule"):
        docker_api.create_container(docker_client, evil_image, name=name, labels=app.names.labels("job", "1"))
    assert docker_api.get_container(docker_client, name) is None
    repo = tmp_path / "repo"
    wheel = make_wheel(repo / "wheels", "oduflow_label_probe", {"oduflow_label_probe/__init__.py": "X = 1\n"})
    (repo / "requirements.txt").write_text(f"/mnt/repo/wheels/{wheel.name}\n")  # no index needed
    with refused("oduflow.team"):
        runtime.dependency_image(app, evil_image, repo)
    assert containers_of(docker_client, evil_image) == []
    assert docker_api.untagged_images(docker_client, app.names.labels("deps-image")) == []
    derived = runtime.dependency_image(app, instance.odoo_image, repo)
    try:
        assert derived != instance.odoo_image
        labels = images.image_labels(docker_client, derived)
        assert {k: v for k, v in labels.items() if images.is_reserved(k)} == app.names.labels("deps-image")
    finally:
        docker_api.remove_image(docker_client, derived)
