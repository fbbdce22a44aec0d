"""The one error tree of Oduflow.

Every failure that a user can act on is an :class:`OduflowError`. Each surface maps
these errors in exactly one place: the CLI prints the message and exits non-zero,
MCP raises ``ToolError``, REST answers ``{"ok": false, "error": ..., "type": ...}``
with :attr:`OduflowError.http_status`.
"""

from __future__ import annotations


class OduflowError(Exception):
    """Base error for all Oduflow operations (``FlowError`` in the reference)."""

    http_status = 500

    @property
    def type_name(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict[str, object]:
        return {"ok": False, "error": str(self), "type": self.type_name}


FlowError = OduflowError


class ConfigError(OduflowError):
    """The configuration file or an ``ODUFLOW_*`` variable is invalid."""

    http_status = 500


class ValidationError(OduflowError):
    """An argument is malformed (bad branch name, bad URL, bad range...)."""

    http_status = 400


class NotFoundError(OduflowError):
    """Environment, template, service or other resource not found."""

    http_status = 404


class BusyError(OduflowError):
    """Another operation holds the lock; nothing was queued."""

    http_status = 409


class ConflictError(OduflowError):
    """The resource already exists or is in a state that forbids the operation."""

    http_status = 409


class ProtectedError(OduflowError):
    """The environment or extra repository is protected."""

    http_status = 423


class PrerequisiteNotMetError(OduflowError):
    """Docker not reachable, system not initialised, image or tool missing."""

    http_status = 503


class AuthError(OduflowError):
    """Missing or wrong credentials."""

    http_status = 401


class ForbiddenError(OduflowError):
    """The caller is known but may not do this (e.g. a cross-site request to the web surface)."""

    http_status = 403


class ExternalCommandError(OduflowError):
    """A git, psql, Docker or Odoo command failed.

    Carries the command (secrets masked), its exit code and an excerpt of its output.
    """

    http_status = 502

    def __init__(
        self, message: str, *, command: str = "", exit_code: int | None = None, output: str = ""
    ) -> None:
        self.command = command
        self.exit_code = exit_code
        self.output = output
        parts = [message]
        if command:
            parts.append(f"command: {command}")
        if exit_code is not None:
            parts.append(f"exit code: {exit_code}")
        if output:
            parts.append(f"output:\n{output[-4000:]}")
        super().__init__("\n".join(parts))


class StepError(OduflowError):
    """A step of a multi-step operation failed; everything before it was rolled back."""

    def __init__(self, operation: str, step: str, cause: BaseException) -> None:
        self.operation = operation
        self.step = step
        self.cause = cause
        self.http_status = getattr(cause, "http_status", 500)
        super().__init__(f"{operation} failed at step '{step}' (rolled back): {cause}")
