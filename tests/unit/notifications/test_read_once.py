"""What a store keeps of what it read about agencies for the rest of its transaction: each
agency read once, whichever pairs ask for it, and the answer in the store's order."""

from __future__ import annotations

from crocevia_notifications.adapters.read_once import ReadOnce

ROWS = [("b", 1), ("a", 4), ("c", 2), ("a", 3), ("b", 5)]


class Table:
    def __init__(self) -> None:
        self.reads: list[list[str]] = []

    async def read(self, agencies: list[str]) -> list[tuple[str, int]]:
        self.reads.append(agencies)
        return [row for row in ROWS if row[0] in agencies]


async def test_each_agency_is_read_once_and_answered_in_the_stores_order() -> None:
    table, kept = Table(), ReadOnce[tuple[str, int]](lambda row: row[0], lambda row: row[1])
    assert await kept.get({"a", "b", "z"}, table.read) == [("b", 1), ("a", 3), ("a", 4), ("b", 5)]
    assert await kept.get({"b", "c"}, table.read) == [("b", 1), ("c", 2), ("b", 5)]
    assert await kept.get({"a"}, table.read) == [("a", 3), ("a", 4)]
    assert await kept.get({"z"}, table.read) == []
    assert table.reads == [["a", "b", "z"], ["c"]]


async def test_a_write_makes_it_read_again() -> None:
    table, kept = Table(), ReadOnce[tuple[str, int]](lambda row: row[0], lambda row: row[1])
    await kept.get({"a"}, table.read)
    kept.forget()
    await kept.get({"a"}, table.read)
    assert table.reads == [["a"], ["a"]]
