"""Exporting the trail as it stood at a signed checkpoint, streamed in constant memory.

JSON Lines: the first line is a header naming the checkpoint the export is consistent
with (the signed note itself); every following line is one entry, byte for byte as the
log hashed it, so ``crocevia-audit verify`` recomputes the root from the lines alone. An
export of the whole trail recomputes to the checkpoint's root; a filtered one carries
each entry's ``index`` for inclusion proofs.

CSV: one row per entry with its public fields and leaf hash; the checkpoint travels in
the response headers (``Crocevia-Checkpoint``, the note in base64).
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from typing import Any

from crocevia_audit.domain.entries import EntryFields
from crocevia_common.tlog.checkpoint import SignedCheckpoint

FORMAT = "crocevia-trail-export/v1"
CSV_COLUMNS = (*EntryFields.__slots__, "recorded_at", "leaf_hash")
_CSV_ROWS_PER_CHUNK = 200


def export_headers(checkpoint: SignedCheckpoint) -> dict[str, str]:
    return {
        "Crocevia-Checkpoint": base64.b64encode(checkpoint.note.encode()).decode(),
        "Crocevia-Tree-Size": str(checkpoint.size),
    }


def header_line(checkpoint: SignedCheckpoint, filters: Mapping[str, Any], complete: bool) -> bytes:
    header: dict[str, Any] = {
        "format": FORMAT,
        "tree_size": checkpoint.size,
        "complete": complete,
        "filters": dict(filters),
        "checkpoint": checkpoint.note,
    }
    return json.dumps(header, default=str, separators=(",", ":")).encode() + b"\n"


async def jsonl(header: bytes, rows: AsyncIterable[Mapping[Any, Any]], page_size: int) -> AsyncIterator[bytes]:
    """The header, then each entry's bytes, one line each, ``page_size`` lines a chunk."""
    yield header
    chunk: list[bytes] = []
    async for row in rows:
        chunk.append(bytes(row["entry"]) + b"\n")
        if len(chunk) >= page_size:
            yield b"".join(chunk)
            chunk = []
    if chunk:
        yield b"".join(chunk)


def _csv_values(row: Mapping[Any, Any]) -> list[Any]:
    values: list[Any] = []
    for name in CSV_COLUMNS:
        value = row[name]
        if name == "leaf_hash":
            value = base64.b64encode(value).decode()
        elif name in ("time", "occurred_at", "recorded_at"):
            value = value.isoformat()
        values.append(value)
    return values


async def csv_rows(rows: AsyncIterable[Mapping[Any, Any]]) -> AsyncIterator[bytes]:
    """A header row, then one row per entry, in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    count = 0
    async for row in rows:
        writer.writerow(_csv_values(row))
        count += 1
        if count % _CSV_ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()
