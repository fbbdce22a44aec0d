"""The plain-dump reader: statements split like the server and psql split them, every psql
meta-command refused with its line, COPY data handed over up to their ``\\.`` line."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from oduflow.sqlscript import ScriptError, SqlScript, Statement, check, read_lines

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sqlscript" / "pg_dump_plain.sql"
"""``pg_dump --no-owner`` (15.20, plain) of the database ``pg_dump_plain.source.sql`` builds."""


def lines(text: str | bytes) -> list[bytes]:
    data = text.encode() if isinstance(text, str) else text
    return data.splitlines(keepends=True)


def split(text: str | bytes, std_strings: bool = True) -> list[Statement]:
    script = SqlScript(lines(text))
    script.std_strings = std_strings
    return list(script.statements())


def sqls(text: str | bytes, std_strings: bool = True) -> list[str]:
    return [s.sql.decode().strip() for s in split(text, std_strings)]


def refused(text: str, std_strings: bool = True) -> ScriptError:
    with pytest.raises(ScriptError) as info:
        split(text, std_strings)
    return info.value


# --- real pg_dump output ---------------------------------------------------------------------
def test_real_pg_dump_output_splits_into_its_statements() -> None:
    with SAMPLE.open("rb") as f:
        script = SqlScript(f, SAMPLE.name)
        found: list[tuple[Statement, list[bytes]]] = []
        for statement in script.statements():
            found.append((statement, list(script.copy_data())))
    texts = [s.sql.decode().strip() for s, _ in found]
    assert texts[0] == "SET statement_timeout = 0;" and found[0][0].line == 10
    assert texts[-1] == "REVOKE USAGE ON SCHEMA public FROM PUBLIC;"
    atomic = next(t for t in texts if "atomic_f" in t)
    assert atomic.startswith("CREATE FUNCTION") and atomic.endswith("END;") and "WHEN (a > 0)" in atomic
    procedure = next(t for t in texts if "atomic_p" in t)
    assert "SELECT 1;\n SELECT 2;\nEND;" in procedure
    body = next(t for t in texts if "plpgsql_f" in t)
    assert body.endswith("$_$;") and "$$;inner$$" in body and "-- a comment; with a semicolon" in body
    comment = next(t for t in texts if t.startswith("COMMENT ON TABLE"))
    assert comment.endswith("a backslash \\ at the end\\';")
    view = next(t for t in texts if t.startswith("CREATE VIEW"))
    assert "'semi;colon'::text AS a" in view and view.endswith("AS d;")
    assert not any("restrict" in t for t in texts)
    copies = [(s, data) for s, data in found if s.copy_from_stdin]
    assert [s.sql.split(b" (")[0] for s, _ in copies] == [
        b"COPY public.ir_module_module",
        b'COPY public."we;ird ""name"""',
    ]
    rows = copies[1][1]
    assert rows[1] == b"2\t\\\\. not an end marker\t\\\\.\n"
    assert rows[3] == b"4\t\\N\t\\\\! not a meta-command\n"
    assert len(rows) == 5 and rows[4].decode().startswith("5\tunicode \u00e9 \u20ac \u65e5\u672c")
    assert sum(1 for t in texts if t.startswith("SELECT pg_catalog.lo")) == 4
    assert len(texts) == 39


def test_check_counts_the_statements_of_the_real_dump_skipping_copy_data() -> None:
    with SAMPLE.open("rb") as f:
        assert check(f, SAMPLE.name) == 39


# --- meta-commands ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("script", "command", "line"),
    [
        ("SELECT 1;\n\\! touch /dump/pwned\n", "\\!", 2),
        ("\\o |sh -c id\nSELECT 1;\n", "\\o", 1),
        ("\\copy (SELECT 1) to program 'id'\n", "\\copy", 1),
        ("\\i /etc/passwd\n", "\\i", 1),
        ("\\ir other.sql\n", "\\ir", 1),
        ("\\connect postgres\n", "\\connect", 1),
        ("\\c postgres\n", "\\c", 1),
        ("\\setenv PAGER 'sh -c id'\n", "\\setenv", 1),
        ("\\set x 1\n", "\\set", 1),
        ("SELECT 'rm -rf /' \\gexec\n", "\\gexec", 1),
        ("SELECT 1 \\g |sh\n", "\\g", 1),
        ("SELECT 1;\n\n  \\w /tmp/x\n", "\\w", 3),
        ("SELECT 1 \\; SELECT 2;\n", "\\;", 1),
        ("SELECT 1;\\!id\n", "\\!", 1),
        ("SELECT\n\\restrict abc\n1;\n", "\\restrict", 2),
        ("\\restrict abc; \\! id\n", "\\restrict", 1),
        ("\\unrestrict key-with-dash\n", "\\unrestrict", 1),
        ("SELECT 1 -\\! x\n", "\\!", 1),
    ],
)
def test_every_meta_command_is_refused_with_its_line(script: str, command: str, line: int) -> None:
    error = refused(script)
    assert error.line == line
    assert str(error).startswith(f"dump.sql line {line}: psql meta-command '{command}' refused")


