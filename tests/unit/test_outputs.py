"""The on-disk output cache behind ``read_output``."""

from __future__ import annotations

import re
import stat
import threading
from pathlib import Path

import pytest

from oduflow.errors import NotFoundError, ValidationError
from oduflow.services.outputs import OutputStore

pytestmark = pytest.mark.unit

ID_RE = re.compile(r"[A-Za-z0-9_-]{24}")


def big_log(lines: int = 50_000) -> str:
    """An Odoo-like log with one traceback in the middle."""
    out = [f"2024-05-01 10:00:00,000 1 INFO db odoo.modules.loading: line {i}" for i in range(1, lines + 1)]
    mid = lines // 2
    out[mid - 1] = "2024-05-01 10:00:00,000 1 ERROR db odoo.sql_db: bad query"
    out[mid] = "Traceback (most recent call last):"
    out[mid + 1] = '  File "/x.py", line 1, in f'
    out[mid + 2] = "ValueError: needle-in-the-middle"
    return "\n".join(out)


BIG_LOG = big_log()


@pytest.fixture
def fresh(tmp_path: Path) -> OutputStore:
    """A store of its own, for tests that write."""
    return OutputStore(tmp_path / "outputs", max_chars=12000, keep=200)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> OutputStore:
    """A store shared by the read-only tests; it holds only ``cached``."""
    return OutputStore(tmp_path_factory.mktemp("shared") / "outputs", max_chars=12000, keep=200)


@pytest.fixture(scope="module")
def cached(store: OutputStore) -> str:
    _, output_id = store.shape("1", "run_odoo_command", BIG_LOG)
    assert output_id is not None
    return output_id


def test_small_text_passes_through(fresh: OutputStore) -> None:
    text = "x" * 12000
    assert fresh.shape("1", "tool", text) == (text, None)
    assert not fresh.root.exists()


def test_long_log_gets_summary_with_head_errors_tail_and_id(fresh: OutputStore) -> None:
    summary, output_id = fresh.shape("1", "run_odoo_command", BIG_LOG)
    assert output_id is not None
    assert ID_RE.fullmatch(output_id)
    assert "50000 lines" in summary
    assert "     1  2024-05-01 10:00:00,000 1 INFO db odoo.modules.loading: line 1\n" in summary
    assert "line 40\n" in summary  # head
    assert "ERROR db odoo.sql_db: bad query" in summary
    assert "Traceback (most recent call last):" in summary
    assert "ValueError: needle-in-the-middle" in summary
    assert "line 49941\n" in summary and summary.count("line 50000") == 1  # tail
    assert "line 1000\n" not in summary
    assert summary.endswith(
        f'Full output cached as id {output_id}: read_output(output_id="{output_id}", '
        'mode="lines"|"errors"|"grep"|"tail"|"info")'
    )
    assert len(summary) < 2 * fresh.max_chars


def test_summary_is_bounded_with_huge_lines_and_many_errors(fresh: OutputStore) -> None:
    text = "\n".join(("ERROR " + "y" * 5000) for _ in range(2000))
    summary, output_id = fresh.shape("1", "tool", text)
    assert output_id is not None
    assert len(summary) < 2 * fresh.max_chars
    assert 'mode="errors" for all' in summary


def test_mode_lines(store: OutputStore, cached: str) -> None:
    page = store.read("1", cached, mode="lines", start=10, count=5)
    assert page["start"] == 10 and page["end"] == 14 and page["next_start"] == 15
    assert page["total_lines"] == 50_000
    assert page["text"].splitlines() == [
        f"{n:>6}  2024-05-01 10:00:00,000 1 INFO db odoo.modules.loading: line {n}" for n in range(10, 15)
    ]
    assert page["truncated"] is False
    last = store.read("1", cached, mode="lines", start=49_999, count=10)
    assert (last["start"], last["end"], last["next_start"]) == (49_999, 50_000, None)


def test_read_is_bounded(store: OutputStore, cached: str) -> None:
    page = store.read("1", cached, mode="lines", start=1, count=5000)
    assert len(page["text"]) <= store.max_chars
    assert page["truncated"] is True
    assert page["next_start"] == page["end"] + 1
    tail = store.read("1", cached, mode="tail", count=5000)
    assert len(tail["text"]) <= store.max_chars and tail["truncated"] is True
    assert tail["end"] == 50_000


def test_mode_errors(store: OutputStore, cached: str) -> None:
    page = store.read("1", cached, mode="errors", context=1)
    assert page["matches"] == 3  # ERROR line, Traceback line, ValueError line
    assert "bad query" in page["text"] and "needle-in-the-middle" in page["text"]
    assert page["start"] == 24_999 and page["end"] == 25_004
    assert page["next_start"] is None


