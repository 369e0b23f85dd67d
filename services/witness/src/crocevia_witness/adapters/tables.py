"""The witness's one table: per log, the checkpoint it cosigned last."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, MetaData, String, Table, Text

from crocevia_common.db import Blob, UtcDateTime

metadata = MetaData()

MAX_ORIGIN = 255

# A row per log; its columns stay empty until the first cosignature (a row is made in the
# transaction that first locks it, so concurrent first submissions wait on each other).
cosigned_checkpoints = Table(
    "cosigned_checkpoints",
    metadata,
    Column("origin", String(MAX_ORIGIN), primary_key=True),
    Column("size", BigInteger, nullable=True),
    Column("root", Blob(32), nullable=True),
    # The checkpoint with the log's signatures and this witness's cosignature.
    Column("note", Text, nullable=True),
    Column("cosigned_at", UtcDateTime, nullable=True),
)
