"""Stored perfect subtrees: every one of them is kept, and roots come from O(log n) reads."""

from __future__ import annotations

import pytest

from crocevia_audit.domain.frontier import InMemoryNodes, root_from_nodes
from crocevia_audit.domain.nodes import MissingNodeError, perfect_subtrees, subtree_hash
from crocevia_common.tlog.merkle import EMPTY_ROOT, node_hash, root_from_leaf_hashes
from tests.unit.audit.trees import CountingReader, SyntheticTree, leaf_hashes, stored_tree


def test_every_stored_node_is_the_root_of_its_perfect_subtree() -> None:
    hashes = leaf_hashes(37)
    store = stored_tree(hashes)
    for level in range(6):
        for index in range(37 >> level):
            start = index << level
            assert store.get(level, index) == root_from_leaf_hashes(hashes[start : start + (1 << level)])


def test_an_incomplete_subtree_is_never_stored() -> None:
    store = stored_tree(leaf_hashes(3))
    with pytest.raises(MissingNodeError) as raised:
        store.get(1, 1)
    assert (raised.value.level, raised.value.index) == (1, 1)


def test_a_ragged_range_decomposes_into_perfect_subtrees_largest_first() -> None:
    assert perfect_subtrees(0, 13) == [(3, 0), (2, 2), (0, 12)]
    assert perfect_subtrees(8, 11) == [(1, 4), (0, 10)]


def test_a_range_not_aligned_to_the_tree_is_refused() -> None:
    with pytest.raises(ValueError):
        perfect_subtrees(1, 3)
    with pytest.raises(ValueError):
        perfect_subtrees(4, 4)


def test_a_ragged_subtree_hash_composes_its_perfect_parts() -> None:
    a, b, c = leaf_hashes(3)
    assert subtree_hash(0, 3, stored_tree([a, b, c])) == node_hash(node_hash(a, b), c)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 7, 8, 9, 100, 255, 256, 257])
def test_root_from_stored_nodes_matches_the_recursive_definition(size: int) -> None:
    hashes = leaf_hashes(size)
    assert root_from_nodes(size, stored_tree(hashes)) == root_from_leaf_hashes(hashes)


def test_root_of_an_older_size_is_still_readable_from_a_grown_tree() -> None:
    hashes = leaf_hashes(300)
    store = stored_tree(hashes)
    for size in (0, 1, 5, 128, 200, 299):
        assert root_from_nodes(size, store) == root_from_leaf_hashes(hashes[:size])


def test_root_of_a_million_leaf_tree_needs_one_read_per_set_bit() -> None:
    tree = SyntheticTree(1_000_000)
    root_from_nodes(1_000_000, tree)
    assert tree.reads == bin(1_000_000).count("1")


def test_empty_tree_root_needs_no_reads() -> None:
    reader = CountingReader(InMemoryNodes())
    assert root_from_nodes(0, reader) == EMPTY_ROOT
    assert reader.reads == 0


def test_appending_to_a_store_grows_its_size() -> None:
    store = InMemoryNodes()
    for leaf in leaf_hashes(5):
        store.append(leaf)
    assert store.size == 5
