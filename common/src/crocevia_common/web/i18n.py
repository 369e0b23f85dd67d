"""Pages in Italian and English: which language a request gets, and the strings in it.

The language is the ``?lang=`` of the request (the switch on every page, then remembered
in a cookie), else that cookie, else the browser's ``Accept-Language``, else Italian.
Strings live in ``strings.yaml``, each key with both languages side by side.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from starlette.requests import Request

LANGUAGES = ("it", "en")
DEFAULT_LANGUAGE = "it"
LANG_COOKIE = "crocevia_lang"
# The agencies of the network are in Italy: pages show their local time.
LOCAL_ZONE = ZoneInfo("Europe/Rome")
STRINGS_FILE = Path(__file__).parent / "strings.yaml"


@functools.cache
def strings() -> dict[str, dict[str, str]]:
    loaded: dict[str, dict[str, str]] = yaml.safe_load(STRINGS_FILE.read_text(encoding="utf-8"))
    return loaded


def _local(moment: datetime | str) -> datetime:
    """``moment`` (naive: UTC) in the agencies' local time."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL_ZONE)


def accepted_languages(header: str) -> list[str]:
    """The primary language tags of an ``Accept-Language`` header, most wanted first."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, position, tag.split("-")[0].lower()))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(asked: str | None, remembered: str | None, accept_language: str | None) -> str:
    for choice in (asked, remembered):
        if choice in LANGUAGES:
            return choice
    for tag in accepted_languages(accept_language or ""):
        if tag in LANGUAGES:
            return tag
    return DEFAULT_LANGUAGE


def request_language(request: Request) -> str:
    return negotiate(
        request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")
    )


class Translator:
    """``t(key)`` in one language; ``t.code("status", "accepted")`` for code lists, which
    fall back to the code itself when it has no translation."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, key: str, **values: Any) -> str:
        entry = strings().get(key)
        text = entry.get(self.lang, key) if entry else key
        return text.format(**values) if values else text

    def code(self, kind: str, code: str | None) -> str:
        if code is None:
            return ""
        entry = strings().get(f"{kind}.{code}")
        return entry.get(self.lang, code) if entry else code

    def time(self, moment: datetime | str | None) -> str:
        """A moment in the agencies' local time, as each language writes it."""
        if moment is None:
            return ""
        local = _local(moment)
        return local.strftime(f"{self._date_format} %H:%M")

    def deadline(self, moment: datetime | str | None) -> str:
        """A due time: one at local midnight (a count of working days ends with the last
        one) reads as the end of the day before, never as midnight of a day off."""
        if moment is None:
            return ""
        local = _local(moment)
        if local.time() != dt_time():
            return self.time(local)
        day = (local - timedelta(days=1)).strftime(self._date_format)
        return self("time.end-of-day", date=day)

    @property
    def _date_format(self) -> str:
        return "%d/%m/%Y" if self.lang == "it" else "%Y-%m-%d"

    def duration(self, seconds: float | None) -> str:
        """A measured time: seconds, minutes or hours, whichever reads best."""
        if seconds is None:
            return "—"
        if seconds < 90:
            return self("unit.seconds", n=round(seconds))
        if seconds < 5400:
            return self("unit.minutes", n=round(seconds / 60))
        return self.hours(round(seconds / 3600, 1))

    def within(self, hours: float | None, counting: str | None = None) -> str:
        """A response target's time: in working days when it counts only those, else as hours."""
        if hours is None or str(counting or "") != "working-days":
            return self.hours(hours)
        if hours % 24 == 0:
            days = int(hours // 24)
            return self("unit.working-day" if days == 1 else "unit.working-days", n=days)
        return self("unit.working-hours", n=round(hours, 1) if not float(hours).is_integer() else int(hours))

    def hours(self, hours: float | None) -> str:
        """A duration given in hours: in days when it is a whole number of days."""
        if hours is None:
            return "—"
        if hours >= 48 and hours % 24 == 0:
            return self("unit.days", n=int(hours // 24))
        if hours >= 10 or float(hours).is_integer():
            return self("unit.hours", n=round(hours))
        return self("unit.hours", n=round(hours, 1))
