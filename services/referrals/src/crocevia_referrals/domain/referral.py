"""A referral as one node sees it, and the personal part that only the two parties read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from crocevia_contracts import LegalBasis, LegalBasisKind


class Person(BaseModel):
    """Who is referred. Never leaves a node in clear."""

    model_config = ConfigDict(extra="forbid")

    given_name: str = Field(min_length=1, max_length=200)
    family_name: str = Field(min_length=1, max_length=200)
    birth_date: str | None = Field(default=None, max_length=10)
    languages: list[Annotated[str, Field(max_length=35)]] = Field(default_factory=list, max_length=20)
    phone: str | None = Field(default=None, max_length=50)
    email: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=500)
    household: str | None = Field(default=None, max_length=2000, description="household members, free text")


class ConsentRecord(BaseModel):
    """What the consent covers and where its signed form is: free text that may describe the
    person, so it travels sealed with the personal part, never in the clear legal basis."""

    model_config = ConfigDict(extra="forbid")

    scope: str | None = Field(default=None, max_length=500)
    document_ref: str | None = Field(default=None, max_length=200)


class PersonalPart(BaseModel):
    """What is sealed to the receiving agency with a referral."""

    model_config = ConfigDict(extra="forbid")

    person: Person
    reason: str = Field(default="", max_length=2000)
    needs: str = Field(default="", max_length=10000, description="needs narrative")
    consent: ConsentRecord | None = None


class ConsentError(ValueError):
    """The legal basis does not allow sending."""


def check_legal_basis(basis: LegalBasis, now: datetime | None = None) -> None:
    """Refuse a consent without who captured it and when, or one that has expired."""
    now = now or datetime.now(UTC)
    if basis.basis is LegalBasisKind.CONSENT:
        if not basis.captured_by or basis.captured_at is None:
            raise ConsentError("a consent basis needs captured_by and captured_at")
        captured = basis.captured_at if basis.captured_at.tzinfo else basis.captured_at.replace(tzinfo=UTC)
        if captured > now:
            raise ConsentError("consent cannot be captured in the future")
    if basis.expires_at is not None:
        expires = basis.expires_at if basis.expires_at.tzinfo else basis.expires_at.replace(tzinfo=UTC)
        if expires <= now:
            raise ConsentError(f"the legal basis expired at {expires.isoformat()}")
