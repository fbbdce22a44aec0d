"""Parse Odoo server logs into structured results (pure functions, no I/O).

Records are ``%(asctime)s %(pid)s %(levelname)s %(dbname)s %(name)s: %(message)s``; other lines
(tracebacks) belong to the previous record. Covers Odoo 15-19 wordings: the test summary
``N failed, M error(s) of K tests when loading database 'DB'`` (``odoo.service.server`` or
``odoo.tests.result``), ``FAIL:``/``ERROR:`` records incl. ``setUpClass``, fatal load errors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_RECORD = re.compile(
    r"^(?P<ts>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}) (?P<pid>\d+) (?P<level>[A-Z_]+) "
    r"(?P<db>\S+) (?P<logger>\S+?):(?:\s(?P<msg>.*))?$"
)
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)')
_PARSE_LOC = re.compile(r"while parsing (?P<file>\S+?):(?P<line>\d+)")
_SUMMARY = re.compile(r"(?P<failed>\d+) failed, (?P<errors>\d+) error\(s\) of (?P<total>\d+) tests?\b")
_MODULE_RESULT = re.compile(r"^Module \w+: (\d+) failures?, (\d+) errors?(?: of (\d+) tests?)?")
_TEST_RESULT = re.compile(r"^(?P<kind>FAIL|ERROR): (?P<desc>\S.*)$")
_STARTING = re.compile(r"^Starting (?P<desc>.+?) \.\.\.$")
_DESC_DOTTED = re.compile(r"^(?P<method>\w+) \((?P<path>[\w.]+)\)")
_DESC_SHORT = re.compile(r"^(?:Subtest )?(?P<cls>[\w.]+)\.(?P<method>\w+)(?:\s|$)")
_ADDON_TEST = re.compile(r"^odoo\.addons\.(?P<module>\w+)\.tests(?:\.(?P<rest>[\w.]+))?$")
_LOADING = re.compile(r"^Loading module (?P<module>\w+) \(")
_LOADED = re.compile(r"^Module (?P<module>\w+) loaded in ")
_LOAD_END = re.compile(r"^\d+ modules loaded in ")
_COULDNT_LOAD = re.compile(r"^Couldn't load module (?P<module>\w+)")
_MODULE_LIST = re.compile(
    r"(?:invalid module names|Some modules (?:are not|have incons))[^:]*: (?P<names>.*)"
)
_INVALID_NAMES = "invalid module names, ignored"
_TRACEBACK_CAP = 6000
_EXCERPT_CAP = 6000
_MAX_ISSUES = 20


@dataclass(frozen=True)
class LogRecord:
    """One log record; ``extra_lines`` are the continuation lines (e.g. a traceback).

    ``db`` is ``None`` for records logged outside a database (``?``); ``lineno`` is the
    1-based line of the record's first line in the parsed text. Lines before the first
    record form a record with empty ``timestamp``, ``level`` and ``logger``.
    """

    timestamp: str
    pid: int
    level: str
    db: str | None
    logger: str
    message: str
    extra_lines: tuple[str, ...] = ()
    lineno: int = 0

    @property
    def traceback(self) -> str:
        """The continuation lines, without trailing blank lines."""
        return "\n".join(self.extra_lines).rstrip()

    @property
    def has_traceback(self) -> bool:
        """Whether the continuation lines hold a Python traceback."""
        return any(ln.startswith("Traceback (most recent call last)") for ln in self.extra_lines)


@dataclass(frozen=True)
class LogIssue:
    """An ERROR/CRITICAL (or WARNING) record made readable.

    ``exception`` is the exception text after the last traceback frame (may span several
    lines, e.g. a ``ParseError``); ``file``/``line`` point at the most relevant location
    (the XML file of a ``ParseError``, the frame inside an operated module, else the last
    frame); ``module`` is the module being loaded when it happened, when known.
    """

    level: str
    logger: str
    message: str
    lineno: int
    exception: str | None = None
    traceback: str = ""
    file: str | None = None
    line: int | None = None
    module: str | None = None
    summary: str = field(init=False)  # one line: module, exception (or message), location

    def __post_init__(self) -> None:
        text = self.exception.splitlines()[0] if self.exception else self.message
        where = f" ({self.file}:{self.line})" if self.file else ""
        object.__setattr__(self, "summary", f"{self.module + ': ' if self.module else ''}{text}{where}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class TestFailure:
    """One failing test: ``kind`` is ``"FAIL"`` (assertion) or ``"ERROR"`` (exception).

    ``method`` is ``setUpClass``/``tearDownClass`` for class-level errors; ``message`` is the
    exception line (``AssertionError: 1 != 2 : ...``); ``file``/``line`` the failing frame.
    """

    __test__ = False  # not a pytest test class

    module: str | None
    test_file: str | None
    test_class: str | None
    method: str | None
    kind: str
    message: str
    traceback: str
    description: str = ""
    file: str | None = None
    line: int | None = None
    lineno: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class TestRun:
    """Result of an Odoo test run (``--test-enable``).

    Counts come from the final summary line when present, else from the per-test records.
    ``load_errors`` holds what stopped the run before or outside tests (CRITICAL records
    such as ``Failed to initialize database``, unknown module names, and for a run that died
    without a log record its exception or usage error). ``tail`` is the end of the output
    when the run failed without a summary line. A run where no test ran is not ``ok``.
    """

    __test__ = False  # not a pytest test class

    passed: int
    failed: int
    errors: int
    skipped: int
    total: int
    exit_code: int
    failures: list[TestFailure] = field(default_factory=list)
    load_errors: list[LogIssue] = field(default_factory=list)
    summary_line: str | None = None
    modules: list[str] = field(default_factory=list)
    tail: str = ""

    @property
    def ok(self) -> bool:
        """Exit code 0, at least one test ran, no failing test and no load error."""
        failing = self.failed or self.errors or self.failures or self.load_errors
        return self.exit_code == 0 and self.total > 0 and not failing

    def to_dict(self, *, max_failures: int | None = None) -> dict[str, Any]:
        """JSON-ready dict; ``max_failures`` caps the failures listed (``failures_omitted``)."""
        data = {"ok": self.ok, **asdict(self)}
        data["failures"] = data["failures"][:max_failures]
        data["failures_omitted"] = len(self.failures) - len(data["failures"])
        return data


@dataclass(frozen=True)
class ModuleOperation:
    """Result of an install (``-i``) or upgrade (``-u``) run.

    ``error`` is the cause of the failure (the record with a traceback when there is one),
    ``None`` when ``ok``; ``errors`` lists every ERROR/CRITICAL record (capped), including
    harmless ones of a successful run. ``modules_loaded`` are the modules Odoo installed or
    upgraded to the end (``Module X loaded in ...``, logged at INFO only for those; a module that
    started loading and failed is not among them); ``modules_not_loaded`` are requested modules
    not among them (failed, unknown, already installed for ``-i``, not installed for ``-u``).
    """

    ok: bool
    exit_code: int
    modules: list[str]
    modules_loaded: list[str]
    modules_not_loaded: list[str]
    error: LogIssue | None
    errors: list[LogIssue]
    warnings: list[LogIssue]
    warnings_total: int
    excerpt: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def parse_records(text: str) -> list[LogRecord]:
    """Split Odoo log text into records; continuation lines join the previous record."""
    heads: list[LogRecord] = []
    extras: list[list[str]] = []
    for no, raw in enumerate(text.splitlines(), 1):
        line = _ANSI.sub("", raw).rstrip("\r")
        if m := _RECORD.match(line):
            db = None if m["db"] == "?" else m["db"]
            msg = (m["msg"] or "").rstrip()
            heads.append(LogRecord(m["ts"], int(m["pid"]), m["level"], db, m["logger"], msg, (), no))
            extras.append([])
        elif extras:
            extras[-1].append(line)
        elif line.strip():
            heads.append(LogRecord("", 0, "", None, "", line.rstrip(), (), no))
            extras.append([])
    return [replace(h, extra_lines=tuple(x)) if x else h for h, x in zip(heads, extras, strict=True)]


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head, tail = limit // 3, limit - limit // 3
    return f"{text[:head]}\n... [{len(text) - head - tail} characters omitted] ...\n{text[-tail:]}"


def _exception_lines(lines: Sequence[str]) -> list[str]:
    """Lines of the final exception (after the last frame and its code lines)."""
    frames = [i for i, ln in enumerate(lines) if _FRAME.match(ln)]
    i = frames[-1] + 1 if frames else len(lines)
    while i < len(lines) and (lines[i][:1].isspace() or not lines[i].strip()):
        i += 1
    return "\n".join(lines[i:]).rstrip().splitlines()


def _location(lines: Sequence[str], hints: Sequence[str] = ()) -> tuple[str | None, int | None]:
    m = _PARSE_LOC.search("\n".join(_exception_lines(lines)))
    if m:
        return m["file"], int(m["line"])
    frames = [f for f in map(_FRAME.match, lines) if f]
    best = [f for f in frames if any(f"/{h}/" in f["file"] for h in hints)] or frames
    return (best[-1]["file"], int(best[-1]["line"])) if best else (None, None)


def _issue(rec: LogRecord, module: str | None = None, hints: Sequence[str] = ()) -> LogIssue:
    exc = _exception_lines(rec.extra_lines)
    file, line = _location(rec.extra_lines, [*hints, *([module] if module else [])])
    if module is None and file:
        module = next((h for h in hints if f"/{h}/" in file), None)
    exception = _cap("\n".join(exc), 2000) if exc else None
    tb = _cap(rec.traceback, _TRACEBACK_CAP)
    return LogIssue(rec.level, rec.logger, rec.message, rec.lineno, exception, tb, file, line, module)


def _loading_context(records: Sequence[LogRecord]) -> list[str | None]:
    """For each record, the module being loaded at that point (or ``None``)."""
    current: str | None = None
    out: list[str | None] = []
    for rec in records:
        if m := _LOADING.match(rec.message):
            current = m["module"]
        elif _LOADED.match(rec.message) or _LOAD_END.match(rec.message):
            current = None
        m2 = _COULDNT_LOAD.match(rec.message)
        out.append(m2["module"] if m2 else current)
    return out


def _failure(rec: LogRecord, kind: str, desc: str, last_started: str | None) -> TestFailure:
    """A failure from its record: names from the logger and the description (or the last
    ``Starting`` record of that logger for descriptions without them)."""
    m = _ADDON_TEST.match(rec.logger)
    module, test_file = (m["module"], m["rest"]) if m else (None, None)
    cls: str | None = None
    method: str | None = None
    if (d := _DESC_DOTTED.match(desc)) and (p := _ADDON_TEST.match(d["path"])):
        method, module = d["method"], p["module"]
        parts = (p["rest"] or "").split(".")
        if len(parts) > 1 and parts[-1] == method:
            parts.pop()
        if len(parts) > 1 and parts[-1][:1].isupper():
            cls = parts.pop()
        test_file = ".".join(parts) or None
    elif short := _DESC_SHORT.match(desc) or _DESC_SHORT.match(last_started or ""):
        cls, method = short["cls"], short["method"]
    exc = _exception_lines(rec.extra_lines)
    lines = [ln.strip() for ln in rec.extra_lines if ln.strip()]
    file, line = _location(rec.extra_lines, [module] if module else [])
    message, tb = exc[0] if exc else (lines or [""])[-1], _cap(rec.traceback, _TRACEBACK_CAP)
    return TestFailure(module, test_file, cls, method, kind, message, tb, desc, file, line, rec.lineno)


_TAIL_LINES = 40
_USAGE_ERROR = re.compile(r"^\S.*: error: (?P<msg>.+)$")


def output_tail(text: str, lines: int = _TAIL_LINES) -> str:
    """The last ``lines`` non-blank-trailing lines of ``text`` (ANSI colours removed)."""
    kept = [_ANSI.sub("", ln) for ln in text.rstrip().splitlines()[-lines:]]
    return _cap("\n".join(kept), _EXCERPT_CAP)


def bare_failure(text: str, exit_code: int) -> LogIssue:
    """Why a run failed when Odoo logged no error record: the exception of an uncaught
    traceback (e.g. ``OSError: [Errno 98] Address already in use``), a usage error
    (``odoo server: error: no such option: ...``, exit code 2), else the last output line."""
    lines = [_ANSI.sub("", ln).rstrip() for ln in text.splitlines()]
    starts = [i for i, ln in enumerate(lines) if ln.startswith("Traceback (most recent call last)")]
    if starts:
        block = lines[starts[-1] :]
        end = next((i for i, ln in enumerate(block) if i and _RECORD.match(ln)), len(block))
        block = block[:end]
        exc = _exception_lines(block)
        file, line = _location(block)
        first = exc[0] if exc else block[-1]
        return LogIssue(
            "", "", f"Odoo exited with code {exit_code} on an uncaught exception: {first}", 0,
            _cap("\n".join(exc), 2000) if exc else None, _cap("\n".join(block), _TRACEBACK_CAP), file, line,
        )  # fmt: skip
    usage = next((m for ln in reversed(lines) if (m := _USAGE_ERROR.match(ln))), None)
    if usage:
        return LogIssue("", "", f"Odoo refused its command line (exit code {exit_code}): {usage['msg']}", 0)
    last = next((ln.strip() for ln in reversed(lines) if ln.strip()), "no output")
    return LogIssue("", "", f"Odoo exited with code {exit_code} without logging an error: {last[:300]}", 0)


def parse_test_run(text: str, exit_code: int) -> TestRun:
    """Parse the log of an Odoo test run into counts, failing tests and load errors."""
    records = parse_records(text)
    context = _loading_context(records)
    failures: list[TestFailure] = []
    load_errors: list[LogIssue] = []
    started: dict[str, str] = {}
    modules: list[str] = []
    n_started = skipped = 0
    summary: re.Match[str] | None = None
    summary_line: str | None = None
    per_module = [0, 0, 0]
    for rec, ctx in zip(records, context, strict=True):
        msg = rec.message
        addon = _ADDON_TEST.match(rec.logger)
        if m := _STARTING.match(msg):
            n_started += 1
            started[rec.logger] = m["desc"]
            if addon and addon["module"] not in modules:
                modules.append(addon["module"])
        elif addon and msg.startswith("skipped "):
            skipped += 1
        elif rec.level == "ERROR" and (m := _TEST_RESULT.match(msg)):
            failures.append(_failure(rec, m["kind"], m["desc"], started.get(rec.logger)))
            if failures[-1].module and failures[-1].module not in modules:
                modules.append(failures[-1].module)
        elif s := _SUMMARY.search(msg):
            summary, summary_line = s, f"{rec.logger}: {msg}"
        elif pm := _MODULE_RESULT.match(msg):
            per_module = [a + int(b or 0) for a, b in zip(per_module, pm.groups(), strict=True)]
        elif rec.level == "CRITICAL" or (rec.level == "WARNING" and msg.startswith(_INVALID_NAMES)):
            load_errors.append(_issue(rec, ctx))
    kinds = [f.kind for f in failures]
    if summary:
        failed, errors, total = (int(summary[k]) for k in ("failed", "errors", "total"))
    else:
        failed = max(kinds.count("FAIL"), per_module[0])
        errors = max(kinds.count("ERROR"), per_module[1])
        total = max(n_started, per_module[2])
    passed = max(0, total - failed - errors - skipped)
    load = load_errors[:_MAX_ISSUES]
    tail = ""
    if exit_code != 0 and not summary:
        tail = output_tail(text)
        if not (failures or load):
            load = [bare_failure(text, exit_code)]
    return TestRun(
        passed, failed, errors, skipped, total, exit_code, failures, load, summary_line, modules, tail
    )


def _mentions(rec: LogRecord, modules: Sequence[str]) -> bool:
    m = _MODULE_LIST.search(rec.message)
    return bool(m and set(re.findall(r"\w+", m["names"])) & set(modules))


def _pick(pool: Sequence[tuple[LogRecord, str | None]]) -> tuple[LogRecord, str | None] | None:
    """The first record of ``pool`` with a traceback, else the first one."""
    return next((p for p in pool if p[0].has_traceback), pool[0] if pool else None)


def _excerpt(lines: Sequence[str], recs: Sequence[LogRecord], first: LogRecord | None, failed: bool) -> str:
    ordered = ([first] if first else []) + [r for r in recs if r is not first]
    ranges: list[tuple[int, int]] = []
    size = 0
    for rec in ordered:
        lo, hi = max(1, rec.lineno - 3), min(len(lines), rec.lineno + len(rec.extra_lines) + 1)
        ranges.append((lo, hi))
        size += sum(len(ln) + 1 for ln in lines[lo - 1 : hi])
        if size > _EXCERPT_CAP:
            break
    if not ranges and failed:
        ranges = [(max(1, len(lines) - 39), len(lines))]
    merged: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return _cap("\n...\n".join("\n".join(lines[lo - 1 : hi]) for lo, hi in merged), _EXCERPT_CAP)


def parse_module_operation(text: str, exit_code: int, modules: Sequence[str]) -> ModuleOperation:
    """Parse the log of an install/upgrade run (``-i``/``-u`` with ``--stop-after-init``).

    Not ok when the exit code is non-zero, a CRITICAL record was logged, or Odoo reported
    a requested module as unknown, not loaded or in an inconsistent state.
    """
    requested = [m for m in modules if m and m != "all"]
    records = parse_records(text)
    context = _loading_context(records)
    loaded: list[str] = []
    problems: list[tuple[LogRecord, str | None]] = []
    fatal: list[tuple[LogRecord, str | None]] = []
    warned: list[tuple[LogRecord, str | None]] = []
    for rec, ctx in zip(records, context, strict=True):
        if (m := _LOADED.match(rec.message)) and m["module"] not in loaded:
            loaded.append(m["module"])
        is_fatal = rec.level == "CRITICAL" or (rec.level != "INFO" and _mentions(rec, requested))
        if is_fatal:
            fatal.append((rec, ctx))
        if is_fatal or rec.level in ("ERROR", "CRITICAL"):
            problems.append((rec, ctx))
        elif rec.level == "WARNING":
            warned.append((rec, ctx))
    ok = exit_code == 0 and not fatal
    pick = None if ok else _pick(fatal) or _pick(problems)
    error = _issue(pick[0], pick[1], requested) if pick else None
    lines = [_ANSI.sub("", ln) for ln in text.splitlines()]
    if not ok and not pick:
        error = bare_failure(text, exit_code)
    errors = [_issue(r, c, requested) for r, c in problems[:_MAX_ISSUES]]
    warnings = [_issue(r, c, requested) for r, c in warned[:_MAX_ISSUES]]
    excerpt = _excerpt(lines, [r for r, _ in problems], pick[0] if pick else None, not ok)
    not_loaded = [m for m in requested if m not in loaded]
    return ModuleOperation(
        ok, exit_code, list(modules), loaded, not_loaded, error, errors, warnings, len(warned), excerpt
    )
