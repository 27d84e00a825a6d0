"""Domain errors with Chinese messages, raised by actions and shown to users as they are."""

from __future__ import annotations


class DomainError(Exception):
    """A refused action; `message` is a complete Chinese sentence for the user."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class StaleVersion(DomainError):
    """Someone else saved the record since it was loaded (optimistic lock)."""

    status = 409


class OutOfScope(DomainError):
    """The actor may not see or touch this object; shown as 'not found'."""

    status = 404


class Forbidden(DomainError):
    """The actor's role does not allow this action."""

    status = 403
