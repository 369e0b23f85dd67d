"""A directory entry: one agency and its services, shaped after Open Referral HSDS 3.0.

Each node writes its own entry to the ``directory`` key-value bucket under its agency id.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import AfterValidator, Field, field_validator, model_validator

from crocevia_contracts.events import AgencyId, Contract, Priority


class Domain(StrEnum):
    HOUSING = "housing"
    WORK = "work"
    CITIZENSHIP = "citizenship"
    EDUCATION = "education"
    HEALTH = "health"
    LEGAL = "legal"
    MEDIATION = "mediation"


class Capacity(StrEnum):
    AVAILABLE = "available"
    WAITLIST = "waitlist"
    NO_CAPACITY = "no-capacity"


class ServiceStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    DEFUNCT = "defunct"
    TEMPORARILY_CLOSED = "temporarily closed"


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


TimeZoneName = Annotated[str, AfterValidator(_known_zone), Field(description="an IANA time zone, e.g. Europe/Rome")]


class Counting(StrEnum):
    """How the hours of a response target are counted."""

    CLOCK = "clock"  # every hour, day and night, weekends included (urgent referrals)
    WORKING_DAYS = "working-days"  # only the hours of the agency's working days: 24 = one working day


class WorkingCalendar(Contract):
    """When an agency works. Targets counted in working days skip every other day: weekends,
    public holidays (from the ``holidays`` library, by country and optional subdivision) and
    the agency's own closures."""

    timezone: TimeZoneName = "Europe/Rome"
    weekdays: tuple[int, ...] = Field(default=(1, 2, 3, 4, 5), description="ISO weekdays, 1 = Monday")
    holidays_country: str | None = Field(default="IT", description="ISO 3166-1 code; none: no public holidays")
    holidays_subdivision: str | None = Field(default=None, description="e.g. a province: MI")
    closures: tuple[date, ...] = Field(default=(), description="other days the agency is closed")

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(d < 1 or d > 7 for d in value):
            raise ValueError("weekdays are ISO numbers from 1 (Monday) to 7 (Sunday), at least one")
        return tuple(sorted(set(value)))

    @model_validator(mode="after")
    def _known_holidays(self) -> WorkingCalendar:
        if self.holidays_country is not None:
            _public_holidays(self.holidays_country, self.holidays_subdivision)  # fails on unknown codes
        return self

    def is_working_day(self, day: date) -> bool:
        return _working_day(self.weekdays, self.closures, self.holidays_country, self.holidays_subdivision, day)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """``start`` plus ``hours`` counted only on working days, in the agency's wall-clock
        time (a working day is 24 hours, also when the clocks change)."""
        zone = ZoneInfo(self.timezone)
        local = start.astimezone(zone).replace(tzinfo=None)
        day, remaining = local.date(), timedelta(hours=hours)
        into = local - datetime.combine(day, time())  # how far into its day the count starts
        calendar = (self.weekdays, self.closures, self.holidays_country, self.holidays_subdivision)
        for _ in range(3700):  # ten years of days: a calendar that never works is refused below
            if _working_day(*calendar, day):
                if remaining <= _DAY - into:
                    return (datetime.combine(day, time()) + into + remaining).replace(tzinfo=zone).astimezone(UTC)
                remaining -= _DAY - into
            day, into = day + _DAY, _NO_TIME
        raise ValueError("the calendar has no working day for ten years")


_DAY, _NO_TIME = timedelta(days=1), timedelta()


@functools.lru_cache(maxsize=16_384)
def _working_day(
    weekdays: tuple[int, ...], closures: tuple[date, ...], country: str | None, subdivision: str | None, day: date
) -> bool:
    """Whether ``day`` is a working day of such a calendar: remembered, because every target
    counted in working days asks it of each day it spans (the audit and notifications, for
    each event they apply), and asking the ``holidays`` library costs more than the rest."""
    if day.isoweekday() not in weekdays or day in closures:
        return False
    if country is None:
        return True
    return day not in _public_holidays(country, subdivision)


@functools.lru_cache(maxsize=64)
def _public_holidays(country: str, subdivision: str | None) -> holidays.HolidayBase:
    try:
        return holidays.country_holidays(country, subdiv=subdivision)
    except NotImplementedError:
        raise ValueError(f"no public holidays known for {country!r} {subdivision or ''}".rstrip()) from None


class ResponseTarget(Contract):
    """How fast the service answers a referral of one priority, in hours, counted on the
    clock or on working days only."""

    receive_within_hours: float = Field(gt=0)
    decide_within_hours: float = Field(gt=0, description="accept or reject within")
    counting: Counting = Counting.CLOCK

    def due(self, start: datetime, hours: float, calendar: WorkingCalendar) -> datetime:
        """When ``hours`` of this target, counted from ``start``, are over."""
        if self.counting is Counting.CLOCK:
            return start + timedelta(hours=hours)
        return calendar.add_working_hours(start, hours)

    def receive_by(self, requested_at: datetime, calendar: WorkingCalendar) -> datetime:
        return self.due(requested_at, self.receive_within_hours, calendar)

    def decide_by(self, requested_at: datetime, calendar: WorkingCalendar) -> datetime:
        return self.due(requested_at, self.decide_within_hours, calendar)


