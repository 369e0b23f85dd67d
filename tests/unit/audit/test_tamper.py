"""Naming the first place a stored trail stops matching what was hashed and signed."""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import given
from hypothesis import strategies as st

from crocevia_audit.domain.frontier import InMemoryNodes
from crocevia_audit.domain.nodes import StoredNode
from crocevia_audit.domain.tamper import (
    Mismatch,
    MismatchKind,
    OutOfSequence,
    StoredLeaf,
    first_mismatch,
    first_mismatch_of_entries,
)
from crocevia_common.tlog.checkpoint import Checkpoint
from crocevia_common.tlog.merkle import leaf_hash, root_from_leaf_hashes
from tests.unit.audit.trees import entries

ORIGIN = "crocevia.example/pioltello-trail"
ENTRIES = entries(40)


def _rows(trail: list[bytes]) -> list[StoredLeaf]:
    return [StoredLeaf(index, entry, leaf_hash(entry)) for index, entry in enumerate(trail)]


def _checkpoint(trail: list[bytes], size: int) -> Checkpoint:
    return Checkpoint(ORIGIN, size, root_from_leaf_hashes([leaf_hash(entry) for entry in trail[:size]]))


CHECKPOINTS = [_checkpoint(ENTRIES, size) for size in (0, 10, 25, 40)]


def test_an_untouched_trail_has_no_mismatch() -> None:
    assert first_mismatch(_rows(ENTRIES), CHECKPOINTS) is None
    assert first_mismatch(_rows(ENTRIES), CHECKPOINTS, InMemoryNodes.from_leaf_hashes(map(leaf_hash, ENTRIES))) is None


def test_an_entry_edited_without_its_leaf_hash_is_named_exactly() -> None:
    rows = _rows(ENTRIES)
    rows[17] = StoredLeaf(17, b'{"seq":17,"event":"referral.rejected"}', rows[17].leaf_hash)
    found = first_mismatch(rows, CHECKPOINTS)
    assert found == Mismatch(MismatchKind.ALTERED_ENTRY, 17, 18, "entry 17 no longer hashes to its stored leaf hash")


def test_the_first_of_several_edits_is_reported() -> None:
    rows = _rows(ENTRIES)
    for index in (31, 12, 20):
        rows[index] = StoredLeaf(index, b"edited", rows[index].leaf_hash)
    found = first_mismatch(rows, CHECKPOINTS)
    assert found is not None
    assert found.index == 12


def test_an_entry_rewritten_with_its_leaf_hash_is_caught_by_the_next_checkpoint() -> None:
    rewritten = list(ENTRIES)
    rewritten[17] = b"rewritten with a fresh leaf hash"
    found = first_mismatch(_rows(rewritten), CHECKPOINTS)
    assert found is not None
    assert found.kind is MismatchKind.ROOT_DIFFERS
    # The checkpoint at 10 still matches; the one at 25 does not.
    assert (found.index, found.end) == (10, 25)


def test_stored_nodes_narrow_a_consistent_rewrite_to_a_pair_of_entries() -> None:
    nodes = InMemoryNodes.from_leaf_hashes(map(leaf_hash, ENTRIES))
    rewritten = list(ENTRIES)
    rewritten[17] = b"rewritten with a fresh leaf hash"
    found = first_mismatch(_rows(rewritten), CHECKPOINTS, nodes)
    assert found is not None
    assert found.kind is MismatchKind.ALTERED_NODE
    assert (found.index, found.end) == (16, 18)


def test_a_rewritten_internal_node_is_reported_over_the_entries_it_covers() -> None:
    nodes = InMemoryNodes.from_leaf_hashes(map(leaf_hash, ENTRIES))
    nodes.store([StoredNode(2, 3, b"\x00" * 32)])
    found = first_mismatch(_rows(ENTRIES), CHECKPOINTS, nodes)
    assert found is not None
    assert (found.kind, found.index, found.end) == (MismatchKind.ALTERED_NODE, 12, 16)


def test_a_deleted_entry_breaks_the_sequence_where_it_was() -> None:
    rows = _rows(ENTRIES)
    del rows[8]
    found = first_mismatch(rows, CHECKPOINTS)
    assert found == Mismatch(MismatchKind.BROKEN_SEQUENCE, 8, 9, "expected entry 8, found entry 9")


def test_entries_cut_from_the_end_are_reported_as_truncation() -> None:
    found = first_mismatch(_rows(ENTRIES[:33]), CHECKPOINTS)
    assert found is not None
    assert (found.kind, found.index, found.end) == (MismatchKind.TRUNCATED, 33, 40)


