"""Every read the audit's HTTP routes and pages make, in one place.

The queries live in ``adapters/`` (``trail_query.py`` for listings, ``queries.py`` for
checkpoints, nodes, gaps and anomalies); reads that use cases check (verification,
proofs, indicators) run the handler on them. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy.engine import RowMapping

from crocevia_audit.adapters.queries import IntegrityQueries
from crocevia_audit.adapters.totals import TotalsQueries
from crocevia_audit.adapters.trail_query import TrailFilter, TrailQueries
from crocevia_audit.handlers import export, indicators, proofs, receipts
from crocevia_audit.handlers.context import AuditLog
from crocevia_audit.handlers.ports import Cohort
from crocevia_audit.handlers.verify import verify_trail
from crocevia_audit.handlers.witnessing import cosigned_checkpoint
from crocevia_common.tlog.checkpoint import CheckpointError, SignedCheckpoint
from crocevia_common.tlog.cosignature import CosignerKey
from crocevia_common.tlog.policy import open_witnessed_checkpoint
from crocevia_common.tlog.receipt import Receipt


def _integrity(log: AuditLog) -> IntegrityQueries:
    return IntegrityQueries(log.db)


def _trail(log: AuditLog) -> TrailQueries:
    return TrailQueries(log.db)


# -- the trail -------------------------------------------------------------------------


async def trail_page(
    log: AuditLog, flt: TrailFilter, *, limit: int, newest_first: bool, cursor: str | None
) -> tuple[list[RowMapping], str | None]:
    """One page of entries and the next page's cursor; CursorError for a foreign cursor."""
    return await _trail(log).page(flt, limit=limit, newest_first=newest_first, cursor=cursor)


async def referral_entries(log: AuditLog, referral_id: str, party: str | None) -> list[RowMapping]:
    """Every entry of one referral in ``party``'s view, oldest first."""
    flt = TrailFilter(referral_id=referral_id, party=party)
    return [row async for row in _trail(log).scan(flt, page_size=500)]


async def entry_bytes(log: AuditLog, event_id: str, party: str | None) -> bytes | None:
    """The entry exactly as the log hashed it, if ``party``'s view holds it."""
    stored = await _integrity(log).entry_of(event_id, party)
    return None if stored is None else stored.entry


async def parties(log: AuditLog, party: str | None) -> list[str]:
    return await _trail(log).parties(party)


def export_jsonl(log: AuditLog, checkpoint: SignedCheckpoint, flt: TrailFilter) -> AsyncIterator[bytes]:
    """The filtered trail below ``checkpoint`` as JSON Lines, streamed."""
    page_size = log.settings.export_page_size
    header = export.header_line(checkpoint, flt.described(), flt.is_whole_trail())
    return export.jsonl(header, _trail(log).scan(flt, page_size=page_size, with_entry=True), page_size)


def export_csv(log: AuditLog, flt: TrailFilter) -> AsyncIterator[bytes]:
    """The filtered trail as CSV, streamed."""
    return export.csv_rows(_trail(log).scan(flt, page_size=log.settings.export_page_size))


# -- checkpoints and proofs ------------------------------------------------------------


async def checkpoint(log: AuditLog, size: int | None = None) -> SignedCheckpoint | None:
    """The checkpoint signed at ``size``, or the latest; its note carries the cosignatures
    the witnesses returned, after the log's own signature."""
    return await cosigned_checkpoint(_integrity(log), size)


async def witnessed(log: AuditLog) -> dict[str, Any]:
    """The latest checkpoint held to the witness policy, and what each witness last answered."""
    signed = await checkpoint(log)
    policy = log.settings.witness_policy()
    found: dict[CosignerKey, int] = {}
    if signed is None:
        ok, message = False, "no checkpoint yet"
    else:
        try:
            found = dict(open_witnessed_checkpoint(signed.note, [log.checkpointer.verifier], policy).cosigned)
            ok = True
            message = f"cosigned by {len(found)} of {len(policy.witnesses)} witnesses; {policy.quorum} required"
        except CheckpointError as exc:
            ok, message = False, exc.reason
    states = log.witnessing.states
    witnesses = [
        {
            "key": str(key),
            "cosigned_at": found.get(key),
            "last_answer": states[str(key)].detail if str(key) in states else None,
        }
        for key in policy.witnesses
    ]
    return {"size": None if signed is None else signed.size, "ok": ok, "message": message, "witnesses": witnesses}


async def inclusion(log: AuditLog, event_id: str, tree_size: int | None, party: str | None) -> dict[str, Any]:
    """ProofRefused when there is no such proof."""
    async with IntegrityQueries.reading(log.db) as reads:
        return await proofs.inclusion(reads, event_id, tree_size, party)


async def receipt(log: AuditLog, referral_id: str, party: str | None) -> Receipt:
    """ProofRefused when the trail cannot prove the referral's request yet."""
    rows = await referral_entries(log, referral_id, party)
    first: dict[str, str] = {}
    for row in rows:
        first.setdefault(row["event"], row["event_id"])
    async with IntegrityQueries.reading(log.db) as reads:
        return await receipts.make_receipt(reads, referral_id, first, party, log.settings.witness_policy())


async def consistency(log: AuditLog, old: int, new: int) -> dict[str, Any]:
    """ProofRefused when there is no such proof."""
    async with IntegrityQueries.reading(log.db) as reads:
        return await proofs.consistency(reads, old, new)


# -- integrity -------------------------------------------------------------------------


async def gaps(log: AuditLog, *, source: str | None, status: str) -> list[dict[str, Any]]:
    return [gap.view() for gap in await _integrity(log).gaps(source=source, status=status)]


async def anomalies(log: AuditLog, *, kind: str | None, source: str | None, limit: int) -> list[dict[str, Any]]:
    return [a.view() for a in await _integrity(log).anomalies(kind=kind, source=source, limit=limit)]


async def verification(log: AuditLog) -> dict[str, Any]:
    """The stored trail recomputed, and held to what the audit published; with the latest
    checkpoint held to the witness policy (``witnessed``, apart: a witness cosigns a moment
    after the log signs)."""
    published = log.published() if log.published is not None else None
    report = await verify_trail(
        _integrity(log), log.checkpointer.verifier, log.settings.export_page_size, published=published
    )
    return {**report.as_dict(), "witnessed": await witnessed(log)}


# -- indicators ------------------------------------------------------------------------


async def indicator_groups(
    log: AuditLog,
    *,
    dimensions: list[str],
    as_of: datetime,
    since: datetime | None,
    until: datetime | None,
    party: str | None,
) -> list[dict[str, Any]]:
    """The indicators of the referrals requested in ``[since, until)`` in ``party``'s view,
    grouped by the database on their running totals, all read at one moment."""
    async with TotalsQueries.reading(log.db) as reads:
        return await indicators.grouped(
            reads,
            dimensions=dimensions,
            targets=log.targets,
            as_of=as_of,
            cohort=Cohort(since, until, party),
            months=log.months,
        )
