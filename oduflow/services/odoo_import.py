"""The network and archive side of ``import_template_from_odoo``, against a hostile server.

- The URL goes through the repositories' address policy (:mod:`oduflow.urlpolicy`): resolved
  once, every address checked, every connection pinned to the checked address; ``https://``
  always, plaintext ``http://`` only for hosts the operator trusts.
- No proxy from the environment and no redirect (the opener refuses them).
- One overall deadline (``[limits].import_timeout``) for every request and the extraction.
- Bounded reads: JSON answers at most 1 MiB, the backup at most ``[limits].import_max_mb``
  (streamed to disk, never held in memory); the archive's central directory, member count,
  total uncompressed size and compression ratio are checked before anything is extracted,
  and the bytes written are counted while extracting. Only ``dump.sql``, ``manifest.json``
  and ``filestore/`` are extracted; absolute paths, ``..``, links and special files are refused.
- What the server says reaches the caller only as a short sanitised snippet; credentials of
  the URL and the master password never appear in a message, the metadata or a label.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import stat
import struct
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from oduflow.errors import ExternalCommandError, ValidationError
from oduflow.giturl import mask_text
from oduflow.urlpolicy import ALLOW_HINT, Target, UrlPolicy

MAX_JSON_BYTES = 1 << 20
MAX_MEMBERS = 1_000_000
MAX_CENTRAL_DIRECTORY = 512 << 20
MAX_RATIO = 250
"""Largest uncompressed/compressed size of one member (of more than 1 MiB)."""
EXTRACT_FACTOR = 8
"""The extracted content may be at most this many times ``[limits].import_max_mb``."""
_DB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_SERIES = re.compile(r"(saas~)?\d{1,2}\.\d{1,2}")
_CHUNK = 1 << 20


class Deadline:
    """One time budget for a whole import."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left; raises :class:`ExternalCommandError` when none are."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise ExternalCommandError(
                f"the import took longer than {self.seconds:g} s ([limits].import_timeout)",
                command="import_template_from_odoo",
            )
        return left

    def timeout(self, cap: float = 60.0) -> float:
        """A socket timeout that neither exceeds ``cap`` nor the time left."""
        return max(0.1, min(cap, self.remaining()))


