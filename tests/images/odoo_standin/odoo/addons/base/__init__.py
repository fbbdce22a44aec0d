"""The ``base`` module of the stand-in: core models and the initial records of a database."""

from . import models
from .data import create_base_data

__all__ = ["create_base_data", "models"]
