"""The ``mail`` module of the stand-in: the thread mixins addons inherit and the mail tables."""

from . import models

__all__ = ["models"]