def test_restrict_lines_of_recent_pg_dump_are_skipped() -> None:
    script = "\\restrict Ab12\nSELECT 1;\n  \\unrestrict Ab12  \r\n"
    assert sqls(script) == ["SELECT 1;"]


def test_nothing_before_a_refused_command_is_hidden_behind_a_statement() -> None:
    statements = SqlScript(lines("SELECT 1;\nSELECT 2;\n\\! id\n")).statements()
    assert next(statements).sql == b"SELECT 1;"
    assert next(statements).sql.strip() == b"SELECT 2;"
    with pytest.raises(ScriptError, match="line 3"):
        next(statements)


# --- where a backslash is plain text ---------------------------------------------------------
@pytest.mark.parametrize(
    "script",
    [
        "SELECT 'a \\! b';",
        "SELECT 'ends with a backslash\\';",  # standard strings: the backslash is text
        "SELECT E'it\\'s \\! still a string';",
        "SELECT e'\\\\';",
        "SELECT E'\\\\\\'; \\! inside';",
        "SELECT $$ \\! $$;",
        "SELECT $tag$ $$ \\! $x$ $tag$;",
        'SELECT 1 AS "\\! ident";',
        'SELECT 1 AS U&"\\0041";',
        "SELECT U&'\\0041 \\! x';",
        "SELECT B'0101', X'1F';",
        "SELECT 1; -- \\! in a comment\n",
        "/* \\! /* nested \\o */ still \\! */ SELECT 1;",
        "SELECT 'a'\n'b \\! c';",
        "SELECT N'national \\!';",
    ],
)
def test_backslashes_inside_quotes_and_comments_are_text(script: str) -> None:
    assert len(split(script)) == 1


def test_plain_strings_take_escapes_without_standard_conforming_strings() -> None:
    script = "SELECT 'a\\'; \\! still inside';\n"
    assert sqls(script, std_strings=False) == ["SELECT 'a\\'; \\! still inside';"]
    assert refused(script, std_strings=True).line == 1


def test_the_caller_switches_standard_strings_between_statements() -> None:
    script = SqlScript(lines("SET standard_conforming_strings = off;\nSELECT 'x\\'; y';\n"))
    it = script.statements()
    assert next(it).sql == b"SET standard_conforming_strings = off;"
    script.std_strings = False
    assert next(it).sql.strip() == b"SELECT 'x\\'; y';"


def test_string_continuation_across_a_newline_keeps_the_escapes() -> None:
    # E'...' continued on the next line is still an E string: \' does not end it
    assert len(split("SELECT E'a'\n  -- comment\n'\\'; \\! x';\n")) == 1
    # without a newline there is no continuation: the second string is a standard one
    assert refused("SELECT E'a' '\\'; \\! x';\n").line == 1


def test_dollar_quote_tags_must_match_exactly() -> None:
    error = refused("SELECT $a$ text $A$ \\! $b$;\n")
    assert str(error) == "dump.sql line 1: unterminated dollar-quoted string (the file ends inside it)"
    assert refused("SELECT a$b$ \\! x;\n").line == 1  # a$b$ is an identifier
    assert refused("SELECT $1$ \\! x;\n").line == 1  # $1 is a parameter, no quote
    assert sqls("SELECT $a$ $$ $a$; SELECT 2;") == ["SELECT $a$ $$ $a$;", "SELECT 2;"]


def test_comments_nest() -> None:
    assert refused("/* a /* b */ */ \\! x\n").line == 1
    error = refused("SELECT 1;\n/* a /* b */\n\\! x\n")
    assert "line 2: unterminated comment" in str(error)


