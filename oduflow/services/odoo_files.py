"""Files inside an environment's container: read (text or directory listing), write, search.

Paths and patterns are always passed as separate arguments to fixed programs (a constant
Python script, ``grep``, ``mkdir``), never interpolated into a shell string.
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any

from oduflow import docker_api
from oduflow.app import App
from oduflow.config import TeamConfig
from oduflow.errors import ExternalCommandError, NotFoundError, ValidationError
from oduflow.services.envmodel import get_env
from oduflow.services.odoo_ops import IMAGE_USER, running_container
from oduflow.services.runtime import ADDONS_PATH

READ_LIMIT = 100 * 1024
WRITE_LIMIT = 5 * 1024 * 1024
SEARCH_MAX_LINES = 500
SEARCH_LINE_CHARS = 1000
_RANGE_RE = re.compile(r"\s*(\d+)\s*:\s*(\d+)\s*")

# Runs inside the container: argv = PATH START END LIMIT. Prints one JSON header line, then the
# selected bytes (files) or execs `ls -la` (directories). START=0 means "from the beginning".
_READ_SCRIPT = r"""
import json, os, stat, sys
path, start, end, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
out = sys.stdout.buffer
def header(**kw):
    out.write(json.dumps(kw).encode() + b"\n")
    out.flush()
try:
    st = os.stat(path)
except OSError as exc:
    header(kind="error", errno=exc.errno or 0, error=exc.strerror or str(exc))
    sys.exit(0)
if stat.S_ISDIR(st.st_mode):
    header(kind="directory")
    os.execvp("ls", ["ls", "-la", "--", path])
if not stat.S_ISREG(st.st_mode):
    header(kind="special", size=st.st_size)
    sys.exit(0)
try:
    fh = open(path, "rb")
except OSError as exc:
    header(kind="error", errno=exc.errno or 0, error=exc.strerror or str(exc))
    sys.exit(0)
with fh:
    if b"\0" in fh.read(8192):
        header(kind="binary", size=st.st_size)
        sys.exit(0)
    fh.seek(0)
    first = max(start, 1)
    buf = bytearray()
    lineno, full, truncated, last = 1, False, False, b""
    while True:
        chunk = fh.read(1 << 20)
        if not chunk:
            break
        if not full:
            parts = chunk.split(b"\n")
            for i, part in enumerate(parts):
                ln = lineno + i
                if ln > end:
                    full = True
                    break
                if ln < first:
                    continue
                piece = part + (b"\n" if i < len(parts) - 1 else b"")
                if len(buf) + len(piece) > limit:
                    cut = buf.rfind(b"\n") + 1
                    if cut:
                        del buf[cut:]
                    else:
                        buf += piece[: limit - len(buf)]
                    full = truncated = True
                    break
                buf += piece
        lineno += chunk.count(b"\n")
        last = chunk
    total = lineno - 1 + (1 if last and not last.endswith(b"\n") else 0)
    if b"\0" in buf:
        header(kind="binary", size=st.st_size)
        sys.exit(0)
    header(kind="file", size=st.st_size, total_lines=total, truncated=truncated)
    out.write(bytes(buf))
"""


def _check_path(path: str, what: str = "path") -> str:
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValidationError(f"{what} must be an absolute path inside the container, e.g. /mnt/extra-addons")
    if any(c in path for c in "\0\n\r"):
        raise ValidationError(f"{what} contains a NUL or newline character")
    return path


def parse_range(read_range: str) -> tuple[int, int] | None:
    """``"START:END"`` (1-based, inclusive) -> (start, end); ``""`` -> None."""
    if not read_range or not read_range.strip():
        return None
    m = _RANGE_RE.fullmatch(read_range)
    if not m or int(m[1]) < 1 or int(m[2]) < int(m[1]):
        raise ValidationError(
            f"invalid read_range {read_range!r}: use 'START:END' with 1 <= START <= END, "
            "e.g. '1:50' or '100:200'"
        )
    return int(m[1]), int(m[2])


def read_file_in_odoo(
    app: App, team: TeamConfig, branch: str, path: str, read_range: str = ""
) -> dict[str, Any]:
    """A text file's content (up to 100 KB, optionally a line range) or a directory listing."""
    _check_path(path)
    rng = parse_range(read_range)
    env = get_env(app, team, branch)
    container = running_container(app, env)
    start, end = rng or (0, 2**62)
    res = docker_api.exec_in(
        container,
        ["python3", "-c", _READ_SCRIPT, path, str(start), str(end), str(READ_LIMIT)],
        user=IMAGE_USER,
        timeout=app.config.limits.exec_timeout,
    )
    head, _, body = res.stdout.partition("\n")
    try:
        info = json.loads(head)
    except ValueError:
        raise ExternalCommandError(
            f"cannot read {path} in the container",
            command="python3 (read script)",
            exit_code=res.exit_code,
            output=(res.stderr or res.stdout)[-2000:],
        ) from None
    if _check_kind(path, info) == "directory":
        return {"path": path, "type": "directory", "listing": body}
    return _file_result(path, info, body, rng)


