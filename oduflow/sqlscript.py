"""A plain SQL dump read statement by statement, with no psql meta-command let through.

A plain dump (``pg_dump`` without ``-F``, the ``dump.sql`` of an Odoo backup) is a psql script,
and psql runs its backslash meta-commands: ``\\!`` and ``\\o |cmd`` start a shell,
``\\copy ... program`` a program, ``\\i``/``\\o`` read and write files, ``\\connect`` changes the
session. A dump is input from outside, so Oduflow never gives one to psql: :class:`SqlScript`
splits it into statements with the lexing rules of the server and of psql (quoted strings,
``E''`` escapes, ``U&''``, bit strings, quoted identifiers, dollar quotes with tags, ``--`` and
nested ``/* */`` comments, the ``CREATE FUNCTION ... BEGIN ATOMIC`` bodies psql keeps whole),
hands over the data of ``COPY ... FROM stdin`` up to its ``\\.`` line, and refuses every
backslash outside those with the line that holds it. The ``\\restrict KEY`` and
``\\unrestrict KEY`` lines recent ``pg_dump`` versions write are the only ones accepted (and
skipped: they only guard psql itself).

Whether a plain ``'...'`` string takes backslash escapes depends on the session's
``standard_conforming_strings``: the caller, which runs each statement before reading on, sets
:attr:`SqlScript.std_strings` from the server after each one. Streaming: one line in memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import BinaryIO

from oduflow.errors import ValidationError

MAX_LINE = 256 << 20
"""Longest line read (a COPY row with a large ``bytea`` is one line): a longer one is refused."""
MAX_STATEMENT = 256 << 20
"""Largest statement kept in memory until its ``;`` (the server takes at most 1 GB)."""


class ScriptError(ValidationError):
    """The dump holds what Oduflow does not run (a meta-command, an unterminated quote)."""

    def __init__(self, name: str, line: int, message: str) -> None:
        super().__init__(f"{name} line {line}: {message}")
        self.line = line


@dataclass(frozen=True)
class Statement:
    """One SQL statement of the script, its first line, and whether COPY data follow it."""

    sql: bytes
    line: int
    copy_from_stdin: bool = False


class _State(Enum):
    INITIAL = "initial"
    COMMENT = "comment"  # /* */, nested
    PLAIN = "quoted string"  # '...' with standard_conforming_strings, U&'...'
    ESCAPED = "quoted string with escapes"  # E'...', or '...' without standard_conforming_strings
    BITS = "bit string"  # B'...', X'...'
    IDENT = "quoted identifier"  # "...", U&"..."
    DOLLAR = "dollar-quoted string"
    AFTER_QUOTE = "after quote"  # a string's closing quote: a continuation may follow


_OPENS = {
    "bcomment": _State.COMMENT,
    "estring": _State.ESCAPED,
    "bits": _State.BITS,
    "ustring": _State.PLAIN,
    "uident": _State.IDENT,
    "dquote": _State.IDENT,
    "dollar": _State.DOLLAR,
}


_NAME = rb"[A-Za-z\x80-\xff_]"
_INITIAL = re.compile(
    rb"(?P<space>[ \t\f\n\r]+)"
    rb"|(?P<lcomment>--[^\n\r]*)"
    rb"|(?P<bcomment>/\*)"
    rb"|(?P<estring>[eE]')"
    rb"|(?P<bits>[bBxX]')"
    rb"|(?P<ustring>[uU]&')"
    rb"|(?P<uident>[uU]&\")"
    rb"|(?P<national>[nN](?='))"
    rb"|(?P<ident>" + _NAME + rb"[A-Za-z\x80-\xff_0-9$]*)"
    rb"|(?P<dollar>\$(?:" + _NAME + rb"[A-Za-z\x80-\xff_0-9]*)?\$)"
    rb"|(?P<quote>')"
    rb"|(?P<dquote>\")"
    rb"|(?P<backslash>\\)"
    rb"|(?P<semi>;)"
    rb"|(?P<open>\()"
    rb"|(?P<close>\))"
    rb"|(?P<other>[0-9]+|\$[0-9]*|[^ \t\f\n\r'\"$\\;()A-Za-z\x80-\xff_0-9/-]+|[/-])"
)
_PLAIN_END = re.compile(rb"'")
_ESCAPED_END = re.compile(rb"[\\']")
_IDENT_END = re.compile(rb'"')
_FINDERS = {_State.ESCAPED: _ESCAPED_END, _State.IDENT: _IDENT_END}
_COMMENT_MARK = re.compile(rb"/\*|\*/")
_CONTINUATION = re.compile(rb"[ \t\f]+|--[^\n\r]*|[\n\r]")
_RESTRICT = re.compile(rb"[ \t]*\\(?:un)?restrict[ \t]+[A-Za-z0-9]+[ \t]*\r?\n?")
_META = re.compile(rb"\\([A-Za-z]+|[^A-Za-z\s]?)")
_COPY_FROM_STDIN = re.compile(rb"COPY\s.*\sFROM\s+STDIN\s*;", re.IGNORECASE | re.DOTALL)
_ROUTINE_WORDS = {b"create": b"c", b"function": b"f", b"procedure": b"p", b"or": b"o", b"replace": b"r"}


class SqlScript:
    """The statements of a plain SQL script read from ``lines`` (bytes, each with its newline)."""

    def __init__(
        self, lines: Iterable[bytes], name: str = "dump.sql", max_statement: int = MAX_STATEMENT
    ) -> None:
        self.name = name
        self.max_statement = max_statement
        self.std_strings = True
        """``standard_conforming_strings`` of the session the statements run in."""
        self._lines = enumerate(lines, 1)
        self._lineno = 0
        self._state = _State.INITIAL
        self._resume = _State.INITIAL  # the string state a continuation goes back to
        self._newline_seen = False  # in AFTER_QUOTE: a newline since the quote
        self._depth = 0  # nested /* */ comments
        self._tag = b""  # dollar-quote delimiter
        self._opened = 0  # line where the current quote or comment began
        self._parens = 0
        self._begins = 0  # BEGIN ... END depth inside CREATE FUNCTION/PROCEDURE
        self._words: list[bytes] = []  # first letters of the statement's leading keywords
        self._buf: list[bytes] = []
        self._size = 0  # bytes in self._buf
        self._start = 0  # first line of the pending statement (0: none)
        self._copy_pending = False

    def error(self, line: int, message: str) -> ScriptError:
        return ScriptError(self.name, line, message)

    # --- the caller's side ---------------------------------------------------------------
    def statements(self) -> Iterator[Statement]:
        """Every statement in order; after one with ``copy_from_stdin``, :meth:`copy_data`
        gives its data (left unread, they are skipped)."""
        for lineno, line in self._lines:
            self._lineno = lineno
            yield from self._scan_line(line)
        self._check_end()
        if self._start and b"".join(self._buf).strip():
            yield Statement(b"".join(self._buf), self._start)

    def copy_data(self) -> Iterator[bytes]:
        """The data lines of the ``COPY ... FROM stdin`` just returned, up to its ``\\.`` line."""
        if not self._copy_pending:
            return
        started = self._lineno
        for lineno, line in self._lines:
            self._lineno = lineno
            if line.rstrip(b"\r\n") == b"\\.":
                self._copy_pending = False
                return
            yield line
        raise self.error(started, "the data of this COPY end without their '\\.' line")

    # --- lexing ------------------------------------------------------------------------------
    def _scan_line(self, line: bytes) -> Iterator[Statement]:
        pos, seg = 0, 0  # seg: where the part of the line not yet in self._buf begins
        while pos < len(line):
            if self._state is not _State.INITIAL:
                pos = self._scan_quoted(line, pos)
                continue
            m = _INITIAL.match(line, pos)
            assert m is not None  # the "other" group matches any byte but a newline
            kind, end = m.lastgroup, m.end()
            if not self._start:
                if kind in ("space", "lcomment"):
                    pos = seg = end
                    continue
                if kind == "backslash" and _RESTRICT.fullmatch(line):
                    return
                self._start = self._lineno
            if kind == "semi":
                if self._parens == 0 and self._begins == 0:
                    self._buf.append(line[seg:end])
                    statement = self._finish_statement(line, end)
                    yield statement
                    if statement.copy_from_stdin:
                        for _ in self.copy_data():
                            pass
                        return
                    pos = seg = end
                    continue
            else:
                self._token(kind or "", m.group(), line, pos)
            pos = end
        self._buf.append(line[seg:])
        self._size += len(line) - seg
        if self._size > self.max_statement:
            raise self.error(self._start, f"statement larger than {self.max_statement >> 20} MiB")

    def _finish_statement(self, line: bytes, end: int) -> Statement:
        sql = b"".join(self._buf)
        copy = bool(_COPY_FROM_STDIN.fullmatch(sql.strip()))
        if copy and line[end:].strip():
            raise self.error(self._lineno, "text after 'COPY ... FROM stdin;' on its line")
        statement = Statement(sql, self._start, copy)
        self._buf, self._size, self._start, self._words = [], 0, 0, []
        self._copy_pending = copy
        return statement

    def _token(self, kind: str, text: bytes, line: bytes, pos: int) -> None:
        opened = _OPENS.get(kind)
        if kind == "quote":
            opened = _State.PLAIN if self.std_strings else _State.ESCAPED
        if opened is not None:
            self._state, self._opened, self._depth, self._tag = opened, self._lineno, 0, text
        elif kind == "backslash":
            meta = _META.match(line, pos)
            command = meta.group().decode("utf-8", "replace") if meta else "\\"
            raise self.error(
                self._lineno,
                f"psql meta-command '{command}' refused: a dump is loaded without psql and "
                "may hold SQL only (no \\! \\o \\copy \\i \\connect ...)",
            )
        elif kind == "open":
            self._parens += 1
        elif kind == "close":
            self._parens = max(0, self._parens - 1)
        elif kind == "ident":
            self._keyword(text.lower())

    def _keyword(self, word: bytes) -> None:
        """psql's rule: in ``CREATE [OR REPLACE] FUNCTION|PROCEDURE``, ``;`` between
        ``BEGIN`` and its ``END`` does not end the statement."""
        words = self._words
        if len(words) < 4:
            words.append(_ROUTINE_WORDS.get(word, b"-"))
        routine = words[:2] in ([b"c", b"f"], [b"c", b"p"]) or (
            words[:3] == [b"c", b"o", b"r"] and len(words) > 3 and words[3] in (b"f", b"p")
        )
        if not routine or self._parens:
            return
        if word == b"begin" or (word == b"case" and self._begins):
            self._begins += 1
        elif word == b"end" and self._begins:
            self._begins -= 1

    def _scan_quoted(self, line: bytes, pos: int) -> int:
        """Advance inside a quote or comment; the new position."""
        state = self._state
        if state is _State.AFTER_QUOTE:
            return self._after_quote(line, pos)
        if state is _State.COMMENT:
            return self._in_comment(line, pos)
        if state is _State.DOLLAR:
            found = line.find(self._tag, pos)
            if found < 0:
                return len(line)
            self._state = _State.INITIAL
            return found + len(self._tag)
        finder = (
            _ESCAPED_END if state is _State.ESCAPED else _IDENT_END if state is _State.IDENT else _PLAIN_END
        )
        m = finder.search(line, pos)
        if m is None:
            return len(line)
        at = m.start()
        if line[at : at + 1] == b"\\":
            return at + 2  # the escaped byte, whatever it is
        quote = line[at : at + 1]
        if state is not _State.BITS and line[at + 1 : at + 2] == quote:
            return at + 2  # doubled
        if state is _State.IDENT:
            self._state = _State.INITIAL
        else:
            self._state, self._resume, self._newline_seen = _State.AFTER_QUOTE, state, False
        return at + 1

    def _after_quote(self, line: bytes, pos: int) -> int:
        """``'a'`` + newline + ``'b'`` is one string (SQL's continuation); anything else ends it."""
        m = _CONTINUATION.match(line, pos)
        if m is not None:
            if m.group() in (b"\n", b"\r"):
                self._newline_seen = True
            return m.end()
        if line[pos : pos + 1] == b"'" and self._newline_seen:
            self._state = self._resume
            return pos + 1
        self._state = _State.INITIAL
        return pos

    def _in_comment(self, line: bytes, pos: int) -> int:
        m = _COMMENT_MARK.search(line, pos)
        if m is None:
            return len(line)
        if m.group() == b"/*":
            self._depth += 1
        elif self._depth:
            self._depth -= 1
        else:
            self._state = _State.INITIAL
        return m.end()

    def _check_end(self) -> None:
        if self._state in (_State.INITIAL, _State.AFTER_QUOTE):
            return
        raise self.error(self._opened, f"unterminated {self._state.value} (the file ends inside it)")


def read_lines(stream: BinaryIO, name: str = "dump.sql", limit: int = MAX_LINE) -> Iterator[bytes]:
    """The lines of ``stream`` (newline kept), refusing one longer than ``limit`` bytes."""
    lineno = 0
    while line := stream.readline(limit + 1):
        lineno += 1
        if len(line) > limit:
            raise ScriptError(name, lineno, f"line longer than {limit >> 20} MiB")
        yield line


def check(lines: Iterable[bytes], name: str = "dump.sql") -> int:
    """Scan a whole script without running it (standard strings throughout); its statement count."""
    return sum(1 for _ in SqlScript(lines, name).statements())
