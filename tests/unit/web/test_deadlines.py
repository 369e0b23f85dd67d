"""A due time reads as people count it: one at local midnight, where a count of working
days ends, is the end of the day before, never midnight of a day off."""

from __future__ import annotations

from datetime import UTC, datetime

from crocevia_common.web.i18n import Translator
from crocevia_contracts.directory import ResponseTarget, WorkingCalendar


def test_a_working_day_deadline_reads_as_the_end_of_its_last_working_day() -> None:
    target = ResponseTarget(receive_within_hours=24, decide_within_hours=120, counting="working-days")
    requested = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)  # Monday 30 November, 00:00 in Rome
    due = target.decide_by(requested, WorkingCalendar())
    assert due == datetime(2026, 12, 4, 23, 0, tzinfo=UTC), "Saturday 5 December, 00:00 in Rome"
    assert Translator("it").deadline(due) == "04/12/2026, fine giornata"
    assert Translator("en").deadline(due) == "2026-12-04, end of day"
    assert Translator("it").time(due) == "05/12/2026 00:00", "the instant itself is unchanged"


def test_any_other_deadline_reads_as_its_time() -> None:
    assert Translator("it").deadline(datetime(2026, 12, 4, 14, 0, tzinfo=UTC)) == "04/12/2026 15:00"
    assert Translator("en").deadline(None) == ""
