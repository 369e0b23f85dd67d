"""Standard Webhooks: secrets, signatures, the retry schedule, and which addresses a
webhook may never reach."""

from __future__ import annotations

import base64
import ipaddress
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from crocevia_notifications.domain.notices import Notice, NoticeKind

SECRET_PREFIX = "whsec_"


class ForbiddenURL(ValueError):
    """A URL a webhook may not be sent to; ``str()`` says why."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An agency's webhook endpoint."""

    id: str
    agency: str
    url: str
    topics: list[str]  # empty: every topic
    secret: str
    created_by: str
    created_at: datetime
    active: bool = True
    previous_secret: str | None = None  # after a rotation, signs too until ``previous_secret_until``
    previous_secret_until: datetime | None = None
    disabled_at: datetime | None = None
    disabled_reason: str | None = None

    def wants(self, notice: Notice) -> bool:
        """An agency's endpoint hears of its referrals' events; of reminders and
        escalations only when the agency is the one reminded."""
        if notice.kind is NoticeKind.EVENT:
            concerned = self.agency in (notice.sender_agency, notice.receiver_agency)
        else:
            concerned = self.agency == notice.acting_agency
        return concerned and (not self.topics or notice.topic in self.topics)

    def signing_secrets(self, now: datetime) -> list[str]:
        return signing_secrets(self.secret, self.previous_secret, self.previous_secret_until, now)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one webhook request came to."""

    status_code: int | None
    error: str | None
    duration_ms: int
    forbidden: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


def payload(notice: Notice, link: str) -> dict[str, object]:
    """Small, and nothing about the person: the Standard Webhooks ``type``/``timestamp``/``data``."""
    prefix = "referral" if notice.kind is NoticeKind.EVENT else "notice"
    return {
        "type": f"{prefix}.{notice.topic}",
        "timestamp": notice.occurred_at.isoformat(),
        "data": {"notice_id": notice.id, **notice.facts(), "link": link},
    }


def new_secret() -> str:
    """A fresh ``whsec_`` secret: 32 random bytes, base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,`` signature: the base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}`` keyed
    with the secret's decoded bytes, as the standardwebhooks library computes it."""
    return Webhook(secret).sign(message_id, datetime.fromtimestamp(timestamp, UTC), body.decode())


def headers(signing_secrets: Sequence[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one attempt. Each secret signs (space-separated signatures), so while a
    secret is being rotated a receiver that still holds the previous one keeps verifying."""
    if not signing_secrets:
        raise ValueError("a webhook is signed with at least one secret")
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, message_id, timestamp, body) for s in signing_secrets),
    }


def signing_secrets(secret: str, previous: str | None, previous_until: datetime | None, now: datetime) -> list[str]:
    """The secrets that sign at ``now``: the current one, and the previous one until its
    grace period after a rotation ends."""
    if previous and previous_until is not None and now < previous_until:
        return [secret, previous]
    return [secret]


def retry_delay(schedule: Sequence[float], attempts_done: int, jitter: float = 0.0) -> float | None:
    """Seconds to wait before the next attempt after ``attempts_done`` failed ones, or None
    when the schedule is spent. ``jitter`` (0..1) adds up to that fraction of the delay."""
    if attempts_done < 1 or attempts_done > len(schedule):
        return None
    delay = float(schedule[attempts_done - 1])
    return delay * (1 + max(0.0, min(jitter, 1.0)) * 0.1)


# IPv6 prefixes whose last 32 bits are an IPv4 address: NAT64 (RFC 6052, RFC 8215) and
# the deprecated IPv4-compatible form (``::a.b.c.d``, but not ``::`` or ``::1``).
_TRAILING_IPV4 = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),
    ipaddress.IPv6Network("::/96"),
)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses that ``ip`` leads to: the one it maps (``::ffff:a.b.c.d``), the
    6to4 gateway (``2002::/16``), the Teredo server and client (``2001::/32``), the NAT64
    target or the IPv4-compatible address; empty for a plain IPv6 address."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)
    if int(ip) > 1 and any(ip in network for network in _TRAILING_IPV4):
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    return []


def forbidden_address(address: str) -> str | None:
    """Why a webhook may not be sent to ``address`` (an IP), or None if it may. An IPv6
    address that carries an IPv4 one is judged by the IPv4 address(es) it carries."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and (carried := embedded_ipv4(ip)):
        for inner in carried:
            if why := _why_forbidden(inner):
                return f"{ip}, which carries {inner}, {why}"
        return None
    why = _why_forbidden(ip)
    return f"{ip} is {why}" if why else None


def _why_forbidden(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    for test, why in (
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_private, "a private address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_reserved, "a reserved address"),
    ):
        if test:
            return why
    return None if ip.is_global else "not a public address"
