"""odoo.conf rendering and the all-or-nothing step runner."""

from __future__ import annotations

import configparser
import re
from dataclasses import replace

import pytest

from oduflow.app import resource_path
from oduflow.database import new_password
from oduflow.errors import StepError, ValidationError
from oduflow.rollback import Steps
from oduflow.services.runtime import OdooConf, render_conf

CONF = OdooConf(db_host="oduflow-db", db_user="oduflow_u_1_x", db_password="pw", db_name="oduflow_1_x")


def parsed(text: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser["options"]


def test_bundled_conf_has_the_security_defaults() -> None:
    opts = parsed(render_conf(resource_path("odoo.conf").read_text(), CONF))
    assert opts["list_db"] == "False" and opts["without_demo"] == "all" and opts["max_cron_threads"] == "0"
    assert len(opts["admin_passwd"]) >= 16 and "{" not in opts["admin_passwd"]
    assert opts["db_name"] == "oduflow_1_x" and opts["dbfilter"] == "^oduflow_1_x$"
    assert opts["addons_path"] == "/mnt/extra-addons" and opts["data_dir"] == "/var/lib/odoo"
    other = parsed(render_conf(resource_path("odoo.conf").read_text(), CONF))
    assert other["admin_passwd"] != opts["admin_passwd"]  # random per environment


def test_repository_conf_keeps_its_settings_but_not_connection_keys() -> None:
    repo = (
        "[options]\nworkers = 2\naddons_path = /mnt/extra-addons/addons\ndb_host = prod-db\ndb_password = x\n"
    )
    opts = parsed(render_conf(repo, CONF))
    assert opts["workers"] == "2" and opts["addons_path"] == "/mnt/extra-addons/addons"
    assert opts["db_host"] == "oduflow-db" and opts["db_password"] == "pw"


def test_steps_roll_back_in_reverse_and_name_the_step() -> None:
    done: list[str] = []
    with pytest.raises(StepError) as err, Steps("create_environment") as steps:
        steps.begin("one")
        steps.undo(lambda: done.append("undo one"))
        steps.begin("two")
        steps.undo(lambda: done.append("undo two"))
        steps.begin("three")
        raise ValidationError("boom")
    assert done == ["undo two", "undo one"]
    assert err.value.step == "three" and "at step 'three'" in str(err.value)
    assert err.value.http_status == 400


def test_a_failing_undo_does_not_stop_the_others() -> None:
    done: list[str] = []

    def broken() -> None:
        raise RuntimeError("cannot drop")

    with pytest.raises(StepError, match="rollback incomplete"), Steps("op") as steps:
        steps.begin("a")
        steps.undo(lambda: done.append("a"))
        steps.undo(broken)
        steps.begin("b")
        raise RuntimeError("fail")
    assert done == ["a"]


def test_generated_role_passwords_never_look_like_options() -> None:
    """The official entrypoint passes db_password as `--db_password VALUE`: no leading '-'.

    Checked on what lands in odoo.conf: the role password Oduflow generates (``create_role`` and
    ``login_role`` use :func:`new_password`) as ``db_password``, over many generations.
    """
    seen = set()
    for _ in range(2000):
        password = new_password()
        conf = replace(CONF, db_password=password)
        opts = parsed(render_conf(resource_path("odoo.conf").read_text(), conf))
        written = opts["db_password"]
        assert written == password and not written.startswith("-"), written
        assert re.fullmatch(r"[0-9a-f]{40}", written), written
        seen.add(written)
    assert len(seen) == 2000  # random, not one fixed value
