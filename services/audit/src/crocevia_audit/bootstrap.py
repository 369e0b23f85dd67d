"""Wires the audit service: settings, database, NATS, key, trail writer, checkpoints, the
witnesses, gap watch, the batch consumers of ``referral.v1.>`` and ``notice.v1.>`` (one writer for
both) and the HTTP routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from crocevia_audit.adapters.announcements import AnnouncementReader
from crocevia_audit.adapters.keys import load_signing_key
from crocevia_audit.adapters.queries import IntegrityQueries
from crocevia_audit.adapters.tables import messaging
from crocevia_audit.adapters.totals import TotalsQueries
from crocevia_audit.adapters.unit_of_work import unit_of_work
from crocevia_audit.adapters.witnesses import WitnessCaller
from crocevia_audit.entrypoints.routes import checkpoints, indicators, integrity, trail
from crocevia_audit.entrypoints.web import install_web
from crocevia_audit.handlers.append import TrailWriter
from crocevia_audit.handlers.checkpoints import Checkpointer
from crocevia_audit.handlers.context import AuditLog
from crocevia_audit.handlers.gaps import GapWatch
from crocevia_audit.handlers.indicators import keep_due_times
from crocevia_audit.handlers.witnessing import Witness, Witnessing
from crocevia_audit.settings import AuditSettings
from crocevia_common.messaging.intake import Intake
from crocevia_common.service import ServiceRuntime
from crocevia_contracts.notices import ALL_NOTICES
from crocevia_contracts.stream import AUDIT_ANNOUNCEMENTS, NOTICES, REFERRAL_EVENTS
from crocevia_contracts.subjects import ALL_REFERRAL_EVENTS

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"
CONSUMER = "audit"
NOTICE_CONSUMER = "audit-notices"


async def start_log(rt: ServiceRuntime, settings: AuditSettings) -> AuditLog:
    """The trail's writer, checkpoints and gap watch on the runtime's database and NATS;
    the first start signs the empty tree."""
    await rt.ensure_stream(AUDIT_ANNOUNCEMENTS)
    uow = unit_of_work(rt.db)
    writer = TrailWriter(uow, rt.directory.target_for)
    checkpointer = Checkpointer(
        uow,
        writer,
        await load_signing_key(rt.db, settings),
        settings.origin,
        every_entries=settings.checkpoint_every_entries,
        every_seconds=settings.checkpoint_every_seconds,
        wake=rt.relay.wake,
    )
    await checkpointer.sign_if_due()
    ask_witness = WitnessCaller(settings.witness_timeout_seconds)
    rt.on_stop(ask_witness.close)
    witnessing = Witnessing(
        uow,
        IntegrityQueries(rt.db),
        [Witness(witness.url, witness.cosigner) for witness in settings.witnesses],
        ask_witness,
        every_seconds=settings.witness_retry_seconds,
    )
    gaps = GapWatch(
        uow, grace_seconds=settings.gap_grace_seconds, check_seconds=settings.gap_check_seconds, wake=rt.relay.wake
    )
    return AuditLog(
        settings,
        rt.db,
        writer,
        checkpointer,
        gaps,
        witnessing,
        rt.directory.target_for,
        published=lambda: AnnouncementReader(rt.jetstream()),
    )


def create_app(settings: AuditSettings | None = None) -> FastAPI:
    """The audit's ASGI app; settings come from ``CROCEVIA_*`` variables when not given."""
    settings = settings or AuditSettings()
    runtime = ServiceRuntime(settings, migrations=MIGRATIONS, tables=messaging)
    app = runtime.create_app(title="Crocevia audit: the governance trail")

    async def start(rt: ServiceRuntime) -> None:
        log = app.state.audit = await start_log(rt, settings)
        # Referral events and the notifications' notices: one writer, so appends from both
        # stay serialised; the same checks (signatures of agencies and of notifications).
        intake = Intake(rt.keys, notices=True)
        consumers = {
            name: rt.consume(
                name=name,
                stream=stream,
                filter_subject=subjects,
                intake=intake,
                apply=log.writer.apply,
                batch_size=settings.batch_size,
                batched=True,
                fetch_wait_seconds=settings.fetch_wait_seconds,
                after_batch=log.checkpointer.sign_if_due,
            )
            for name, stream, subjects in (
                (CONSUMER, REFERRAL_EVENTS, ALL_REFERRAL_EVENTS),
                (NOTICE_CONSUMER, NOTICES, ALL_NOTICES),
            )
        }
        app.state.consumer = consumers[CONSUMER]
        app.state.notice_consumer = consumers[NOTICE_CONSUMER]
        rt.spawn(log.checkpointer.run(), "audit-checkpoints")
        rt.spawn(log.gaps.run(), "audit-gaps")
        rt.spawn(log.witnessing.run(), "audit-witnessing")
        due_times = keep_due_times(
            TotalsQueries(rt.db),
            log.writer.uow,
            rt.directory.target_for,
            rt.directory.changed,
            settings.due_times_check_seconds,
            log.months,
        )
        rt.spawn(due_times, "audit-due-times")

    runtime.on_start(start)
    for router in (trail.router, checkpoints.router, integrity.router, indicators.router):
        app.include_router(router)
    install_web(app, settings)
    return app
