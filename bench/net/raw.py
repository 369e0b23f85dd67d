"""The raw references the services are measured against, in the same run on the same
machine: what nats-py, the standard library's sqlite3 and hashlib do without the services."""

from __future__ import annotations

import base64
import hashlib
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path

from nacl.signing import VerifyKey
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from bench.net.bus import RAW_STREAM, RAW_SUBJECT, Bus
from crocevia_contracts.sealing import SIGNATURE_HEADER, SIGNED_CONTEXT

BATCH = 256


def _trail(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    # As the services open SQLite (crocevia_common.db).
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE entries (position INTEGER PRIMARY KEY, subject TEXT NOT NULL, event_id TEXT,"
        " payload BLOB NOT NULL, chain BLOB NOT NULL)"
    )
    return conn


async def ingest(
    bus: Bus, count: int, database: Path, keys: Mapping[str, VerifyKey] | None = None
) -> tuple[float, float]:
    """Seconds (wall clock, and CPU of this process) to consume ``count`` messages of the
    raw stream (pull fetches of 256) and append each to a hash-chained SQLite table, one
    transaction and one acknowledgement (of everything so far) per batch. With ``keys``
    (verifier keys by key id), each message's Ed25519 signature is verified first, as the
    least any consumer that trusts nothing on the wire does."""
    conn = _trail(database)
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.ALL, max_ack_pending=BATCH, ack_wait=60.0
    )
    durable = "bench-raw-signed" if keys is not None else "bench-raw"
    sub = await bus.js.pull_subscribe(f"{RAW_SUBJECT}.>", durable=durable, stream=RAW_STREAM, config=config)
    insert = "INSERT INTO entries (subject, event_id, payload, chain) VALUES (?, ?, ?, ?)"
    chain, done = bytes(32), 0
    began, cpu = time.perf_counter(), time.process_time()
    try:
        while done < count:
            msgs = await sub.fetch(BATCH, timeout=10)
            rows = []
            for msg in msgs:
                if keys is not None:
                    signer, signature = (msg.headers or {})[SIGNATURE_HEADER].split(":", 1)
                    keys[signer].verify(SIGNED_CONTEXT + msg.data, base64.b64decode(signature))
                chain = hashlib.sha256(chain + msg.data).digest()
                rows.append((msg.subject, (msg.headers or {}).get("Nats-Msg-Id"), msg.data, chain))
            with conn:
                conn.executemany(insert, rows)
            await msgs[-1].ack()
            done += len(msgs)
        return time.perf_counter() - began, time.process_time() - cpu
    finally:
        await sub.unsubscribe()
        conn.close()


# The audit's tables an append writes, in the order it writes them.
APPENDED_TABLES = ("trail_entries", "tree_nodes", "referral_totals")


def replay_writes(audit_db: Path, workdir: Path, batch: int) -> tuple[float, int]:
    """CPU seconds for the standard library's sqlite3 to write again what the audit wrote
    for its trail, into an empty database of the same schema (its tables and indexes, as
    the services open SQLite): every entry, ``batch`` a transaction, with the tree nodes it
    completed and the running totals of its batch's referrals; and how many entries it then
    holds. What the audit's own writes cost the machine, without the work that decides them."""
    source = sqlite3.connect(f"file:{audit_db}?mode=ro", uri=True)
    target = sqlite3.connect(workdir / "replayed-audit.db", isolation_level=None)
    try:
        target.execute("PRAGMA journal_mode=WAL")
        target.execute("PRAGMA synchronous=NORMAL")
        schema = "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type DESC"
        for (sql,) in source.execute(schema).fetchall():  # tables first, then their indexes
            target.execute(sql)
        source.execute("BEGIN")  # one snapshot of the three tables
        rows = {name: source.execute(f"SELECT * FROM {name}").fetchall() for name in APPENDED_TABLES}
        columns = {name: [row[1] for row in source.execute(f"PRAGMA table_info({name})")] for name in APPENDED_TABLES}
        source.execute("COMMIT")
    finally:
        source.close()
    inserts = {
        name: f"INSERT OR REPLACE INTO {name} ({', '.join(map(_quoted, cols))}) VALUES ({', '.join('?' * len(cols))})"
        for name, cols in columns.items()
    }
    entries = sorted(rows["trail_entries"], key=lambda row: row[0])  # by position
    totals = {row[0]: row for row in rows["referral_totals"]}  # by referral id
    referral = columns["trail_entries"].index("referral_id")
    nodes, per_entry = rows["tree_nodes"], len(rows["tree_nodes"]) / max(len(entries), 1)
    began, written = time.process_time(), 0
    try:
        for start in range(0, len(entries), batch):
            part = entries[start : start + batch]
            upto = round((start + len(part)) * per_entry)
            with_totals = [totals[r] for r in dict.fromkeys(row[referral] for row in part) if r in totals]
            target.execute("BEGIN")
            target.executemany(inserts["trail_entries"], part)
            target.executemany(inserts["tree_nodes"], nodes[written:upto])
            target.executemany(inserts["referral_totals"], with_totals)
            target.execute("COMMIT")
            written = upto
        spent = time.process_time() - began
        return spent, target.execute("SELECT count(*) FROM trail_entries").fetchone()[0]
    finally:
        target.close()


def _quoted(column: str) -> str:
    return f'"{column}"'


def chain_verify(export: Path) -> tuple[float, int]:
    """CPU seconds to read a trail export and hash its entries as a SHA-256 chain, and how
    many entries (the header line is skipped)."""
    began = time.process_time()
    chain, count = b"", 0
    with export.open("rb") as lines:
        next(lines)
        for line in lines:
            chain = hashlib.sha256(chain + line.rstrip(b"\n")).digest()
            count += 1
    return time.process_time() - began, count


def merkle_verify(export: Path) -> tuple[float, int]:
    """CPU seconds to read a trail export and recompute its RFC 9162 tree in the fewest
    steps hashlib allows: a leaf hash per entry and the interior nodes it completes (one per
    entry on average), no parsing and no check of the entries' order; and how many entries.
    Any verifier of the tree hashes this much; a chain hashes each entry once."""
    began = time.process_time()
    border: list[bytes] = []
    count = 0
    with export.open("rb") as lines:
        next(lines)
        for line in lines:
            digest, index = hashlib.sha256(b"\x00" + line.rstrip(b"\n")).digest(), count
            while index & 1:
                index >>= 1
                digest = hashlib.sha256(b"\x01" + border.pop() + digest).digest()
            border.append(digest)
            count += 1
    return time.process_time() - began, count
