"""An environment on an Odoo image whose user is not 101: Oduflow detects the image's user.

The stand-in variant built with ``odoo`` as uid/gid :data:`tests.images.build.OTHER_UID` is used
to create an environment (template "none": the ``odoo -i base`` job, the serving container), to
install a module and to write a file in the filestore. Everything Oduflow prepares on the host
for the container (checkout, sessions, filestore) must belong to that user, and what the server
writes must be owned by it too. The environment is deleted at the end.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from oduflow.app import App
from oduflow.services import runtime, templates_ops
from oduflow.services.envmodel import Env, get_env
from tests.docker.odoo_env import TEAM, call, environment
from tests.fixtures.instance import Instance, make_remote
from tests.images import build

pytestmark = pytest.mark.docker

BRANCH = "standin-other-uid"
UID = build.OTHER_UID


@pytest.fixture(scope="module")
def other_image(docker_client: docker.DockerClient) -> str:
    return build.ensure_odoo_image(docker_client, uid=UID)


@pytest.fixture(scope="module")
def uid_env(instance: Instance, other_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    app = instance.app()
    remote = make_remote(tmp_path_factory.mktemp("uid"), "demo_ok")
    with environment(app, BRANCH, remote, other_image) as branch:
        yield get_env(app, app.config.team(TEAM), branch)


def _owners(path: Path) -> set[tuple[int, int]]:
    """(uid, gid) of ``path`` and of everything below it."""
    found = {(path.lstat().st_uid, path.lstat().st_gid)}
    found |= {(p.lstat().st_uid, p.lstat().st_gid) for p in path.rglob("*")}
    return found


def test_the_image_user_is_detected(app: App, other_image: str, uid_env: Env) -> None:
    assert runtime.image_user(app, other_image) == (UID, UID)
    assert (uid_env.params.uid, uid_env.params.gid) == (UID, UID)
    assert runtime.image_user(app, build.ensure_odoo_image(app.docker())) == (101, 101)


def test_the_workspace_belongs_to_the_image_user(app: App, uid_env: Env) -> None:
    filestore = uid_env.filestore(app).merged
    for path in (uid_env.paths.repo, uid_env.paths.sessions, filestore):
        assert _owners(path) == {(UID, UID)}, path
    listing = call(
        app, "run_odoo_command", branch_name=BRANCH, command="id -u; stat -c %u /var/lib/odoo/sessions"
    )
    assert listing["exit_code"] == 0 and listing["stdout"].split() == [str(UID), str(UID)], listing


def test_install_and_the_filestore_work_as_the_image_user(app: App, uid_env: Env) -> None:
    result = call(app, "install_odoo_modules", branch_name=BRANCH, modules="demo_ok")
    assert result["ok"] is True and result["exit_code"] == 0, result["summary"]
    mods = call(app, "list_installed_modules", branch_name=BRANCH, name_filter="demo_ok")
    # shortdesc is jsonb ({"en_US": "Demo OK"}): the title is its en_US value
    assert [(m["name"], m["state"], m["title"]) for m in mods["modules"]] == [
        ("demo_ok", "installed", "Demo OK")
    ]
    code = (
        "a = env['ir.attachment'].create({'name': 'uid.txt', 'raw': b'owned'})\n"
        "print(a.store_fname)\nenv.cr.commit()\n"
    )
    shell = call(app, "run_odoo_shell", branch_name=BRANCH, code=code)
    assert shell["ok"] is True, shell
    stored = uid_env.filestore(app).merged / shell["stdout"].strip()
    assert stored.read_bytes() == b"owned"
    assert (stored.stat().st_uid, stored.stat().st_gid) == (UID, UID)


def test_the_version_probe_reads_the_build_string(app: App, other_image: str) -> None:
    assert re.fullmatch(r"18\.0-\d{8}", templates_ops.odoo_version(app, other_image))
