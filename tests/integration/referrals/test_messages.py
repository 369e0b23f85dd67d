"""Messages and attachments between the two agencies of a referral, over real NATS, on SQLite
and PostgreSQL: a message with a PDF arrives once at the other node with the same bytes, and is
marked read there; bad input is a problem and stores and publishes nothing; the thread and its
files are erased at both nodes when consent is withdrawn; nothing of them travels in clear."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from crocevia_contracts.stream import attachments_bucket
from tests.integration.referrals.conftest import referral_body
from tests.kit.services import eventually

CASA, CPIA = "pioltello-casa", "cpia2"
PDF = b"%PDF-1.7\n" + b"Certificato ISEE di Amina K., reddito 7.200 euro\n" * 400 + b"%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
TEXT = "Amina K. can attend on Tuesday evenings; her ISEE certificate is attached."


async def received_referral(casa, cpia, tokens) -> str:
    rid = (await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))).json()["id"]

    async def there():
        return (await cpia.get(f"/referrals/{rid}", headers=tokens.bearer(CPIA))).status_code == 200

    await eventually(there)
    return rid


async def thread_at(client, tokens, agency, rid) -> dict:
    r = await client.get(f"/referrals/{rid}/messages", headers=tokens.bearer(agency))
    assert r.status_code == 200, r.text
    return r.json()


async def objects_in(js, agency: str) -> int:
    """How many objects still have chunks in ``agency``'s attachments bucket."""
    bucket = attachments_bucket(agency)
    info = await js.stream_info(f"OBJ_{bucket}", subjects_filter=f"$O.{bucket}.C.>")
    return len(info.state.subjects or {})


def form(text: str, *files: tuple[str, bytes, str]) -> dict:
    return {"data": {"text": text}, "files": [("files", f) for f in files]}


async def test_a_message_with_a_pdf_arrives_once_with_the_same_bytes_and_is_read_there(
    node_factory, tokens, database_url
):
    async with node_factory(CASA) as casa, node_factory(CPIA, database_url=database_url) as cpia:
        rid = await received_referral(casa, cpia, tokens)
        sent = await casa.post(
            f"/referrals/{rid}/messages",
            **form(TEXT, ("isee.pdf", PDF, "application/octet-stream")),
            headers=tokens.bearer(CASA),
        )
        assert sent.status_code == 201, sent.text
        message_id = sent.json()["id"]

        async def arrived():
            thread = await thread_at(cpia, tokens, CPIA, rid)
            return thread if thread["messages"] else None

        thread = await eventually(arrived)
        [message] = thread["messages"]
        assert message["id"] == message_id and message["text"] == TEXT and message["by_agency"] == CASA
        assert not message["ours"] and message["read_at"] is None and thread["unread"] == 1
        [attached] = message["attachments"]
        assert attached["media_type"] == "application/pdf", "judged by its bytes, not the type it was sent with"
        assert attached["size"] == len(PDF) and attached["sha256"] == hashlib.sha256(PDF).hexdigest()
        got = await cpia.get(f"/referrals/{rid}/attachments/{attached['id']}", headers=tokens.bearer(CPIA))
        assert got.status_code == 200 and got.content == PDF
        assert got.headers["content-type"] == "application/pdf"
        assert "isee.pdf" in got.headers["content-disposition"]

        marked = await cpia.post(f"/referrals/{rid}/messages/{message_id}/read", headers=tokens.bearer(CPIA))
        assert marked.json() == {"marked": 1}
        again = await cpia.post(f"/referrals/{rid}/messages/read", headers=tokens.bearer(CPIA))
        assert again.json() == {"marked": 0}
        after = await thread_at(cpia, tokens, CPIA, rid)
        assert after["unread"] == 0 and after["messages"][0]["read_at"] is not None

        mine = await thread_at(casa, tokens, CASA, rid)
        assert [m["ours"] for m in mine["messages"]] == [True]
        kept = mine["messages"][0]["attachments"][0]
        own = await casa.get(f"/referrals/{rid}/attachments/{kept['id']}", headers=tokens.bearer(CASA))
        assert own.content == PDF, "the sender keeps its copy"

        # Once kept at the receiver, the object leaves its bucket.
        js = node_factory.apps[CPIA].state.runtime.jetstream()

        async def none_left():
            return await objects_in(js, CPIA) == 0

        assert await eventually(none_left)

        # The person's access request lists the messages and their files.
        asked = await cpia.get("/subject-access", params={"person": "Amina"}, headers=tokens.bearer(CPIA, "dpo"))
        [exported] = asked.json()["messages"]
        assert exported["referral_id"] == rid and exported["messages"][0]["text"] == TEXT
        assert [(a["name"], a["media_type"], a["size"]) for a in exported["messages"][0]["attachments"]] == [
            ("isee.pdf", "application/pdf", len(PDF))
        ]
        printable = await cpia.get(
            "/subject-access", params={"person": "Amina", "format": "html"}, headers=tokens.bearer(CPIA, "dpo")
        )
        assert f"isee.pdf · application/pdf · {len(PDF)} B" in printable.text

        # Applied once: one message at the receiver, whatever the redeliveries.
        history = (await cpia.get(f"/referrals/{rid}", headers=tokens.bearer(CPIA))).json()["history"]
        assert [h["event"] for h in history].count("message-sent") == 1


async def published_messages(js) -> int:
    info = await js.stream_info("REFERRALS", subjects_filter="referral.v1.*.*.message-sent")
    return sum((info.state.subjects or {}).values())


