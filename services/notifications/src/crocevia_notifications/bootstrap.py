"""Wires the notifications service once: settings, database, NATS, directory, staff, mailer,
webhook client, routes, the consumers of every referral event and of the caseload notices,
and the background senders and timers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI

from crocevia_common.db import Database
from crocevia_common.keystore import load_or_create_keys
from crocevia_common.messaging.consumer import together
from crocevia_common.messaging.intake import Intake, Verified
from crocevia_common.service import ServiceRuntime
from crocevia_contracts.caseload import ALL_CASELOAD
from crocevia_contracts.directory import ServiceEntry
from crocevia_contracts.sealing import PartyKeys
from crocevia_contracts.stream import CASELOAD, REFERRAL_EVENTS
from crocevia_contracts.subjects import ALL_REFERRAL_EVENTS
from crocevia_notifications.adapters.directory import AgencyDirectory, load_agencies_dir
from crocevia_notifications.adapters.live import InboxBroadcast, Signal
from crocevia_notifications.adapters.mailer import SmtpMailer
from crocevia_notifications.adapters.notice_events import PARTY, SERVICE
from crocevia_notifications.adapters.staff_files import load_staff_dir
from crocevia_notifications.adapters.tables import messaging
from crocevia_notifications.adapters.unit_of_work import CASELOAD_CONSUMER, CONSUMER, SqlUnitOfWork
from crocevia_notifications.adapters.webhook_client import HttpWebhookClient
from crocevia_notifications.entrypoints import http_inbox, http_staff, http_stream, http_webhooks
from crocevia_notifications.entrypoints.web import install_web
from crocevia_notifications.entrypoints.workers import Worker
from crocevia_notifications.handlers.caseload import apply_assignment
from crocevia_notifications.handlers.context import Clock, Notifier, utc_now
from crocevia_notifications.handlers.emails import release_claims, send_due_emails
from crocevia_notifications.handlers.events import apply_in, read_ahead
from crocevia_notifications.handlers.ports import Transaction
from crocevia_notifications.handlers.staff import load_staff
from crocevia_notifications.handlers.timers import fire_due_timers
from crocevia_notifications.handlers.webhooks import WebhookSender
from crocevia_notifications.settings import NotificationsSettings
from crocevia_notifications.views import Views

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"

UnitOfWorkFactory = Callable[[Database, PartyKeys], SqlUnitOfWork]


def create_app(
    settings: NotificationsSettings | None = None,
    clock: Clock = utc_now,
    unit_of_work: UnitOfWorkFactory = SqlUnitOfWork,
) -> FastAPI:
    """The service's ASGI app; settings come from ``CROCEVIA_*`` variables when not given
    (the only place they are read). ``clock`` is the time reminders, quiet hours, digests
    and retries are measured by; ``unit_of_work`` makes the unit of work on the database."""
    settings = settings or NotificationsSettings()
    runtime = ServiceRuntime(settings, migrations=MIGRATIONS, tables=messaging)
    app = runtime.create_app(title="Crocevia notifications")

    async def start(rt: ServiceRuntime) -> None:
        keys = await load_or_create_keys(rt.db, messaging, PARTY)
        await rt.directory.publish_service(
            ServiceEntry(service=SERVICE, public_keys=keys.public(), key_history=keys.history)
        )
        uow = unit_of_work(rt.db, keys)
        broadcast, senders = InboxBroadcast(Signal()), Signal()

        async def woken() -> None:
            senders.fire()
            rt.relay.wake()
            await broadcast.announce()

        ctx = Notifier(
            settings=settings,
            uow=uow,
            directory=AgencyDirectory(rt.directory, load_agencies_dir(settings.agencies_dir)),
            mailer=SmtpMailer(settings),
            webhooks=HttpWebhookClient(settings.webhook_timeout_seconds, settings.webhook_allowed_hosts),
            clock=clock,
            woken=woken,
        )
        await load_staff(ctx, load_staff_dir(settings.staff_dir))
        await broadcast.start(rt.broker.connection)
        rt.on_stop(broadcast.stop)
        app.state.notifier, app.state.views, app.state.inbox_broadcast = ctx, Views(uow), broadcast
        app.state.workers = _start_workers(rt, ctx, senders)

        async def apply_one(tx: Transaction, item: Verified) -> None:
            await apply_in(ctx, tx, item)

        rt.consume(
            name=CONSUMER,
            stream=REFERRAL_EVENTS,
            filter_subject=ALL_REFERRAL_EVENTS,
            intake=Intake(rt.keys),
            apply=together(uow.transaction, apply_one, read_ahead),
            batch_size=settings.batch_size,
            batched=True,
            after_batch=ctx.wake,
        )

        async def assigned_one(tx: Transaction, item: Verified) -> None:
            await apply_assignment(ctx, tx, item)

        rt.consume(
            name=CASELOAD_CONSUMER,
            stream=CASELOAD,
            filter_subject=ALL_CASELOAD,
            intake=Intake(rt.keys, caseload=True),
            apply=together(uow.transaction, assigned_one),
            batch_size=settings.batch_size,
            batched=True,
        )

    runtime.on_start(start)
    for module in (http_inbox, http_stream, http_staff, http_webhooks):
        app.include_router(module.router)
    install_web(app, settings)
    return app


def _start_workers(rt: ServiceRuntime, ctx: Notifier, senders: Signal) -> dict[str, Worker]:
    """The e-mail and webhook senders and the timers, each a background task of ``rt``."""
    s = ctx.settings
    webhooks = WebhookSender(ctx, on_done=senders.fire)
    rt.on_stop(lambda: release_claims(ctx))  # runs last: after the senders have stopped
    rt.on_stop(lambda: webhooks.stop(grace_seconds=min(5.0, s.webhook_timeout_seconds)))
    workers = {
        "e-mail": Worker("e-mail", lambda: send_due_emails(ctx), senders, s.delivery_poll_seconds),
        "webhooks": Worker(
            "webhooks", webhooks.send_due, senders, s.delivery_poll_seconds, in_flight=lambda: webhooks.in_flight
        ),
        "timers": Worker("timers", lambda: fire_due_timers(ctx), Signal(), s.timer_poll_seconds),
    }
    for name, worker in workers.items():
        rt.spawn(worker.run(), name)
    return workers
