"""The exception classes addons and tests import from ``odoo.exceptions``."""

from __future__ import annotations


class UserError(Exception):
    """An error shown to the user (``odoo.exceptions.UserError``)."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)

    @property
    def name(self) -> str:
        """The message, like Odoo's ``UserError.name``."""
        return str(self.args[0]) if self.args else ""


class RedirectWarning(Exception):
    """Warning with a redirection action (message, action, button text)."""


class AccessDenied(UserError):
    """Login/password error or forbidden database operation."""

    def __init__(self, message: str = "Access Denied") -> None:
        super().__init__(message)


class AccessError(UserError):
    """Access rights error."""


class CacheMiss(KeyError):
    """Missing value in the record cache."""


class MissingError(UserError):
    """Record not found or deleted."""


class ValidationError(UserError):
    """A constraint was violated."""


class LockError(UserError):
    """A record could not be locked."""
