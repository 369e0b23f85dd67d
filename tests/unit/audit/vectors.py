"""The RFC 9162 conformance vectors of transparency-dev/merkle, in ``shared/testdata``.

Hashes in the files are base64; a ``null`` proof is the empty proof.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

VECTOR_COUNT = 196  # as the shared reference says

# Collection needs the files before fixtures exist; this mirrors the ``shared_dir`` fixture,
# and a test checks both find the same vectors.
SHARED = Path(os.environ.get("CROCEVIA_SHARED_DIR", Path(__file__).resolve().parents[4] / "shared"))
VECTORS = SHARED / "testdata" / "rfc9162"


def vector_names(kind: str) -> list[str]:
    """Paths, relative to the vectors folder, of every vector of ``kind``."""
    return sorted(str(path.relative_to(VECTORS)) for path in (VECTORS / kind).rglob("*.json"))


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text())
    return data


def hashes(encoded: list[str] | None) -> list[bytes]:
    return [base64.b64decode(item) for item in encoded or []]


def happy_paths(kind: str) -> list[dict[str, Any]]:
    """The vectors that must verify, generated from the reference tree."""
    return [load(name) for name in vector_names(kind) if name.endswith("happy-path.json")]
