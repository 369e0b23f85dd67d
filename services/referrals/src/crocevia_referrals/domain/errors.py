"""What the rules of a referral refuse, as values each entrypoint can answer in its own terms."""

from __future__ import annotations


class Invalid(Exception):
    """A request that cannot be carried out as asked: ``slug`` says why (the problem type of
    the API, the message of the pages), ``field`` names the culprit."""

    def __init__(self, slug: str, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.slug = slug
        self.detail = detail
        self.field = field


class NotFound(Exception):
    """No such referral at this node (or not one the caller may see)."""


class OutOfOrder(Exception):
    """An event of the other node came before the step it follows: it may apply later."""


class Refused(Exception):
    """An event of the other node that can never apply to this referral; ``reason`` names
    fields, never values."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Forbidden(Invalid):
    """A request this person may not make, whatever its content (a 403, not a 422)."""
