"""Measure environment creation and deletion on real components; write JSON and a PNG plot.

For templates of growing size (database padding + filestore), measures:

- create-to-ready (``create_environment`` until Odoo serves its database) and delete time,
  for overlay and copy filestores;
- the raw ``CREATE DATABASE ... TEMPLATE`` time per clone strategy (``FILE_COPY``, ``WAL_LOG``);
- disk used per environment (database size, filestore upper layer);
- ``list_environments`` latency while creations run in parallel.

Usage (needs the Docker engine and the test images; sizes in MB)::

    python -m benchmarks.bench_environments --sizes 100,1000 --out benchmarks/results

It makes its own instance (name prefix ``oduflowtest-bench``) and removes it at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import bench_instance, pad_template_db, redecide_storage, write_results
from oduflow import catalog
from oduflow.app import App
from oduflow.fsutil import dir_size
from oduflow.services import dbpool, templates, templates_ops


def make_repo(root: Path) -> str:
    import subprocess

    repo = root / "repo.git"
    work = root / "work"
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@b",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@b",
    }
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(repo)], check=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    (work / "README.md").write_text("bench\n")
    for args in (["add", "-A"], ["commit", "-qm", "init"], ["push", "-q", str(repo), "HEAD:main"]):
        subprocess.run(["git", *args], cwd=work, check=True, env=env)
    return f"file://{repo}"


def grow_template(app: App, name: str, size_mb: int) -> None:
    """Pad template ``name`` to about ``size_mb``: half database rows, half filestore files."""
    directory = app.team_dir("1") / "templates" / name
    tdb = app.names.template_db("1", name)
    pad_template_db(app, "1", tdb, max(1, size_mb // 2) * 1024)  # ~1 KB per row
    filestore = directory / "filestore" / "bench"
    filestore.mkdir(parents=True, exist_ok=True)
    chunk = os.urandom(1 << 20)
    for i in range(max(1, size_mb // 2)):
        (filestore / f"f{i:05d}").write_bytes(chunk)
    redecide_storage(app, directory)
    team = app.config.team("1")
    dbpool.wait_idle(team, name)
    dbpool.drain(app, team, name)  # spares cloned before the padding are out of date


def timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def bench_clone(app: App, template_db: str, repeat: int) -> dict[str, float]:
    db = app.db()
    out = {}
    for strategy in ("FILE_COPY", "WAL_LOG"):
        times = []
        for i in range(repeat):
            name = f"oduflow_bench_clone_{i}"
            t, _ = timed(lambda n=name, s=strategy: db.clone(n, template_db, strategy=s))
            times.append(t)
            db.drop(name)
        out[strategy] = statistics.median(times)
    return out


def bench_size(app: App, size_mb: int, odoo_image: str, repo_url: str, repeat: int) -> dict[str, Any]:
    team = app.config.team("1")
    name = f"bench{size_mb}"
    templates_ops.init_template(app, team, odoo_image, name, "base")
    grow_template(app, name, size_mb)
    tdb = app.names.template_db("1", name)
    result: dict[str, Any] = {
        "size_mb": size_mb,
        "template_db_mb": round(app.db().size_bytes(tdb) / 2**20, 1),
        "clone_s": bench_clone(app, tdb, repeat),
    }
    storage = templates.template_storage(app, templates.read_metadata(app.team_dir("1") / "templates" / name))
    creates: list[float] = []
    creates_no_spare: list[float] = []
    deletes, disk = [], []
    for i in range(2 * repeat):
        with_spare = i % 2 == 0
        dbpool.wait_idle(team, name)
        if with_spare:
            dbpool.fill(app, team, name)
        else:
            dbpool.drain(app, team, name)
        branch = f"bench-{size_mb}-{i}"
        t, created = timed(
            lambda b=branch: catalog.invoke(
                app,
                team,
                "create_environment",
                {"branch_name": b, "template_name": name, "repo_url": repo_url, "odoo_image": odoo_image},
            )
        )
        (creates if with_spare else creates_no_spare).append(t)
        ws = app.team_dir("1") / "workspaces" / branch
        disk.append(
            {
                "database_mb": round(app.db().size_bytes(created["database"]) / 2**20, 1),
                "filestore_upper_mb": round(dir_size(ws / "filestore_upper") / 2**20, 2),
                "filestore_mb": round(dir_size(ws / "filestore") / 2**20, 1) if storage == "copy" else None,
            }
        )
        t, _ = timed(lambda b=branch: catalog.invoke(app, team, "delete_environment", {"branch_name": b}))
        deletes.append(t)
    result.update(
        {
            "storage": storage,
            "create_to_ready_s": creates,
            "create_to_ready_no_spare_s": creates_no_spare,
            "delete_s": deletes,
            "create_median_s": statistics.median(creates),
            "create_no_spare_median_s": statistics.median(creates_no_spare),
            "delete_median_s": statistics.median(deletes),
            "disk_per_env": disk[0],
        }
    )
    templates.delete_template(app, team, name)
    return result


def bench_list_latency(app: App, odoo_image: str, repo_url: str, parallel: int) -> dict[str, Any]:
    team = app.config.team("1")
    latencies: list[float] = []
    stop = threading.Event()

    def create(i: int) -> None:
        catalog.invoke(
            app,
            team,
            "create_environment",
            {
                "branch_name": f"par-{i}",
                "template_name": "none",
                "repo_url": repo_url,
                "odoo_image": odoo_image,
            },
        )

    threads = [threading.Thread(target=create, args=(i,)) for i in range(parallel)]
    for t in threads:
        t.start()

    def poll() -> None:
        while not stop.is_set():
            latencies.append(timed(lambda: catalog.invoke(app, team, "list_environments", {}))[0])
            time.sleep(0.1)

    poller = threading.Thread(target=poll)
    poller.start()
    for t in threads:
        t.join()
    stop.set()
    poller.join()
    created = [r.branch for r in app.store.list_envs("1") if r.branch.startswith("par-")]
    for branch in created:
        catalog.invoke(app, team, "delete_environment", {"branch_name": branch})
    latencies.sort()
    return {
        "parallel_creates": parallel,
        "succeeded": len(created),
        "samples": len(latencies),
        "median_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
    }


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["size_mb"] for r in results["sizes"]]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.plot(
        sizes, [r["create_median_s"] for r in results["sizes"]], "o-", label="create to ready (spare clone)"
    )
    ax1.plot(
        sizes,
        [r["create_no_spare_median_s"] for r in results["sizes"]],
        "^-",
        label="create to ready (no spare)",
    )
    ax1.plot(sizes, [r["delete_median_s"] for r in results["sizes"]], "s-", label="delete")
    ax1.set_xlabel("template size (MB)")
    ax1.set_ylabel("seconds (median)")
    ax1.set_title("environment create / delete")
    ax1.legend()
    for strategy in ("FILE_COPY", "WAL_LOG"):
        ax2.plot(sizes, [r["clone_s"][strategy] for r in results["sizes"]], "o-", label=strategy)
    ax2.set_xlabel("template size (MB)")
    ax2.set_ylabel("seconds (median)")
    ax2.set_title("CREATE DATABASE ... TEMPLATE")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,500,1000", help="template sizes in MB, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    storage = "overlay_threshold_mb = 1\n"
    with bench_instance("oduflowtest-bench", (56500, 56600), storage) as (app, root, odoo_image):
        repo_url = make_repo(root)
        results: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}, "sizes": []}
        for size in (int(s) for s in args.sizes.split(",")):
            print(f"template {size} MB ...", flush=True)
            results["sizes"].append(bench_size(app, size, odoo_image, repo_url, args.repeat))
        results["list_latency"] = bench_list_latency(app, odoo_image, repo_url, args.parallel)
    write_results(results, args.out, "environments", plot)


if __name__ == "__main__":
    main()
