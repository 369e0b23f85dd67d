"""Sending the e-mails that are due: one message each, or one digest per person and
window; claimed first, so two replicas never send the same one."""

from __future__ import annotations

from datetime import timedelta

from crocevia_notifications.domain.deliveries import Attempt, Delivery, DeliveryChannel, DeliveryStatus
from crocevia_notifications.domain.templates import Message, render_digest
from crocevia_notifications.domain.webhooks import retry_delay
from crocevia_notifications.handlers.context import Notifier, finish_before_stopping, utc_now


async def send_due_emails(ctx: Notifier, limit: int = 50) -> int:
    """Send what is due now; return how many messages went out or failed trying."""
    if not ctx.mailer.configured:
        return 0
    now, real_now = ctx.clock(), utc_now()
    lease = timedelta(seconds=ctx.settings.smtp_timeout_seconds * 2 + 30)
    async with ctx.uow.reading() as tx:
        due = await tx.deliveries.due(DeliveryChannel.EMAIL, now, real_now, limit)
    done = 0
    digests: set[tuple[int | None, str]] = set()
    for delivery in due:
        if delivery.digest_key:
            if (delivery.person_id, delivery.digest_key) in digests:
                continue  # claimed with the first of its digest
            digests.add((delivery.person_id, delivery.digest_key))
        async with ctx.uow.transaction() as tx:
            claimed = await tx.deliveries.claim(delivery, now, real_now, lease, ctx.replica)
        if claimed:
            await finish_before_stopping(_send(ctx, claimed), ctx.settings.smtp_timeout_seconds)
            done += 1
    return done


async def _send(ctx: Notifier, claimed: list[Delivery]) -> None:
    first = claimed[0]
    async with ctx.uow.reading() as tx:
        person = await tx.staff.by_id(first.person_id) if first.person_id is not None else None
    if person is None or not person.member.active or not person.member.email:
        async with ctx.uow.transaction() as tx:
            for delivery in claimed:
                await tx.deliveries.finish(
                    delivery.id,
                    DeliveryStatus.CANCELLED,
                    delivery.attempts,
                    ctx.clock(),
                    "the person is no longer active or has no e-mail",
                )
        return
    language = person.member.language
    if len(claimed) == 1:
        message = Message(first.payload["title"], first.payload["body"])
    else:
        message = render_digest(
            language, [(d.created_at, Message(d.payload["title"], d.payload["body"])) for d in claimed]
        )
    now, started, error = ctx.clock(), utc_now(), None
    try:
        await ctx.mailer.send(person.member.email, message, first.id, language)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    took = int((utc_now() - started).total_seconds() * 1000)
    await _record(ctx, claimed, Attempt(now, ok=error is None, error=error, duration_ms=took))


async def _record(ctx: Notifier, claimed: list[Delivery], attempt: Attempt) -> None:
    """Record the attempt on each delivery it carried: sent, retried later, or given up."""
    async with ctx.uow.transaction() as tx:
        for delivery in claimed:
            number = await tx.deliveries.record_attempt(delivery, attempt)
            if attempt.ok:
                await tx.deliveries.finish(delivery.id, DeliveryStatus.SENT, number, attempt.at)
                continue
            error = attempt.error or "failed"
            delay = retry_delay(ctx.settings.email_retry_seconds, number)
            if delay is None:
                await tx.deliveries.finish(delivery.id, DeliveryStatus.FAILED, number, attempt.at, error)
            else:
                await tx.deliveries.retry_at(delivery.id, number, attempt.at + timedelta(seconds=delay), error)


async def release_claims(ctx: Notifier) -> None:
    """When stopping: give back every delivery this replica claimed and did not finish."""
    async with ctx.uow.transaction() as tx:
        await tx.deliveries.release(ctx.replica)