@pytest.mark.parametrize(
    ("script", "what", "line"),
    [
        ("SELECT 1;\nSELECT 'never\nends;\n", "quoted string", 2),
        ('SELECT "ident\n', "quoted identifier", 1),
        ("SELECT E'x\\';\n", "quoted string with escapes", 1),
        ("SELECT $q$ body\n", "dollar-quoted string", 1),
        ("SELECT B'01\n", "bit string", 1),
    ],
)
def test_an_unterminated_quote_is_refused_with_its_opening_line(script: str, what: str, line: int) -> None:
    error = refused(script)
    assert str(error) == f"dump.sql line {line}: unterminated {what} (the file ends inside it)"


# --- statements -----------------------------------------------------------------------------
def test_statements_split_at_semicolons_outside_quotes_and_parentheses() -> None:
    script = (
        "-- header\n\nSET a = 1; SET b = 2;\n"
        "SELECT ';', \"x;y\", $$;$$, (SELECT 1; ) /* ; */;\n"
        "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n"
        "  SELECT CASE WHEN true THEN 1 END;\n  SELECT 2;\nEND;\n"
        "CREATE TABLE begin_end (begin int); SELECT 'last'"
    )
    found = split(script)
    assert [s.line for s in found] == [3, 3, 4, 5, 10, 10]
    assert found[1].sql.strip() == b"SET b = 2;"
    assert found[3].sql.endswith(b"END;")
    assert found[-1].sql.strip() == b"SELECT 'last'"  # the last statement needs no semicolon


def test_copy_data_are_handed_over_up_to_the_end_marker() -> None:
    script = SqlScript(
        lines("COPY t (a) FROM stdin;\n1\t\\\\! x\n\\.x\n\\.\nSELECT 1;\nCOPY u FROM STDIN ;\n\\.\r\n")
    )
    it = script.statements()
    copy = next(it)
    assert copy == Statement(b"COPY t (a) FROM stdin;", 1, True)
    assert list(script.copy_data()) == [b"1\t\\\\! x\n", b"\\.x\n"]
    assert next(it).sql.strip() == b"SELECT 1;"
    second = next(it)
    assert second.copy_from_stdin and second.line == 6
    assert list(it) == []  # data left unread are skipped, not taken for SQL


def test_copy_to_stdout_or_from_a_file_is_no_copy_in() -> None:
    assert [s.copy_from_stdin for s in split("COPY t TO stdout;\nCOPY t FROM '/etc/passwd';\n")] == [
        False,
        False,
    ]


def test_copy_data_without_end_marker_or_with_text_after_the_statement_are_refused() -> None:
    error = refused("SELECT 1;\nCOPY t FROM stdin;\n1\n2\n")
    assert str(error) == "dump.sql line 2: the data of this COPY end without their '\\.' line"
    assert refused("COPY t FROM stdin; \\! id\n1\n\\.\n").line == 1


def test_the_script_is_read_as_it_goes() -> None:
    consumed: list[int] = []

    def source() -> Iterator[bytes]:
        for n in range(1, 100_001):
            consumed.append(n)
            yield {1: b"SELECT 1;\n", 2: b"COPY t FROM stdin;\n", 100_000: b"\\.\n"}.get(n, b"x\n")

    script = SqlScript(source())
    it = script.statements()
    assert next(it).line == 1 and consumed == [1]
    assert next(it).copy_from_stdin and consumed == [1, 2]
    data = script.copy_data()
    assert next(data) == b"x\n" and consumed == [1, 2, 3]
    assert sum(1 for _ in data) == 99_996 and list(it) == []
    assert len(consumed) == 100_000


def test_line_numbers_in_errors_count_copy_data_lines() -> None:
    assert refused("COPY t FROM stdin;\n1\n2\n\\.\n\\! id\n").line == 5


def test_statements_and_lines_are_bounded() -> None:
    script = SqlScript(lines("SELECT 1;\nSELECT '" + "x\n" * 40 + "';\n"), max_statement=64)
    it = script.statements()
    assert next(it).sql == b"SELECT 1;"
    with pytest.raises(ScriptError, match=r"line 2: statement larger than 0 MiB"):
        next(it)
    stream = io.BytesIO(b"SELECT 1;\n" + b"y" * 100 + b"\nSELECT 2;\n")
    with pytest.raises(ScriptError, match="line 2: line longer than"):
        list(read_lines(stream, limit=50))
    assert list(read_lines(io.BytesIO(b"a\nb"), limit=50)) == [b"a\n", b"b"]
