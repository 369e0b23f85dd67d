"""What a store read about agencies, kept per agency for the rest of its transaction: a batch
of events reads the staff, subscriptions and webhooks of all its agencies at once (its
read-ahead), and an event of a pair not read yet reads only what is missing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class ReadOnce(Generic[T]):
    """Kept per transaction (a store lives as long as its transaction); a store forgets
    what it kept whenever it writes. ``agency_of`` says whose a row is; ``order`` is the
    order the store answers in, whichever agencies were read together."""

    def __init__(self, agency_of: Callable[[T], str | None], order: Callable[[T], Any]) -> None:
        self._agency_of = agency_of
        self._order = order
        self._kept: dict[str, list[T]] = {}

    async def get(self, agencies: Collection[str], read: Callable[[list[str]], Awaitable[list[T]]]) -> list[T]:
        wanted = set(agencies)
        missing = sorted(wanted - self._kept.keys())
        if missing:
            for agency in missing:
                self._kept[agency] = []
            for row in await read(missing):
                self._kept[str(self._agency_of(row))].append(row)
        return sorted((row for agency in wanted for row in self._kept[agency]), key=self._order)

    def forget(self) -> None:
        self._kept.clear()
