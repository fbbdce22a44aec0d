"""Translation helpers: the stand-in only formats strings (no translations are loaded)."""

from __future__ import annotations

from typing import Any


def _(source: str, *args: Any, **kwargs: Any) -> str:
    """Return ``source`` formatted with ``args`` (``%``) or ``kwargs`` (``%(name)s``)."""
    if args and len(args) == 1 and isinstance(args[0], dict):
        return source % args[0]
    if args:
        return source % args
    if kwargs:
        return source % kwargs
    return source


class _lt:
    """A lazily translated string."""

    def __init__(self, source: str, *args: Any, **kwargs: Any) -> None:
        self._source, self._args, self._kwargs = source, args, kwargs

    def __str__(self) -> str:
        return _(self._source, *self._args, **self._kwargs)

    def __repr__(self) -> str:
        return repr(str(self))
