"""The tree's right border: what appending a leaf completes, and the root it keeps, in
O(log n) memory, equal to the RFC's recursive definition at every size."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crocevia_audit.domain.frontier import Frontier, InMemoryNodes, completed_names
from crocevia_audit.domain.nodes import MissingNodeError, StoredNode
from crocevia_common.tlog.merkle import EMPTY_ROOT, leaf_hash, node_hash, root_from_leaf_hashes
from tests.unit.audit.trees import CountingReader, leaf_hashes, stored_tree


def test_the_empty_tree_has_no_border_and_the_empty_root() -> None:
    assert (Frontier().size, Frontier().border, Frontier().root()) == (0, (), EMPTY_ROOT)


def test_the_root_matches_the_recursive_definition_at_every_size() -> None:
    hashes = leaf_hashes(130)
    tree = Frontier()
    for size, leaf in enumerate(hashes, start=1):
        tree.append(leaf)
        assert tree.size == size
        assert tree.root() == root_from_leaf_hashes(hashes[:size])


def test_the_border_keeps_one_subtree_per_set_bit_of_the_size() -> None:
    tree = Frontier.of(leaf_hashes(1_000))
    # 1000 = 0b1111101000: six perfect subtrees, whatever the length of the input.
    assert [node.level for node in tree.border] == [9, 8, 7, 6, 5, 3]


def test_an_append_reports_the_perfect_nodes_it_completes() -> None:
    a, b, c, d = leaf_hashes(4)
    tree = Frontier()
    assert tree.append(a) == [StoredNode(0, 0, a)]
    assert tree.append(b) == [StoredNode(0, 1, b), StoredNode(1, 0, node_hash(a, b))]
    assert tree.append(c) == [StoredNode(0, 2, c)]
    assert tree.append(d) == [
        StoredNode(0, 3, d),
        StoredNode(1, 1, node_hash(c, d)),
        StoredNode(2, 0, node_hash(node_hash(a, b), node_hash(c, d))),
    ]


def test_the_last_leaf_of_a_perfect_tree_completes_every_level() -> None:
    hashes = leaf_hashes(8)
    tree = Frontier.of(hashes[:7])
    completed = tree.append(hashes[7])
    assert [(node.level, node.index) for node in completed] == [(0, 7), (1, 3), (2, 1), (3, 0)]
    assert completed[-1].digest == root_from_leaf_hashes(hashes)
    assert [(node.level, node.index) for node in completed] == completed_names(7)


def test_an_even_leaf_completes_only_itself() -> None:
    assert completed_names(12) == [(0, 12)]
    assert completed_names(0) == [(0, 0)]
    with pytest.raises(ValueError):
        completed_names(-1)


def test_a_border_read_from_storage_continues_the_tree_where_it_stopped() -> None:
    hashes = leaf_hashes(45)
    reader = CountingReader(stored_tree(hashes[:37]))
    tree = Frontier.read(37, reader)
    assert reader.reads == bin(37).count("1")  # one read per perfect subtree of the border
    for leaf in hashes[37:]:
        tree.append(leaf)
    assert tree.root() == root_from_leaf_hashes(hashes)


def test_a_border_the_storage_lacks_is_a_missing_node() -> None:
    with pytest.raises(MissingNodeError):
        Frontier.read(9, stored_tree(leaf_hashes(8)))


def test_a_copy_grows_on_its_own() -> None:
    tree = Frontier.of(leaf_hashes(5))
    twin = tree.copy()
    twin.append(leaf_hash(b"sixth"))
    assert (tree.size, twin.size) == (5, 6)
    assert tree.root() == root_from_leaf_hashes(leaf_hashes(5))


def test_what_the_appends_complete_is_every_perfect_node_of_the_tree() -> None:
    hashes = leaf_hashes(37)
    completed: list[StoredNode] = []
    tree = Frontier()
    for leaf in hashes:
        completed += tree.append(leaf)
    store = InMemoryNodes.from_leaf_hashes(hashes)
    assert all(store.get(node.level, node.index) == node.digest for node in completed)
    assert len(completed) == sum(37 >> level for level in range(6))


@given(st.lists(st.binary(max_size=40), max_size=300))
def test_the_root_equals_the_recursive_mth_for_any_entries(entries: list[bytes]) -> None:
    hashes = [leaf_hash(entry) for entry in entries]
    assert Frontier.of(hashes).root() == root_from_leaf_hashes(hashes)


def test_adding_without_the_completed_nodes_keeps_the_same_tree() -> None:
    hashes = leaf_hashes(300)
    named, bare = Frontier(), Frontier()
    for leaf in hashes:
        named.append(leaf)
        bare.add(leaf)
        assert (bare.size, bare.root(), bare.border) == (named.size, named.root(), named.border)


@given(st.integers(0, 300), st.lists(st.integers(0, 300), max_size=4))
def test_extending_by_runs_of_leaves_keeps_the_tree_of_adding_them_one_by_one(count: int, cuts: list[int]) -> None:
    hashes = leaf_hashes(count)
    extended, added = Frontier(), Frontier()
    for start, end in zip([0, *sorted(cuts)], [*sorted(cuts), count], strict=True):
        extended.extend(hashes[start:end])
    for leaf in hashes:
        added.add(leaf)
    assert (extended.size, extended.root(), extended.border) == (added.size, added.root(), added.border)
