"""What the audit's entry points work with, wired once by ``bootstrap``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from crocevia_audit.domain.indicators import TargetOf
from crocevia_audit.handlers.append import TrailWriter
from crocevia_audit.handlers.checkpoints import Checkpointer
from crocevia_audit.handlers.gaps import GapWatch
from crocevia_audit.handlers.indicators import MonthCells
from crocevia_audit.handlers.published import PublishedFacts
from crocevia_audit.handlers.witnessing import Witnessing
from crocevia_audit.settings import AuditSettings
from crocevia_common.db import Database


@dataclass
class AuditLog:
    settings: AuditSettings
    db: Database  # read by the views (``views.py``); written only through the handlers
    writer: TrailWriter
    checkpointer: Checkpointer
    gaps: GapWatch
    witnessing: Witnessing
    targets: TargetOf  # the response target a referral is held to, from the directory
    # What the audit has published on its stream AUDIT, read back (None: not compared).
    published: Callable[[], PublishedFacts] | None = None
    months: MonthCells = field(default_factory=MonthCells)  # the indicators' cells of whole months
