"""Conformance: every RFC 9162 vector of transparency-dev/merkle in ``shared/testdata``.

A verifier claiming RFC 9162 conformance accepts every case with ``wantErr: false`` and
rejects every one with ``wantErr: true``.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from crocevia_common.tlog.verification import verify_consistency, verify_inclusion
from tests.unit.audit.vectors import VECTOR_COUNT, VECTORS, hashes, load, vector_names

INCLUSION = vector_names("inclusion")
CONSISTENCY = vector_names("consistency")


def test_every_vector_is_collected(shared_dir: Path) -> None:
    on_disk = sorted((shared_dir / "testdata" / "rfc9162").rglob("*.json"))
    assert len(on_disk) == VECTOR_COUNT
    assert [path.relative_to(shared_dir) for path in on_disk] == sorted(
        path.relative_to(VECTORS.parents[1]) for path in VECTORS.rglob("*.json")
    )
    assert len(INCLUSION) + len(CONSISTENCY) == VECTOR_COUNT


def test_vectors_include_cases_that_must_verify_and_cases_that_must_not() -> None:
    outcomes = {load(name)["wantErr"] for name in INCLUSION + CONSISTENCY}
    assert outcomes == {True, False}


@pytest.mark.parametrize("name", INCLUSION)
def test_inclusion_vector_verifies_exactly_when_expected(name: str) -> None:
    case = load(name)
    verified = verify_inclusion(
        base64.b64decode(case["leafHash"]),
        case["leafIdx"],
        case["treeSize"],
        hashes(case["proof"]),
        base64.b64decode(case["root"]),
    )
    assert verified is not case["wantErr"], case["desc"]


@pytest.mark.parametrize("name", CONSISTENCY)
def test_consistency_vector_verifies_exactly_when_expected(name: str) -> None:
    case = load(name)
    verified = verify_consistency(
        case["size1"],
        case["size2"],
        base64.b64decode(case["root1"]),
        base64.b64decode(case["root2"]),
        hashes(case["proof"]),
    )
    assert verified is not case["wantErr"], case["desc"]
