"""A referrals node's settings: the shared ones plus which agency it serves."""

from __future__ import annotations

from pathlib import Path

from crocevia_common.settings import ServiceSettings


class ReferralsSettings(ServiceSettings):
    service_name: str = "referrals"
    agency_id: str
    # The agency's directory entry (organization and services), YAML or JSON.
    agency_file: Path
