"""One trace follows a referral from the HTTP request to every service that handles it:
the outbox relay, NATS, the receiving node, the audit and the notifications."""

from __future__ import annotations

from pathlib import Path

from crocevia_audit.bootstrap import create_app as audit_app
from crocevia_audit.settings import AuditSettings
from crocevia_notifications.bootstrap import create_app as notifications_app
from crocevia_notifications.settings import NotificationsSettings
from tests.integration.referrals.conftest import referral_body
from tests.kit.services import eventually, serve
from tests.kit.tracing import span_exporter

REQUESTED = "referral.v1.pioltello-casa.cpia2.requested"


async def test_the_request_relay_receiving_node_audit_and_notifications_share_one_trace(
    node_factory, tokens, nats_url, tmp_path: Path
):
    exporter = span_exporter()
    exporter.clear()
    common = {"nats_url": nats_url, "auth_dev_key_file": tokens.key_file}
    audit = audit_app(
        AuditSettings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}", data_dir=tmp_path / "audit", **common
        )
    )
    notifications = notifications_app(
        NotificationsSettings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'notifications.db'}",
            agencies_dir=tmp_path / "agencies",
            staff_dir=tmp_path / "no-staff",
            **common,
        )
    )
    async with node_factory("pioltello-casa") as casa, node_factory("cpia2"), serve(audit), serve(notifications):
        created = await casa.post("/referrals", json=referral_body(), headers=tokens.bearer("pioltello-casa"))
        assert created.status_code == 201

        def consumed_by(group):
            return [
                s
                for s in exporter.get_finished_spans()
                if s.name == f"process {REQUESTED}" and s.attributes.get("messaging.consumer.group.name") == group
            ]

        def answered():
            return [
                s
                for s in exporter.get_finished_spans()
                if s.name == "publish referral.v1.cpia2.pioltello-casa.received"
            ]

        groups = ("referrals-cpia2", "audit", "notifications")
        await eventually(lambda: _all([*(consumed_by(g) for g in groups), answered()]), timeout=15)
    spans = exporter.get_finished_spans()
    http = [s for s in spans if s.name == "POST /referrals" and s.parent is None]
    assert len(http) == 1
    trace_id = http[0].context.trace_id
    relay = [s for s in spans if s.name == f"publish {REQUESTED}"]
    assert relay and {s.context.trace_id for s in relay} == {trace_id}
    for group in groups:
        assert {s.context.trace_id for s in consumed_by(group)} == {trace_id}, group
    received = [s for s in spans if s.name == "publish referral.v1.cpia2.pioltello-casa.received"]
    assert received and {s.context.trace_id for s in received} == {trace_id}, "the answer joins the trace"


async def _all(lists):
    return all(lists)
