"""``/verify``'s use case, on in-memory stores: the stored trail recomputed against its
signed checkpoints, each edit named at its index, and every published fact the stores no
longer hold named by its kind."""

from __future__ import annotations

from dataclasses import replace

from nacl.signing import SigningKey

from crocevia_audit.domain.entries import RecordedEntry
from crocevia_audit.handlers.append import TrailWriter
from crocevia_audit.handlers.checkpoints import Checkpointer
from crocevia_audit.handlers.gaps import GapWatch
from crocevia_audit.handlers.verify import verify_trail
from crocevia_common.messaging.intake import Delivery
from crocevia_common.tlog.checkpoint import Checkpoint, sign_checkpoint
from crocevia_common.tlog.merkle import leaf_hash
from crocevia_common.tlog.note import VerifierKey
from tests.integration.audit.events import Network, checked
from tests.unit.audit.fakes import FakeTrail

ORIGIN = "crocevia.test/trail"
KEY = SigningKey(b"s" * 32)
VERIFIER = VerifierKey(ORIGIN, bytes(KEY.verify_key))


async def signed_trail(count: int = 16) -> FakeTrail:
    """``count`` entries in batches of 4, signed once 5 wait (at 8 and 16), then on time;
    one source skips 17 to 29 (a raised gap) and one event comes twice (an anomaly):
    everything published."""
    trail, net = FakeTrail(), Network()
    writer = TrailWriter(trail.uow)
    signer = Checkpointer(trail.uow, writer, KEY, ORIGIN, every_entries=5, every_seconds=60)
    await signer.sign_if_due()  # the empty tree, as at the first start
    events = [net.event("requested", f"ref-{i}") for i in range(count)]
    for start in range(0, count, 4):
        await writer.append(checked(events[start : start + 4]))
        await signer.sign_if_due()
    again = Delivery(events[0].subject, events[0].payload, stream_sequence=999)  # another message, same event
    await writer.append(checked([again, net.event("requested", "ref-ahead", sequence=30)]))
    await GapWatch(trail.uow, grace_seconds=0, check_seconds=5).raise_overdue()
    await signer.sign_if_due(on_time=True)
    return trail


def edit(trail: FakeTrail, index: int, **changes: object) -> None:
    stored = trail.state.entries[index]
    fields = {k: v for k, v in changes.items() if k in stored.fields.__slots__}
    own = {k: v for k, v in changes.items() if k not in fields}
    trail.state.entries[index] = replace(stored, fields=replace(stored.fields, **fields), **own)  # type: ignore[arg-type]


async def test_an_untouched_trail_agrees_with_itself_and_with_everything_it_published() -> None:
    trail = await signed_trail()
    report = (await verify_trail(trail, VERIFIER, page_size=3, published=trail)).as_dict()
    published = report.pop("published")
    assert report == {
        "ok": True,
        "entries": 17,
        "checkpoints_checked": 4,
        "latest_checkpoint_size": 17,
        "bad_checkpoints": [],
        "first_mismatch": None,
        "key": str(VERIFIER),
        "earlier_keys": [],
    }
    assert (published["ok"], published["checkpoints"], published["gaps"], published["anomalies"]) == (True, 4, 1, 1)


async def test_an_edited_entry_is_named_by_its_index() -> None:
    trail = await signed_trail()
    forged = trail.state.entries[7].entry.replace(b'"routine"', b'"urgent"')
    edit(trail, 7, entry=forged)
    found = (await verify_trail(trail, VERIFIER, page_size=5)).mismatch
    assert found is not None and (found.kind.value, found.index, found.end) == ("altered-entry", 7, 8)


async def test_an_edited_column_is_named_by_its_index_and_its_name() -> None:
    trail = await signed_trail()
    edit(trail, 5, receiver_agency="csl-lavoro")
    found = (await verify_trail(trail, VERIFIER)).mismatch
    assert found is not None and found.index == 5 and "column receiver_agency" in found.detail


async def test_an_entry_rewritten_with_its_leaf_hash_is_named_by_its_index() -> None:
    trail = await signed_trail()
    forged = trail.state.entries[9].entry.replace(b'"routine"', b'"urgent"')
    edit(trail, 9, entry=forged, leaf_hash=leaf_hash(forged), priority="urgent")
    found = (await verify_trail(trail, VERIFIER)).mismatch
    assert found is not None and (found.index, found.end) == (9, 10)


async def test_an_edited_tree_node_names_the_entries_under_it() -> None:
    trail = await signed_trail()
    trail.state.nodes[(2, 1)] = b"\x00" * 32
    found = (await verify_trail(trail, VERIFIER)).mismatch
    assert found is not None and (found.kind.value, found.index, found.end) == ("altered-node", 4, 8)


async def test_a_checkpoint_signed_by_an_earlier_key_of_the_log_is_named() -> None:
    trail = await signed_trail()
    earlier = SigningKey(b"e" * 32)
    trail.state.keys = [(ORIGIN, bytes(earlier.verify_key)), (ORIGIN, bytes(KEY.verify_key))]
    stored = trail.state.checkpoints[8]
    note = sign_checkpoint(Checkpoint(ORIGIN, 8, stored.root), ORIGIN, earlier)
    trail.state.checkpoints[8] = replace(stored, note=note)
    report = await verify_trail(trail, VERIFIER)
    assert report.earlier_keys == [str(VerifierKey(ORIGIN, bytes(earlier.verify_key)))]
    assert len(report.bad_checkpoints) == 1 and "signed by an earlier key" in report.bad_checkpoints[0]
    assert report.mismatch is None and not report.ok


async def test_facts_the_stores_lost_are_named_by_what_was_published() -> None:
    trail = await signed_trail()
    del trail.state.checkpoints[8]
    trail.state.gaps.clear()
    trail.state.anomalies.clear()
    published = (await verify_trail(trail, VERIFIER, published=trail)).published
    assert published is not None and not published.ok
    assert dict(published.counts) == {"checkpoint-missing": 1, "gap-missing": 1, "anomaly-missing": 1}


async def test_a_trail_cut_short_of_a_published_checkpoint_is_named() -> None:
    trail = await signed_trail()
    kept: list[RecordedEntry] = trail.state.entries[:12]
    trail.state.entries = kept
    trail.state.checkpoints = {size: c for size, c in trail.state.checkpoints.items() if size <= 12}
    report = await verify_trail(trail, VERIFIER, published=trail)
    assert report.published is not None
    assert {"tree-shorter", "checkpoint-missing"} <= set(report.published.counts)
    assert not report.ok
