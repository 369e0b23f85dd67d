"""Errors of the use cases, typed so each entrypoint can answer in its own terms."""

from __future__ import annotations


class NotFound(Exception):
    """No such referral at this node (or not one the caller may see)."""


class Invalid(Exception):
    """A request that cannot be carried out as asked; ``field`` names the culprit."""

    def __init__(self, slug: str, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.slug = slug
        self.detail = detail
        self.field = field
