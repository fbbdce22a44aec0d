"""Measure the filestore backends on one reflink filesystem; write JSON and a PNG plot.

On an XFS (``reflink=1``) loop filesystem (``tests/fixtures/xfs.py``), template filestores of
growing file counts are made (random bytes, file sizes uniform in 1-99 KiB: 50 KiB on average,
like the 1 GB / 20,000-file filestore of issue 12, in Odoo's ``xx/<sha1>`` layout). For each
backend (``reflink``, ``overlay`` = fuse-overlayfs, ``copy``, which clones too where it can, and
``full copy``, what ``copy`` does where nothing can be cloned), through the plugins themselves:

- provision time (what ``create_environment`` waits for), alone and ``--concurrent`` at once;
- physical disk per environment: the filesystem's free-space delta (``statvfs``, after a sync:
  data and metadata), and the data blocks not shared with the template (FIEMAP,
  :mod:`oduflow.diskusage`);
- the first read of every file through the environment's filestore, cold (the template's and
  the copy's pages dropped from the page cache, the image file's too), then the second read;
- release time (what ``delete_environment`` waits for).

Usage (root, ``xfsprogs``, fuse-overlayfs; a sparse image of ``--image-mb`` next to ``--dir``)::

    python -m benchmarks.bench_filestore --files 100,1000,5000,20000 --repeat 3

Results go to ``results/filestore.json`` and ``results/filestore.png``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.harness import write_results
from oduflow import diskusage
from oduflow.contracts import FilestoreSpec, StorageBackend
from oduflow.fsutil import chown_tree, copy_tree, rmtree
from oduflow_plugins.storage_copy import CopyStorage
from oduflow_plugins.storage_overlay import OverlayStorage
from oduflow_plugins.storage_reflink import SETTINGS, ReflinkStorage
from tests.fixtures.xfs import image_path, xfs_loop


class FullCopy(CopyStorage):
    """``copy`` as it is where nothing can be cloned (ext4): every byte copied."""

    def provision(self, spec: FilestoreSpec) -> None:
        assert spec.lower is not None
        copy_tree(spec.lower, spec.merged, clone=False)
        chown_tree(spec.merged, spec.uid, spec.gid)


BACKENDS: dict[str, Callable[[], StorageBackend]] = {
    "reflink": ReflinkStorage,
    "overlay": OverlayStorage,
    "copy": CopyStorage,
    "full copy": FullCopy,
}
MIN_FILE, MAX_FILE = 1024, 99 * 1024
READ_BUF = bytearray(1 << 20)


def make_filestore(root: Path, files: int, seed: int = 12) -> int:
    """``files`` files of random bytes below ``root`` (``xx/<sha1>``); their total size."""
    rng, total = random.Random(seed), 0
    for i in range(files):
        name = hashlib.sha1(f"{seed}-{i}".encode()).hexdigest()
        size = rng.randint(MIN_FILE, MAX_FILE)
        (root / name[:2]).mkdir(parents=True, exist_ok=True)
        (root / name[:2] / name).write_bytes(os.urandom(size))
        total += size
    return total


def _files(root: Path) -> Iterator[Path]:
    for current, _dirs, names in os.walk(root):
        for name in names:
            yield Path(current, name)


def evict(roots: list[Path], image: Path) -> None:
    """Write everything back, then drop the pages of the files below ``roots`` and of ``image``
    (the loop filesystem's backing file) from the page cache: the next read goes to the disk."""
    os.sync()
    for path in [*(p for root in roots for p in _files(root)), image]:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def read_all(root: Path) -> float:
    """Seconds to read every file below ``root`` to the end."""
    started = time.perf_counter()
    for path in _files(root):
        with open(path, "rb", buffering=0) as fh:
            while fh.readinto(READ_BUF):
                pass
    return time.perf_counter() - started


def free_bytes(path: Path) -> int:
    """Free bytes of ``path``'s filesystem once it is written back and stops moving (XFS frees
    released blocks in the background)."""
    last = -1
    for _ in range(50):
        os.sync()
        st = os.statvfs(path)
        now = st.f_bfree * st.f_frsize
        if now == last:
            return now
        last = now
        time.sleep(0.1)
    return last


def _spec(base: Path, lower: Path) -> FilestoreSpec:
    return FilestoreSpec(workspace=Path(tempfile.mkdtemp(prefix="ws-", dir=base)), lower=lower)


def _private_bytes(name: str, spec: FilestoreSpec) -> int:
    """Data blocks of the environment not shared with the template (FIEMAP)."""
    where = spec.upper if name == "overlay" else spec.merged
    return diskusage.usage([where]).exclusive_bytes


def one_run(name: str, base: Path, lower: Path) -> dict[str, float]:
    """One environment's filestore with backend ``name``: provision, measure, read, release."""
    backend, spec = BACKENDS[name](), _spec(base, lower)
    try:
        before = free_bytes(base)
        started = time.perf_counter()
        backend.provision(spec)
        provision_s = time.perf_counter() - started
        disk = before - free_bytes(base)
        private = _private_bytes(name, spec)
        evict([lower, spec.merged] if name != "overlay" else [lower], image_path(base))
        cold = read_all(spec.merged)
        warm = read_all(spec.merged)
        started = time.perf_counter()
        backend.release(spec)
        release_s = time.perf_counter() - started
    finally:
        backend.release(spec)
        rmtree(spec.workspace)
    return {
        "provision_s": provision_s,
        "disk_mb": disk / 2**20,
        "private_data_mb": private / 2**20,
        "cold_read_s": cold,
        "warm_read_s": warm,
        "release_s": release_s,
    }


def concurrent_provision(name: str, base: Path, lower: Path, count: int) -> float:
    """Wall seconds for ``count`` provisions at once (threads, as concurrent creates run)."""
    backend = BACKENDS[name]()
    specs = [_spec(base, lower) for _ in range(count)]
    try:
        free_bytes(base)
        with ThreadPoolExecutor(count) as pool:
            started = time.perf_counter()
            for future in [pool.submit(backend.provision, spec) for spec in specs]:
                future.result()
            return time.perf_counter() - started
    finally:
        for spec in specs:
            backend.release(spec)
            rmtree(spec.workspace)


def measure_size(base: Path, files: int, repeat: int, concurrent: int) -> dict[str, Any]:
    """Every backend on one template filestore of ``files`` files."""
    lower = base / f"template-{files}"
    total = make_filestore(lower, files)
    out: dict[str, Any] = {"files": files, "total_mb": total / 2**20, "backends": {}}
    for name in BACKENDS:
        runs = [one_run(name, base, lower) for _ in range(repeat)]
        medians = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        walls = [concurrent_provision(name, base, lower, concurrent) for _ in range(repeat)]
        medians[f"concurrent_{concurrent}_s"] = statistics.median(walls)
        out["backends"][name] = {"median": medians, "runs": runs, f"concurrent_{concurrent}_s": walls}
        print(f"{files:>6} files  {name:<8} {medians}", flush=True)
    rmtree(lower)
    return out


PANELS = (
    ("provision_s", "provision, one (s)"),
    ("concurrent_s", "provision, N at once (s, wall)"),
    ("disk_mb", "disk per environment (MB, statvfs)"),
    ("cold_read_s", "first read of every file, cold (s)"),
    ("warm_read_s", "second read of every file (s)"),
)


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes, concurrent = results["sizes"], results["concurrent"]
    counts = [s["files"] for s in sizes]
    fig, axes = plt.subplots(1, len(PANELS), figsize=(22, 4.2))
    for ax, (key, title) in zip(axes, PANELS, strict=True):
        key = f"concurrent_{concurrent}_s" if key == "concurrent_s" else key
        for name in BACKENDS:
            ax.plot(counts, [s["backends"][name]["median"][key] for s in sizes], "o-", label=name)
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=0.1 if key == "disk_mb" else 0.01)
        ax.set_ylim(bottom=0)
        if results.get("threshold_files"):
            ax.axvline(results["threshold_files"], color="grey", linestyle="--", label="reflink max_mb")
        ax.set_xlabel("template filestore files (50 KiB average)")
        ax.set_title(title.replace("N at once", f"{concurrent} at once"))
        ax.legend(fontsize=8)
    fig.suptitle("filestore backends on XFS reflink=1 (medians; symlog scales)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", default="100,1000,5000,20000", help="file counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrent", type=int, default=4)
    parser.add_argument("--image-mb", type=int, default=8192, help="size of the sparse XFS image")
    parser.add_argument("--dir", type=Path, default=Path("/var/tmp"), help="where the image goes")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    mountpoint = Path(tempfile.mkdtemp(prefix="oduflow-bench-xfs-", dir=args.dir)) / "xfs"
    with xfs_loop(mountpoint, args.image_mb) as base:
        sizes = [measure_size(base, int(n), args.repeat, args.concurrent) for n in args.files.split(",")]
    mountpoint.parent.rmdir()
    results = {
        "machine": {"cpus": os.cpu_count(), "kernel": os.uname().release},
        "filesystem": "xfs reflink=1 on a loop device over an ext4 image file",
        "repeat": args.repeat,
        "concurrent": args.concurrent,
        "reflink_max_mb": SETTINGS.settings[0].default,
        "threshold_files": SETTINGS.settings[0].default * 1024 // 50,
        "sizes": sizes,
    }
    write_results(results, args.out, "filestore", plot)


if __name__ == "__main__":
    main()
