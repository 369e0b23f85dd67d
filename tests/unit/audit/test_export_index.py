"""The offline verifier reads each exported entry's index without parsing the whole line
when the line is canonical; it must read the same index JSON does, whatever the event holds
(nested objects with an ``index`` key, strings that spell one), and -1 for a line that is no
entry."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from crocevia_audit.domain.entries import canonical_json
from crocevia_audit.handlers.offline import _index

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
