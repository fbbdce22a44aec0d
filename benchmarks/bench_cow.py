"""Every clone strategy at several template sizes and burst sizes; JSON and a PNG plot.

Three instances, one after the other, each on the suite's stand-in images:

- ``reflink``: PostgreSQL 18 with its data on an XFS (reflink=1) filesystem Oduflow manages
  (``[storage].cow_image_size_gb``): ``CREATE DATABASE ... STRATEGY FILE_COPY`` with
  ``file_copy_method = clone``;
- ``pool``: PostgreSQL 15 on the host's ext4, one spare clone per template (the default);
- ``file_copy``: PostgreSQL 15 on ext4, no spare: a full copy on every create.

For each template size (database rows plus a filestore of files of 50 KB, up to 1 GiB) and each
burst (creates started at once), it measures create-to-ready of every create, the physical disk
each fresh environment costs (filesystem extents not shared with the template:
:mod:`oduflow.services.disk`), ``list_environments`` latency while the burst runs, and on the
reflink instance the time of ``reset_environment``.

Usage (root, the Docker engine, the test images)::

    python -m benchmarks.bench_cow --sizes 0.1,1,2,5 --bursts 1,4,8 --out benchmarks/results

Each instance is removed at the end (containers, databases, the XFS image).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.bench_environments import make_repo
from benchmarks.harness import bench_instance, pad_template_db, redecide_storage, write_results
from oduflow import catalog
from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.services import clonestrategy, dbpool, disk, templates, templates_ops

FILE_KB = 50
MAX_FILESTORE_MB = 1024
INSTANCES: dict[str, dict[str, Any]] = {
    "reflink": {"pg_major": 18, "database": 'clone_strategy = "reflink"\n', "cow_gb": 48},
    "pool": {"pg_major": 15, "database": 'clone_strategy = "pool"\npool_size = 1\n', "cow_gb": 0},
    "file_copy": {"pg_major": 15, "database": 'clone_strategy = "file_copy"\npool_size = 0\n', "cow_gb": 0},
}


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def grow_template(app: App, team: TeamConfig, name: str, size_gib: float) -> dict[str, Any]:
    """Pad template ``name``: ``size_gib`` of database rows and a filestore of half that (<= 1 GiB)."""
    db, tdb = app.db(), app.names.template_db(team.id, name)
    pad_template_db(app, team.id, tdb, int(size_gib * 2**30 / 1100))  # ~1.1 KB per row on disk
    directory = app.team_dir(team.id) / "templates" / name
    filestore = directory / "filestore" / "bench"
    filestore.mkdir(parents=True, exist_ok=True)
    files = int(min(size_gib * 512, MAX_FILESTORE_MB) * 1024 // FILE_KB)
    chunk = os.urandom(FILE_KB * 1024)
    for i in range(files):  # 1000 files per directory, as Odoo spreads its attachments
        sub = filestore / f"{i // 1000:03d}"
        sub.mkdir(exist_ok=True)
        (sub / f"f{i:05d}").write_bytes(chunk)
    redecide_storage(app, directory)
    dbpool.wait_idle(team, name)
    dbpool.drain(app, team, name)  # spares of the empty template are out of date
    if app.config.database.pool_size > 0 and clonestrategy.detect(app).name == "pool":
        dbpool.fill(app, team, name)
    return {
        "database_bytes": db.size_bytes(tdb),
        "filestore_files": files,
        "storage": _storage(app, directory),
        "disk": disk.template_usage(app, team, name),
    }


def _storage(app: App, directory: Path) -> str:
    return templates.template_storage(app, templates.read_metadata(directory))


def _params(app: App, team: TeamConfig, branch: str) -> dict[str, Any]:
    record = app.store.get_env(team.id, branch)
    assert record is not None, branch
    return dict(record.params)


def _poll_list(app: App, team: TeamConfig, stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        out.append(_timed(lambda: catalog.invoke(app, team, "list_environments", {}))[0])
        time.sleep(0.05)


def burst(app: App, team: TeamConfig, template: str, count: int, base: dict[str, str]) -> dict[str, Any]:
    """``count`` creates at once: create-to-ready of each, disk per environment, list latency."""
    times: dict[str, float] = {}
    errors: dict[str, str] = {}

    def create(branch: str) -> None:
        try:
            times[branch] = _timed(
                lambda: catalog.invoke(
                    app,
                    team,
                    "create_environment",
                    {**base, "branch_name": branch, "template_name": template},
                )
            )[0]
        except Exception as exc:  # noqa: BLE001 - reported in the results
            errors[branch] = str(exc)[:300]

    dbpool.wait_idle(team, template)  # the pool as it stands between bursts: refilled
    branches = [f"b{count}-{template}-{i}" for i in range(count)]
    latencies: list[float] = []
    stop = threading.Event()
    poller = threading.Thread(target=_poll_list, args=(app, team, stop, latencies))
    poller.start()
    workers = [threading.Thread(target=create, args=(b,)) for b in branches]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stop.set()
    poller.join()
    usage = [disk.environment_usage(app, team, b) for b in branches if b in times]
    strategies = [_params(app, team, b).get("clone_strategy") for b in branches if b in times]
    for b in branches:
        if b in times:
            catalog.invoke(app, team, "delete_environment", {"branch_name": b})
    latencies.sort()
    return {
        "creates": count,
        "create_to_ready_s": [round(times[b], 3) for b in branches if b in times],
        "errors": errors,
        "clone_strategies": strategies,
        "disk_exclusive_bytes": [u["exclusive_bytes"] for u in usage],
        "database_exclusive_bytes": [(u.get("database") or {}).get("exclusive_bytes") for u in usage],
        "filestore_exclusive_bytes": [u["filestore"]["exclusive_bytes"] for u in usage],
        "list_ms": {
            "median": round(statistics.median(latencies) * 1000, 1) if latencies else None,
            "max": round(latencies[-1] * 1000, 1) if latencies else None,
            "samples": len(latencies),
        },
    }


def _merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several runs of one burst as one: their samples together (single creates are repeated)."""
    out = dict(runs[0])
    for key in ("create_to_ready_s", "clone_strategies", "disk_exclusive_bytes"):
        out[key] = [v for r in runs for v in r[key]]
    for key in ("database_exclusive_bytes", "filestore_exclusive_bytes"):
        out[key] = [v for r in runs for v in r[key]]
    out["errors"] = {k: v for r in runs for k, v in r["errors"].items()}
    medians = [r["list_ms"]["median"] for r in runs if r["list_ms"]["median"] is not None]
    maxima = [r["list_ms"]["max"] for r in runs if r["list_ms"]["max"] is not None]
    out["list_ms"] = {
        "median": statistics.median(medians) if medians else None,
        "max": max(maxima) if maxima else None,
        "samples": sum(r["list_ms"]["samples"] for r in runs),
    }
    out["create_median_s"] = statistics.median(out["create_to_ready_s"]) if out["create_to_ready_s"] else None
    return out


