"""Inclusion and consistency proofs generated from stored nodes verify, and only they do."""

from __future__ import annotations

import base64
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crocevia_audit.domain.proofs import consistency_proof, inclusion_proof
from crocevia_common.tlog.merkle import leaf_hash, root_from_leaf_hashes
from crocevia_common.tlog.verification import (
    InvalidProofError,
    check_consistency,
    check_inclusion,
    verify_consistency,
    verify_inclusion,
)
from tests.unit.audit.trees import REFERENCE_LEAVES, SyntheticTree, leaf_hashes, stored_tree
from tests.unit.audit.vectors import happy_paths

REFERENCE_TREE = stored_tree([leaf_hash(entry) for entry in REFERENCE_LEAVES])
HASHES = leaf_hashes(300)
STORE = stored_tree(HASHES)
ROOTS = [root_from_leaf_hashes(HASHES[:size]) for size in range(301)]


def _flip(data: bytes, bit: int) -> bytes:
    position = bit % (len(data) * 8)
    flipped = bytearray(data)
    flipped[position // 8] ^= 1 << (position % 8)
    return bytes(flipped)


@pytest.mark.parametrize("case", happy_paths("inclusion"), ids=lambda case: f"{case['leafIdx']}-of-{case['treeSize']}")
def test_inclusion_proof_equals_the_conformance_vector(case: dict[str, Any]) -> None:
    proof = inclusion_proof(case["leafIdx"], case["treeSize"], REFERENCE_TREE)
    assert [base64.b64encode(item).decode() for item in proof] == (case["proof"] or [])


@pytest.mark.parametrize("case", happy_paths("consistency"), ids=lambda case: f"{case['size1']}-to-{case['size2']}")
def test_consistency_proof_equals_the_conformance_vector(case: dict[str, Any]) -> None:
    proof = consistency_proof(case["size1"], case["size2"], REFERENCE_TREE)
    assert [base64.b64encode(item).decode() for item in proof] == (case["proof"] or [])


@pytest.mark.parametrize("size", range(1, 34))
def test_inclusion_proof_of_every_leaf_verifies_against_the_root(size: int) -> None:
    for index in range(size):
        proof = inclusion_proof(index, size, STORE)
        check_inclusion(HASHES[index], index, size, proof, ROOTS[size])


@pytest.mark.parametrize("new_size", range(1, 34))
def test_consistency_proof_from_every_older_size_verifies(new_size: int) -> None:
    for old_size in range(1, new_size + 1):
        proof = consistency_proof(old_size, new_size, STORE)
        check_consistency(old_size, new_size, ROOTS[old_size], ROOTS[new_size], proof)


def test_inclusion_proof_does_not_prove_another_leaf_or_position() -> None:
    proof = inclusion_proof(5, 11, STORE)
    assert not verify_inclusion(HASHES[6], 5, 11, proof, ROOTS[11])
    assert not verify_inclusion(HASHES[5], 4, 11, proof, ROOTS[11])
    assert not verify_inclusion(HASHES[5], 5, 12, proof, ROOTS[12])


def test_consistency_proof_does_not_link_a_forked_tree() -> None:
    forked = stored_tree([*HASHES[:7], leaf_hash(b"rewritten"), *HASHES[8:20]])
    forked_root = root_from_leaf_hashes([*HASHES[:7], leaf_hash(b"rewritten"), *HASHES[8:20]])
    proof = consistency_proof(10, 20, forked)
    assert not verify_consistency(10, 20, ROOTS[10], forked_root, proof)


def test_a_rejected_proof_says_why() -> None:
    proof = inclusion_proof(3, 10, STORE)
    with pytest.raises(InvalidProofError) as raised:
        check_inclusion(HASHES[3], 3, 10, proof[:-1], ROOTS[10])
    assert raised.value.reason == "proof is shorter than the path to the root"


def test_proofs_outside_the_tree_are_refused() -> None:
    with pytest.raises(ValueError):
        inclusion_proof(10, 10, STORE)
    with pytest.raises(ValueError):
        consistency_proof(0, 10, STORE)
    with pytest.raises(ValueError):
        consistency_proof(11, 10, STORE)


def test_consistency_between_equal_sizes_is_the_empty_proof() -> None:
    assert consistency_proof(17, 17, STORE) == []
    assert verify_consistency(17, 17, ROOTS[17], ROOTS[17], [])


@pytest.mark.parametrize(
    ("index", "size"), [(0, 1_000_000), (999_999, 1_000_000), (123_457, 1_000_000), (5, 2**20 + 1), (2**20, 2**20 + 1)]
)
def test_proofs_need_a_logarithmic_number_of_reads(index: int, size: int) -> None:
    tree = SyntheticTree(size)
    inclusion_proof(index, size, tree)
    assert tree.reads <= 2 * math.ceil(math.log2(size))
    tree.reads = 0
    consistency_proof(index + 1, size, tree)
    assert tree.reads <= 2 * math.ceil(math.log2(size))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_generated_inclusion_proofs_verify_for_random_trees(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, 300), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    assert verify_inclusion(HASHES[index], index, size, inclusion_proof(index, size, STORE), ROOTS[size])


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_generated_consistency_proofs_verify_for_random_trees(data: st.DataObject) -> None:
    new_size = data.draw(st.integers(1, 300), label="new_size")
    old_size = data.draw(st.integers(1, new_size), label="old_size")
    proof = consistency_proof(old_size, new_size, STORE)
    assert verify_consistency(old_size, new_size, ROOTS[old_size], ROOTS[new_size], proof)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_flipped_bit_in_an_inclusion_proof_or_root_fails(data: st.DataObject) -> None:
    size = data.draw(st.integers(2, 300), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = inclusion_proof(index, size, STORE)
    bit = data.draw(st.integers(0, 255), label="bit")
    target = data.draw(st.integers(0, len(proof)), label="target")  # len(proof) means the root
    if target == len(proof):
        assert not verify_inclusion(HASHES[index], index, size, proof, _flip(ROOTS[size], bit))
    else:
        proof[target] = _flip(proof[target], bit)
        assert not verify_inclusion(HASHES[index], index, size, proof, ROOTS[size])


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_flipped_bit_in_a_consistency_proof_or_either_root_fails(data: st.DataObject) -> None:
    new_size = data.draw(st.integers(2, 300), label="new_size")
    old_size = data.draw(st.integers(1, new_size - 1), label="old_size")
    proof = consistency_proof(old_size, new_size, STORE)
    old_root, new_root = ROOTS[old_size], ROOTS[new_size]
    bit = data.draw(st.integers(0, 255), label="bit")
    target = data.draw(st.sampled_from(["old root", "new root", *range(len(proof))]), label="target")
    if target == "old root":
        old_root = _flip(old_root, bit)
    elif target == "new root":
        new_root = _flip(new_root, bit)
    else:
        assert isinstance(target, int)
        proof[target] = _flip(proof[target], bit)
    assert not verify_consistency(old_size, new_size, old_root, new_root, proof)
