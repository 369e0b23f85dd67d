"""How a service connects to NATS."""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_INBOX_PREFIX = "_INBOX"


def inbox_prefix_for(nats_url: str, configured: str | None = None) -> str:
    """The prefix of this connection's reply subjects. A service that connects as a NATS
    user gets ``_INBOX.<user>``, so its permissions can let it read its own replies and
    nobody else's (``crocevia nats-accounts`` grants ``_INBOX.<user>.>``)."""
    if configured:
        return configured
    user = urlsplit(nats_url.split(",")[0]).username
    return f"{DEFAULT_INBOX_PREFIX}.{user}" if user else DEFAULT_INBOX_PREFIX
