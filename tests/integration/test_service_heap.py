"""A running service keeps what it made to start out of the cyclic collector's full
collections (each would otherwise walk every module, route, schema and table the process
holds, with the event loop stopped) and collects its youngest generation less often; it
undoes both when it stops."""

from __future__ import annotations

import gc
from pathlib import Path

from crocevia_common.service import YOUNG_OBJECTS, long_lived_heap
from crocevia_referrals.bootstrap import create_app
from crocevia_referrals.settings import ReferralsSettings
from tests.kit.nats import NatsProcess
from tests.kit.services import Tokens, agency_file, serve


async def test_a_running_service_keeps_its_start_up_objects_out_of_full_collections(tmp_path: Path) -> None:
    server = NatsProcess(workdir=tmp_path / "nats").start()
    tokens = Tokens(tmp_path / "key")
    threshold = gc.get_threshold()
    try:
        settings = ReferralsSettings(
            agency_id="cpia2",
            agency_file=agency_file(tmp_path / "agencies", "cpia2"),
            nats_url=server.url,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'cpia2.db'}",
            auth_dev_key_file=tokens.key_file,
        )
        async with serve(create_app(settings)) as client:
            frozen = gc.get_freeze_count()
            walked = len(gc.get_objects())  # what a full collection walks now
            running = gc.get_threshold()
            answered = (await client.get("/referrals", headers=tokens.bearer("cpia2"))).status_code
        after = gc.get_freeze_count(), gc.get_threshold()
    finally:
        server.stop()
    assert answered == 200
    assert frozen > walked > 0
    assert running == (YOUNG_OBJECTS, *threshold[1:]) != threshold
    assert after == (0, threshold)


def test_the_heap_is_given_back_when_the_last_running_service_stops_in_whatever_order() -> None:
    threshold = gc.get_threshold()
    first, second = long_lived_heap(), long_lived_heap()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the first started stops first
    meanwhile = gc.get_threshold(), gc.get_freeze_count() > 0
    second.__exit__(None, None, None)
    assert meanwhile == ((YOUNG_OBJECTS, *threshold[1:]), True)
    assert (gc.get_threshold(), gc.get_freeze_count()) == (threshold, 0)
