"""A form's errors in the reader's language: a use case's problem by its slug, pydantic's
by dotted field name (the names the forms' inputs carry)."""

from __future__ import annotations

from pydantic import ValidationError

from crocevia_common.web.i18n import Translator, strings


def problem_text(t: Translator, slug: str, detail: str) -> str:
    """A use case's error in the reader's language when there is a string for it."""
    key = f"problem.{slug}"
    return t(key) if key in strings() else detail


def validation_errors(t: Translator, error: ValidationError) -> dict[str, str]:
    """Pydantic's errors by dotted field name (the names the forms' inputs carry)."""
    found: dict[str, str] = {}
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"])
        key = f"validation.{item['type']}"
        found.setdefault(name, t(key) if key in strings() else item["msg"])
    return found
