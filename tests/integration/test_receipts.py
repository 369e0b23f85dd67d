"""The person's receipt: made by the audit, served by the sending node as JSON, a printable
page and a PDF, checked offline by ``crocevia-audit receipt verify``; one byte changed and
it is refused; no personal value in any of its forms."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from crocevia_audit.bootstrap import create_app as audit_app
from crocevia_audit.entrypoints import cli
from crocevia_audit.settings import AuditSettings
from crocevia_common.web.session_cookie import SESSION_COOKIE
from tests.integration.notifications.support import served
from tests.integration.referrals.conftest import referral_body
from tests.kit.hostile import assert_problem
from tests.kit.nats import free_port
from tests.kit.services import eventually

CASA = "pioltello-casa"
PERSON = {
    "given_name": "Amina",
    "family_name": "Karimova",
    "birth_date": "1980-01-01",
    "phone": "+39 333 1234567",
    "address": "Via Roma 12, Pioltello",
    "languages": ["ar", "fr"],
}


async def receipt_of(casa: httpx.AsyncClient, staff: dict[str, str], referral_id: str) -> httpx.Response:
    """The referral's receipt once it proves both its request and its receipt."""

    async def proven() -> httpx.Response | None:
        answer = await casa.get(f"/referrals/{referral_id}/receipt", headers=staff)
        return answer if answer.status_code == 200 and len(answer.json()["events"]) == 2 else None

    return await eventually(proven, timeout=20)


def check(path: Path, key: str, *extra: str) -> int:
    return cli.main(["receipt", "verify", str(path), "--key", key, *extra])


@pytest.fixture
async def network(node_factory, tokens, nats_url, tmp_path: Path):
    audit = audit_app(
        AuditSettings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}",
            data_dir=tmp_path / "audit",
            nats_url=nats_url,
            auth_dev_key_file=tokens.key_file,
            checkpoint_every_entries=1,
            checkpoint_every_seconds=0.2,
        )
    )
    async with (
        served(audit, free_port()) as audit_url,
        node_factory(CASA, audit_url=audit_url) as casa,
        node_factory("cpia2") as cpia,
    ):
        yield casa, cpia, audit_url


async def test_a_receipt_proves_sending_and_receipt_offline_and_holds_no_personal_value(network, tokens, tmp_path):
    casa, _cpia, audit_url = network
    staff = tokens.bearer(CASA)
    created = await casa.post("/referrals", json=referral_body(person=PERSON), headers=staff)
    assert created.status_code == 201, created.text
    referral_id = created.json()["id"]

    answer = await receipt_of(casa, staff, referral_id)
    receipt = answer.json()
    assert [e["event"] for e in receipt["events"]] == ["requested", "received"]
    parties = (receipt["referral_id"], receipt["sender_agency"], receipt["receiver_agency"])
    assert parties == (referral_id, CASA, "cpia2")
    async with httpx.AsyncClient(base_url=audit_url) as audit:
        key = (await audit.get("/checkpoint/key")).text.strip()
    path = tmp_path / "receipt.json"
    path.write_bytes(answer.content)
    assert check(path, key) == 0

    casa.cookies.set(SESSION_COOKIE, tokens.session(CASA))  # the page, as signed-in staff
    page = await casa.get(f"/ui/referrals/{referral_id}")
    assert f'href="/ui/referrals/{referral_id}/receipt"' in page.text
    html = await casa.get(f"/ui/referrals/{referral_id}/receipt")
    pdf = await casa.get(f"/referrals/{referral_id}/receipt?format=pdf", headers=staff)
    assert html.status_code == 200 and referral_id in html.text and 'id="receipt-qr"' in html.text
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and referral_id.encode() in pdf.content
    for value in (PERSON[k] for k in ("given_name", "family_name", "birth_date", "phone", "address")):
        for form in (answer.content, html.content, pdf.content):
            assert value.encode() not in form, value


