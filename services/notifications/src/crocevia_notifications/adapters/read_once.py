"""What a store read about a set of agencies, kept for the rest of its transaction: a batch
of events between the same agencies reads their staff, subscriptions and webhooks once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Generic, TypeVar

T = TypeVar("T")


class ReadOnce(Generic[T]):
    """Kept per transaction (a store lives as long as its transaction); a store forgets
    what it kept whenever it writes."""

    def __init__(self) -> None:
        self._kept: dict[frozenset[str], list[T]] = {}

    async def get(self, agencies: Collection[str], read: Callable[[list[str]], Awaitable[list[T]]]) -> list[T]:
        key = frozenset(agencies)
        if key not in self._kept:
            self._kept[key] = await read(sorted(key))
        return list(self._kept[key])

    def forget(self) -> None:
        self._kept.clear()
