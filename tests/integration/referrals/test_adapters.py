"""The node's own adapters on SQLite and PostgreSQL, without NATS: the repository keeps a
referral whole (history, erasure), the outbox stores its events sealed and signed in the
node's sequence, and "Needs us" counts due times by the contracts' rule from when each
referral was requested (the table of cases every service runs)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from crocevia_common.auth import Principal, Role
from crocevia_common.db import Database
from crocevia_common.messaging.intake import Delivery, Verified, parse
from crocevia_common.messaging.outbox import Queued
from crocevia_contracts import LegalBasis, Priority, parse_envelope
from crocevia_contracts.events import ConsentWithdrawn, InfoProvided, Requested
from crocevia_contracts.sealing import SIGNATURE_HEADER, PartyKeys, open_sealed, verify_event
from crocevia_referrals import views
from crocevia_referrals.adapters.queries import SqlReads
from crocevia_referrals.adapters.repository import SqlReferrals
from crocevia_referrals.adapters.sealing import NodeSeals
from crocevia_referrals.adapters.tables import history, messaging
from crocevia_referrals.adapters.unit_of_work import SqlUnitOfWork
from crocevia_referrals.bootstrap import MIGRATIONS
from crocevia_referrals.domain.actions import ActionInput
from crocevia_referrals.domain.personal import Person, PersonalPart
from crocevia_referrals.domain.sending import ReferralRequest
from crocevia_referrals.handlers.acting import act
from crocevia_referrals.handlers.incoming import apply_batches, apply_incoming
from crocevia_referrals.handlers.ports import Node
from crocevia_referrals.handlers.sending import send_referral
from crocevia_referrals.views import Reads
from tests.kit.due_cases import DUE_CASES, DueCase
from tests.unit.referrals.fakes import NOW, FakeDirectory, FakeSeals, agency, delivered

CASA, CPIA = "pioltello-casa", "cpia2"
PERSON = b'{"person": {"given_name": "Amina", "family_name": "K."}}'


class PinnedOnly:
    """A key ring that has pinned pioltello-casa's keys."""

    def __init__(self, casa: PartyKeys) -> None:
        self.casa = casa

    def pinned(self, party: str) -> Any:
        return self.casa.public() if party == CASA else None


class Relay:
    def __init__(self) -> None:
        self.woken = 0
        self.committed: list[Queued] = []  # what the last transaction handed over

    def wake(self, committed: Sequence[Queued] = ()) -> None:
        self.woken += 1
        self.committed = list(committed)


@dataclass
class Cpia:
    node: Node
    db: Database
    keys: PartyKeys
    casa: PartyKeys
    relay: Relay
    directory: FakeDirectory
    seals: FakeSeals

    @property
    def reads(self) -> Reads:
        return Reads(CPIA, SqlReads(self.db), self.directory)


@pytest.fixture
async def cpia(database_url: str) -> AsyncIterator[Cpia]:
    """cpia2's node on a real database, and fakes for the directory and for opening."""
    db = Database(database_url)
    await db.migrate(MIGRATIONS)
    keys, casa, relay = PartyKeys.generate(), PartyKeys.generate(), Relay()
    sealing = NodeSeals(keys, PinnedOnly(casa))  # type: ignore[arg-type]
    directory, seals = FakeDirectory(agency(CPIA), agency(CASA)), FakeSeals()
    uow = SqlUnitOfWork(db, CPIA, sealing, relay)  # type: ignore[arg-type]
    node = Node(CPIA, uow, directory, seals, clock=lambda: NOW)
    try:
        yield Cpia(node, db, keys, casa, relay, directory, seals)
    finally:
        await db.dispose()


def requested(**fields: Any) -> Requested:
    base: dict[str, Any] = {
        "referral_id": "01a2298c-fb02-729a-bbae-bf27c2140f10",
        "sender_agency": CASA,
        "receiver_agency": CPIA,
        "service_id": "main-service",
        "priority": "routine",
        "occurred_at": NOW - timedelta(days=2),
        "step": 1,
        "legal_basis": {"basis": "public-task"},
    }
    return Requested(**{**base, **fields})


async def arrive(cpia: Cpia, data: Requested) -> Verified:
    item = delivered(CASA, CPIA, data, 1)
    cpia.seals.texts[item.id] = PERSON
    await apply_incoming(cpia.node, item)
    return item


