"""The tables every service keeps for reliable messaging, in its own database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
)
from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    inbox: Table
    sequences: Table

    def create_all(self, connection: Connection) -> None:
        """Create the tables (used by each service's first migration)."""
        for table in (self.outbox, self.inbox, self.sequences):
            table.create(connection, checkfirst=True)


def messaging_tables(metadata: MetaData) -> MessagingTables:
    outbox = Table(
        "outbox",
        metadata,
        # Relay order is ``position`` order: the order the events were committed in.
        Column("position", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("subject", String(255), nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("headers", JSON, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True), nullable=True, index=True),
        Column("attempts", Integer, nullable=False, default=0),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("applied_at", DateTime(timezone=True), nullable=False),
    )
    sequences = Table(
        "event_sequences",
        metadata,
        Column("source", String(100), primary_key=True),
        Column("value", BigInteger, nullable=False),
    )
    return MessagingTables(outbox=outbox, inbox=inbox, sequences=sequences)
