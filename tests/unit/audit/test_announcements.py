"""What the audit announces besides checkpoints reads back as it was written, and a
message that is not what its subject says is refused with the reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from crocevia_audit.domain.announcements import (
    AnnouncedAnomaly,
    AnnouncedGap,
    AnnouncedGapClosed,
    AnnouncementError,
    Anomaly,
)

AT = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)


def test_an_anomaly_reads_back_as_it_was_announced():
    anomaly = Anomaly(
        kind="repeated-sequence",
        event_id="0190a0a0-0000-7000-8000-000000000001",
        source="/agencies/cpia2",
        sequence=7,
        subject="referral.v1.cpia2.pioltello-casa.accepted",
        stream_sequence=42,
        payload_sha256="0" * 64,
        detail="sequence 7 of /agencies/cpia2 belongs to another event",
        detected_at=AT,
    )
    announced = anomaly.announced()
    assert AnnouncedAnomaly.parse(json.dumps(announced.body()).encode()) == announced
    assert announced.body() == {
        "kind": "repeated-sequence",
        "event_id": "0190a0a0-0000-7000-8000-000000000001",
        "source": "/agencies/cpia2",
        "sequence": 7,
        "stream_sequence": 42,
        "detected_at": "2026-03-02T09:00:00.123456+00:00",
    }


def test_a_raised_gap_and_a_closing_read_back():
    gap = AnnouncedGap.parse(
        json.dumps(
            {
                "id": 3,
                "source": "/agencies/cpia2",
                "first_missing": 2,
                "last_missing": 5,
                "missing": 4,
                "detected_at": "2026-03-02T09:00:00+00:00",
                "raised_at": "2026-03-02T09:10:00Z",
                "grace_seconds": 600.0,
            }
        ).encode()
    )
    closing = AnnouncedGapClosed.parse(
        b'{"source": "/agencies/cpia2", "first_missing": 2, "last_missing": 5, "arrived": 3,'
        b' "event_id": "e-1", "still_missing": [[2, 2], [4, 5]]}'
    )
    assert (gap.id, gap.first_missing, gap.last_missing, gap.raised_at) == (
        3,
        2,
        5,
        datetime(2026, 3, 2, 9, 10, tzinfo=UTC),
    )
    assert closing.still_missing == ((2, 2), (4, 5))
    assert gap.describe() == "gap 3 of /agencies/cpia2 (sequence 2 to 5)"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"kind": "duplicate", "event_id": 5, "detected_at": "2026-03-02T09:00:00Z"}', "field event_id"),
        (
            b'{"kind": "duplicate", "event_id": "e", "sequence": true, "detected_at": "2026-03-02T09:00:00Z"}',
            "field sequence",
        ),
        (b'{"kind": "duplicate", "event_id": "e", "detected_at": "yesterday"}', "field detected_at is not a time"),
    ],
)
def test_an_anomaly_message_that_is_not_one_is_refused_with_the_reason(data, reason):
    with pytest.raises(AnnouncementError, match=reason):
        AnnouncedAnomaly.parse(data)


def test_a_closing_whose_remainders_are_not_pairs_is_refused():
    body = b'{"source": "s", "first_missing": 1, "last_missing": 2, "event_id": "e", "still_missing": [[1]]}'
    with pytest.raises(AnnouncementError, match="still_missing"):
        AnnouncedGapClosed.parse(body)
