"""Wires a referrals node: settings, database, NATS, keys, directory, routes, consumer."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from nats.aio.msg import Msg

from crocevia_common.messaging.consumer import DurableConsumer
from crocevia_common.service import ServiceRuntime
from crocevia_contracts import inbound_filter
from crocevia_contracts.stream import REFERRAL_EVENTS
from crocevia_referrals.adapters.directory import Directory, load_agency_file
from crocevia_referrals.adapters.keystore import load_or_create_keys
from crocevia_referrals.adapters.sealing import SIGNATURE_HEADER
from crocevia_referrals.adapters.tables import messaging
from crocevia_referrals.entrypoints.http import router
from crocevia_referrals.entrypoints.web import install_web
from crocevia_referrals.handlers.incoming import apply_incoming
from crocevia_referrals.handlers.node import Node
from crocevia_referrals.settings import ReferralsSettings

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


def create_app(settings: ReferralsSettings | None = None) -> FastAPI:
    """The node's ASGI app; settings come from ``CROCEVIA_*`` variables when not given."""
    settings = settings or ReferralsSettings()
    entry = load_agency_file(settings.agency_file)
    if entry.organization.id != settings.agency_id:
        raise ValueError(f"{settings.agency_file} describes {entry.organization.id}, not {settings.agency_id}")
    runtime = ServiceRuntime(settings, migrations=MIGRATIONS, tables=messaging)
    app = runtime.create_app(title=f"Crocevia referrals node: {entry.organization.name}")

    async def start(rt: ServiceRuntime) -> None:
        keys = await load_or_create_keys(rt.db, settings.agency_id)
        directory = Directory(await rt.directory_bucket())
        await directory.publish_own(entry, keys.public())
        await directory.start()
        rt.on_stop(directory.stop)
        app.state.node = Node(settings.agency_id, rt.db, keys, directory, rt.relay)

    async def handle(msg: Msg) -> None:
        await apply_incoming(app.state.node, msg.subject, msg.data, (msg.headers or {}).get(SIGNATURE_HEADER))

    runtime.on_start(start)
    runtime.add_consumer(
        DurableConsumer(
            name=f"referrals-{settings.agency_id}",
            stream=REFERRAL_EVENTS.name,
            filter_subject=inbound_filter(settings.agency_id),
            handler=handle,
            redelivery_delay=settings.redelivery_delay_seconds,
        )
    )
    app.include_router(router)
    install_web(app, settings)
    return app
