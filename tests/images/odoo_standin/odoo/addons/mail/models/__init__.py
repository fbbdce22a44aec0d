"""Mail models."""

from . import mail_thread

__all__ = ["mail_thread"]