def snippet(raw: bytes | str, secrets: Iterable[str] = (), limit: int = 160) -> str:
    """A short, single-line, printable excerpt of what a server said (tags and secrets removed)."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = re.sub(r"<[^>]{0,2000}>", " ", text[:100_000])
    text = "".join(c if c.isprintable() else " " for c in text)
    text = mask_text(re.sub(r"\s+", " ", text).strip(), secrets)
    return text if len(text) <= limit else text[:limit] + "…"


def page_error(html: bytes, secrets: Iterable[str] = ()) -> str:
    """The error message of an Odoo database-manager page (the text around 'error'), sanitised."""
    text = snippet(html, secrets, limit=20_000)
    match = re.search(r"[^.]{0,80}error.{0,200}", text, re.IGNORECASE)
    return snippet(match.group(0) if match else text, secrets)


def valid_db_name(name: object) -> str:
    """``name`` when it is a database name Odoo accepts, else raise :class:`ValidationError`."""
    if not isinstance(name, str) or not _DB_NAME.fullmatch(name):
        raise ValidationError(f"invalid database name {snippet(str(name), limit=70)!r}")
    return name


def odoo_series(*candidates: object) -> str:
    """The first candidate that is an Odoo series (``18.0``, ``saas~17.2``), else ``""``."""
    for value in candidates:
        if isinstance(value, str) and _SERIES.fullmatch(value):
            return value
    return ""


# --- HTTP ------------------------------------------------------------------------------------
class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        raise ExternalCommandError(
            f"the server answered {code} (a redirect); redirects are not followed: pass the final URL",
            command=f"{req.get_method()} {urllib.parse.urlsplit(req.full_url).path}",
        )


def _pinned(cls: type[http.client.HTTPConnection], address: str | None, host: str) -> Callable[..., Any]:
    """A connection factory for ``cls`` that connects to ``address`` (the checked one) only."""

    def factory(netloc: str, **kwargs: Any) -> http.client.HTTPConnection:
        conn = cls(netloc, **kwargs)
        if conn.host.lower() != host:
            raise ExternalCommandError(f"refused a connection to {conn.host!r}", command="connect")
        if address is not None:

            def connect(addr: tuple[str, int], *args: Any, **kw: Any) -> socket.socket:
                return socket.create_connection((address, addr[1]), *args, **kw)

            setattr(conn, "_create_connection", connect)  # noqa: B010 - http.client's own hook
        return conn

    return factory


class _PinnedHTTP(urllib.request.HTTPHandler):
    def __init__(self, address: str | None, host: str) -> None:
        super().__init__()
        self.factory = _pinned(http.client.HTTPConnection, address, host)

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self.factory, req)


class _PinnedHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, address: str | None, host: str) -> None:
        self.ctx = ssl.create_default_context()
        super().__init__(context=self.ctx)
        self.factory = _pinned(http.client.HTTPSConnection, address, host)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self.factory, req, context=self.ctx)


def _opener(target: Target) -> urllib.request.OpenerDirector:
    """Pinned HTTP(S), redirects refused, HTTP errors raised, no proxy handler."""
    address = target.addresses[0] if target.addresses else None
    opener = urllib.request.OpenerDirector()
    for handler in (
        _PinnedHTTP(address, target.host),
        _PinnedHTTPS(address, target.host),
        _RefuseRedirects(),
        urllib.request.HTTPErrorProcessor(),
        urllib.request.HTTPDefaultErrorHandler(),
    ):
        opener.add_handler(handler)
    return opener


class OdooServer:
    """A running Odoo that a template is imported from (hostile until proven otherwise)."""

    def __init__(self, odoo_url: str, policy: UrlPolicy, deadline: Deadline, secrets: Iterable[str]) -> None:
        parts = urllib.parse.urlsplit(odoo_url.strip())
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError("odoo_url must start with https:// (or http:// for a trusted host)")
        if parts.query or parts.fragment or any(c.isspace() or ord(c) < 32 for c in odoo_url.strip()):
            raise ValidationError("odoo_url must be the server's base URL (no query, fragment or blanks)")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            raise ValidationError("odoo_url has an invalid port") from None
        self.deadline = deadline
        self.secrets = [s for s in secrets if s]
        self.headers = {"User-Agent": "oduflow-import"}
        if parts.username is not None or parts.password is not None:
            user = urllib.parse.unquote(parts.username or "")
            password = urllib.parse.unquote(parts.password or "")
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"
            self.secrets += [s for s in (parts.password, password) if s]
        netloc = parts.netloc.rpartition("@")[2]
        self.base = urllib.parse.urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))
        """The URL without credentials: what metadata, results and messages show."""
        try:
            self.target = policy.check_host(parts.hostname, port)
        except ValidationError as exc:
            raise ValidationError(f"odoo_url {self.base!r} refused: {exc}") from None
        if scheme == "http" and not self.target.trusted:
            raise ValidationError(
                f"use https:// for {self.base!r}: the master password would travel in clear{ALLOW_HINT}"
            )
        self.opener = _opener(self.target)

    def _open(self, path: str, body: bytes, content_type: str) -> Any:
        req = urllib.request.Request(
            self.base + path, data=body, headers={**self.headers, "Content-Type": content_type}
        )
        try:
            return self.opener.open(req, timeout=self.deadline.timeout())
        except urllib.error.HTTPError as exc:
            exc.close()
            raise ExternalCommandError(
                f"{self.base} answered HTTP {exc.code}", command=f"POST {path}", exit_code=exc.code
            ) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise ExternalCommandError(
                f"cannot reach {self.base}", command=f"POST {path}", output=snippet(str(reason), self.secrets)
            ) from None

    def _read(self, resp: Any, limit: int, sink: Callable[[bytes], object], too_large: str) -> int:
        """Stream ``resp`` into ``sink``; raises ``too_large`` when more than ``limit`` bytes come."""
        total = 0
        try:
            while True:
                self.deadline.remaining()
                chunk = resp.read1(_CHUNK)
                if not chunk:
                    return total
                total += len(chunk)
                if total > limit:
                    raise ExternalCommandError(too_large, command="read")
                sink(chunk)
        except (OSError, http.client.HTTPException) as exc:
            raise ExternalCommandError(
                f"reading from {self.base} failed", command="read", output=snippet(str(exc), self.secrets)
            ) from None
        finally:
            resp.close()

    def jsonrpc(self, path: str, params: dict[str, Any]) -> Any:
        """Call a JSON-RPC route; an Odoo error becomes :class:`ExternalCommandError` (a snippet)."""
        body = json.dumps({"jsonrpc": "2.0", "method": "call", "params": params, "id": 1}).encode()
        chunks: list[bytes] = []
        too_large = f"{self.base} answered {path} with more than {MAX_JSON_BYTES} bytes: refused"
        self._read(self._open(path, body, "application/json"), MAX_JSON_BYTES, chunks.append, too_large)
        try:
            data = json.loads(b"".join(chunks))
        except ValueError:
            raise ExternalCommandError(
                f"{self.base} did not answer JSON-RPC",
                command=f"POST {path}",
                output=snippet(b"".join(chunks)),
            ) from None
        if not isinstance(data, dict):
            raise ExternalCommandError(f"{self.base} did not answer JSON-RPC", command=f"POST {path}")
        if "error" in data:
            error: dict[str, Any] = data["error"] if isinstance(data["error"], dict) else {}
            detail: dict[str, Any] = error["data"] if isinstance(error.get("data"), dict) else {}
            message = detail.get("message") or error.get("message") or ""
            raise ExternalCommandError(
                f"Odoo refused {path}", command=f"POST {path}", output=snippet(str(message), self.secrets)
            )
        return data.get("result")

    def version_info(self) -> dict[str, Any]:
        result = self.jsonrpc("/web/webclient/version_info", {})
        return result if isinstance(result, dict) else {}

    def pick_database(self, db_name: str) -> str:
        """``db_name`` (checked), or the only database the server lists."""
        if db_name:
            return valid_db_name(db_name)
        dbs = self.jsonrpc("/jsonrpc", {"service": "db", "method": "list", "args": []}) or []
        if not isinstance(dbs, list) or len(dbs) != 1:
            count = len(dbs) if isinstance(dbs, list) else 0
            shown = ", ".join(snippet(str(d), limit=63) for d in (dbs if isinstance(dbs, list) else [])[:10])
            raise ValidationError(f"the server has {count} databases ({shown or 'none'}): pass db_name")
        return valid_db_name(dbs[0])

    def download_backup(self, master_pwd: str, db_name: str, dest: Path, max_bytes: int) -> int:
        """Stream the zip backup of ``db_name`` (with filestore) to ``dest``; returns its size."""
        form = urllib.parse.urlencode({"master_pwd": master_pwd, "name": db_name, "backup_format": "zip"})
        try:
            resp = self._open("/web/database/backup", form.encode(), "application/x-www-form-urlencoded")
        except ExternalCommandError as exc:
            raise ExternalCommandError(
                "backup download failed (wrong master password or database manager disabled?)",
                command="POST /web/database/backup",
                exit_code=exc.exit_code,
                output=exc.output,
            ) from None
        length = resp.headers.get("Content-Length") or ""
        if length.isdigit() and int(length) > max_bytes:
            resp.close()
            raise ExternalCommandError(
                f"the backup is {int(length) >> 20} MB, more than [limits].import_max_mb "
                f"({max_bytes >> 20} MB): refused",
                command="POST /web/database/backup",
            )
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        too_large = f"the backup is larger than [limits].import_max_mb ({max_bytes >> 20} MB): refused"
        with os.fdopen(fd, "wb") as out:
            return self._read(resp, max_bytes, out.write, too_large)


# --- the archive -----------------------------------------------------------------------------
def central_directory(path: Path) -> tuple[int, int]:
    """(member count, central directory size) read from the end records of the zip at ``path``."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        span = min(size, 22 + 65535)
        fh.seek(size - span)
        tail = fh.read(span)
        pos = len(tail) - 22 if tail[-22:-18] == b"PK\x05\x06" else tail.rfind(b"PK\x05\x06")
        if pos < 0 or len(tail) - pos < 22:
            raise ValidationError("the backup is not a zip archive")
        entries, cd_size = struct.unpack("<HI", tail[pos + 10 : pos + 16])
        if entries == 0xFFFF or cd_size == 0xFFFFFFFF:
            loc = tail.rfind(b"PK\x06\x07", 0, pos)
            if loc < 0 or loc + 16 > len(tail):
                raise ValidationError("the backup zip has a damaged zip64 end record")
            (offset,) = struct.unpack("<Q", tail[loc + 8 : loc + 16])
            fh.seek(offset)
            record = fh.read(56)
            if record[:4] != b"PK\x06\x06" or len(record) < 48:
                raise ValidationError("the backup zip has a damaged zip64 end record")
            entries, cd_size = struct.unpack("<QQ", record[32:48])
    return int(entries), int(cd_size)


