"""Confinement of the Odoo containers, as the engine reports it (``docker inspect``) and as the
processes inside see it: capabilities, ``no-new-privileges``, memory, CPU and process limits,
restart policy, and the command line (no image entrypoint, no password). Root inside can still
install a package."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from oduflow.app import App
from oduflow.contracts import DependencyStep
from oduflow.errors import ExternalCommandError
from oduflow.services import runtime
from tests.docker.odoo_env import bare_job, call, delete_if_present
from tests.fixtures.instance import GitRemote, Instance
from tests.security.container_helpers import env_of

# CAP_CHOWN 0, DAC_OVERRIDE 1, FOWNER 3, FSETID 4, KILL 5, SETGID 6, SETUID 7 (SETFCAP 31 for builds)
RUN_CAPBND = (1 << 0) | (1 << 1) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7)
BUILD_CAPBND = RUN_CAPBND | (1 << 31)
PROBE = (  # cgroup v2 names, else v1
    "grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status; cg=/sys/fs/cgroup; "
    "cat $cg/pids.max 2>/dev/null || cat $cg/pids/pids.max; "
    "cat $cg/memory.max 2>/dev/null || cat $cg/memory/memory.limit_in_bytes"
)


def limited(app: App, memory_mb: int = 700, cpus: float = 1.5, pids: int = 300) -> App:
    limits = replace(
        app.config.limits, container_memory_mb=memory_mb, container_cpus=cpus, container_pids=pids
    )
    return App(replace(app.config, limits=limits))


def probe_lines(text: str) -> dict[str, str]:
    """``CapEff``/``CapBnd``/``NoNewPrivs`` of /proc/self/status and the cgroup limits of :data:`PROBE`."""
    lines = [ln.strip() for ln in text.strip().splitlines()]
    fields = dict(ln.split(":\t", 1) for ln in lines if ":\t" in ln)
    rest = [ln for ln in lines if ":\t" not in ln]
    return {**fields, "pids": rest[0], "memory": rest[1]}


@pytest.fixture
def env(app: App, instance: Instance, git_remote: Callable[..., GitRemote]) -> Iterator[tuple[App, str]]:
    """An environment (template "none") made with limits other than the defaults."""
    small = limited(app)
    remote = git_remote("demo_ok")
    call(small, "create_environment", branch_name="limits", template_name="none",
         repo_url=remote.url, odoo_image=instance.odoo_image)  # fmt: skip
    try:
        yield small, "limits"
    finally:
        delete_if_present(app, "limits")


def test_environment_container_is_confined_and_limited(env: tuple[App, str]) -> None:
    app, branch = env
    e = env_of(app, branch)
    container = app.docker().containers.get(e.container_name)
    host = container.attrs["HostConfig"]
    assert host["CapDrop"] == ["ALL"]
    assert {c.removeprefix("CAP_") for c in host["CapAdd"]} == set(runtime.RUN_CAPS)
    assert not host["SecurityOpt"]  # see runtime.hardening: root's docker exec would lose every capability
    assert (host["Memory"], host["MemorySwap"]) == (700 << 20, 700 << 20)
    assert host["NanoCpus"] == 1_500_000_000 and host["PidsLimit"] == 300
    assert host["RestartPolicy"]["Name"] == "unless-stopped"  # copy storage: Docker may restart it
    config = container.attrs["Config"]
    assert config["Entrypoint"] == ["odoo"] and config["Cmd"] == ["--dev=xml", "-c", runtime.CONF_PATH]
    for user, effective in (("odoo", 0), ("root", RUN_CAPBND)):
        res = call(app, "run_odoo_command", branch_name=branch, command=PROBE, user=user)
        assert res["exit_code"] == 0, res
        seen = probe_lines(res["stdout"])
        assert int(seen["CapBnd"], 16) == RUN_CAPBND and int(seen["CapEff"], 16) == effective, seen
        assert seen["pids"] == "300" and seen["memory"] == str(700 << 20)


def test_root_can_still_install_a_package(env: tuple[App, str]) -> None:
    """dpkg (chown, files of other users) and apt's drop to its ``_apt`` user keep working."""
    app, branch = env
    build = (
        "set -e; d=$(mktemp -d); mkdir -p $d/pkg/DEBIAN $d/pkg/usr/share/oduflow-probe; "
        "printf 'Package: oduflow-probe\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: t <t@t>\\n"
        "Description: probe\\n' > $d/pkg/DEBIAN/control; echo ok > $d/pkg/usr/share/oduflow-probe/ok; "
        "dpkg-deb -b --root-owner-group $d/pkg /tmp/probe.deb >/dev/null; dpkg -i /tmp/probe.deb >/dev/null; "
        "cat /usr/share/oduflow-probe/ok; chown odoo:odoo /usr/share/oduflow-probe/ok; "
        "su -s /bin/sh odoo -c 'id -un'"
    )
    res = call(app, "run_odoo_command", branch_name=branch, command=build, user="root")
    assert res["exit_code"] == 0, res
    assert res["stdout"].split() == ["ok", "odoo"]


def test_job_and_build_containers_are_confined(app: App, instance: Instance, tmp_path: Path) -> None:
    small = limited(app)
    code, logs = bare_job(small, instance.odoo_image, tmp_path, "probe", ["sh", "-c", PROBE])
    assert code == 0, logs
    seen = probe_lines(logs)
    assert int(seen["CapBnd"], 16) == RUN_CAPBND and int(seen["CapEff"], 16) == 0  # the image user
    assert seen["NoNewPrivs"] == "1"
    assert seen["pids"] == "300" and seen["memory"] == str(700 << 20)
    # a dependency build step: its output comes back in the error of a step that fails
    step = DependencyStep(name="probe", argv=("sh", "-c", PROBE + "; exit 3"), inputs=())
    with pytest.raises(ExternalCommandError) as err:
        runtime._build_step(small, instance.odoo_image, instance.odoo_image, step, tmp_path)
    seen = probe_lines(err.value.output or "")
    assert int(seen["CapBnd"], 16) == int(seen["CapEff"], 16) == BUILD_CAPBND  # root
    assert seen["NoNewPrivs"] == "1"
    assert seen["pids"] == "300" and seen["memory"] == str(700 << 20)


def test_unlimited_when_the_limits_are_zero(app: App) -> None:
    args = runtime.hardening(limited(app, memory_mb=0, cpus=0, pids=0))
    assert args == {
        "cap_drop": ["ALL"],
        "cap_add": list(runtime.RUN_CAPS),
        "security_opt": ["no-new-privileges:true"],
    }
    assert "security_opt" not in runtime.hardening(app, root_exec=True)
