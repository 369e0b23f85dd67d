"""The rows the stores write hold each record's values as they are: what
``dataclasses.asdict`` gives, without its deep copy of every value."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from crocevia_contracts.notices import NoticeKind
from crocevia_notifications.adapters.tables import row_of
from crocevia_notifications.domain.deliveries import Delivery, DeliveryChannel
from crocevia_notifications.domain.referral import Followed
from crocevia_notifications.domain.timers import Stage, Timer

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RECORDS = [
    Followed("ref-1", "pioltello-casa", "cpia2", "main-service", "urgent", AT, "operator-1", sender_step=2),
    Timer("t-1", "ref-1", NoticeKind.REMINDER, Stage.RECEIVE, "cpia2", AT, 4.0),
    Delivery("m-1", "n-1", DeliveryChannel.EMAIL, "person:7", {"subject": "A referral", "lines": ["1"]}, AT, AT),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_a_records_row_is_what_asdict_gives_with_the_values_themselves(record):
    row = row_of(record)
    assert row == dataclasses.asdict(record)
    assert list(row) == [field.name for field in dataclasses.fields(record)]
    assert all(row[name] is getattr(record, name) for name in row)
