"""RFC 9162 section 2.1 tree hashing."""

from __future__ import annotations

import hashlib

import pytest

from crocevia_common.tlog.merkle import (
    EMPTY_ROOT,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    split_point,
)
from tests.unit.audit.trees import REFERENCE_LEAVES, leaf_hashes

# Roots of the first 1..8 reference leaves, as published with RFC 6962's reference tree.
REFERENCE_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_empty_tree_root_is_the_sha256_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_from_leaf_hashes([]) == EMPTY_ROOT


def test_leaf_hash_is_sha256_of_zero_byte_then_entry() -> None:
    assert leaf_hash(b"entry") == hashlib.sha256(b"\x00entry").digest()


def test_node_hash_is_sha256_of_one_byte_then_both_children() -> None:
    left, right = b"L" * 32, b"R" * 32
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()


def test_a_leaf_never_hashes_like_the_node_its_bytes_spell() -> None:
    left, right = leaf_hash(b"a"), leaf_hash(b"b")
    assert leaf_hash(b"\x01" + left + right) != node_hash(left, right)
    assert leaf_hash(left + right) != node_hash(left, right)


@pytest.mark.parametrize(("n", "k"), [(2, 1), (3, 2), (4, 2), (5, 4), (8, 4), (9, 8), (1025, 1024)])
def test_tree_splits_at_the_largest_power_of_two_smaller_than_its_size(n: int, k: int) -> None:
    assert split_point(n) == k


def test_a_single_leaf_does_not_split() -> None:
    with pytest.raises(ValueError):
        split_point(1)


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_of_the_reference_tree_match_the_published_ones(size: int) -> None:
    hashes = [leaf_hash(entry) for entry in REFERENCE_LEAVES[:size]]
    assert root_from_leaf_hashes(hashes).hex() == REFERENCE_ROOTS[size - 1]


def test_a_single_leaf_tree_has_the_leaf_hash_as_root() -> None:
    assert root_from_leaf_hashes([leaf_hash(b"x")]) == leaf_hash(b"x")


def test_three_leaf_tree_puts_the_perfect_pair_on_the_left() -> None:
    a, b, c = leaf_hashes(3)
    assert root_from_leaf_hashes([a, b, c]) == node_hash(node_hash(a, b), c)
