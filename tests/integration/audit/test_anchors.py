"""A node's anchor of its access log, over real NATS into the audit on SQLite and PostgreSQL:
taken from the agency it anchors, signed with that agency's key, appended as an entry with no
referral; one published as or about another agency, unsigned by it, or carrying anything but
counts and a hash, is a dead letter whose reason quotes no value."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from crocevia_common.web.session_cookie import SESSION_COOKIE
from crocevia_contracts.anchors import AccessLogAnchored, AnchorEnvelope, anchor_subject
from tests.integration.audit.wire import jetstream, stored
from tests.integration.audit.wire import signers as wire_signers
from tests.kit.services import eventually

CASA, CPIA = "pioltello-casa", "cpia2"
HEAD = "0f" * 32


def anchor(agency: str, sequence: int, entries: int = 3) -> AnchorEnvelope:
    fact = AccessLogAnchored(agency=agency, entries=entries, head_sha256=HEAD)
    return AnchorEnvelope.build(data=fact, sequence=sequence, time=datetime.now(UTC))


async def test_an_anchor_is_recorded_only_from_the_agency_it_anchors(audit_factory, database_url, nats_url, tokens):
    auditor = tokens.bearer("network", "network-auditor")
    good = anchor(CPIA, 1)
    as_casa = anchor(CPIA, 2).model_copy(update={"source": f"/agencies/{CASA}"})
    about_casa = anchor(CASA, 1)
    with_staff = {**anchor(CPIA, 3).model_dump(mode="json"), "data": {**good.data.model_dump(), "staff": "op-anna"}}
    async with audit_factory(database_url) as audit, jetstream(nats_url) as js:
        parties = await wire_signers(js)
        await parties.of(CASA)  # casa's keys are in the directory: only cpia2's signature is wrong
        sign = parties.headers
        for subject, payload, signer in (
            (anchor_subject(CASA), good.to_json(), CPIA),  # cpia2's anchor on casa's subject
            (anchor_subject(CPIA), as_casa.to_json(), CPIA),  # claims casa as its source
            (anchor_subject(CASA), about_casa.to_json(), CPIA),  # casa's anchor, signed by cpia2
            (anchor_subject(CPIA), json.dumps(with_staff).encode(), CPIA),  # a staff id in clear
            (anchor_subject(CPIA), good.to_json(), CPIA),
        ):
            await js.publish(
                subject,
                payload,
                headers=await sign(signer, payload),
            )

        async def recorded():
            r = await audit.get("/trail", params={"event": "access-log-anchored"}, headers=auditor)
            return r.json()["items"]

        [entry] = await eventually(recorded, timeout=20)

        async def four_letters():
            found = await stored(js, "DEADLETTERS", "deadletter.audit-notices")
            return len(found) >= 4 and found

        letters = await eventually(four_letters, timeout=30)
        audit.cookies.set(SESSION_COOKIE, tokens.session(CPIA, "auditor"))
        page = await audit.get("/ui/trail", params={"event": "access-log-anchored", "lang": "en"})
        audit.cookies.clear()
        own = await audit.get("/trail", params={"event": "access-log-anchored"}, headers=tokens.bearer(CPIA, "auditor"))
        other = await audit.get(
            "/trail", params={"event": "access-log-anchored"}, headers=tokens.bearer(CASA, "auditor")
        )
    assert entry["event_id"] == good.id and entry["source"] == f"/agencies/{CPIA}"
    assert (entry["from_agency"], entry["referral_id"], entry["event"]) == (CPIA, "", "access-log-anchored")
    assert [i["event_id"] for i in own.json()["items"]] == [good.id]
    assert other.json()["items"] == []
    assert page.status_code == 200 and f'data-event-id="{good.id}"' in page.text
    assert "Access log anchored" in page.text and 'href="/ui/referrals/"' not in page.text
    reasons = [headers["Crocevia-Reason"] for _, headers in letters]
    assert reasons[0] == "source names another agency than the subject's"
    assert reasons[1] == "source names another agency than the subject's"
    assert reasons[2].startswith("refused:")  # cpia2's signature is not casa's key
    assert reasons[3].startswith("invalid anchor at data.staff")
    assert not any("op-anna" in r or HEAD in r for r in reasons)