async def test_a_later_checkpoint_proves_the_receipts_entries_are_still_in_the_trail(network, tokens, tmp_path):
    casa, _cpia, audit_url = network
    staff = tokens.bearer(CASA)
    referral_id = (await casa.post("/referrals", json=referral_body(), headers=staff)).json()["id"]

    receipt = (await receipt_of(casa, staff, referral_id)).content
    path = tmp_path / "receipt.json"
    path.write_bytes(receipt)
    held = json.loads(receipt)["checkpoint"].split("\n")[1]
    await casa.post("/referrals", json=referral_body(), headers=staff)  # the trail grows past the receipt
    async with httpx.AsyncClient(base_url=audit_url) as audit:
        key = (await audit.get("/checkpoint/key")).text.strip()

        async def grown() -> int | None:
            size = int((await audit.get("/checkpoint")).text.split("\n")[1])
            return size if size > int(held) else None

        size = await eventually(grown, timeout=20)
        found = await cli.receipt_still_there(path, key, audit, None)
        assert found.ok, found.message
        latest = re.search(r"still there in the latest checkpoint of (\d+) entries", found.message)
        assert latest is not None and int(latest.group(1)) >= size > int(held)
        edited = json.loads(receipt)
        edited["events"][0]["leaf_index"] += 1
        path.write_text(json.dumps(edited))
        refused = await cli.receipt_still_there(path, key, audit, None)
        assert not refused.ok and "still there" not in refused.message


@pytest.mark.parametrize(
    "edit",
    [
        "a digit of the sending time in the entry",
        "the receiving agency",
        "one hash of an audit path",
        "the leaf index",
        "the checkpoint's signature",
    ],
)
async def test_a_receipt_with_one_byte_changed_is_refused(network, tokens, tmp_path, edit):
    casa, _cpia, audit_url = network
    staff = tokens.bearer(CASA)
    referral_id = (await casa.post("/referrals", json=referral_body(), headers=staff)).json()["id"]

    receipt = (await receipt_of(casa, staff, referral_id)).json()
    async with httpx.AsyncClient(base_url=audit_url) as audit:
        key = (await audit.get("/checkpoint/key")).text.strip()
    first = receipt["events"][0]
    if edit == "a digit of the sending time in the entry":
        at = json.loads(first["entry"])["event"]["data"]["occurred_at"]
        changed = at[:-2] + ("0" if at[-2] != "0" else "1") + at[-1]
        first["entry"] = first["entry"].replace(at, changed)
        first["occurred_at"] = changed
    elif edit == "the receiving agency":
        receipt["receiver_agency"] = "cpia3"
    elif edit == "one hash of an audit path":
        path = first["audit_path"]
        assert path  # a tree of two entries or more
        path[0] = ("B" if path[0][0] != "B" else "C") + path[0][1:]
    elif edit == "the leaf index":
        first["leaf_index"] += 1
    else:
        note = receipt["checkpoint"]
        last = note.rstrip("\n").rsplit("\n", 1)[1]
        receipt["checkpoint"] = note.replace(last, last[:-3] + ("A" if last[-3] != "A" else "B") + last[-2:])
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(receipt))
    assert check(path, key) == 1


async def test_no_receipt_for_an_unknown_referral_another_agency_or_a_bad_format(network, tokens):
    casa, _cpia, audit_url = network
    staff = tokens.bearer(CASA)
    referral_id = (await casa.post("/referrals", json=referral_body(), headers=staff)).json()["id"]
    assert_problem(await casa.get("/referrals/no-such-referral/receipt", headers=staff), 404, "referral-not-found")
    other = tokens.bearer("cpia2")
    assert_problem(await casa.get(f"/referrals/{referral_id}/receipt", headers=other), 404, "referral-not-found")
    assert_problem(await casa.get(f"/referrals/{referral_id}/receipt?format=doc", headers=staff), 422, "validation")
    async with httpx.AsyncClient(base_url=audit_url) as audit:
        unknown = await audit.get("/receipts/no-such-referral", headers=staff)
    assert_problem(unknown, 404, "referral-not-found")