@dataclass(frozen=True, slots=True)
class ServiceTarget:
    """The response target a referral is held to, the one rule every party counts by
    (reminders and escalations, "Needs us", the indicators' missed targets):

    - the target of the referral's priority, else the service's routine target
      (``fallback``: the sender is warned when it sends such a referral);
    - counted from when the referral was requested (its ``requested`` event's
      ``occurred_at``);
    - on the clock or on the receiving agency's working days, as the target says.
    """

    target: ResponseTarget
    calendar: WorkingCalendar
    fallback: bool = False

    def receive_by(self, requested_at: datetime) -> datetime:
        return self.target.receive_by(requested_at, self.calendar)

    def decide_by(self, requested_at: datetime) -> datetime:
        return self.target.decide_by(requested_at, self.calendar)

    def due(self, requested_at: datetime, hours: float) -> datetime:
        return self.target.due(requested_at, hours, self.calendar)


class Service(Contract):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=100)
    name: str
    description: str = ""
    domain: Domain
    status: ServiceStatus = ServiceStatus.ACTIVE
    eligibility_description: str = ""
    minimum_age: int | None = None
    maximum_age: int | None = None
    languages: tuple[str, ...] = Field(default=(), description="ISO 639-1 codes")
    capacity: Capacity = Capacity.AVAILABLE
    accepts_referrals: bool = True
    response_targets: dict[Priority, ResponseTarget] = Field(default_factory=dict)


class Organization(Contract):
    id: AgencyId
    name: str
    description: str = ""
    email: str | None = None
    url: str | None = None


_KEY32 = r"^[A-Za-z0-9+/]{43}=$"  # base64 of 32 bytes


class PublicKeys(Contract):
    """Base64 raw public keys of a party: X25519 for sealed boxes, Ed25519 for signatures."""

    box: str = Field(pattern=_KEY32)
    signing: str = Field(pattern=_KEY32)


class KeyEndorsement(Contract):
    """A party's new keys, signed by the signing key they replace (a rotation): whoever pinned
    the old keys can follow the chain to the new ones."""

    keys: PublicKeys
    previous_signing_key_id: str = Field(pattern=r"^[0-9a-f]{16}$")
    signature: str = Field(max_length=100, description="base64 Ed25519 by the previous signing key")


class AgencyEntry(Contract):
    organization: Organization
    services: tuple[Service, ...]
    working_calendar: WorkingCalendar = Field(default_factory=WorkingCalendar)
    public_keys: PublicKeys | None = None
    key_history: tuple[KeyEndorsement, ...] = Field(
        default=(), max_length=20, description="rotations, oldest first: each endorsed by the key before it"
    )
    updated_at: datetime | None = None

    def service(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def target_for(self, service_id: str, priority: str) -> ServiceTarget | None:
        """The target a referral of ``priority`` to ``service_id`` is held to (see
        ``ServiceTarget``); None when the service states none."""
        service = self.service(service_id)
        if service is None:
            return None
        targets = {p.value: t for p, t in service.response_targets.items()}
        own = targets.get(priority)
        if own is not None:
            return ServiceTarget(own, self.working_calendar)
        routine = targets.get(Priority.ROUTINE.value)
        return ServiceTarget(routine, self.working_calendar, fallback=True) if routine is not None else None


def read_entry(payload: bytes | str) -> AgencyEntry:
    """An entry as a node wrote it to the directory bucket. Fields this version does not know
    are ignored: a node that states something new (an optional field, within v1) is still
    read by nodes that do not know it yet. An agency's own file is read strictly instead."""
    return AgencyEntry.model_validate_json(payload, extra="ignore")


SERVICE_KEY_PREFIX = "service."
CONFIRMATION_KEY_PREFIX = "confirmed."


def service_party(name: str) -> str:
    """The directory key (and the signer's name) of one of the network's own services."""
    return SERVICE_KEY_PREFIX + name


class ServiceEntry(Contract):
    """One of the network's own services that signs what it publishes (notifications signs
    its notices), under the directory key ``service.<name>``."""

    service: AgencyId
    public_keys: PublicKeys
    key_history: tuple[KeyEndorsement, ...] = Field(default=(), max_length=20)
    updated_at: datetime | None = None


class KeyConfirmation(Contract):
    """The network operator's word that ``keys`` are ``party``'s (directory key
    ``confirmed.<party>``): how a party that lost its old key gets new ones accepted."""

    party: str = Field(pattern=r"^(service\.)?[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
    keys: PublicKeys
    confirmed_at: datetime
    signature: str = Field(max_length=100, description="base64 Ed25519 by the network operator's key")


def read_service_entry(payload: bytes | str) -> ServiceEntry:
    return ServiceEntry.model_validate_json(payload, extra="ignore")


def read_confirmation(payload: bytes | str) -> KeyConfirmation:
    return KeyConfirmation.model_validate_json(payload, extra="ignore")
