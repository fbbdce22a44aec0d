"""The web terminal's message checks (no Docker: the socket itself is tests/e2e/test_terminal.py's)."""

from __future__ import annotations

import pytest

from oduflow.errors import ValidationError
from oduflow.services.terminal import MAX_SIZE, MIN_SIZE, clamp_size
from oduflow.surfaces.web.terminal import _control, _reason


def test_control_messages() -> None:
    assert _control('{"type": "resize", "cols": 100, "rows": 30}')["cols"] == 100
    assert _control('{"type": "input", "data": "ls\\r"}')["data"] == "ls\r"
    for bad in ("", "[]", "not json", '{"type": "resize", "cols": "9", "rows": 2}', '{"type": "input"}'):
        with pytest.raises(ValidationError, match="a text message must be"):
            _control(bad)


def test_sizes_are_clamped() -> None:
    assert clamp_size(0, 0) == MIN_SIZE
    assert clamp_size(10**6, 10**6) == MAX_SIZE
    assert clamp_size(120, 40) == (120, 40)


def test_close_reason_fits_a_close_frame() -> None:
    assert _reason("short") == "short"
    long = _reason("é" * 200)
    assert len(long.encode()) <= 123 and long.endswith("...")
