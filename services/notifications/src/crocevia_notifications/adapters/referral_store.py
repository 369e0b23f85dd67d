"""The referrals this service follows: public facts, status and each side's newest step;
and who each agency assigned them to."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_common.statements import execute
from crocevia_contracts.caseload import ReferralAssigned
from crocevia_contracts.lifecycle import Status
from crocevia_notifications.adapters.tables import assignments, from_row, referrals, row_of
from crocevia_notifications.domain.referral import Followed

c = referrals.c


def followed(row: Mapping[Any, Any]) -> Followed:
    return from_row(Followed, row, status=Status(row["status"]))


def _values(referral: Followed) -> dict[str, Any]:
    values = row_of(referral)
    del values["id"]
    return {**values, "status": referral.status.value}


# Made once, the values passed as parameters (an UPDATE sets the columns they name; the row
# is the ``referral``'s).
_INSERT = insert(referrals)
_UPDATE = update(referrals).where(c.id == bindparam("referral"))
_READ = select(referrals).where(c.id.in_(bindparam("ids", expanding=True))).order_by(c.id).with_for_update()
ac = assignments.c  # an assignment's columns
_ASSIGNED = select(ac.referral_id, ac.agency, ac.assignee).where(ac.referral_id.in_(bindparam("ids", expanding=True)))
_ASSIGNMENT = (ac.referral_id == bindparam("referral")) & (ac.agency == bindparam("assigned_agency"))
_ASSIGNMENT_SEQUENCE = select(ac.sequence).where(_ASSIGNMENT).with_for_update()
_INSERT_ASSIGNMENT = insert(assignments).values(referral_id=bindparam("referral"), agency=bindparam("assigned_agency"))
_UPDATE_ASSIGNMENT = update(assignments).where(_ASSIGNMENT)


class SqlReferrals:
    """Lives as long as its transaction: what it read (and locked) or wrote is kept until then.
    What ``add`` and ``save`` change is held back and written by ``flush``, before the commit:
    a batch of events writes its referrals in one statement of each kind, not one per event
    (nothing in the transaction reads them from the table meanwhile: ``get`` answers from
    what is kept)."""

    def __init__(self, session: AsyncConnection) -> None:
        self.session = session
        self._kept: dict[str, Followed | None] = {}
        self._added: dict[str, dict[str, Any]] = {}  # rows to insert, as last changed
        self._saved: dict[str, dict[str, Any]] = {}  # rows to update, of referrals read from the table

    async def read_ahead(self, referral_ids: Collection[str]) -> None:
        # Locked on PostgreSQL, in one order: what is decided from them commits before anyone
        # else reads them.
        wanted = sorted(set(referral_ids) - self._kept.keys())
        if not wanted:
            return
        found = await execute(self.session, _READ, {"ids": wanted})
        self._kept.update(dict.fromkeys(wanted))
        self._kept.update({row["id"]: followed(row) for row in found.mappings()})

    async def get(self, referral_id: str) -> Followed | None:
        await self.read_ahead([referral_id])
        return self._kept[referral_id]

    async def add(self, referral: Followed, at: datetime) -> None:
        self._added[referral.id] = {"id": referral.id, "updated_at": at, **_values(referral)}
        self._kept[referral.id] = referral

    async def save(self, referral: Followed, at: datetime) -> None:
        if referral.id in self._added:  # added in this transaction: inserted as it is now
            await self.add(referral, at)
            return
        self._saved[referral.id] = {"referral": referral.id, "updated_at": at, **_values(referral)}
        self._kept[referral.id] = referral

    async def flush(self) -> None:
        """Write what ``add`` and ``save`` held back."""
        added, self._added = list(self._added.values()), {}
        saved, self._saved = list(self._saved.values()), {}
        if added:
            await execute(self.session, _INSERT, added)
        if saved:
            await execute(self.session, _UPDATE, saved)


class SqlAssignments:
    """Lives as long as its transaction: what it read is kept until then."""

    def __init__(self, session: AsyncConnection) -> None:
        self.session = session
        self._kept: dict[str, dict[str, str]] = {}

    async def read_ahead(self, referral_ids: Collection[str]) -> None:
        wanted = sorted(set(referral_ids) - self._kept.keys())
        if not wanted:
            return
        rows = await execute(self.session, _ASSIGNED, {"ids": wanted})
        for referral_id in wanted:
            self._kept[referral_id] = {}
        for row in rows.rows:
            self._kept[row["referral_id"]][row["agency"]] = row["assignee"]

    async def keep(self, assigned: ReferralAssigned, sequence: int, at: datetime) -> bool:
        key = {"referral": assigned.referral_id, "assigned_agency": assigned.agency}
        found = (await execute(self.session, _ASSIGNMENT_SEQUENCE, key)).scalar_one_or_none()
        values = {**key, "assignee": assigned.assignee, "sequence": sequence, "assigned_at": at}
        self._kept.pop(assigned.referral_id, None)
        if found is None:
            await execute(self.session, _INSERT_ASSIGNMENT, values)
        elif found < sequence:
            await execute(self.session, _UPDATE_ASSIGNMENT, values)
        else:
            return False
        return True

    async def of(self, referral_id: str) -> dict[str, str]:
        await self.read_ahead([referral_id])
        return dict(self._kept[referral_id])
