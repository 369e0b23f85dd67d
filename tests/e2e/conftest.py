"""The whole network, started as ``make up`` starts it (with its demo households), once per
test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.kit.network import crocevia_up


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    data = tmp_path_factory.mktemp("network")
    with crocevia_up(data, seed=True) as (urls, proc):
        yield {**urls, "_key": str(data / "dev-jwt.key"), "_proc": proc, "_data": data}
