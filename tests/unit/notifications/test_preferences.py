"""When a notification goes out under a person's preferences: channels, quiet hours, digests."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from crocevia_notifications.domain.preferences import (
    Channel,
    Digest,
    Preferences,
    QuietHours,
    after_quiet_hours,
    schedule_email,
)

ROME = ZoneInfo("Europe/Rome")


def rome(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=ROME)


def test_by_default_requests_go_to_the_inbox_and_by_email_and_receipts_only_to_the_inbox():
    prefs = Preferences()
    assert prefs.channels_for("requested") == {Channel.INBOX, Channel.EMAIL}
    assert prefs.channels_for("received") == {Channel.INBOX}


def test_a_person_chooses_channels_per_topic_and_can_turn_email_off_everywhere():
    prefs = Preferences(event_types={"received": [Channel.EMAIL], "requested": [Channel.INBOX]})
    assert prefs.channels_for("received") == {Channel.EMAIL}
    assert prefs.channels_for("requested") == {Channel.INBOX}
    assert Preferences(email_enabled=False).channels_for("escalation") == {Channel.INBOX}


def test_unknown_event_types_are_refused():
    with pytest.raises(ValidationError, match="unknown event types"):
        Preferences(event_types={"approved": [Channel.EMAIL]})


def test_a_time_written_as_a_yaml_number_is_refused_rather_than_misread():
    with pytest.raises(ValidationError, match="quoted"):
        Preferences.model_validate({"quiet_hours": {"start": 1200, "end": "07:00"}})


def test_quiet_hours_over_midnight_hold_an_email_until_they_end():
    quiet = QuietHours(start=time(20), end=time(7, 30))
    assert after_quiet_hours(rome(2, 23).astimezone(UTC), quiet, ROME) == rome(3, 7, 30).astimezone(UTC)
    assert after_quiet_hours(rome(3, 6).astimezone(UTC), quiet, ROME) == rome(3, 7, 30).astimezone(UTC)
    assert after_quiet_hours(rome(3, 12).astimezone(UTC), quiet, ROME) == rome(3, 12).astimezone(UTC)


def test_quiet_hours_within_a_day():
    quiet = QuietHours(start=time(12), end=time(14))
    assert after_quiet_hours(rome(2, 13).astimezone(UTC), quiet, ROME) == rome(2, 14).astimezone(UTC)
    assert after_quiet_hours(rome(2, 14).astimezone(UTC), quiet, ROME) == rome(2, 14).astimezone(UTC)


def test_without_digest_an_email_is_due_at_once():
    now = rome(2, 10).astimezone(UTC)
    assert schedule_email(Preferences(), now, ROME).due_at == now
    assert schedule_email(Preferences(), now, ROME).digest_key is None


def test_an_hourly_digest_gathers_the_hour_and_goes_out_at_its_end():
    prefs = Preferences(digest=Digest.HOURLY)
    first = schedule_email(prefs, rome(2, 10, 5).astimezone(UTC), ROME)
    second = schedule_email(prefs, rome(2, 10, 55).astimezone(UTC), ROME)
    later = schedule_email(prefs, rome(2, 11, 1).astimezone(UTC), ROME)
    assert first.due_at == rome(2, 11).astimezone(UTC)
    assert first.digest_key == second.digest_key != later.digest_key


def test_a_daily_digest_goes_out_at_the_chosen_local_time():
    prefs = Preferences(digest=Digest.DAILY, daily_digest_at=time(8, 30))
    assert schedule_email(prefs, rome(2, 9).astimezone(UTC), ROME).due_at == rome(3, 8, 30).astimezone(UTC)
    assert schedule_email(prefs, rome(2, 7).astimezone(UTC), ROME).due_at == rome(2, 8, 30).astimezone(UTC)


def test_a_digest_due_in_quiet_hours_waits_for_their_end():
    prefs = Preferences(digest=Digest.HOURLY, quiet_hours=QuietHours(start=time(22), end=time(7)))
    assert schedule_email(prefs, rome(2, 22, 30).astimezone(UTC), ROME).due_at == rome(3, 7).astimezone(UTC)


def test_an_escalation_skips_the_digest_but_not_the_quiet_hours():
    prefs = Preferences(digest=Digest.DAILY, quiet_hours=QuietHours(start=time(22), end=time(7)))
    assert schedule_email(prefs, rome(2, 10).astimezone(UTC), ROME, urgent=True).due_at == rome(2, 10).astimezone(UTC)
    assert schedule_email(prefs, rome(2, 23).astimezone(UTC), ROME, urgent=True).due_at == rome(3, 7).astimezone(UTC)
