"""When a referral's response targets are due: one table of cases, run against the contracts'
rule and against every service that counts by it (reminders and escalations, "Needs us",
the indicators' missed targets), so that all of them count alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crocevia_contracts.directory import AgencyEntry

WORKING_DAYS = {"routine": {"receive_within_hours": 24, "decide_within_hours": 120, "counting": "working-days"}}
URGENT_ON_THE_CLOCK = {"urgent": {"receive_within_hours": 4, "decide_within_hours": 24, "counting": "clock"}}


@dataclass(frozen=True)
class DueCase:
    name: str
    priority: str
    targets: dict[str, Any]  # the service's ``response_targets``, as in an agency file
    requested_at: datetime
    receive_by: datetime | None
    decide_by: datetime | None
    fallback: bool = False
    calendar: dict[str, Any] = field(default_factory=lambda: {"timezone": "Europe/Rome", "holidays_subdivision": "MI"})

    def __str__(self) -> str:
        return self.name

    def entry(self, agency: str = "cpia2", service: str = "main-service") -> AgencyEntry:
        """The receiving agency's directory entry of this case."""
        return AgencyEntry.model_validate(
            {
                "organization": {"id": agency, "name": agency.upper()},
                "services": [
                    {"id": service, "name": "Italiano A1", "domain": "education", "response_targets": self.targets}
                ],
                "working_calendar": self.calendar,
            }
        )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


DUE_CASES = [
    DueCase(
        "routine, working days, sent on a Friday afternoon: the weekend does not count",
        "routine",
        WORKING_DAYS,
        requested_at=utc(2026, 11, 27, 14),  # Friday 15:00 in Rome
        receive_by=utc(2026, 11, 30, 14),  # Monday 15:00
        decide_by=utc(2026, 12, 4, 14),  # the next Friday 15:00
    ),
    DueCase(
        "urgent, on the clock: nights and the weekend count",
        "urgent",
        {**WORKING_DAYS, **URGENT_ON_THE_CLOCK},
        requested_at=utc(2026, 11, 27, 14),
        receive_by=utc(2026, 11, 27, 18),
        decide_by=utc(2026, 11, 28, 14),
    ),
    DueCase(
        "urgent to a service with no urgent target: its routine target applies, and says so",
        "urgent",
        WORKING_DAYS,
        requested_at=utc(2026, 11, 27, 14),
        receive_by=utc(2026, 11, 30, 14),
        decide_by=utc(2026, 12, 4, 14),
        fallback=True,
    ),
    DueCase(
        "routine before Sant'Ambrogio (Milan) and the Immacolata: both holidays skipped",
        "routine",
        WORKING_DAYS,
        requested_at=utc(2026, 12, 4, 9),  # Friday 10:00 in Rome
        receive_by=utc(2026, 12, 9, 9),  # Wednesday 10:00: Monday 7 and Tuesday 8 are holidays
        decide_by=utc(2026, 12, 15, 9),
    ),
    DueCase(
        "a service that states no target: nothing is due",
        "routine",
        {},
        requested_at=utc(2026, 11, 27, 14),
        receive_by=None,
        decide_by=None,
    ),
]
