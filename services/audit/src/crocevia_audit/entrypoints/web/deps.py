"""What the audit's pages share: the reader of the session (the network's auditors see the
whole trail, everyone else their agency's part) and the trail filters of a query string."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends
from starlette.datastructures import QueryParams

from crocevia_audit.adapters.trail_query import TrailFilter
from crocevia_audit.entrypoints.access import READERS, party_of
from crocevia_common.auth import Principal
from crocevia_common.inputs import shifted
from crocevia_common.web.i18n import LOCAL_ZONE
from crocevia_common.web.session import page_roles
from crocevia_contracts import EventName
from crocevia_contracts.anchors import AnchorKind
from crocevia_contracts.directory import Domain
from crocevia_contracts.notices import NoticeKind

Reader = Annotated[Principal, Depends(page_roles(*READERS))]
FILTERS = ("referral_id", "agency", "from", "to", "event", "domain", "since", "until")
# What the trail holds: lifecycle events, the reminders and escalations about them, and the
# agencies' anchors of their access logs.
EVENTS = (*(e.value for e in EventName), *(k.value for k in NoticeKind), *(k.value for k in AnchorKind))


def day_start(text: str, days: int = 0) -> datetime | None:
    """Midnight (local time) of a ``YYYY-MM-DD`` day, plus ``days``; None if not a date
    (or not one every time zone can show)."""
    try:
        moment = datetime.fromisoformat(text).replace(tzinfo=LOCAL_ZONE)
    except ValueError:
        return None
    return shifted(moment, timedelta(days=days))


def filters_of(query: QueryParams) -> dict[str, str]:
    return {name: query.get(name, "").strip()[:64] for name in FILTERS}


def trail_filter(principal: Principal, filters: dict[str, str]) -> tuple[TrailFilter, dict[str, str]]:
    """The filter of the form's values, and the errors of the values it cannot use."""
    errors: dict[str, str] = {}
    events: tuple[str, ...] = ()
    if filters["event"]:
        if filters["event"] in EVENTS:
            events = (filters["event"],)
        else:
            errors["event"] = "filter.error.value"
    if filters["domain"] and filters["domain"] not in {d.value for d in Domain}:
        errors["domain"] = "filter.error.value"
    since = day_start(filters["since"]) if filters["since"] else None
    until = day_start(filters["until"], days=1) if filters["until"] else None  # the "to" day is included
    for name, value, parsed in (("since", filters["since"], since), ("until", filters["until"], until)):
        if value and parsed is None:
            errors[name] = "filter.error.date"
    if since and until and since >= until:
        errors["until"] = "filter.error.range"
    return TrailFilter(
        referral_id=filters["referral_id"] or None,
        agency=filters["agency"] or None,
        sender=filters["from"] or None,
        receiver=filters["to"] or None,
        events=events,
        domain=filters["domain"] if "domain" not in errors else None,
        since=since,
        until=until,
        party=party_of(principal),
    ), errors
