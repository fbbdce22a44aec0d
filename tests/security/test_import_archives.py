"""Attacks through the backup zip an imported Odoo serves: zip bombs (one member expanding a
thousand times, many members expanding past the limit, a member lying about its size, too many
members) and paths escaping the staging directory (``..``, absolute paths, links). Each is
refused before anything lands outside the staging directory, which is removed."""

from __future__ import annotations

import stat
import struct
import zipfile
from pathlib import Path

import pytest

from oduflow.app import App
from oduflow.errors import ValidationError
from oduflow.services import odoo_import
from tests.docker.odoo_env import TEAM, call
from tests.security.netservers import FakeOdoo, backup_zip, restricted_app

MASTER = "master-pw-archives"


def import_zip(app: App, archive: Path, **limits: int) -> None:
    with FakeOdoo(backup_zip=archive) as server:
        call(restricted_app(app, "127.0.0.1", **limits), "import_template_from_odoo",
             odoo_url=server.url(), master_pwd=MASTER, template_name="imp-zip")  # fmt: skip


def no_trace(app: App) -> None:
    root = app.team_dir(TEAM) / "templates"
    assert not (root / "imp-zip").exists() and not list(root.glob(".import-*"))
    assert not app.db().exists(app.names.template_db(TEAM, "imp-zip"))


def with_mode(path: Path, name: str, data: bytes, mode: int) -> Path:
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr(info, data)
    return path


def lying_about_its_size(path: Path, real: int, declared: int) -> Path:
    """A backup whose ``filestore/big`` declares ``declared`` bytes and expands to ``real``."""
    backup_zip(path, {"filestore/big": b"\0" * real})
    data = bytearray(path.read_bytes())
    name = b"filestore/big"
    # uncompressed size: offset 22 of a local header (name at 30), 24 of a central one (name at 46)
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        pos = data.find(signature)
        while pos >= 0:
            if data[pos + name_at : pos + name_at + len(name)] == name:
                struct.pack_into("<I", data, pos + size_at, declared)
            pos = data.find(signature, pos + 4)
    path.write_bytes(bytes(data))
    return path


def test_a_member_expanding_a_thousand_times_is_refused(app: App, tmp_path: Path) -> None:
    archive = backup_zip(tmp_path / "bomb.zip", {"filestore/ab/zeros": b"\0" * (40 << 20)})
    assert archive.stat().st_size < 200_000  # 40 MB in a small download
    with pytest.raises(ValidationError, match="zip bomb"):
        import_zip(app, archive)
    no_trace(app)


def test_members_expanding_past_the_limit_are_refused(app: App, tmp_path: Path) -> None:
    members = {f"filestore/{i:02x}/f": bytes([i]) * (900 << 10) for i in range(12)}  # 12 x 0.9 MB
    archive = backup_zip(tmp_path / "wide.zip", members)
    with pytest.raises(ValidationError, match="expands to"):
        import_zip(app, archive, import_max_mb=1)  # extraction limit: 8 MB
    no_trace(app)


def test_a_member_lying_about_its_size_is_refused(app: App, tmp_path: Path) -> None:
    archive = lying_about_its_size(tmp_path / "liar.zip", real=30 << 20, declared=1000)
    with pytest.raises(ValidationError) as err:
        import_zip(app, archive)
    assert "expands beyond" in str(err.value) or "damaged" in str(err.value)
    no_trace(app)


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("../escaped.txt", stat.S_IFREG | 0o644),
        ("filestore/../../escaped.txt", stat.S_IFREG | 0o644),
        ("/tmp/escaped-absolute.txt", stat.S_IFREG | 0o644),
        ("filestore/link", stat.S_IFLNK | 0o777),
        ("filestore/fifo", stat.S_IFIFO | 0o644),
    ],
)
def test_paths_and_links_escaping_the_staging_directory_are_refused(
    app: App, tmp_path: Path, name: str, mode: int
) -> None:
    archive = with_mode(backup_zip(tmp_path / "paths.zip"), name, b"/etc/passwd", mode)
    templates = app.team_dir(TEAM) / "templates"
    with pytest.raises(ValidationError, match=r"unsafe path|link or special file"):
        import_zip(app, archive)
    assert not Path("/tmp/escaped-absolute.txt").exists()
    assert not list(templates.parent.rglob("escaped*"))
    no_trace(app)


def test_too_many_members_are_refused_before_reading_the_directory(tmp_path: Path) -> None:
    archive = backup_zip(tmp_path / "many.zip", {f"filestore/{i}": b"" for i in range(40)})
    assert odoo_import.central_directory(archive)[0] == 42
    with pytest.raises(ValidationError, match="members"):
        odoo_import.safe_extract(archive, tmp_path / "out", max_total=1 << 30, max_members=41)
    assert not (tmp_path / "out").exists()
    odoo_import.safe_extract(archive, tmp_path / "ok", max_total=1 << 30, max_members=42)
    assert (tmp_path / "ok" / "dump.sql").is_file() and len(
        list((tmp_path / "ok" / "filestore").iterdir())
    ) == 40