def bench_reset(
    app: App, team: TeamConfig, template: str, base: dict[str, str], repeat: int = 3
) -> dict[str, Any]:
    """``reset_environment`` of an environment that wrote some rows since (seconds, each run)."""
    branch = f"reset-{template}"
    catalog.invoke(
        app, team, "create_environment", {**base, "branch_name": branch, "template_name": template}
    )
    try:
        env_db = _params(app, team, branch)["db_name"]
        times = []
        for _ in range(repeat):
            app.db().query(
                "CREATE TABLE public.left_behind AS SELECT generate_series(1, 100000) AS n", dbname=env_db
            )
            seconds, _ = _timed(
                lambda: catalog.invoke(app, team, "reset_environment", {"branch_name": branch})
            )
            times.append(round(seconds, 3))
        return {"reset_s": times, "reset_median_s": statistics.median(times)}
    finally:
        catalog.invoke(app, team, "delete_environment", {"branch_name": branch})


def bench_strategy(
    name: str, sizes: list[float], bursts: list[int], ports: tuple[int, int], repeat: int = 5
) -> dict[str, Any]:
    spec = INSTANCES[name]
    with bench_instance(
        f"oduflowtest-cow{name[:4]}",
        ports,
        database=spec["database"],
        pg_major=spec["pg_major"],
        cow_gb=spec["cow_gb"],
    ) as (app, root, odoo_image):
        team = app.config.team("1")
        strategy = clonestrategy.detect(app, fresh=True)
        base = {"repo_url": make_repo(root), "odoo_image": odoo_image}
        out: dict[str, Any] = {"strategy": strategy.to_dict(), "sizes": []}
        for size in sizes:
            template = f"t{str(size).replace('.', '_')}"
            print(f"[{name}] template {size} GiB", flush=True)
            templates_ops.init_template(app, team, odoo_image, template, "base")
            row: dict[str, Any] = {"size_gib": size, "template": grow_template(app, team, template, size)}
            row["bursts"] = [
                _merge([burst(app, team, template, n, base) for _ in range(repeat if n == 1 else 1)])
                for n in bursts
            ]
            if name == "reflink" or size == max(sizes):
                row.update(bench_reset(app, team, template, base))
            templates.delete_template(app, team, template)
            out["sizes"].append(row)
        return out


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for name, res in results["strategies"].items():
        for b_index, count in enumerate(results["bursts"]):
            sizes = [r["size_gib"] for r in res["sizes"]]
            worst = [max(r["bursts"][b_index]["create_to_ready_s"] or [0]) for r in res["sizes"]]
            disk_mb = [
                statistics.median(r["bursts"][b_index]["disk_exclusive_bytes"] or [0]) / 2**20
                for r in res["sizes"]
            ]
            style = ["o-", "s--", "^:"][b_index % 3]
            axes[0].plot(sizes, worst, style, label=f"{name}, {count} at once")
            if b_index == 0:
                axes[1].plot(sizes, disk_mb, "o-", label=name)
            axes[2].plot(
                sizes,
                [r["bursts"][b_index]["list_ms"]["max"] or 0 for r in res["sizes"]],
                style,
                label=f"{name} x{count}",
            )
    axes[0].set(
        xlabel="template database (GiB)", ylabel="slowest create-to-ready (s)", title="create to ready"
    )
    axes[1].set(
        xlabel="template database (GiB)", ylabel="MiB (median)", title="physical disk per fresh environment"
    )
    axes[1].set_yscale("symlog")
    axes[2].set(
        xlabel="template database (GiB)", ylabel="ms (max)", title="list_environments during the burst"
    )
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="0.1,1,2,5", help="template database sizes in GiB")
    parser.add_argument("--bursts", default="1,4,8", help="creates started at once")
    parser.add_argument("--strategies", default="reflink,pool,file_copy")
    parser.add_argument("--repeat", type=int, default=5, help="single creates per template")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--merge", action="store_true", help="keep the other strategies of cow.json")
    args = parser.parse_args()
    sizes = [float(s) for s in args.sizes.split(",")]
    bursts = [int(b) for b in args.bursts.split(",")]
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}, "bursts": bursts, "strategies": {}}
    previous = args.out / "cow.json"
    if args.merge and previous.is_file():
        results["strategies"] = json.loads(previous.read_text())["strategies"]
    for index, name in enumerate(args.strategies.split(",")):
        start = 56600 + 100 * index
        results["strategies"][name] = bench_strategy(name, sizes, bursts, (start, start + 100), args.repeat)
        write_results(results, args.out, "cow", plot)  # after each: a later failure keeps these


if __name__ == "__main__":
    main()