def test_a_trail_rewritten_from_scratch_is_caught_by_the_first_checkpoint() -> None:
    forged = entries(40)
    forged[0] = b"forged genesis"
    found = first_mismatch(_rows(forged), CHECKPOINTS)
    assert found is not None
    assert (found.kind, found.index, found.end) == (MismatchKind.ROOT_DIFFERS, 0, 10)


def test_two_checkpoints_of_the_same_size_with_different_roots_are_a_mismatch() -> None:
    forked = list(ENTRIES)
    forked[3] = b"the fork"
    found = first_mismatch(_rows(ENTRIES), [*CHECKPOINTS, _checkpoint(forked, 25)])
    assert found is not None
    assert found.kind is MismatchKind.ROOT_DIFFERS


def test_entries_after_the_last_checkpoint_are_still_checked_against_their_leaf_hashes() -> None:
    rows = _rows(ENTRIES)
    rows[38] = StoredLeaf(38, b"edited", rows[38].leaf_hash)
    found = first_mismatch(rows, [_checkpoint(ENTRIES, 30)])
    assert found is not None
    assert (found.kind, found.index) == (MismatchKind.ALTERED_ENTRY, 38)


def test_the_trail_is_read_as_a_stream_and_stops_at_the_first_mismatch() -> None:
    consumed: list[int] = []

    def rows() -> Iterator[StoredLeaf]:
        for row in _rows(ENTRIES):
            consumed.append(row.index)
            yield row if row.index != 5 else StoredLeaf(5, b"edited", row.leaf_hash)

    assert first_mismatch(rows(), CHECKPOINTS) is not None
    assert consumed == list(range(6))


@given(st.integers(0, 39), st.binary(min_size=1, max_size=20))
def test_any_single_edit_is_found_at_or_before_its_index(index: int, suffix: bytes) -> None:
    rows = _rows(ENTRIES)
    rows[index] = StoredLeaf(index, ENTRIES[index] + suffix, rows[index].leaf_hash)
    found = first_mismatch(rows, CHECKPOINTS)
    assert found is not None
    assert (found.kind, found.index) == (MismatchKind.ALTERED_ENTRY, index)


@given(st.integers(0, 39), st.binary(min_size=1, max_size=20))
def test_any_consistent_rewrite_is_located_within_the_reported_range(index: int, suffix: bytes) -> None:
    rewritten = list(ENTRIES)
    rewritten[index] = ENTRIES[index] + suffix
    found = first_mismatch(_rows(rewritten), CHECKPOINTS)
    assert found is not None
    assert found.index <= index < found.end


def _in_order(rows: list[StoredLeaf]) -> Iterator[bytes]:
    """The rows' entries, as an export's reader gives them: out of order raises."""
    for expected, row in enumerate(rows):
        if row.index != expected:
            raise OutOfSequence(expected, row.index)
        yield row.entry


@given(
    size=st.integers(0, 40),
    removed=st.lists(st.integers(0, 39), max_size=2),
    rewritten=st.lists(st.integers(0, 39), max_size=2),
    sizes=st.lists(st.integers(0, 45), max_size=4),
)
def test_entries_alone_give_the_mismatch_that_rows_without_leaf_hashes_give(
    size: int, removed: list[int], rewritten: list[int], sizes: list[int]
) -> None:
    """An export is checked from its entries alone, the tree grown between checkpoints in one
    loop; it must find what the row-by-row check finds: nothing, a broken sequence, a root
    that differs or a truncation, at the same entry."""
    rows = [StoredLeaf(index, entry, None) for index, entry in enumerate(ENTRIES[:size])]
    for index in rewritten:
        if index < len(rows):
            rows[index] = StoredLeaf(index, b"rewritten", None)
    for index in sorted(set(removed), reverse=True):
        if index < len(rows) - 1:
            del rows[index]
    checkpoints = [_checkpoint(ENTRIES, min(at, 40)) for at in sizes]
    expected = first_mismatch(rows, checkpoints)
    assert first_mismatch_of_entries(_in_order(rows), checkpoints) == expected


def test_entries_beyond_the_last_checkpoint_are_read_to_the_end() -> None:
    consumed: list[int] = []

    def entries() -> Iterator[bytes]:
        for index, entry in enumerate(ENTRIES):
            consumed.append(index)
            yield entry

    assert first_mismatch_of_entries(entries(), [_checkpoint(ENTRIES, 10)]) is None
    assert consumed == list(range(40))
