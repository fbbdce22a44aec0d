"""Attacks through a repository URL: a redirect from an allowed server to loopback, a private
address or the Docker network's gateway, and URLs naming internal addresses in any spelling.

The operator allows exactly the test server's address (``[server].allowed_hosts``); the redirect
target is never contacted, a refused address is never connected to, and nothing is left behind.
Each attack is first shown to work against a git that is not protected (the control)."""

from __future__ import annotations

from pathlib import Path

import pytest

from oduflow.app import App
from oduflow.errors import StepError, ValidationError
from tests.docker.odoo_env import call
from tests.docker.test_environments import leftovers
from tests.fixtures.instance import Instance
from tests.security.netservers import (
    ConnectionCounter,
    GitHttpServer,
    RedirectServer,
    make_bare_repo,
    network_gateway,
    plain_git,
    restricted_app,
)


def create(app: App, instance: Instance, branch: str, url: str) -> dict[str, object]:
    return call(  # type: ignore[no-any-return]
        app,
        "create_environment",
        branch_name=branch,
        template_name="none",
        repo_url=url,
        odoo_image=instance.odoo_image,
    )


@pytest.mark.parametrize("where", ["loopback", "docker-gateway"])
def test_a_redirect_to_an_internal_address_is_not_followed(
    app: App, instance: Instance, tmp_path: Path, where: str
) -> None:
    make_bare_repo(tmp_path)
    inner_host = "127.0.0.2" if where == "loopback" else network_gateway(app)
    with (
        GitHttpServer(host=inner_host, root=tmp_path) as inner,
        RedirectServer(target=inner.url()) as outer,
    ):
        url = outer.url("repo.git")
        plain_git("-c", "http.followRedirects=true", "ls-remote", url)  # the control
        assert inner.requests, "the redirect reaches the internal server when followed"
        inner.requests.clear()

        guarded = restricted_app(app, "127.0.0.1")
        branch = f"redirect-{where}"
        with pytest.raises(StepError) as err:
            create(guarded, instance, branch, url)
        assert err.value.step == "clone repository"
        assert "302" in str(err.value) and "redirects are not followed" in str(err.value)
        assert outer.requests and not inner.requests
        assert leftovers(app, branch, branch) == []


def refused_urls(port: int, gateway: str) -> list[str]:
    return [
        f"https://127.0.0.2:{port}/repo.git",
        f"https://127.2:{port}/repo.git",
        f"https://2130706434:{port}/repo.git",
        f"https://0x7f000002:{port}/repo.git",
        f"https://0177.0.0.2:{port}/repo.git",
        f"https://[::ffff:127.0.0.2]:{port}/repo.git",
        f"https://[::1]:{port}/repo.git",
        f"https://0.0.0.0:{port}/repo.git",
        f"https://localhost:{port}/repo.git",
        f"https://{gateway}:{port}/repo.git",
        f"ssh://git@[::1]:{port}/repo.git",
        f"ssh://git@{gateway}:{port}/repo.git",
        f"https://127.0.0.1:{port}/repo.git",
    ]


def test_internal_addresses_are_refused_before_any_connection(app: App, instance: Instance) -> None:
    gateway = network_gateway(app)
    with ConnectionCounter() as counter:
        allowed_elsewhere = restricted_app(app, "192.0.2.99")
        for url in refused_urls(counter.port, gateway):
            with pytest.raises(ValidationError, match="allowed_hosts"):
                create(allowed_elsewhere, instance, "refused-address", url)
        assert counter.accepted == []
        assert leftovers(app, "refused-address", "refused-address") == []
        # the control: the allowed address is connected to (and fails there: nothing speaks TLS)
        url = f"https://127.0.0.1:{counter.port}/repo.git"
        with pytest.raises(StepError, match="clone repository"):
            create(restricted_app(app, "127.0.0.1"), instance, "allowed-address", url)
        assert counter.accepted, "the allowed address was not contacted"
        assert leftovers(app, "allowed-address", "allowed-address") == []


def test_local_repositories_need_the_operator_setting(app: App, instance: Instance, tmp_path: Path) -> None:
    bare = make_bare_repo(tmp_path)
    guarded = restricted_app(app, "127.0.0.1")
    for url in (f"file://{bare}", str(bare), f"file://localhost{bare}"):
        with pytest.raises(ValidationError, match="allow_local_repos"):
            create(guarded, instance, "local-repo", url)
    assert leftovers(app, "local-repo", "local-repo") == []
