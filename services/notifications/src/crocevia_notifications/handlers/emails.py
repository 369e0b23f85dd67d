"""Sending the e-mails that are due: one message each, or one digest per person and
window; claimed first, so two replicas never send the same one."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import RowMapping

from crocevia_notifications.adapters import delivery_store, staff_store
from crocevia_notifications.adapters.mailer import Mail
from crocevia_notifications.adapters.tables import utc
from crocevia_notifications.domain.templates import Message, render_digest
from crocevia_notifications.domain.webhooks import retry_delay
from crocevia_notifications.handlers.context import Notifier, finish_before_stopping, utc_now


async def send_due_emails(ctx: Notifier, limit: int = 50) -> int:
    """Send what is due now; return how many messages went out or failed trying."""
    if not ctx.mailer.configured:
        return 0
    now, real_now = ctx.clock(), utc_now()
    lease = timedelta(seconds=ctx.settings.smtp_timeout_seconds * 2 + 30)
    async with ctx.db.sessions() as session:
        due = await delivery_store.due(session, "email", now, real_now, limit)
    done = 0
    groups: set[tuple[int, str]] = set()
    for row in due:
        if row["digest_key"]:
            group = (row["person_id"], row["digest_key"])
            if group in groups:
                continue
            groups.add(group)
            where = delivery_store.digest_of(*group)
        else:
            where = delivery_store.one(row["id"])
        async with ctx.db.transaction() as session:
            claimed = await delivery_store.claim(session, where, now, real_now, lease, ctx.replica)
        if claimed:
            await finish_before_stopping(_send(ctx, claimed), ctx.settings.smtp_timeout_seconds)
            done += 1
    return done


async def _send(ctx: Notifier, claimed: list[RowMapping]) -> None:
    first = claimed[0]
    async with ctx.db.sessions() as session:
        person = await staff_store.by_id(session, first["person_id"])
    now = ctx.clock()
    if person is None or not person["active"] or not person["email"]:
        async with ctx.db.transaction() as session:
            for row in claimed:
                await delivery_store.finish(
                    session,
                    row["id"],
                    delivery_store.CANCELLED,
                    row["attempts"],
                    now,
                    "the person is no longer active or has no e-mail",
                )
        return
    member = staff_store.member(person)
    if len(claimed) == 1:
        message = Message(first["payload"]["title"], first["payload"]["body"])
    else:
        message = render_digest(
            member.language,
            [(utc(r["created_at"]), Message(r["payload"]["title"], r["payload"]["body"])) for r in claimed],
        )
    mail = Mail(
        to=str(member.email), subject=message.title, body=message.body, message_id=first["id"], language=member.language
    )
    error = None
    started = utc_now()
    try:
        await ctx.mailer.send(mail)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    took = int((utc_now() - started).total_seconds() * 1000)
    async with ctx.db.transaction() as session:
        for row in claimed:
            number = await delivery_store.record_attempt(
                session, row, now, ok=error is None, error=error, duration_ms=took
            )
            if error is None:
                await delivery_store.finish(session, row["id"], delivery_store.SENT, number, now)
                continue
            delay = retry_delay(ctx.settings.email_retry_seconds, number)
            if delay is None:
                await delivery_store.finish(session, row["id"], delivery_store.FAILED, number, now, error)
            else:
                await delivery_store.retry_at(session, row["id"], number, now + timedelta(seconds=delay), error)


async def release_claims(ctx: Notifier) -> None:
    """When stopping: give back every delivery this replica claimed and did not finish."""
    async with ctx.db.transaction() as session:
        await delivery_store.release(session, ctx.replica)
