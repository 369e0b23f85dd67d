"""An agency's keys change: after a rotation (the old key endorses the new) the other nodes
follow on their own; after the old key is lost, they keep the pinned one, and refuse what is
signed with the new, until the network's operator confirms the key the agency read out."""

from __future__ import annotations

from pathlib import Path

from nacl.signing import SigningKey
from sqlalchemy import delete

from crocevia.keys import confirm_keys, public_key_text, published, rotate_own_keys
from crocevia_common.db import Database
from crocevia_common.messaging.connection import NatsLogin
from crocevia_contracts.trust import signing_key_id
from crocevia_referrals.adapters.tables import messaging
from tests.integration.referrals.conftest import referral_body
from tests.kit.services import eventually

CASA, CPIA = "pioltello-casa", "cpia2"


async def _status(node, tokens, rid: str, agency: str = CASA) -> str:
    return (await node.get(f"/referrals/{rid}", headers=tokens.bearer(agency))).json()["status"]


async def _send(casa, tokens) -> str:
    answer = await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def test_after_a_rotation_the_other_nodes_seal_to_the_new_key_and_take_its_signatures(
    node_factory, tokens, tmp_path: Path
):
    cpia_db = f"sqlite+aiosqlite:///{tmp_path / 'cpia2.db'}"
    async with node_factory(CASA) as casa:
        async with node_factory(CPIA, database_url=cpia_db):
            first = await _send(casa, tokens)
            await eventually(lambda: _is(casa, tokens, first, "received"))
            old = node_factory.apps[CASA].state.runtime.keys.pinned(CPIA)
        new_key_id = await rotate_own_keys(cpia_db, CPIA)
        async with node_factory(CPIA, database_url=cpia_db) as cpia:
            second = await _send(casa, tokens)
            await eventually(lambda: _is(casa, tokens, second, "received"))
            # A referral sealed to the old key before the rotation is still opened and acted on.
            assert (await cpia.post(f"/referrals/{first}/accept", headers=tokens.bearer(CPIA))).status_code == 200
            await eventually(lambda: _is(casa, tokens, first, "accepted"))
            person = (await cpia.get(f"/referrals/{second}", headers=tokens.bearer(CPIA))).json()["person"]
            pinned = node_factory.apps[CASA].state.runtime.keys.pinned(CPIA)
    assert person["given_name"] == "Amina"
    assert pinned is not None and old is not None and pinned != old
    assert signing_key_id(pinned) == new_key_id


async def test_keys_lost_and_made_anew_are_taken_only_once_the_operator_confirms_them(
    node_factory, tokens, tmp_path: Path, nats_url: str
):
    operator = SigningKey.generate()
    trusted = {"operator_public_key": public_key_text(operator)}
    cpia_db = f"sqlite+aiosqlite:///{tmp_path / 'cpia2.db'}"
    async with node_factory(CASA, **trusted) as casa:
        async with node_factory(CPIA, database_url=cpia_db, **trusted):
            first = await _send(casa, tokens)
            await eventually(lambda: _is(casa, tokens, first, "received"))
        # cpia2's keys are lost (a server rebuilt without them): it makes new ones, unendorsed.
        db = Database(cpia_db)
        async with db.transaction() as session:
            await session.execute(delete(messaging.own_keys))
        await db.dispose()
        async with node_factory(CPIA, database_url=cpia_db, **trusted) as cpia:
            new_keys = node_factory.apps[CPIA].state.keys.public()
            # pioltello-casa still seals to the pinned key, which cpia2 no longer has: cpia2
            # answers "undeliverable", but signs with the new key, which pioltello-casa refuses.
            second = await _send(casa, tokens)
            await eventually(lambda: _is(cpia, tokens, second, "rejected", CPIA))
            assert await _status(casa, tokens, second) == "requested"
            assert node_factory.apps[CASA].state.runtime.keys.pinned(CPIA) != new_keys

            confirmation = await confirm_keys(nats_url, NatsLogin(), operator, CPIA, signing_key_id(new_keys))
            directory = node_factory.apps[CASA].state.runtime.keys.directory

            async def casa_sees_the_confirmation() -> bool:  # through its directory watch
                return directory.confirmation(CPIA) == confirmation

            # Sent before, the referral would be sealed to the lost key, as the second was.
            await eventually(casa_sees_the_confirmation)
            third = await _send(casa, tokens)
            await eventually(lambda: _is(casa, tokens, third, "received"))
            person = (await cpia.get(f"/referrals/{third}", headers=tokens.bearer(CPIA))).json()["person"]
            listed = {row.party: row for row in await published(nats_url, NatsLogin())}
    assert confirmation.keys == new_keys
    assert listed[CPIA].key_id == listed[CPIA].confirmed_key_id == signing_key_id(new_keys)
    assert node_factory.apps[CASA].state.runtime.keys.pinned(CPIA) == new_keys
    assert person["family_name"] == "K."


async def _is(node, tokens, rid: str, status: str, agency: str = CASA) -> bool:
    return await _status(node, tokens, rid, agency) == status
