"""The offline verifier reads each exported entry's index without parsing the whole line
when the line is canonical; it must read the same index JSON does, whatever the event holds
(nested objects with an ``index`` key, strings that spell one), and -1 for a line that is no
entry. Reading an export, it compares the bytes after the index key with the index due."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crocevia_audit.domain.entries import canonical_json
from crocevia_audit.domain.tamper import OutOfSequence
from crocevia_audit.handlers.offline import _entries, _index

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(alphabet='",:}{ai\\')
    | st.sampled_from([',"index":7,', '"index":', '},"index":12,"nats_subject":"x"}']),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["index", "a", "z"]), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(
    event=st.dictionaries(st.sampled_from(["data", "id", "index", "type"]), values, max_size=4),
    index=st.integers(0, 10**12),
)
def test_the_index_read_from_a_canonical_entry_is_the_one_json_reads(event: dict, index: int) -> None:
    entry = canonical_json({"event": event, "index": index, "nats_subject": "referral.v1.a.b.requested"})
    assert _index(entry) == json.loads(entry)["index"] == index


def test_a_line_that_is_no_entry_has_no_index() -> None:
    assert _index(b"not json") == -1
    assert _index(b'{"event":{},"nats_subject":"x"}') == -1
    assert _index(b'{"event":{},"index":"seven","nats_subject":"x"}') == -1
    assert _index(b'{"event":{},"index":-3,"nats_subject":"x"}') == -3


def _line(index: int, event: object = None) -> bytes:
    return canonical_json({"event": event or {"id": f"e{index}"}, "index": index, "nats_subject": "x"}) + b"\n"


def test_an_exports_entries_come_without_their_line_ends_and_blank_lines() -> None:
    lines = [_line(0), b"\n", _line(1), _line(2)]
    assert list(_entries(lines)) == [_line(0)[:-1], _line(1)[:-1], _line(2)[:-1]]


@given(event=st.dictionaries(st.sampled_from(["data", "id", "index"]), values, max_size=3), index=st.integers(0, 40))
def test_an_entry_is_accepted_only_where_its_index_is_due(event: dict, index: int) -> None:
    """Whatever the event holds (an ``index`` of its own, strings that spell one), an entry
    passes where its index is due and breaks the sequence, named by its index, anywhere else."""
    line = _line(index, event)
    assert list(_entries([*map(_line, range(index)), line]))[-1] == line[:-1]
    with pytest.raises(OutOfSequence) as raised:
        list(_entries([*map(_line, range(index + 1)), line]))
    assert (raised.value.mismatch.index, str(raised.value)) == (
        index + 1,
        f"expected entry {index + 1}, found entry {index}",
    )


def test_an_entry_that_is_not_canonical_is_placed_by_its_parsed_index() -> None:
    spaced = b'{"index": 1, "nats_subject": "x", "event": {"index": 5}}\n'
    assert list(_entries([_line(0), spaced])) == [_line(0)[:-1], spaced[:-1]]


def test_a_line_that_is_no_entry_breaks_the_sequence() -> None:
    with pytest.raises(OutOfSequence, match="expected entry 1, found entry -1"):
        list(_entries([_line(0), b"not an entry\n"]))