@pytest.mark.parametrize(
    ("sent", "status", "problem"),
    [
        (form("see the file", ("isee.pdf", b"GIF89a not a pdf at all", "application/pdf")), 422, "attachment-type"),
        (form("", ("big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024), "application/pdf")), 422, "attachment-too-large"),
        ({"json": {"text": "x" * 5001}}, 422, "message-too-long"),
        ({"json": {"text": "   "}}, 422, "message-empty"),
        ({"json": {"text": "hi", "to": "someone"}}, 400, "invalid-message"),
        ({"content": b"text=hi", "headers": {"content-type": "multipart/form-data"}}, 400, "invalid-message"),
    ],
    ids=["type", "too-large", "too-long", "empty", "json-shape", "no-boundary"],
)
async def test_bad_input_is_a_problem_and_nothing_is_stored_nor_published(
    node_factory, tokens, database_url, sent, status, problem
):
    async with node_factory(CASA, database_url=database_url) as casa, node_factory(CPIA) as cpia:
        rid = await received_referral(casa, cpia, tokens)
        headers = {**sent.pop("headers", {}), **tokens.bearer(CASA)}
        r = await casa.post(f"/referrals/{rid}/messages", **sent, headers=headers)
        assert r.status_code == status, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"] == f"/problems/{problem}"
        js = node_factory.apps[CASA].state.runtime.jetstream()
        assert (await thread_at(casa, tokens, CASA, rid))["messages"] == []
        assert await published_messages(js) == 0
        info = await js.stream_info(f"OBJ_{attachments_bucket(CPIA)}")
        assert info.state.messages == 0, "no file was shipped"


async def test_a_body_past_every_file_at_its_largest_is_refused_before_it_is_read(node_factory, tokens):
    async with node_factory(CASA) as casa:
        headers = {
            **tokens.bearer(CASA),
            "content-type": "multipart/form-data; boundary=x",
            "content-length": "99999999",
        }
        r = await casa.post("/referrals/0195e0a4-7b7e-7c4d-9f00-00000000cafe/messages", content=b"", headers=headers)
        assert r.status_code == 413 and r.json()["type"] == "/problems/payload-too-large"


def sqlite_bytes(path: Path) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def test_withdrawn_consent_erases_the_messages_and_their_files_at_both_nodes(
    node_factory, tokens, database_url, tmp_path
):
    async with node_factory(CASA) as casa, node_factory(CPIA, database_url=database_url) as cpia:
        rid = await received_referral(casa, cpia, tokens)
        sent = await casa.post(
            f"/referrals/{rid}/messages",
            **form(TEXT, ("isee.pdf", PDF, "application/pdf")),
            headers=tokens.bearer(CASA),
        )
        assert sent.status_code == 201, sent.text
        reply = await cpia.post(
            f"/referrals/{rid}/messages", json={"text": "Thank you, Tuesday it is."}, headers=tokens.bearer(CPIA)
        )
        assert reply.status_code == 201, reply.text

        async def both_there():
            theirs, ours = await thread_at(cpia, tokens, CPIA, rid), await thread_at(casa, tokens, CASA, rid)
            return len(theirs["messages"]) == len(ours["messages"]) == 2 and (theirs, ours)

        theirs, _ = await eventually(both_there)
        file_id = next(m for m in theirs["messages"] if m["attachments"])["attachments"][0]["id"]
        assert (await casa.post(f"/referrals/{rid}/withdraw-consent", headers=tokens.bearer(CASA))).status_code == 200

        async def erased(client, agency):
            thread = await thread_at(client, tokens, agency, rid)
            gone = all(m["text"] is None and m["attachments"] == [] for m in thread["messages"])
            return gone and thread

        for client, agency in ((cpia, CPIA), (casa, CASA)):
            thread = await eventually(lambda c=client, a=agency: erased(c, a))
            assert len(thread["messages"]) == 2 and not thread["may_write"], "the facts stay, not the content"
            missing = await client.get(f"/referrals/{rid}/attachments/{file_id}", headers=tokens.bearer(agency))
            assert missing.status_code == 404 and missing.json()["type"] == "/problems/attachment-not-found"
        refused = await casa.post(f"/referrals/{rid}/messages", json={"text": "one more"}, headers=tokens.bearer(CASA))
        assert refused.status_code == 422 and refused.json()["type"] == "/problems/messages-closed"
        casa_file = tmp_path / f"{CASA}.db"
        assert TEXT.encode() not in sqlite_bytes(casa_file) and b"Certificato ISEE" not in sqlite_bytes(casa_file)


async def test_an_object_changed_in_the_bucket_is_a_dead_letter_with_the_reason_and_nothing_is_kept(
    node_factory, tokens, nats_url
):
    async with node_factory(CASA) as casa:
        async with node_factory(CPIA) as cpia:
            rid = await received_referral(casa, cpia, tokens)
        js = node_factory.apps[CASA].state.runtime.jetstream()
        sent = await casa.post(
            f"/referrals/{rid}/messages", **form(TEXT, ("scan.png", PNG, "image/png")), headers=tokens.bearer(CASA)
        )
        assert sent.status_code == 201, sent.text
        store = await js.object_store(attachments_bucket(CPIA))
        [shipped] = await store.list(ignore_deletes=True)
        await store.put(shipped.name, b"\x89PNG\r\n\x1a\n" + b"another picture" * 40)  # same name, other bytes

        async with node_factory(CPIA) as cpia:
            letters = await js.subscribe("deadletter.referrals-cpia2", stream="DEADLETTERS", ordered_consumer=True)
            letter = json.loads((await letters.next_msg(timeout=10)).data)
            assert letter["reason"] == "attachment 1: the object does not open with its key"
            assert (await thread_at(cpia, tokens, CPIA, rid))["messages"] == []
