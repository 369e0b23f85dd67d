"""Wires a referrals node: settings, database, NATS, keys, directory, routes, consumer, and
the access log's anchoring and the erasure of what is kept past retention."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from crocevia_common.keystore import load_or_create_keys
from crocevia_common.messaging.intake import Intake
from crocevia_common.service import ServiceRuntime
from crocevia_contracts import inbound_filter
from crocevia_contracts.stream import REFERRAL_EVENTS, attachments_stream
from crocevia_referrals.adapters.access_log import SqlAccessReads
from crocevia_referrals.adapters.attachments import NatsCarrier
from crocevia_referrals.adapters.caseload import StaffFiles
from crocevia_referrals.adapters.directory import load_agency_file
from crocevia_referrals.adapters.messages import SqlMessageReads
from crocevia_referrals.adapters.queries import SqlReads
from crocevia_referrals.adapters.sealing import NodeSeals
from crocevia_referrals.adapters.service_changes import SqlServiceChanges
from crocevia_referrals.adapters.tables import messaging
from crocevia_referrals.adapters.unit_of_work import SqlUnitOfWork
from crocevia_referrals.entrypoints import access_log, messages, receipt, services, subject_access
from crocevia_referrals.entrypoints.http import router
from crocevia_referrals.entrypoints.web import install_web
from crocevia_referrals.handlers.access_log import anchor_every
from crocevia_referrals.handlers.incoming import apply_batches
from crocevia_referrals.handlers.ports import Node
from crocevia_referrals.handlers.retention import erase_every
from crocevia_referrals.handlers.services import OwnServices
from crocevia_referrals.settings import ReferralsSettings
from crocevia_referrals.views import Reads

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


def create_app(settings: ReferralsSettings | None = None) -> FastAPI:
    """The node's ASGI app; settings come from ``CROCEVIA_*`` variables when not given."""
    settings = settings or ReferralsSettings()
    entry = load_agency_file(settings.agency_file)
    if entry.organization.id != settings.agency_id:
        raise ValueError(f"{settings.agency_file} describes {entry.organization.id}, not {settings.agency_id}")
    bodies = [(route, messages.MESSAGE_BODY_BYTES) for route in messages.MESSAGE_ROUTES]
    runtime = ServiceRuntime(settings, migrations=MIGRATIONS, tables=messaging, larger_bodies=bodies)
    app = runtime.create_app(title=f"Crocevia referrals node: {entry.organization.name}")

    async def start(rt: ServiceRuntime) -> None:
        keys = await load_or_create_keys(rt.db, messaging, settings.agency_id)
        seals = NodeSeals(keys, rt.keys)
        uow = SqlUnitOfWork(rt.db, settings.agency_id, seals, rt.relay)
        await rt.ensure_stream(attachments_stream(settings.agency_id))
        carrier = NatsCarrier(rt.jetstream(), settings.agency_id)
        staff = StaffFiles(settings.staff_dir)
        node = Node(settings.agency_id, uow, rt.directory, seals, staff=staff, carrier=carrier)
        own = OwnServices(settings.agency_id, rt.directory, SqlServiceChanges(rt.db), node.clock)
        await own.publish(entry.model_copy(update={"public_keys": keys.public(), "key_history": keys.history}))
        app.state.own_services = own
        app.state.node = node
        app.state.keys = keys
        app.state.reads = Reads(settings.agency_id, SqlReads(rt.db), rt.directory)
        app.state.access_reads = SqlAccessReads(rt.db)
        app.state.message_reads = SqlMessageReads(rt.db)
        rt.spawn(anchor_every(node, settings.access_log_anchor_seconds), "access-log-anchors")
        if settings.personal_data_retention is not None:
            retention = erase_every(node, settings.personal_data_retention, settings.retention_check_seconds)
            rt.spawn(retention, "retention")

        rt.consume(
            name=f"referrals-{settings.agency_id}",
            stream=REFERRAL_EVENTS,
            filter_subject=inbound_filter(settings.agency_id),
            intake=Intake(rt.keys, addressed_to=settings.agency_id),
            apply=apply_batches(node),
            batch_size=settings.batch_size,
            batched=True,
        )

    runtime.on_start(start)
    app.include_router(messages.router)  # before the actions' /referrals/{id}/{action}
    app.include_router(router)
    app.include_router(access_log.router)
    app.include_router(receipt.router)
    app.include_router(services.router)
    app.include_router(subject_access.router)
    install_web(app, settings, entry.organization.name)
    return app