def _member(info: zipfile.ZipInfo, max_ratio: int) -> bool:
    """Check one member (every member, extracted or not); True when it is to be extracted."""
    name = info.filename
    path = PurePosixPath(name)
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\0" in name
        or ".." in path.parts
        or re.match(r"[A-Za-z]:", name)
    ):
        raise ValidationError(f"backup contains an unsafe path: {snippet(name, limit=100)!r}")
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise ValidationError(f"backup contains a link or special file: {snippet(name, limit=100)!r}")
    if info.flag_bits & 0x1:
        raise ValidationError("backup contains an encrypted member")
    if info.file_size > _CHUNK and info.file_size > max_ratio * max(info.compress_size, 1):
        raise ValidationError(
            f"backup member {snippet(name, limit=100)!r} expands more than {max_ratio} times (a zip bomb?)"
        )
    return name in ("dump.sql", "manifest.json") or path.parts[0] == "filestore"


def safe_extract(
    archive_path: Path,
    dest: Path,
    *,
    max_total: int,
    max_members: int = MAX_MEMBERS,
    max_ratio: int = MAX_RATIO,
    deadline: Deadline | None = None,
) -> None:
    """Extract ``dump.sql``, ``manifest.json`` and ``filestore/`` of a backup zip, within bounds."""
    entries, cd_size = central_directory(archive_path)
    if entries > max_members or cd_size > MAX_CENTRAL_DIRECTORY:
        raise ValidationError(f"the backup zip has {entries} members (at most {max_members}): refused")
    try:
        with zipfile.ZipFile(archive_path) as archive:
            infos = archive.infolist()
            if len(infos) > max_members:
                raise ValidationError(f"the backup zip has {len(infos)} members (at most {max_members})")
            wanted = [i for i in infos if _member(i, max_ratio)]
            total = sum(i.file_size for i in wanted)
            if total > max_total:
                raise ValidationError(
                    f"the backup expands to {total >> 20} MB, more than {max_total >> 20} MB "
                    f"({EXTRACT_FACTOR} x [limits].import_max_mb): refused"
                )
            dest.mkdir(parents=True, exist_ok=True)
            if total > shutil.disk_usage(dest).free:
                raise ValidationError(f"the backup expands to {total >> 20} MB: not enough free disk space")
            written = 0
            for info in wanted:
                written = _extract(archive, info, dest, written, max_total, deadline)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise ValidationError(f"the backup zip is damaged or unsupported: {snippet(str(exc))}") from None
    except OSError as exc:
        raise ValidationError(f"cannot extract the backup: {snippet(str(exc))}") from None


def _extract(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    dest: Path,
    written: int,
    max_total: int,
    deadline: Deadline | None,
) -> int:
    """Write one member, counting the bytes really produced; returns the new running total."""
    target = dest.joinpath(*PurePosixPath(info.filename).parts)
    if info.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return written
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except FileExistsError:
        raise ValidationError(f"backup contains {snippet(info.filename, limit=100)!r} twice") from None
    size = 0
    with archive.open(info) as src, os.fdopen(fd, "wb") as out:
        while chunk := src.read(_CHUNK):
            if deadline is not None:
                deadline.remaining()
            size += len(chunk)
            written += len(chunk)
            if size > info.file_size or written > max_total:
                raise ValidationError("the backup expands beyond what its zip directory declares: refused")
            out.write(chunk)
    return written


def read_manifest(path: Path) -> dict[str, Any]:
    """``manifest.json`` of a backup (at most 1 MiB of JSON object), else ``{}``."""
    if not path.is_file() or path.stat().st_size > MAX_JSON_BYTES:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
