"""Wires the notifications service: settings, database, NATS, directory, staff, mailer,
webhook client, routes, the consumer of every referral event, and the background senders
and timers."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from nats.aio.msg import Msg

from crocevia_common.messaging.consumer import DurableConsumer
from crocevia_common.service import ServiceRuntime
from crocevia_contracts.stream import REFERRAL_EVENTS
from crocevia_contracts.subjects import ALL_REFERRAL_EVENTS
from crocevia_notifications.adapters.directory import AgencyDirectory, load_agencies_dir
from crocevia_notifications.adapters.live import Signal
from crocevia_notifications.adapters.mailer import Mailer
from crocevia_notifications.adapters.tables import messaging
from crocevia_notifications.adapters.webhook_client import WebhookClient
from crocevia_notifications.entrypoints import http_inbox, http_staff, http_stream, http_webhooks
from crocevia_notifications.entrypoints.web import install_web
from crocevia_notifications.entrypoints.workers import keep_doing
from crocevia_notifications.handlers.context import Clock, Notifier, utc_now
from crocevia_notifications.handlers.emails import release_claims, send_due_emails
from crocevia_notifications.handlers.events import CONSUMER, apply_event
from crocevia_notifications.handlers.staff import load_staff_files
from crocevia_notifications.handlers.timers import fire_due_timers
from crocevia_notifications.handlers.webhooks import WebhookSender
from crocevia_notifications.settings import NotificationsSettings

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


def create_app(settings: NotificationsSettings | None = None, clock: Clock = utc_now) -> FastAPI:
    """The service's ASGI app; settings come from ``CROCEVIA_*`` variables when not given.
    ``clock`` is the time reminders, quiet hours, digests and retries are measured by."""
    settings = settings or NotificationsSettings()
    runtime = ServiceRuntime(settings, migrations=MIGRATIONS, tables=messaging)
    app = runtime.create_app(title="Crocevia notifications")

    async def start(rt: ServiceRuntime) -> None:
        kv = await rt.directory_bucket()
        directory = AgencyDirectory(kv, load_agencies_dir(settings.agencies_dir))
        ctx = Notifier(
            settings=settings,
            db=rt.db,
            directory=directory,
            mailer=Mailer(settings),
            clock=clock,
            relay_wake=rt.relay.wake,
        )
        await load_staff_files(ctx, settings.staff_dir)
        await ctx.inbox.start(rt.broker.connection)
        rt.on_stop(ctx.inbox.stop)
        webhooks = WebhookSender(ctx, WebhookClient(settings.webhook_timeout_seconds, settings.webhook_allowed_hosts))
        rt.on_stop(lambda: release_claims(ctx))  # runs last: after the senders have stopped
        rt.on_stop(lambda: webhooks.stop(grace_seconds=min(5.0, settings.webhook_timeout_seconds)))
        rt.spawn(
            keep_doing(lambda: send_due_emails(ctx), ctx.senders, settings.delivery_poll_seconds, "e-mail"),
            "email-sender",
        )
        rt.spawn(
            keep_doing(webhooks.send_due, ctx.senders, settings.delivery_poll_seconds, "webhooks"), "webhook-sender"
        )
        rt.spawn(keep_doing(lambda: fire_due_timers(ctx), Signal(), settings.timer_poll_seconds, "timers"), "timers")
        app.state.notifier = ctx

    async def handle(msg: Msg) -> None:
        await apply_event(app.state.notifier, msg.subject, msg.data)

    runtime.on_start(start)
    runtime.add_consumer(
        DurableConsumer(
            name=CONSUMER,
            stream=REFERRAL_EVENTS.name,
            filter_subject=ALL_REFERRAL_EVENTS,
            handler=handle,
            redelivery_delay=settings.redelivery_delay_seconds,
        )
    )
    for module in (http_inbox, http_stream, http_staff, http_webhooks):
        app.include_router(module.router)
    install_web(app, settings)
    return app
