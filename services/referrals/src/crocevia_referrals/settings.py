"""A referrals node's settings: the shared ones plus which agency it serves."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field

from crocevia_common.settings import ServiceSettings


class ReferralsSettings(ServiceSettings):
    service_name: str = "referrals"
    agency_id: str
    # The agency's directory entry (organization and services), YAML or JSON.
    agency_file: Path
    # How often the head of the access log is anchored in the trail (when it moved).
    access_log_anchor_seconds: float = Field(default=3600.0, gt=0)
    # How long a closed referral's personal details are kept (ISO 8601, e.g. P180D, or
    # seconds); unset: until consent is withdrawn. Checked every retention_check_seconds.
    personal_data_retention: timedelta | None = Field(default=None, gt=timedelta(0))
    retention_check_seconds: float = Field(default=3600.0, gt=0)
