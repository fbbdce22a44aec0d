"""Measure the two ways to run Odoo tests beside a serving server; write JSON and a PNG plot.

Odoo starts its HTTP server under ``--test-enable`` whatever ``--no-http`` says, so a test run
cannot take the serving server's port. Two designs avoid that:

- ``own port``: ``docker exec`` into the serving container with ``--http-port=<free port>``
  (what ``run_odoo_tests`` does);
- ``own container``: a one-off container of the same image with the environment's
  configuration, checkout and filestore mounted, on the default port.

For each, the wall time of ``odoo --test-enable -i demo_ok -u demo_ok --stop-after-init`` from
the call until the result is back, and whether the serving server answered ``/web/health``
throughout. Usage (needs the Docker engine and the test images)::

    python -m benchmarks.bench_test_runs --repeat 5 --out benchmarks/results
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.harness import bench_instance, write_results
from oduflow import catalog
from oduflow.app import App
from oduflow.services import odoo_ops, runtime
from oduflow.services.envmodel import container_spec, get_env
from tests.fixtures.instance import make_remote

BRANCH = "bench-tests"


def own_port(app: App) -> tuple[float, int]:
    """(seconds, exit code) of a test run inside the serving container on its own port."""
    team = app.config.team("1")
    started = time.perf_counter()
    result = odoo_ops.run_odoo_tests(app, team, BRANCH, "demo_ok")
    return time.perf_counter() - started, int(result["exit_code"])


def own_container(app: App) -> tuple[float, int]:
    """(seconds, exit code) of the same run in a one-off container with the environment's mounts."""
    team = app.config.team("1")
    env = get_env(app, team, BRANCH)
    serving = container_spec(app, env.identity, env.params.run_image or env.params.odoo_image, _route(app))
    argv = odoo_ops.odoo_argv(
        env.params.db_name, "--test-enable", "-i", "demo_ok", "-u", "demo_ok", http_port=runtime.ODOO_PORT
    )
    spec = runtime.OdooContainerSpec(
        name=app.names.job_container("1", "bench-tests"),
        image=serving.image,
        conf_file=serving.conf_file,
        repo_dir=serving.repo_dir,
        filestore_dir=serving.filestore_dir,
        db_name=serving.db_name,
        labels=app.names.labels("job", "1"),
        command=argv,
    )
    started = time.perf_counter()
    code, _ = runtime.run_job(app, spec)
    return time.perf_counter() - started, code


def _route(app: App) -> Any:
    from oduflow.services.envmodel import route_request

    env = get_env(app, app.config.team("1"), BRANCH)
    return app.router.route(route_request(app.config.team("1"), env.paths.slug))


def health_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - own test container
            return resp.status == 200
    except OSError:
        return False


def measure(app: App, repeat: int) -> dict[str, Any]:
    env = get_env(app, app.config.team("1"), BRANCH)
    container = app.docker().containers.get(env.container_name)
    health = f"http://{runtime.container_ip(app, container)}:{runtime.ODOO_PORT}/web/health"
    out: dict[str, Any] = {}
    for name, fn in (("own port", own_port), ("own container", own_container)):
        times, codes = [], []
        for _ in range(repeat):
            seconds, code = fn(app)
            times.append(seconds)
            codes.append(code)
        out[name] = {
            "seconds": times,
            "median_s": statistics.median(times),
            "exit_codes": codes,
            "serving_server_answered_after": health_ok(health),
        }
    return out


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    names = list(results["runs"])
    ax.boxplot([results["runs"][n]["seconds"] for n in names])
    ax.set_xticks(range(1, len(names) + 1), names)
    ax.set_ylabel("seconds per test run")
    ax.set_title("run_odoo_tests demo_ok beside a serving server")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    with bench_instance("oduflowtest-benchtests", (56700, 56750)) as (app, root, odoo_image):
        remote = make_remote(root, "demo_ok")
        team = app.config.team("1")
        catalog.invoke(app, team, "create_environment", {
            "branch_name": BRANCH, "template_name": "none", "repo_url": remote.url, "odoo_image": odoo_image,
        })  # fmt: skip
        catalog.invoke(app, team, "install_odoo_modules", {"branch_name": BRANCH, "modules": "demo_ok"})
        results = {
            "machine": {"cpus": os.cpu_count()},
            "repeat": args.repeat,
            "runs": measure(app, args.repeat),
        }
    write_results(results, args.out, "test_runs", plot)


if __name__ == "__main__":
    main()
