"""The personal part of a referral: what only the two parties read, sealed between them."""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crocevia_contracts.envelope import describe


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


class PathwayMember(BaseModel):
    """Another service of the referral's pathway: told to a receiver only when the person
    agreed that the pathway's services know of each other, and only sealed."""

    model_config = ConfigDict(extra="forbid")

    agency: str = Field(min_length=1, max_length=64)
    service_id: str = Field(min_length=1, max_length=100)


class PersonalPart(BaseModel):
    """What is sealed to the receiving agency with a referral."""

    model_config = ConfigDict(extra="forbid")

    person: Person
    reason: str = Field(default="", max_length=2000)
    needs: str = Field(default="", max_length=10000, description="needs narrative")
    consent: ConsentRecord | None = None
    pathway: list[PathwayMember] = Field(
        default_factory=list, max_length=12, description="the pathway's other services"
    )


def read_personal(plaintext: bytes | None) -> PersonalPart:
    """The personal part a ``requested`` carried, opened; raise ValueError naming what is
    wrong (fields, never values)."""
    if plaintext is None:
        raise ValueError("a requested event must carry the sealed personal part")
    try:
        return PersonalPart.model_validate(json.loads(plaintext))
    except ValidationError as exc:
        raise ValueError(describe(exc, "personal part")) from None
    except ValueError:
        raise ValueError("the personal part is not JSON") from None