@pytest.mark.parametrize("case", DUE_CASES, ids=str)
async def test_needs_us_counts_due_times_by_the_contracts_rule(cpia: Cpia, case: DueCase) -> None:
    cpia.directory.agencies[CPIA] = case.entry(CPIA, "main-service")
    # Stored two days after it was requested: the targets still count from the request.
    cpia.node.clock = lambda: case.requested_at + timedelta(days=2)
    await arrive(cpia, requested(priority=case.priority, occurred_at=case.requested_at))
    [waiting] = (await views.needs_us(cpia.reads, case.requested_at)).waiting
    assert waiting.due.by == case.decide_by
    target = waiting.due.target
    if case.receive_by is None:
        assert target is None
        return
    assert target is not None
    assert (target.receive_by(waiting.due.requested_at), target.fallback) == (case.receive_by, case.fallback)


async def test_a_referral_is_kept_whole_and_its_answer_is_stored_signed_in_the_nodes_sequence(cpia: Cpia) -> None:
    item = await arrive(cpia, requested())
    referral_id = item.referral_id
    provided = delivered(CASA, CPIA, InfoProvided(**_about(), occurred_at=NOW, step=2), 2)
    cpia.seals.texts[provided.id] = b"Tuesdays"
    await apply_incoming(cpia.node, provided)
    loaded = await cpia.reads.queries.one(referral_id)
    assert loaded is not None
    assert [(h.event, h.by_agency, h.note) for h in loaded.history] == [
        ("requested", CASA, None),
        ("received", CPIA, None),
        ("info-provided", CASA, "Tuesdays"),
    ]
    assert (loaded.requested_at, loaded.created_at, loaded.their_step, loaded.our_step) == (
        NOW - timedelta(days=2),
        NOW,
        2,
        1,
    )
    async with cpia.db.connect() as session:
        [row] = (await session.execute(select(messaging.outbox))).all()
    envelope = parse_envelope(row.payload)
    assert (row.subject, envelope.sequence, envelope.id) == (f"referral.v1.{CPIA}.{CASA}.received", 1, row.event_id)
    verify_event(row.headers[SIGNATURE_HEADER], cpia.keys.public(), row.payload)
    assert parse(Delivery(row.subject, row.payload)).publisher == CPIA
    assert cpia.relay.woken == 1, "woken for the answer; info-provided queued nothing"
    handed = [(q.position, q.event_id, q.subject, q.payload, q.headers) for q in cpia.relay.committed]
    assert handed == [(row.position, row.event_id, row.subject, row.payload, row.headers)], "handed as stored"


async def test_an_erasure_forgets_the_personal_part_and_every_note_in_the_database(cpia: Cpia) -> None:
    item = await arrive(cpia, requested())
    provided = delivered(CASA, CPIA, InfoProvided(**_about(), occurred_at=NOW, step=2), 2)
    cpia.seals.texts[provided.id] = b"Amina's evenings"
    await apply_incoming(cpia.node, provided)
    await apply_incoming(cpia.node, delivered(CASA, CPIA, ConsentWithdrawn(**_about(), occurred_at=NOW, step=3), 3))
    async with cpia.db.connect() as session:
        notes = (await session.execute(select(history.c.note).where(history.c.note.is_not(None)))).all()
        rows = (await session.execute(select(messaging.outbox.c.subject, messaging.outbox.c.payload))).all()
    erased = await cpia.reads.queries.one(item.referral_id)
    assert erased is not None and erased.personal is None and erased.erasure is not None
    assert notes == []
    assert [r.subject.rsplit(".", 1)[1] for r in rows] == ["received", "personal-data-erased"]
    answer = parse_envelope(rows[-1].payload).data
    assert answer.sealed is None and answer.step == 2  # type: ignore[union-attr]


async def test_a_note_is_sealed_to_the_pinned_keys_of_the_other_agency(cpia: Cpia) -> None:
    item = await arrive(cpia, requested())
    staff = Principal("op-cpia", CPIA, frozenset({Role.OPERATOR}))
    await act(cpia.node, staff, item.referral_id, ActionInput("request-info", note="Which evening is free?"))
    async with cpia.db.connect() as session:
        payload = (
            await session.execute(select(messaging.outbox.c.payload).order_by(messaging.outbox.c.position))
        ).all()
    question = parse_envelope(payload[-1][0]).data
    assert question.sealed is not None
    opened = open_sealed(question.sealed, cpia.keys.public(), cpia.casa, item.referral_id, "info-requested")
    assert opened == b"Which evening is free?"


