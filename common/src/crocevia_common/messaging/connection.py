"""How a service connects to NATS: as which user, with which password, with which inbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_INBOX_PREFIX = "_INBOX"


class NatsLoginError(ValueError):
    """The NATS user or password settings cannot be used; the message says which and why
    (never the password)."""


@dataclass(frozen=True, slots=True)
class NatsLogin:
    """Who a service connects as: ``user`` with ``password``, or nobody (a server without
    users). The password never shows in a repr."""

    user: str | None = None
    password: str | None = field(default=None, repr=False)


def url_user(nats_url: str) -> str | None:
    """The user named in the first server of ``nats_url`` (``nats://user:pw@host``)."""
    return urlsplit(nats_url.split(",")[0]).username


def read_password(path: Path) -> str:
    """The password held in ``path`` (surrounding blanks and the final newline dropped)."""
    try:
        password = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise NatsLoginError(f"cannot read the NATS password file {path}: {exc.strerror or exc}") from None
    if not password:
        raise NatsLoginError(f"the NATS password file {path} is empty")
    return password


def nats_login(nats_url: str, user: str | None, password_file: Path | None) -> NatsLogin:
    """``CROCEVIA_NATS_USER`` with the password in ``CROCEVIA_NATS_PASSWORD_FILE``; else the
    user the URL names (its password travels in the URL); else nobody."""
    if password_file is not None and not user:
        raise NatsLoginError("CROCEVIA_NATS_PASSWORD_FILE is set without CROCEVIA_NATS_USER")
    if user:
        if password_file is None:
            raise NatsLoginError(f"CROCEVIA_NATS_USER is {user!r} but CROCEVIA_NATS_PASSWORD_FILE is not set")
        return NatsLogin(user, read_password(password_file))
    return NatsLogin(url_user(nats_url))


def inbox_prefix_for(nats_url: str, configured: str | None = None, user: str | None = None) -> str:
    """The prefix of this connection's reply subjects. A service that connects as a NATS
    user (``user``, or the one the URL names) gets ``_INBOX.<user>``, so its permissions
    can let it read its own replies and nobody else's (``crocevia nats-accounts`` grants
    ``_INBOX.<user>.>``)."""
    if configured:
        return configured
    user = user or url_user(nats_url)
    return f"{DEFAULT_INBOX_PREFIX}.{user}" if user else DEFAULT_INBOX_PREFIX
