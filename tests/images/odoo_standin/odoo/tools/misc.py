"""Small helpers addons commonly import from ``odoo.tools``."""

from __future__ import annotations

import contextlib
import functools
import html
import logging
import math
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

DEFAULT_SERVER_DATE_FORMAT = "%Y-%m-%d"
DEFAULT_SERVER_TIME_FORMAT = "%H:%M:%S"
DEFAULT_SERVER_DATETIME_FORMAT = f"{DEFAULT_SERVER_DATE_FORMAT} {DEFAULT_SERVER_TIME_FORMAT}"


def float_round(
    value: float,
    precision_digits: int | None = None,
    precision_rounding: float | None = None,
    rounding_method: str = "HALF-UP",
) -> float:
    """Round ``value`` to ``precision_digits`` decimals or to a multiple of ``precision_rounding``."""
    step = precision_rounding or 10 ** -(precision_digits or 0)
    scaled = value / step
    if rounding_method == "UP":
        rounded = math.ceil(abs(scaled) - 1e-9) * (1 if scaled >= 0 else -1)
    elif rounding_method == "DOWN":
        rounded = math.floor(abs(scaled) + 1e-9) * (1 if scaled >= 0 else -1)
    else:
        rounded = math.floor(abs(scaled) + 0.5 + 1e-9) * (1 if scaled >= 0 else -1)
    return round(rounded * step, 12)


def float_is_zero(
    value: float, precision_digits: int | None = None, precision_rounding: float | None = None
) -> bool:
    """Whether ``value`` rounds to zero."""
    return float_round(value, precision_digits, precision_rounding) == 0


def float_compare(
    a: float, b: float, precision_digits: int | None = None, precision_rounding: float | None = None
) -> int:
    """-1, 0 or 1 after rounding both values."""
    diff = float_round(a - b, precision_digits, precision_rounding)
    return 0 if diff == 0 else (-1 if diff < 0 else 1)


def float_repr(value: float, precision_digits: int) -> str:
    """``value`` with exactly ``precision_digits`` decimals."""
    return f"{value:.{precision_digits}f}"


def html_escape(text: Any) -> str:
    """HTML-escape ``text``."""
    return html.escape(str(text or ""))


def ustr(value: Any, *args: Any, **kwargs: Any) -> str:
    """``str`` of ``value`` (kept for old addons)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def groupby(items: Iterable[Any], key: Callable[[Any], Any] = lambda x: x) -> list[tuple[Any, list[Any]]]:
    """Group ``items`` by ``key`` keeping the first-seen order of keys."""
    groups: dict[Any, list[Any]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return list(groups.items())


def split_every(n: int, iterable: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
    """Tuples of at most ``n`` items."""
    chunk: list[Any] = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == n:
            yield tuple(chunk)
            chunk = []
    if chunk:
        yield tuple(chunk)


def ormcache(*args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """No caching in the stand-in: the decorator returns the function unchanged."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        return func

    return decorate


ormcache_context = ormcache
lazy_property = functools.cached_property


@contextlib.contextmanager
def mute_logger(*loggers: str) -> Iterator[None]:
    """Silence the given loggers inside the block."""
    saved = [(logging.getLogger(name), logging.getLogger(name).disabled) for name in loggers]
    for logger, _ in saved:
        logger.disabled = True
    try:
        yield
    finally:
        for logger, disabled in saved:
            logger.disabled = disabled


def file_path(path: str) -> str:
    """Absolute path of ``module/relative/path`` on the addons path."""
    import odoo.addons

    if os.path.isabs(path):
        return path
    for root in odoo.addons.__path__:
        candidate = os.path.join(root, path)
        if os.path.exists(candidate):
            return candidate
    raise FileNotFoundError(f"File not found: {path}")


def file_open(path: str, mode: str = "r", **kwargs: Any) -> Any:
    """Open a file of an addon (see :func:`file_path`)."""
    return open(file_path(path), mode, **kwargs)


def str2bool(value: Any, default: bool | None = None) -> bool:
    """Interpret ``value`` as a boolean."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y", "on", "t"):
        return True
    if text in ("0", "false", "no", "n", "off", "f", ""):
        return False
    if default is None:
        raise ValueError(f"Use 0/1/yes/no/true/false/on/off, not {value!r}")
    return default