async def test_a_batch_reads_its_referrals_and_claims_its_events_at_once_and_applies_each_once(cpia: Cpia) -> None:
    """Three referrals arrive in one batch, one of them followed in the same batch by a note
    and its consent's withdrawal, and one event comes twice: each is applied once, in order,
    its answer queued once; the batch's referrals are read in one statement (their
    histories in another, once some are known), its events claimed in one."""
    ids = [f"01a2298c-fb02-729a-bbae-bf27c2140f1{n}" for n in range(3)]
    arrived = [delivered(CASA, CPIA, requested(referral_id=rid), n) for n, rid in enumerate(ids, start=1)]
    about = {**_about(), "referral_id": ids[0]}
    provided = delivered(CASA, CPIA, InfoProvided(**about, occurred_at=NOW, step=2), 4)
    withdrawn = delivered(CASA, CPIA, ConsentWithdrawn(**about, occurred_at=NOW, step=3), 5)
    for item in arrived:
        cpia.seals.texts[item.id] = PERSON
    cpia.seals.texts[provided.id] = b"Tuesdays"
    statements: list[str] = []

    def counted(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(cpia.db.engine.sync_engine, "before_cursor_execute", counted)
    try:
        reasons = await apply_batches(cpia.node)([*arrived, provided, arrived[1], withdrawn])
    finally:
        event.remove(cpia.db.engine.sync_engine, "before_cursor_execute", counted)
    assert list(reasons) == [None] * 6
    first = await cpia.reads.queries.one(ids[0])
    assert first is not None and first.personal is None and first.erasure is not None
    assert [h.event for h in first.history] == [
        "requested",
        "received",
        "info-provided",
        "consent-withdrawn",
        "personal-data-erased",
    ]
    for rid in ids[1:]:
        other = await cpia.reads.queries.one(rid)
        assert other is not None and [h.event for h in other.history] == ["requested", "received"]
    async with cpia.db.connect() as session:
        rows = (await session.execute(select(messaging.outbox.c.subject, messaging.outbox.c.payload))).all()
        applied = (await session.execute(select(func.count()).select_from(messaging.inbox))).scalar_one()
    answers = [(parse_envelope(r.payload).data.referral_id, r.subject.rsplit(".", 1)[1]) for r in rows]
    assert sorted(answers) == sorted([*((rid, "received") for rid in ids), (ids[0], "personal-data-erased")])
    assert [parse_envelope(r.payload).sequence for r in rows] == [1, 2, 3, 4]
    assert applied == 5
    referral_reads = [s for s in statements if s.lstrip().startswith("SELECT referrals.")]
    claims = [s for s in statements if s.lstrip().startswith("INSERT INTO inbox")]
    # One read ahead for the batch; a referral read again at each later event of it (after
    # the save of the one before); the event that came twice claimed alone (the batch's
    # claim recorded it once).
    assert (len(referral_reads), len(claims)) == (4, 2)


def _about() -> dict[str, Any]:
    return requested().model_dump(include={"referral_id", "sender_agency", "receiver_agency", "service_id", "priority"})


async def test_a_person_sent_again_to_a_service_is_found_by_their_names_as_written_not_as_a_pattern(
    cpia: Cpia,
) -> None:
    """Before sending, the node looks up the open referrals it sent to the service for a
    person of the same folded names, on both databases: names holding ``%``, ``_`` or ``/``
    match themselves, and a name that begins another is not that other."""
    operator = Principal("op-cpia", CPIA, frozenset({Role.OPERATOR}))
    consent = LegalBasis.model_validate({"basis": "consent", "captured_by": "op-1", "captured_at": NOW})

    async def send(given: str, family: str) -> list[str]:
        person = Person(given_name=given, family_name=family, birth_date="1990-01-01")
        request = ReferralRequest(CASA, "main-service", Priority.ROUTINE, consent, PersonalPart(person=person))
        return [w.code for w in (await send_referral(cpia.node, operator, request)).warnings]

    async def found(names: str) -> int:
        async with cpia.db.transaction() as session:
            return len(await SqlReferrals(session, locking=True).open_sent(CASA, "main-service", names))

    assert await send("Ion", "Pop_50%/a") == []
    assert await send("ION", " pop_50%/A ") == ["open-referral"]  # folded: the same person
    assert await send("Ion", "Popx50x/a") == []
    assert await send("Ion", "Pop") == []
    assert [await found(names) for names in ("ion | pop_50%/a", "ion | popx50x/a", "ion | pop", "ion | pop%")] == [
        2,
        1,
        1,
        0,
    ]
