"""Cache of long tool outputs behind the ``read_output`` tool.

A tool whose text output exceeds ``max_chars`` returns a summary (head, error lines, tail)
and the full text is stored on disk as ``root/<team_id>/<id>.json`` (files 0600, dirs 0700),
so that ``oduflow call read_output`` in another process finds outputs of the server. Ids are
random (``secrets.token_urlsafe(18)``) and bound to their team: another team's id is
answered exactly like an unknown one.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from oduflow.errors import NotFoundError, ValidationError

MODES = ("lines", "errors", "grep", "tail", "info")
_ID_RE = re.compile(r"[A-Za-z0-9_-]{20,40}")
_TEAM_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ERROR_RE = re.compile(
    r"Traceback \(most recent call last\)|\b(?:ERROR|CRITICAL|FAIL|FAILED|FATAL)\b"
    r"|^\s*[\w.]*(?:Error|Exception)(?::|$)"
)
_HEAD_LINES = 40
_TAIL_LINES = 60
_LINE_CLIP = 240
_MAX_COUNT = 5000
_MAX_CONTEXT = 20
_MAX_PATTERN = 500


def _clip(line: str, limit: int = _LINE_CLIP) -> str:
    return line if len(line) <= limit else f"{line[:limit]} ... [{len(line) - limit} more chars]"


def _numbered(n: int, line: str, limit: int = _LINE_CLIP) -> str:
    return f"{n:>6}  {_clip(line, limit)}"


def _blocks(hits: list[int], context: int, total: int) -> list[tuple[int, int]]:
    """Merge 0-based hit indexes widened by ``context`` into inclusive ranges."""
    ranges: list[tuple[int, int]] = []
    for i in hits:
        lo, hi = max(0, i - context), min(total - 1, i + context)
        if ranges and lo <= ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], hi))
        else:
            ranges.append((lo, hi))
    return ranges


class OutputStore:
    """On-disk, per-team cache of long tool outputs; safe to share between threads.

    :param root: directory holding one sub-directory per team.
    :param max_chars: outputs longer than this are cached and summarised; it also bounds
        the text returned by :meth:`read`.
    :param keep: number of outputs kept per team; older ones are pruned on write.
    """

    def __init__(self, root: Path, *, max_chars: int = 12000, keep: int = 200) -> None:
        self.root = Path(root)
        self.max_chars = max_chars
        self.keep = keep
        self._lock = threading.Lock()
        self._last_ns = 0

    # -- writing -------------------------------------------------------------------------

    def _team_dir(self, team_id: str) -> Path:
        if not isinstance(team_id, str) or not _TEAM_RE.fullmatch(team_id):
            raise ValidationError(f"invalid team id {team_id!r}")
        return self.root / team_id

    def put(self, team_id: str, tool: str, text: str) -> str:
        """Store ``text`` for ``team_id`` and return its new output id."""
        team_dir = self._team_dir(team_id)
        output_id = secrets.token_urlsafe(18)
        with self._lock:
            for d in (self.root, team_dir):
                d.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.chmod(d, 0o700)
            now_ns = self._last_ns = max(time.time_ns(), self._last_ns + 1)
            record = {
                "id": output_id,
                "team": team_id,
                "tool": tool,
                "created": datetime.fromtimestamp(now_ns / 1e9, timezone.utc).isoformat(),
                "lines": len(text.splitlines()),
                "chars": len(text),
                "text": text,
            }
            tmp = team_dir / f".{output_id}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.fchmod(fd, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(record, fh)
                os.utime(tmp, ns=(now_ns, now_ns))
                os.replace(tmp, team_dir / f"{output_id}.json")
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            self._prune(team_dir)
        return output_id

    def _prune(self, team_dir: Path) -> None:
        entries = []
        for path in team_dir.glob("*.json"):
            try:
                entries.append((path.stat().st_mtime_ns, path.name, path))
            except FileNotFoundError:
                continue
        entries.sort()
        for _, _, path in entries[: max(0, len(entries) - self.keep)]:
            path.unlink(missing_ok=True)

    def shape(self, team_id: str, tool: str, text: str) -> tuple[str, str | None]:
        """Return ``(text, None)`` when short enough, else ``(summary, output_id)``.

        The summary holds the first lines, the error lines (Traceback, ERROR, CRITICAL,
        FAIL...) with context, the last lines, the line count and how to read the rest.
        """
        if len(text) <= self.max_chars:
            return text, None
        output_id = self.put(team_id, tool, text)
        lines = text.splitlines()
        total = len(lines)
        head_n = min(_HEAD_LINES, total)
        tail_from = max(head_n, total - _TAIL_LINES)
        budget = self.max_chars
        head = self._fit([_numbered(i + 1, lines[i]) for i in range(head_n)], budget // 2)
        tail = self._fit(
            [_numbered(i + 1, lines[i]) for i in range(tail_from, total)], budget * 3 // 4, from_end=True
        )
        hits = [i for i in range(head_n, tail_from) if _ERROR_RE.search(lines[i])]
        err_lines: list[str] = []
        for lo, hi in _blocks(hits, 2, tail_from):
            err_lines += ["    --"] * bool(err_lines) + [
                _numbered(i + 1, lines[i]) for i in range(lo, hi + 1)
            ]
        errors = self._fit(err_lines, budget // 3)
        header = (
            f"[{tool}: {total} lines, {len(text)} chars; summarised, full output cached as id {output_id}]"
        )
        parts = [header, f"--- first lines (1-{head_n}) ---", *head]
        if hits:
            shown = "" if len(errors) == len(err_lines) else ' (first ones; mode="errors" for all)'
            parts += [f"--- {len(hits)} error lines between head and tail, with context{shown} ---", *errors]
        elif tail_from > head_n:
            parts.append(f"--- lines {head_n + 1}-{tail_from} omitted, no error lines among them ---")
        if tail_from < total:
            parts += [f"--- last lines ({tail_from + 1}-{total}) ---", *tail]
        parts.append(
            f'Full output cached as id {output_id}: read_output(output_id="{output_id}", '
            'mode="lines"|"errors"|"grep"|"tail"|"info")'
        )
        return "\n".join(parts), output_id

    @staticmethod
    def _fit(lines: list[str], budget: int, *, from_end: bool = False) -> list[str]:
        """The lines (from the start, or from the end) that fit in ``budget`` characters."""
        out: list[str] = []
        used = 0
        for line in reversed(lines) if from_end else lines:
            used += len(line) + 1
            if used > budget and out:
                break
            out.append(line)
        return out[::-1] if from_end else out

    # -- reading -------------------------------------------------------------------------

    def _load(self, team_id: str, output_id: str) -> dict[str, Any]:
        if not isinstance(output_id, str) or not _ID_RE.fullmatch(output_id):
            raise ValidationError("invalid output id: expected 20-40 letters, digits, '_' or '-'")
        missing = NotFoundError(
            f"output '{output_id}' not found (it may have expired; "
            f"the {self.keep} most recent outputs of a team are kept)"
        )
        try:
            with open(self._team_dir(team_id) / f"{output_id}.json", encoding="utf-8") as fh:
                record: dict[str, Any] = json.load(fh)
        except (OSError, ValueError):
            raise missing from None
        if record.get("team") != team_id or record.get("id") != output_id:
            raise missing
        return record

    def read(
        self,
        team_id: str,
        output_id: str,
        mode: str = "lines",
        start: int = 1,
        count: int = 200,
        pattern: str | None = None,
        context: int = 2,
        ignore_case: bool = True,
        regex: bool = False,
    ) -> dict[str, Any]:
        """Read part of a cached output of ``team_id``.

        Modes: ``lines`` (``count`` numbered lines from line ``start``), ``errors`` (error
        lines with ``context`` lines around, from line ``start``), ``grep`` (lines containing
        ``pattern``, a fixed string unless ``regex``), ``tail`` (last ``count`` lines) and
        ``info`` (metadata). The answer's ``text`` is bounded by ``max_chars``; when more is
        available ``next_start`` gives the line to continue from and ``truncated`` is true.
        Raises :class:`NotFoundError` for an unknown id or one of another team.
        """
        if mode not in MODES:
            raise ValidationError(f"invalid mode {mode!r}; expected one of {', '.join(MODES)}")
        if start < 1 or not 1 <= count <= _MAX_COUNT or not 0 <= context <= _MAX_CONTEXT:
            raise ValidationError(f"start must be >= 1, count 1-{_MAX_COUNT}, context 0-{_MAX_CONTEXT}")
        record = self._load(team_id, output_id)
        meta = {
            "output_id": output_id,
            "mode": mode,
            "tool": record.get("tool"),
            "created": record.get("created"),
            "total_lines": record.get("lines"),
        }
        if mode == "info":
            return {**meta, "chars": record.get("chars"), "modes": list(MODES)}
        lines: list[str] = record["text"].splitlines()
        total = len(lines)
        clip = max(200, self.max_chars // 2)
        if mode == "tail":
            return self._tail(meta, lines, count, clip)
        if mode == "lines":
            end = min(total, start - 1 + count)
            return self._page(
                meta, lines, list(range(start - 1, end)), end + 1 if end < total else None, clip
            )
        matcher = self._matcher(mode, pattern, ignore_case, regex)
        hits = [i for i in range(start - 1, total) if matcher(lines[i][:4000])]
        picked = hits[:count]
        rows: list[int] = []
        for lo, hi in _blocks(picked, context, total):
            rows += [-1] * bool(rows) + list(range(lo, hi + 1))
        more = hits[len(picked)] + 1 if len(hits) > len(picked) else None
        return {**self._page(meta, lines, rows, more, clip), "matches": len(hits)}

    def _tail(self, meta: dict[str, Any], lines: list[str], count: int, clip: int) -> dict[str, Any]:
        """The last ``count`` lines that fit in ``max_chars``."""
        total = len(lines)
        first = max(0, total - count)
        out = self._fit(
            [_numbered(i + 1, lines[i], clip) for i in range(first, total)], self.max_chars, from_end=True
        )
        return {
            **meta,
            "start": total - len(out) + 1,
            "end": total,
            "text": "\n".join(out),
            "truncated": len(out) < total - first,
            "next_start": None,
        }

    @staticmethod
    def _matcher(mode: str, pattern: str | None, ignore_case: bool, regex: bool) -> Callable[[str], object]:
        if mode == "errors":
            return _ERROR_RE.search
        if not pattern:
            raise ValidationError("mode 'grep' needs a pattern")
        if len(pattern) > _MAX_PATTERN:
            raise ValidationError(f"pattern longer than {_MAX_PATTERN} characters")
        if regex:
            try:
                return re.compile(pattern, re.IGNORECASE if ignore_case else 0).search
            except re.error as exc:
                raise ValidationError(f"invalid regular expression: {exc}") from None
        if ignore_case:
            needle = pattern.casefold()
            return lambda line: needle in line.casefold()
        return lambda line: pattern in line

    def _page(
        self, meta: dict[str, Any], lines: list[str], rows: list[int], next_start: int | None, clip: int
    ) -> dict[str, Any]:
        """Render rows (0-based indexes, -1 for a separator) within ``max_chars``."""
        out: list[str] = []
        shown: list[int] = []
        used = 0
        truncated = False
        for row in rows:
            if row < 0:
                out.append("    --")
                continue
            line = _numbered(row + 1, lines[row], clip)
            used += len(line) + 1
            if used > self.max_chars and shown:
                truncated, next_start = True, row + 1
                break
            out.append(line)
            shown.append(row)
        while out and out[-1] == "    --":
            out.pop()
        return {
            **meta,
            "start": shown[0] + 1 if shown else None,
            "end": shown[-1] + 1 if shown else None,
            "text": "\n".join(out),
            "truncated": truncated,
            "next_start": next_start,
        }
