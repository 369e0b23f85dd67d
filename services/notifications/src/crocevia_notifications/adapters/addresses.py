"""The guard against webhooks aimed inside the network (SSRF): only http(s), and only
public addresses, unless the host is listed as allowed (tests, development)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Collection
from urllib.parse import urlsplit

from crocevia_notifications.domain.webhooks import ForbiddenURL, forbidden_address


async def check_url(url: str, allowed_hosts: Collection[str]) -> str | None:
    """Raise ForbiddenURL unless ``url`` is http(s) and every address its host resolves to
    is public (or the host is allowed). Return the checked address to connect to, so the
    request cannot be sent to another one resolved later (DNS rebinding); None for an
    allowed host, which is connected to by name."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ForbiddenURL(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ForbiddenURL(f"only http and https URLs are allowed, not {parts.scheme or 'no scheme'!r}")
    host = parts.hostname
    if not host:
        raise ForbiddenURL("the URL has no host")
    if parts.username or parts.password:
        raise ForbiddenURL("credentials in the URL are not allowed")
    if host in allowed_hosts:
        return None
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except OSError as exc:
        raise ForbiddenURL(f"cannot resolve {host}: {exc}") from None
    addresses = [str(info[4][0]).split("%")[0] for info in infos]
    for address in addresses:
        reason = forbidden_address(address)
        if reason:
            raise ForbiddenURL(f"{host} resolves to {reason}")
    if not addresses:
        raise ForbiddenURL(f"{host} resolves to no address")
    return addresses[0]


def pinned(url: str, address: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """``url`` aimed at ``address``: the URL to connect to, the ``Host`` header and the TLS
    server name (the certificate is still checked against the URL's host)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return parts._replace(netloc=netloc).geturl(), {"Host": parts.netloc}, extensions