def _check_kind(path: str, info: dict[str, Any]) -> str:
    """The kind the read script found (``file`` or ``directory``); the others are refused."""
    kind = str(info.get("kind"))
    if kind == "error":
        if info.get("errno") == 2:
            raise NotFoundError(f"{path}: no such file or directory in the container")
        raise ValidationError(
            f"cannot read {path}: {info.get('error')} (as the image's user; "
            "run_odoo_command with user='root' can read it)"
        )
    if kind == "special":
        raise ValidationError(f"{path} is not a regular file (device, socket or pipe): not read")
    if kind == "binary":
        raise ValidationError(
            f"{path} is a binary file ({info.get('size')} bytes): read_file_in_odoo reads text only; "
            "use run_odoo_command (e.g. 'file PATH', 'xxd PATH | head') for binary files"
        )
    return kind


def _file_result(path: str, info: dict[str, Any], body: str, rng: tuple[int, int] | None) -> dict[str, Any]:
    """The answer for a text file: its lines shown, and how to read the rest."""
    total = int(info.get("total_lines", 0))
    shown = body.count("\n") + (1 if body and not body.endswith("\n") else 0)
    first = rng[0] if rng else 1
    result: dict[str, Any] = {
        "path": path,
        "type": "file",
        "size": info.get("size"),
        "total_lines": total,
        "start_line": first if shown else None,
        "end_line": first + shown - 1 if shown else None,
        "truncated": bool(info.get("truncated")),
        "content": body,
    }
    if result["truncated"]:
        result["note"] = (
            f"output limited to {READ_LIMIT // 1024} KB; read the rest with read_range "
            f"'{first + shown}:{min(total, first + shown + 999)}'"
        )
    elif rng and first > total:
        result["note"] = f"the file has only {total} lines"
    return result


def write_file_in_odoo(app: App, team: TeamConfig, branch: str, path: str, content: str) -> dict[str, Any]:
    """Write ``content`` to ``path`` in the container (parents created), owned by the image user."""
    _check_path(path)
    if path.endswith("/"):
        raise ValidationError(f"{path} names a directory: give a file path")
    path = posixpath.normpath(path)
    data = content.encode("utf-8")
    if len(data) > WRITE_LIMIT:
        raise ValidationError(f"content is {len(data)} bytes; the limit is {WRITE_LIMIT // (1024 * 1024)} MB")
    env = get_env(app, team, branch)
    container = running_container(app, env)
    parent = posixpath.dirname(path) or "/"
    check = 'if [ -d "$1" ]; then echo "is a directory" >&2; exit 3; fi; mkdir -p -- "$2"'
    timeout = app.config.limits.exec_timeout
    res = docker_api.exec_in(
        container, ["sh", "-c", check, "sh", path, parent], user=IMAGE_USER, timeout=timeout
    )
    if res.exit_code == 1:  # no right to create the parent as the image user: root makes it
        res = docker_api.exec_in(
            container, ["sh", "-c", check, "sh", path, parent], user="root", timeout=timeout
        )
    if res.exit_code == 3:
        raise ValidationError(f"{path} is a directory in the container")
    if res.exit_code != 0:
        raise ExternalCommandError(
            f"cannot create the directory {parent}",
            command="mkdir -p",
            exit_code=res.exit_code,
            output=res.stderr,
        )
    p = env.params
    docker_api.put_file(container, path, data, mode=0o644, uid=p.uid, gid=p.gid)
    return {"path": path, "bytes": len(data), "owner": f"{p.uid}:{p.gid}", "mode": "0644"}


_SEARCH_SCRIPT = f'grep -rnFI "$@" | cut -c1-{SEARCH_LINE_CHARS} | head -n {SEARCH_MAX_LINES + 1}'


def search_in_odoo(
    app: App, team: TeamConfig, branch: str, pattern: str, path: str = ADDONS_PATH, glob: str = ""
) -> dict[str, Any]:
    """``grep -rnF`` for a fixed string under ``path`` in the container (at most 500 lines)."""
    if not isinstance(pattern, str) or not pattern:
        raise ValidationError("pattern is empty")
    if any(c in pattern for c in "\0\n\r"):
        raise ValidationError("pattern must be a single line (fixed string, not a regex)")
    _check_path(path)
    args: list[str] = []
    if glob:
        if any(c in glob for c in "\0\n\r/"):
            raise ValidationError(f"invalid glob {glob!r}: a file-name pattern such as '*.py'")
        args.append(f"--include={glob}")
    env = get_env(app, team, branch)
    container = running_container(app, env)
    res = docker_api.exec_in(
        container,
        ["sh", "-c", _SEARCH_SCRIPT, "sh", *args, "--", pattern, path],
        user=IMAGE_USER,
        timeout=app.config.limits.exec_timeout,
    )
    lines = res.stdout.splitlines()
    truncated = len(lines) > SEARCH_MAX_LINES
    lines = lines[:SEARCH_MAX_LINES]
    errors = res.stderr.strip()
    if not lines and errors and "No such file or directory" in errors and path in errors:
        raise NotFoundError(f"{path}: no such file or directory in the container")
    result: dict[str, Any] = {
        "pattern": pattern,
        "path": path,
        "glob": glob or None,
        "matches": len(lines),
        "truncated": truncated or res.timed_out,
        "results": "\n".join(lines),
    }
    if truncated:
        result["note"] = f"only the first {SEARCH_MAX_LINES} matching lines: narrow path or glob"
    if res.timed_out:
        result["note"] = f"search timed out after {app.config.limits.exec_timeout} s: narrow path or glob"
    if errors:
        result["errors"] = errors[-2000:]
    return result