def test_mode_grep_fixed_string_regex_and_case(store: OutputStore, cached: str) -> None:
    page = store.read("1", cached, mode="grep", pattern="NEEDLE-in", context=0)
    assert page["matches"] == 1
    assert page["text"] == " 25003  ValueError: needle-in-the-middle"
    assert store.read("1", cached, mode="grep", pattern="NEEDLE-in", ignore_case=False)["matches"] == 0
    # fixed string: the dot is literal; regex=True makes it a wildcard
    assert store.read("1", cached, mode="grep", pattern="line 1.0", context=0)["matches"] == 0
    assert store.read("1", cached, mode="grep", pattern="line 1.0$", regex=True, count=5)["matches"] == 10
    # a pattern starting with '-' is a pattern, not an option
    dash = store.read("1", cached, mode="grep", pattern="-in-the", context=0)
    assert dash["matches"] == 1


def test_grep_pagination(store: OutputStore, cached: str) -> None:
    page = store.read("1", cached, mode="grep", pattern="line 4999", context=0, count=3)
    assert page["matches"] == 11  # line 4999 and 49990-49999
    assert (
        page["text"].splitlines()[0]
        == "  4999  2024-05-01 10:00:00,000 1 INFO db odoo.modules.loading: line 4999"
    )
    assert page["next_start"] == 49_992
    rest = store.read("1", cached, mode="grep", pattern="line 4999", context=0, start=page["next_start"])
    assert rest["matches"] == 8 and rest["next_start"] is None


def test_mode_tail_and_info(store: OutputStore, cached: str) -> None:
    tail = store.read("1", cached, mode="tail", count=3)
    assert [ln.split()[0] for ln in tail["text"].splitlines()] == ["49998", "49999", "50000"]
    info = store.read("1", cached, mode="info")
    assert info["tool"] == "run_odoo_command"
    assert info["total_lines"] == 50_000
    assert info["chars"] == len(BIG_LOG)
    assert info["created"]
    assert "text" not in info


def test_other_team_gets_the_not_found_answer(store: OutputStore, cached: str) -> None:
    with pytest.raises(NotFoundError) as other:
        store.read("2", cached)
    unknown = "A" * 24
    with pytest.raises(NotFoundError) as missing:
        store.read("2", unknown)
    assert str(other.value) == str(missing.value).replace(unknown, cached)


@pytest.mark.parametrize(
    "bad", ["../../etc/passwd", "..", "", "short", "A" * 41, "abc/defghijklmnopqrstuvwxyz", "a" * 23 + "."]
)
def test_malformed_ids_are_refused_before_touching_files(fresh: OutputStore, bad: str) -> None:
    with pytest.raises(ValidationError):
        fresh.read("1", bad)
    assert not fresh.root.exists()


def test_bad_arguments(store: OutputStore, cached: str) -> None:
    for kwargs in (
        {"mode": "nope"},
        {"mode": "grep"},
        {"mode": "grep", "pattern": "(", "regex": True},
        {"start": 0},
        {"count": 0},
        {"context": 99},
    ):
        with pytest.raises(ValidationError):
            store.read("1", cached, **kwargs)
    with pytest.raises(ValidationError):
        store.read("../1", cached)


def test_ids_are_unique_and_long(fresh: OutputStore) -> None:
    ids = {fresh.put("1", "tool", "text") for _ in range(100)}
    assert len(ids) == 100
    assert all(ID_RE.fullmatch(i) for i in ids)


def test_permissions(store: OutputStore, cached: str) -> None:
    team_dir = store.root / "1"
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700
    assert stat.S_IMODE(team_dir.stat().st_mode) == 0o700
    (path,) = team_dir.iterdir()  # no temporary file left behind
    assert path.name == f"{cached}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_pruning_keeps_newest_per_team(tmp_path: Path) -> None:
    store = OutputStore(tmp_path, max_chars=10, keep=3)
    ids = [store.put("1", "tool", f"text {i}") for i in range(5)]
    other = store.put("2", "tool", "other team")
    for old in ids[:2]:
        with pytest.raises(NotFoundError):
            store.read("1", old)
    for i, new in enumerate(ids[2:], 2):
        assert store.read("1", new)["text"].endswith(f"text {i}")
    assert len(list((tmp_path / "1").iterdir())) == 3
    assert store.read("2", other)["text"].endswith("other team")


def test_second_instance_on_same_root_reads_outputs(store: OutputStore, cached: str) -> None:
    other_process = OutputStore(store.root)
    assert other_process.read("1", cached, mode="info")["total_lines"] == 50_000
    assert "needle" in other_process.read("1", cached, mode="grep", pattern="needle")["text"]


def test_concurrent_writes(tmp_path: Path) -> None:
    store = OutputStore(tmp_path, max_chars=10, keep=50)
    ids: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        for i in range(20):
            output_id = store.put("1", "tool", f"text {i}")
            with lock:
                ids.append(output_id)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 160
    assert len(list((tmp_path / "1").glob("*.json"))) == 50
    assert not list((tmp_path / "1").glob(".*"))
    assert store.read("1", ids[-1])["total_lines"] == 1


@pytest.mark.parametrize("team", ["../1", "", "a/b", ".", "x" * 65])
def test_bad_team_id_is_refused_before_touching_files(fresh: OutputStore, team: str) -> None:
    with pytest.raises(ValidationError):
        fresh.put(team, "tool", "text")
    assert not fresh.root.exists()
