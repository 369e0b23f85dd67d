"""The tables every service keeps to take part in the network, in its own database: the
outbox and inbox of reliable messaging, its own keys, and the keys it pinned of others."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)
from sqlalchemy.engine import Connection

from crocevia_common.db import Blob, UtcDateTime


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    inbox: Table
    sequences: Table
    pins: Table
    own_keys: Table

    @property
    def all(self) -> tuple[Table, ...]:
        return (self.outbox, self.inbox, self.sequences, self.pins, self.own_keys)

    def create_all(self, connection: Connection) -> None:
        """Create the tables (used by each service's first migration)."""
        for table in self.all:
            table.create(connection, checkfirst=True)


def messaging_tables(metadata: MetaData) -> MessagingTables:
    outbox = Table(
        "outbox",
        metadata,
        # Relay order is ``position`` order: the order the events were committed in.
        Column("position", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("subject", String(255), nullable=False),
        Column("payload", Blob, nullable=False),
        Column("headers", JSON, nullable=False),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("published_at", UtcDateTime(), nullable=True, index=True),
        Column("attempts", Integer, nullable=False, default=0),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        # Who published it and its number in the publisher's sequence: one number, one event.
        Column("source", String(100), nullable=True),
        Column("sequence", BigInteger, nullable=True),
        Column("applied_at", UtcDateTime(), nullable=False),
        Index("ux_inbox_source_sequence", "consumer", "source", "sequence", unique=True),
    )
    sequences = Table(
        "event_sequences",
        metadata,
        Column("source", String(100), primary_key=True),
        Column("value", BigInteger, nullable=False),
    )
    pins = Table(
        "pinned_keys",
        metadata,
        # An agency id, or ``service.<name>``: whose keys these are.
        Column("party", String(80), primary_key=True),
        Column("box", String(44), nullable=False),
        Column("signing", String(44), nullable=False),
        Column("change", String(16), nullable=False),  # first-seen | rotated | confirmed
        Column("pinned_at", UtcDateTime(), nullable=False),
    )
    own_keys = Table(
        "own_keys",
        metadata,
        # The party's key pairs, one generation per rotation; the highest signs and receives.
        Column("party", String(80), primary_key=True),
        Column("generation", Integer, primary_key=True, autoincrement=False),
        Column("box_secret", String(64), nullable=False),
        Column("signing_seed", String(64), nullable=False),
        # From generation 2: the new public keys, endorsed by the previous signing key.
        Column("endorsement", JSON, nullable=True),
        Column("created_at", UtcDateTime(), nullable=False),
    )
    return MessagingTables(outbox=outbox, inbox=inbox, sequences=sequences, pins=pins, own_keys=own_keys)
