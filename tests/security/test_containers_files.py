"""Host files that containers write or read: the host copy of a container-written tree opens no
device, FIFO or socket and follows no link; secrets and team directories are private; the
state store's SQLite side files are as private as the database."""

from __future__ import annotations

import os
import socket
import stat
import threading
from pathlib import Path

import pytest

from oduflow.app import App
from oduflow.config import parse
from oduflow.fsutil import copy_tree, private_dir, write_private
from oduflow.state import EnvRecord, StateStore


def hostile_tree(root: Path) -> Path:
    """What a container can leave in its filestore: files, a FIFO, a socket, links out, and
    (when we are root, as the container's root was before MKNOD was dropped) a ``/dev/zero`` node."""
    src = root / "src"
    (src / "sub").mkdir(parents=True)
    (src / "kept.txt").write_text("kept")
    (src / "sub" / "deep.bin").write_bytes(b"\0\1" * 70000)
    (src / "sub" / "deep.bin").chmod(0o4755)  # setuid: dropped by the copy
    os.mkfifo(src / "fifo")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(src / "sock"))
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret").write_text("host secret")
    os.symlink(outside / "secret", src / "file-link")
    os.symlink(outside, src / "dir-link")
    if os.geteuid() == 0:
        os.mknod(src / "zero", stat.S_IFCHR | 0o666, os.makedev(1, 5))
    return src


def test_copy_tree_takes_files_dirs_and_links_only(tmp_path: Path) -> None:
    src = hostile_tree(tmp_path)
    dest = tmp_path / "dest"
    done = threading.Event()
    skipped: list[str] = []

    def run() -> None:
        skipped.extend(copy_tree(src, dest))
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(60), "copy_tree blocked (opened the FIFO?)"
    expected = {"fifo", "sock"} | ({"zero"} if os.geteuid() == 0 else set())
    assert set(skipped) == expected
    assert sorted(p.name for p in dest.iterdir()) == ["dir-link", "file-link", "kept.txt", "sub"]
    assert (dest / "kept.txt").read_text() == "kept"
    assert (dest / "sub" / "deep.bin").read_bytes() == b"\0\1" * 70000
    assert stat.S_IMODE((dest / "sub" / "deep.bin").stat().st_mode) == 0o755
    for link in ("file-link", "dir-link"):
        assert (dest / link).is_symlink() and os.readlink(dest / link) == os.readlink(src / link)


def test_copy_tree_does_not_follow_a_directory_swapped_for_a_link(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "a").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret").write_text("host secret")
    (src / "a").rmdir()
    os.symlink(tmp_path / "outside", src / "a")  # what a racing container would do
    assert copy_tree(src, tmp_path / "dest") == []
    assert (tmp_path / "dest" / "a").is_symlink()
    assert not any(p.name == "secret" for p in (tmp_path / "dest").rglob("*"))


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to the image user needs root")
def test_odoo_conf_is_private_to_the_image_user(tmp_path: Path) -> None:
    conf = tmp_path / "odoo.conf"
    conf.write_text("old")
    conf.chmod(0o644)
    write_private(conf, "[options]\ndb_password = s3cret\n", 101, 101)
    info = conf.stat()
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o600, 101, 101)
    assert conf.read_text() == "[options]\ndb_password = s3cret\n"
    os.symlink(tmp_path / "elsewhere", tmp_path / "link.conf")
    with pytest.raises(OSError):
        write_private(tmp_path / "link.conf", "x", 101, 101)  # never written through a link
    assert not (tmp_path / "elsewhere").exists()


def test_team_directories_are_private_whoever_makes_them(tmp_path: Path) -> None:
    app = App(parse({"storage": {"data_dir": str(tmp_path / "data")}, "team": {"1": {}, "late": {}}}))
    assert not (tmp_path / "data").exists()
    # a team added after `init`: its first operation (here the templates folder) makes the directory
    templates = app.team_dir("late") / "templates"
    templates.mkdir(parents=True)
    assert stat.S_IMODE((tmp_path / "data" / "team_late").stat().st_mode) == 0o700
    old = tmp_path / "data" / "team_1"
    old.mkdir(mode=0o755)
    old.chmod(0o755)  # made by an earlier version
    assert app.team_dir("1") == old and stat.S_IMODE(old.stat().st_mode) == 0o700
    assert stat.S_IMODE(private_dir(tmp_path / "x" / "y").stat().st_mode) == 0o700


def test_state_store_and_its_wal_and_shm_files_are_0600(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        store = StateStore(tmp_path / "state.db")
        store.add_env(EnvRecord(team="1", branch="b", slug="b"))
        reader = StateStore(tmp_path / "state.db")  # a second process-like connection
        assert reader.get_env("1", "b") is not None
        files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
        assert {"state.db", "state.db-wal", "state.db-shm"} <= set(files), files
        assert set(files.values()) == {0o600}, files
        reader.close()
        store.close()
    finally:
        os.umask(old_umask)
    # side files an earlier version left world-readable are tightened at the next open
    (tmp_path / "state.db-wal").touch()
    (tmp_path / "state.db-wal").chmod(0o644)
    again = StateStore(tmp_path / "state.db")
    assert stat.S_IMODE((tmp_path / "state.db-wal").stat().st_mode) == 0o600
    again.close()
