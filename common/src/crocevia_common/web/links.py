"""Where the other services of the network answer, so that pages link across them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from crocevia_common.settings import WebSettings


@dataclass(frozen=True)
class NetworkLinks:
    """Base URLs (no trailing slash) of the nodes, the notifications and the audit; a
    missing one is an empty string, and pages leave out the links that need it."""

    nodes: dict[str, str] = field(default_factory=dict)
    notifications: str = ""
    audit: str = ""

    def node(self, agency: str) -> str:
        return self.nodes.get(agency, "")

    def referral_page(self, agency: str, referral_id: str) -> str:
        """The page of a referral on ``agency``'s own node."""
        base = self.node(agency)
        return f"{base}/ui/referrals/{referral_id}" if base else ""


def _strip(url: str | None) -> str:
    return (url or "").rstrip("/")


def _read(path: Path) -> dict[str, object]:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def network_links(settings: WebSettings) -> NetworkLinks:
    """The links as they stand now: ``network.json`` when there is one, else the settings."""
    described = _read(settings.network_file) if settings.network_file else {}
    nodes = described.get("agencies")
    return NetworkLinks(
        nodes={k: _strip(str(v)) for k, v in (nodes if isinstance(nodes, dict) else settings.node_urls).items()},
        notifications=_strip(str(described.get("notifications") or settings.notifications_url or "")),
        audit=_strip(str(described.get("audit") or settings.audit_url or "")),
    )
