"""The access log's rules, pure and on fakes: a chain that reaches every anchor holds; an
entry edited, removed or reordered breaks it there; reads are recorded one entry each; the
head is anchored only when it moved, with no personal value."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from crocevia_common.auth import Principal, Role
from crocevia_referrals.domain.access_log import (
    EMPTY,
    GENESIS,
    Access,
    AccessEntry,
    Channel,
    Head,
    Purpose,
    chain,
    verify,
)
from crocevia_referrals.handlers.access_log import anchor_access_log, record_reads
from tests.unit.referrals.fakes import world

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
ANNA = Principal("op-anna", "cpia2", frozenset({Role.OPERATOR}))


def log_of(*reads: tuple[str, str, Purpose]) -> list[AccessEntry]:
    entries: list[AccessEntry] = []
    head = EMPTY
    for i, (referral_id, staff, purpose) in enumerate(reads):
        entry = chain(head, Access(referral_id, staff, purpose, Channel.API, T0 + timedelta(minutes=i)))
        entries.append(entry)
        head = Head(entry.position, entry.entry_sha256)
    return entries


LOG = log_of(
    ("r-1", "op-anna", Purpose.CARE), ("r-2", "op-bruno", Purpose.AUDIT), ("r-1", "sup-c", Purpose.OWN_REQUEST)
)


def test_entries_are_numbered_from_one_each_holding_the_hash_of_the_one_before():
    assert [e.position for e in LOG] == [1, 2, 3]
    assert LOG[0].prev_sha256 == GENESIS
    assert [e.prev_sha256 for e in LOG[1:]] == [e.entry_sha256 for e in LOG[:-1]]
    assert len({e.entry_sha256 for e in LOG}) == 3


def test_an_intact_log_verifies_and_reaches_its_anchor():
    found = verify(LOG, Head(2, LOG[1].entry_sha256))
    assert found.ok and found.broken_at is None
    assert found.head == Head(3, LOG[2].entry_sha256)
    assert verify([], None).ok


@pytest.mark.parametrize(
    "field, value",
    [("staff", "op-nobody"), ("referral_id", "r-9"), ("purpose", "care"), ("at", T0 + timedelta(days=1))],
)
def test_an_edited_entry_breaks_the_chain_where_it_was_edited(field, value):
    edited = [LOG[0], dataclasses.replace(LOG[1], **{field: value}), LOG[2]]
    found = verify(edited, None)
    assert not found.ok and found.broken_at == 2
    assert "changed" in (found.reason or "")


def test_a_purpose_no_code_writes_breaks_the_chain():
    found = verify([dataclasses.replace(LOG[0], purpose="curiosity"), *LOG[1:]], None)
    assert found.broken_at == 1


def test_an_entry_rehashed_after_an_edit_breaks_the_next_one():
    forged = dataclasses.replace(LOG[1], staff="op-nobody")
    access = Access(forged.referral_id, forged.staff, Purpose(forged.purpose), Channel.API, forged.at)
    rehashed = chain(Head(1, LOG[0].entry_sha256), access)
    found = verify([LOG[0], rehashed, LOG[2]], None)
    assert found.broken_at == 3 and "does not follow" in (found.reason or "")


def test_a_removed_entry_breaks_the_chain():
    found = verify([LOG[0], LOG[2]], None)
    assert found.broken_at == 2 and "missing" in (found.reason or "")


def test_a_log_rewritten_whole_or_cut_short_does_not_reach_its_anchor():
    anchor = Head(3, LOG[2].entry_sha256)
    rewritten = log_of(("r-1", "op-anna", Purpose.CARE), ("r-2", "op-x", Purpose.AUDIT), ("r-1", "sup-c", Purpose.CARE))
    assert verify(rewritten, None).ok  # consistent in itself...
    found = verify(rewritten, anchor)  # ...but not what was anchored
    assert not found.ok and found.broken_at == 3 and "not the one anchored" in (found.reason or "")
    short = verify(LOG[:2], anchor)
    assert not short.ok and "3 were anchored" in (short.reason or "")


async def test_reads_are_recorded_one_entry_each_after_the_head():
    w = world("cpia2")
    await record_reads(w.node, ANNA, ["r-1", "r-2"], Purpose.AUDIT, Channel.API)
    await record_reads(w.node, ANNA, [], Purpose.CARE, Channel.PAGE)
    await record_reads(w.node, ANNA, ["r-1"], Purpose.CARE, Channel.PAGE)
    log = w.uow.stored.access_log
    assert [(e.position, e.referral_id, e.staff, e.purpose, e.channel) for e in log] == [
        (1, "r-1", "op-anna", "audit", "api"),
        (2, "r-2", "op-anna", "audit", "api"),
        (3, "r-1", "op-anna", "care", "page"),
    ]
    assert verify(log, None).ok
    assert w.uow.commits == 2  # nothing to record, no transaction


async def test_the_head_is_anchored_once_each_time_it_moved():
    w = world("cpia2")
    assert await anchor_access_log(w.node) is None  # an empty log has nothing to anchor
    await record_reads(w.node, ANNA, ["r-1", "r-2"], Purpose.CARE, Channel.API)
    first = await anchor_access_log(w.node)
    assert first == Head(2, w.uow.stored.access_log[-1].entry_sha256)
    assert await anchor_access_log(w.node) is None  # nothing moved
    await record_reads(w.node, ANNA, ["r-3"], Purpose.CARE, Channel.API)
    second = await anchor_access_log(w.node)
    assert second is not None and second.entries == 3
    announced = w.uow.stored.announced
    assert [(a.agency, a.entries, a.head_sha256) for a in announced] == [
        ("cpia2", 2, first.head_sha256),
        ("cpia2", 3, second.head_sha256),
    ]
    assert [h for h, _ in w.uow.stored.anchors] == [first, second]
    assert "op-anna" not in str(announced) and "r-1" not in str(announced)
