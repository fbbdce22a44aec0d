"""The reference's "Typical Agent Workflow", end to end through a real MCP client over HTTP.

list_environments -> create_environment -> (write code, git push) -> pull_and_apply ->
install_odoo_modules / run_odoo_tests / get_environment_logs -> fix -> delete_environment.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport

from tests.e2e.conftest import Server
from tests.fixtures.instance import GitRemote, Instance

pytestmark = pytest.mark.anyio

BRANCH = "agent-task-42"

MODEL = """from odoo import fields, models


class Gadget(models.Model):
    _name = "agent.gadget"
    _description = "Gadget"
    name = fields.Char(required=True)
"""

FAILING_TEST = """from odoo.tests.common import TransactionCase


class TestGadget(TransactionCase):
    def test_name(self):
        gadget = self.env["agent.gadget"].create({"name": "g"})
        self.assertEqual(gadget.name, "G")
"""


def unwrap(structured: Any) -> Any:
    """The JSON result of a tool: lists and text come wrapped as ``{"result": ...}``."""
    return structured["result"] if set(structured) == {"result"} else structured


async def call(client: Client, tool: str, **args: Any) -> Any:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content
    return unwrap(result.structured_content)


async def test_typical_agent_workflow(
    open_server: Server, instance: Instance, git_remote: Callable[..., GitRemote]
) -> None:
    remote = git_remote("demo_ok")
    async with Client(StreamableHttpTransport(open_server.mcp_url)) as client:
        assert "pull_and_apply" in await call(client, "get_agent_instructions")
        # 1. is there an environment for the branch?
        assert BRANCH not in [e["branch"] for e in await call(client, "list_environments")]
        # 2. create it (the branch does not exist yet: created from the default branch)
        created = await call(
            client,
            "create_environment",
            branch_name=BRANCH,
            template_name="none",
            repo_url=remote.url,
            odoo_image=instance.odoo_image,
        )
        try:
            assert created["status"] == "running" and created["branch_created_from_default"] is True
            # 3. write code, push, pull_and_apply decides: a new module -> install
            remote.write("agent_gadget/__init__.py", "from . import models\n")
            remote.write(
                "agent_gadget/__manifest__.py",
                "{'name': 'Agent Gadget', 'version': '18.0.1.0.0', 'depends': ['base'], "
                "'license': 'LGPL-3'}\n",
            )
            remote.write("agent_gadget/models/__init__.py", "from . import gadget\n")
            remote.write("agent_gadget/models/gadget.py", MODEL)
            remote.write("agent_gadget/tests/__init__.py", "from . import test_gadget\n")
            remote.write("agent_gadget/tests/test_gadget.py", FAILING_TEST)
            remote.push("add agent_gadget", branch=BRANCH)
            pulled = await call(client, "pull_and_apply", branch_name=BRANCH)
            assert pulled["plan"]["install"] == ["agent_gadget"]
            # ... and did it: the module was installed to the end, then the server restarted
            assert [a["action"] for a in pulled["actions"]] == ["install/upgrade", "restart"], pulled
            install = pulled["actions"][0]
            assert install["ok"] is True and install["result"]["ok"] is True, pulled["summary"]
            assert install["result"]["exit_code"] == 0 and install["result"]["timed_out"] is False
            assert install["result"]["modules"] == ["agent_gadget"]
            assert install["result"]["modules_loaded"] == ["agent_gadget"]
            assert install["result"]["modules_not_loaded"] == []
            assert pulled["actions"][1]["ok"] is True
            assert "install agent_gadget: OK" in pulled["summary"], pulled["summary"]
            modules = await call(
                client, "list_installed_modules", branch_name=BRANCH, name_filter="agent_gadget"
            )
            assert [(m["name"], m["state"]) for m in modules["modules"]] == [("agent_gadget", "installed")]
            # 4. verify: the tests fail with a structured result the agent can act on
            tests = await call(client, "run_odoo_tests", branch_name=BRANCH, modules="agent_gadget")
            assert (tests["passed"], tests["failed"], tests["errors"]) == (0, 1, 0)
            [failure] = tests["failures"]
            assert (failure["module"], failure["test_class"], failure["method"], failure["kind"]) == (
                "agent_gadget",
                "TestGadget",
                "test_name",
                "FAIL",
            )
            assert "AssertionError" in failure["traceback"]
            # fix the code, push, pull again: a method-free test change needs no server action
            remote.write("agent_gadget/tests/test_gadget.py", FAILING_TEST.replace('"G"', '"g"'))
            remote.push("fix the test", branch=BRANCH)
            await call(client, "pull_and_apply", branch_name=BRANCH)
            tests = await call(client, "run_odoo_tests", branch_name=BRANCH, modules="agent_gadget")
            assert tests["ok"] is True and tests["passed"] == 1 and tests["exit_code"] == 0
            installed = await call(client, "install_odoo_modules", branch_name=BRANCH, modules="demo_ok")
            assert installed["ok"] is True
            logs = await call(client, "get_environment_logs", branch_name=BRANCH, lines=100)
            assert logs["branch"] == BRANCH and logs["status"] == "running"
            text = logs["logs"]
            # the serving server's own log: its HTTP service, and its registry on this database
            assert re.search(
                r"INFO \? odoo\.service\.server: HTTP service \(werkzeug\) running on \S+:8069", text
            ), text
            db = re.escape(created["database"])
            assert re.search(
                rf"^\S+ \S+ \d+ INFO {db} odoo\.modules\.loading: Modules loaded\.", text, re.M
            ), text
        finally:
            # 5. the task is done
            deleted = await call(client, "delete_environment", branch_name=BRANCH)
        assert deleted["branch"] == BRANCH
        assert BRANCH not in [e["branch"] for e in await call(client, "list_environments")]
