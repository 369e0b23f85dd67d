"""Messages and attachments under the generated permissions: neither a message's text, nor a
file's bytes, nor any value about the person travels in clear on NATS (the events and the
object store's chunks, as they were published), nor shows in the trail, the notifications,
the dead letters, the logs or the spans; the audit records the message's public facts."""

from __future__ import annotations

import json

from nats.aio.msg import Msg

from tests.security.conftest import CASA, CPIA, PERSONAL, HostileNetwork, everything_said, leaks

TEXT = f"Her tax code is {PERSONAL[0]}; she lives at {PERSONAL[3]}. Tuesday evenings suit her."
FILE_MARK = b"ISEE-7200-EURO-KOWALSKI"
PDF = b"%PDF-1.7\n" + (FILE_MARK + b" " + PERSONAL[0].encode() + b"\n") * 3000 + b"%%EOF\n"


async def test_no_message_text_file_byte_or_person_value_is_in_clear_anywhere(network: HostileNetwork, caplog) -> None:
    seen: list[tuple[str, bytes]] = []

    async def record(msg: Msg) -> None:
        seen.append((msg.subject, msg.data + json.dumps(dict(msg.headers or {})).encode()))

    wire = await network.connect("admin")  # the operator's user hears every subject
    await wire.subscribe(">", cb=record)
    rid = await network.send(CASA, CPIA)
    await network.settled()
    files = [("files", ("isee.pdf", PDF, "application/pdf"))]
    wrote = await network.clients[CASA].post(
        f"/referrals/{rid}/messages", data={"text": TEXT}, files=files, headers=network.tokens.bearer(CASA)
    )
    assert wrote.status_code == 201, wrote.text
    reply = f"Noted: {PERSONAL[1]} on Tuesday."
    answered = await network.clients[CPIA].post(
        f"/referrals/{rid}/messages", json={"text": reply}, headers=network.tokens.bearer(CPIA)
    )
    assert answered.status_code == 201, answered.text
    await network.settled()
    await wire.flush()

    thread = (await network.clients[CPIA].get(f"/referrals/{rid}/messages", headers=network.tokens.bearer(CPIA))).json()
    assert {m["text"] for m in thread["messages"]} == {TEXT, reply}, "both arrived, and read as written"
    chunks = [data for subject, data in seen if subject.startswith(f"$O.attachments-{CPIA}.C.")]
    assert chunks and sum(len(c) for c in chunks) > len(PDF), "the file travelled, encrypted, through the bucket"
    said_on_nats = b"\n".join(data for _, data in seen)
    assert FILE_MARK not in said_on_nats and PDF[:200] not in said_on_nats
    assert TEXT.encode() not in said_on_nats and reply.encode() not in said_on_nats
    assert [value for value in PERSONAL if value.encode() in said_on_nats] == []

    auditor = network.tokens.bearer("x", "network-auditor")
    trail = (await network.clients["audit"].get(f"/trail?referral_id={rid}", headers=auditor)).json()
    assert [e["event"] for e in trail["items"]].count("message-sent") == 2, "the audit records that they were sent"
    indicators = await network.clients["audit"].get("/indicators", headers=auditor)
    assert indicators.status_code == 200, indicators.text
    inbox = (await network.clients["notifications"].get("/inbox", headers=network.tokens.bearer(CPIA))).text
    letters = await network.dead_letters()
    assert letters == []
    for text in (json.dumps(trail), indicators.text, inbox, everything_said(caplog)):
        assert leaks(text) == [] and "Tuesday" not in text and FILE_MARK.decode() not in text
