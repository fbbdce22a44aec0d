"""Snapshots and resets without Docker: their database names, the filestore swap and sync, the tools."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest

from oduflow.catalog import get_tool
from oduflow.contracts import SHARES_TEMPLATE_FILESTORE, FilestoreSpec
from oduflow.naming import PG_MAX_IDENT, SNAPSHOT_DB, Names
from oduflow.services import cleanup, env_snapshots, filestore_swap
from plugins.storage_copy import CopyStorage

TEAM_CHARS = "abcXYZ019-"
SLUG_CHARS = "abz09-"
SNAP_CHARS = "abz09-_"


def _word(rng: random.Random, chars: str, low: int, high: int) -> str:
    first = rng.choice([c for c in chars if c.isalnum()])
    return first + "".join(rng.choice(chars) for _ in range(rng.randint(low, high) - 1))


def test_snapshot_and_switch_databases_have_one_owner_each() -> None:
    names, rng = Names(), random.Random(12)
    seen: dict[str, tuple[str, ...]] = {}
    for _ in range(600):
        team, slug = _word(rng, TEAM_CHARS, 1, 20), _word(rng, SLUG_CHARS, 1, 48)
        snap = _word(rng, SNAP_CHARS, 1, 63)
        made = {
            ("snap", team, slug, snap): names.env_snapshot_db(team, slug, snap),
            ("next", team, slug): names.env_next_db(team, slug),
            ("prev", team, slug): names.env_prev_db(team, slug),
            ("env", team, slug): names.env_db(team, slug),
        }
        for owner, name in made.items():
            assert len(name.encode()) <= PG_MAX_IDENT
            assert seen.setdefault(name, owner) == owner, f"{owner} and {seen[name]} share {name}"


def test_a_shortened_snapshot_name_never_equals_a_short_one() -> None:
    """The digest a long name ends in is a valid snapshot name: a short name spelt with it differs."""
    n = Names()
    long = n.env_snapshot_db("1", "s" * 40, "x" * 40)
    assert long.count(".") == 2  # oduflow. and the digest's mark
    digest = long.rsplit(".", 1)[1]
    crafted = n.env_snapshot_db("1", long.split("_")[2].split(".")[0], digest)
    assert crafted != long and crafted.count(".") == 1 and len(crafted) == PG_MAX_IDENT
    assert n.env_snapshot_db("a", "b-x", "c") != n.env_snapshot_db("a-b", "x", "c")
    assert n.env_snapshot_db("1", "a", "b_c") != n.env_snapshot_db("1", "a-b", "c")


def test_the_slug_is_read_back_from_short_names_only() -> None:
    n = Names()

    class App:
        names = n

    app: Any = App()
    short = n.env_snapshot_db("1", "feature-x", "before_tests")
    assert env_snapshots._slug_in(app, "1", short, SNAPSHOT_DB) == "feature-x"
    assert env_snapshots._slug_in(app, "2", short, SNAPSHOT_DB) is None
    assert env_snapshots._slug_in(app, "1", n.env_snapshot_db("1", "s" * 48, "y" * 40), SNAPSHOT_DB) is None


def test_a_mount_in_a_switch_directory_is_guarded_by_its_workspace(tmp_path: Path) -> None:
    root = tmp_path / "workspaces"
    assert cleanup._workspace_of(root / "feat" / ".next-filestore" / "filestore", root) == "feat"
    assert cleanup._workspace_of(root / "feat" / "filestore", root) == "feat"


# --- the filestore ------------------------------------------------------------------------------
def make_tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)


def read_tree(root: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for current, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(current, name)
            rel = str(path.relative_to(root))
            if path.is_symlink():
                out[rel] = ("link", os.readlink(path))
            elif path.is_file():
                out[rel] = path.read_bytes()
    return out


def test_sync_tree_makes_dest_equal_and_keeps_what_is_equal(tmp_path: Path) -> None:
    src, dest, outside = tmp_path / "src", tmp_path / "dest", tmp_path / "outside"
    make_tree(src, {"ab/same": b"same", "ab/changed": b"new!", "cd/new": b"n", "file-here": b"f"})
    (src / "link").symlink_to("ab/same")
    make_tree(outside, {"keep": b"keep"})
    make_tree(dest, {"ab/changed": b"old", "gone/x": b"x", "ab/extra": b"e"})
    (dest / "ab" / "same").write_bytes(b"same")
    st = (src / "ab" / "same").stat()
    os.utime(dest / "ab" / "same", ns=(st.st_atime_ns, st.st_mtime_ns))
    (dest / "ab" / "same").chmod(st.st_mode)
    kept_inode = (dest / "ab" / "same").stat().st_ino
    (dest / "file-here").mkdir()  # a directory where the snapshot has a file
    (dest / "cd").symlink_to(outside)  # a link where the snapshot has a directory: never followed

    filestore_swap.sync_tree(src, dest, os.getuid(), os.getgid())

    assert read_tree(dest) == read_tree(src)
    assert (dest / "ab" / "same").stat().st_ino == kept_inode
    assert read_tree(outside) == {"keep": b"keep"}


def spec(ws: Path, lower: Path | None = None) -> FilestoreSpec:
    return FilestoreSpec(ws, lower, os.getuid(), os.getgid())


def test_swap_in_and_back_move_entries_only(tmp_path: Path) -> None:
    backend = CopyStorage()
    ws, nxt, prev = tmp_path / "ws", tmp_path / "ws" / ".next", tmp_path / "ws" / ".prev"
    ws.mkdir()
    make_tree(ws / "filestore", {"old": b"old"})
    make_tree(ws / "repo", {"keep": b"k"})
    nxt.mkdir()
    make_tree(nxt / "filestore", {"new": b"new"})
    swap = filestore_swap.FilestoreSwap(backend, spec(ws), nxt, prev)

    swap.swap_in()
    assert read_tree(ws / "filestore") == {"new": b"new"} and read_tree(prev) == {"filestore/old": b"old"}
    assert read_tree(ws / "repo") == {"keep": b"k"}

    swap.swap_back()
    assert read_tree(ws / "filestore") == {"old": b"old"} and not prev.exists()
    assert read_tree(nxt) == {"filestore/new": b"new"}


def test_a_swap_that_fails_half_way_is_undone_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, nxt, prev = tmp_path / "ws", tmp_path / "ws" / ".next", tmp_path / "ws" / ".prev"
    make_tree(ws / "filestore", {"old": b"old"})
    make_tree(ws / "filestore_upper", {"up": b"up"})
    make_tree(nxt / "filestore", {"new": b"new"})
    swap = filestore_swap.FilestoreSwap(CopyStorage(), spec(ws), nxt, prev)
    real_move = swap._move
    calls: list[int] = []

    def move(src: Path, dest: Path) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk on fire")
        real_move(src, dest)

    monkeypatch.setattr(swap, "_move", move)
    with pytest.raises(OSError, match="disk on fire"):
        swap.swap_in()
    swap.swap_back()

    assert read_tree(ws / "filestore") == {"old": b"old"}
    assert read_tree(ws / "filestore_upper") == {"up": b"up"}
    assert read_tree(nxt) == {"filestore/new": b"new"} and not prev.exists()


class SharingCopy(CopyStorage):
    """A copy backend that claims to read the template live: restores go through sync_tree."""

    capabilities = frozenset({SHARES_TEMPLATE_FILESTORE})


@pytest.mark.parametrize("backend", [CopyStorage(), SharingCopy()], ids=["own", "sharing"])
def test_prepare_gives_the_template_or_exactly_the_snapshot(tmp_path: Path, backend: CopyStorage) -> None:
    template, snapshot = tmp_path / "template", tmp_path / "snapshot"
    make_tree(template, {"ab/t1": b"t1", "ab/t2": b"t2"})
    make_tree(snapshot, {"ab/t1": b"t1", "cd/mine": b"mine"})  # t2 deleted, mine added
    fresh, restored = tmp_path / "fresh", tmp_path / "restored"
    fresh.mkdir()
    restored.mkdir()

    filestore_swap.prepare(backend, spec(fresh, template), None)
    filestore_swap.prepare(backend, spec(restored, template), snapshot)

    assert read_tree(fresh / "filestore") == read_tree(template)
    assert read_tree(restored / "filestore") == read_tree(snapshot)


# --- the tools ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "lock", "read_only", "destructive", "idempotent"),
    [
        ("reset_environment", "branch", False, True, True),
        ("snapshot_environment", "branch", False, False, False),
        ("restore_snapshot", "branch", False, True, True),
        ("list_snapshots", "none", True, False, True),
        ("delete_snapshot", "branch", False, True, True),
    ],
)
def test_the_tools_say_what_they_do(
    name: str, lock: str, read_only: bool, destructive: bool, idempotent: bool
) -> None:
    spec_ = get_tool(name)
    hints = spec_.annotations()
    assert spec_.lock == lock and spec_.audience == "agent"
    assert (hints["readOnlyHint"], hints["destructiveHint"], hints["idempotentHint"]) == (
        read_only,
        destructive,
        idempotent,
    )
    assert "branch_name" in {p.name for p in spec_.parameters}
