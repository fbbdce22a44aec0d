"""``docker_api.LogFollower`` on real containers: the tail, then followed lines, within its bounds.

The live log viewer of the dashboard (``oduflow/surfaces/web/live.py``) relies on these: a
follower always ends (container stopped, deadline, line cap, or closed from another thread),
and cuts endless lines.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from docker.models.containers import Container

from oduflow import docker_api
from oduflow.app import App
from tests.fixtures.instance import Instance

FOLLOW_LIMIT_S = 30.0
"""A follower that ends by itself must have ended long before this."""


@contextmanager
def printing(app: App, instance: Instance, suffix: str, script: str) -> Iterator[Container]:
    """A started throw-away container running ``sh -c script``; removed afterwards."""
    with docker_api.throwaway(
        app.docker(),
        instance.odoo_image,
        name=app.names.job_container("sys", suffix),
        labels=app.names.labels("job"),
        entrypoint=["sh", "-c", script],
    ) as container:
        container.start()
        yield container


def collect(follower: docker_api.LogFollower) -> tuple[list[str], float]:
    """Every line of ``follower`` and the seconds it took (failing when it does not end)."""
    lines: list[str] = []
    start = time.monotonic()
    worker = threading.Thread(target=lambda: lines.extend(follower.lines()), daemon=True)
    worker.start()
    worker.join(FOLLOW_LIMIT_S)
    follower.close()
    assert not worker.is_alive(), "the follower did not end"
    return lines, time.monotonic() - start


def test_the_tail_then_new_lines_until_the_container_stops(app: App, instance: Instance) -> None:
    script = "i=0; while [ $i -lt 8 ]; do echo old-$i; i=$((i+1)); done; sleep 3; echo new-1 >&2; sleep 1"
    with printing(app, instance, "follow-stop", script) as container:
        time.sleep(1)  # the old lines are printed, the new one not yet
        follower = docker_api.LogFollower(container, tail=3, timeout=60, max_lines=100)
        lines, _ = collect(follower)
    assert lines == ["old-5", "old-6", "old-7", "new-1"]  # stderr too
    assert follower.reason == "container stopped"


def test_the_line_cap_and_long_lines(app: App, instance: Instance) -> None:
    # one 20000-byte line, then endless short ones (after the follower started: all are followed)
    script = (
        "head -c 20000 /dev/zero | tr '\\0' x; echo; sleep 1; i=0; while :; do echo l-$i; i=$((i+1)); done"
    )
    with printing(app, instance, "follow-cap", script) as container:
        follower = docker_api.LogFollower(container, tail=1000, timeout=60, max_lines=50, max_line_bytes=100)
        lines, _ = collect(follower)
    assert len(lines) == 50 and follower.reason == "line cap"
    assert lines[0] == "x" * 100 and lines[1] == "l-0"


def test_the_deadline_and_close_end_a_quiet_log(app: App, instance: Instance) -> None:
    with printing(app, instance, "follow-quiet", "echo only; sleep 120") as container:
        timed = docker_api.LogFollower(container, tail=10, timeout=1.5, max_lines=100)
        lines, took = collect(timed)
        assert lines == ["only"] and timed.reason == "deadline" and 1.4 < took < 10, took
        closed = docker_api.LogFollower(container, tail=10, timeout=60, max_lines=100)
        threading.Timer(1.0, closed.close).start()
        lines, took = collect(closed)
        assert lines == ["only"] and closed.reason == "closed" and took < 10, took
