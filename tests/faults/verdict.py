"""What must hold once every fault has been taken and the load has stopped, with the counts
and hashes it compared: every referral made once per key and in the same status at both
nodes, every event of the streams in the trail exactly once with no gap in any source's
sequence, ``/verify`` ok, the copies seen as duplicates and nothing else as an anomaly, no
dead letter, and one in-app notification per person and event."""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from bench.net import queries
from bench.net.bus import REFERRALS
from bench.net.load import Context
from crocevia_contracts.stream import NOTICES
from tests.faults.progress import verify_ok


def digest(lines: list[str]) -> str:
    """A short SHA-256 of the sorted lines: two sides agree when their digests do."""
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()[:16]


async def referrals(ctx: Context) -> dict[str, Any]:
    """Both nodes of every referral hold it, in the same status; each key made one."""
    views = {a: {r["id"]: r["status"] for r in await ctx.client.referrals(a)} for a in ctx.client.nodes}
    senders = [f"{s.id} {views[s.sender].get(s.id)}" for s in ctx.sent]
    receivers = [f"{s.id} {views[s.receiver].get(s.id)}" for s in ctx.sent]
    held = sum(len(v) for v in views.values())
    return {
        "referrals made": len(ctx.sent),
        "distinct referrals": len({s.id for s in ctx.sent}),
        "rows at the nodes": held,
        "status hash at senders": digest(senders),
        "status hash at receivers": digest(receivers),
        "ok": held == 2 * len(ctx.sent) == 2 * len({s.id for s in ctx.sent}) and senders == receivers,
    }


async def trail(ctx: Context, landed_copies: int) -> dict[str, Any]:
    """Every distinct event of the streams once in the trail, no gap, ``/verify`` ok."""
    streamed = await ctx.bus.event_ids(REFERRALS) + await ctx.bus.event_ids(NOTICES.name)
    distinct = {i.split(".copy-")[0] for i in streamed}
    try:
        await queries.checkpoint_covering(ctx, len(distinct), timeout=60)
    except TimeoutError:  # the counts below say what the trail lacks
        pass
    with tempfile.TemporaryDirectory() as folder:
        exported = await queries.export(ctx, Path(folder) / "trail.jsonl")
    in_trail = Counter(exported)
    auditor = ctx.client.auditor()
    gaps = (await ctx.client.http.get(f"{ctx.client.audit}/gaps", headers=auditor)).json()["gaps"]
    verified, said = await verify_ok(ctx)
    anomalies = (
        await ctx.client.http.get(f"{ctx.client.audit}/anomalies", params={"limit": 1000}, headers=auditor)
    ).json()["anomalies"]
    kinds = Counter(a["kind"] for a in anomalies)
    dead = await ctx.bus.dead_letter_reasons()
    return {
        "messages in the streams": len(streamed),
        "distinct events": len(distinct),
        "trail entries (to the latest checkpoint)": len(exported),
        "entries twice": sum(1 for n in in_trail.values() if n > 1),
        "events hash in the streams": digest(sorted(distinct)),
        "events hash in the trail": digest(sorted(in_trail)),
        "open gaps": len(gaps),
        "verify": said,
        "duplicates recorded": kinds.get("duplicate", 0),
        "copies landed": landed_copies,
        "other anomalies": sum(n for k, n in kinds.items() if k != "duplicate"),
        "dead letters": "; ".join(f"{n} x {why}" for why, n in sorted(dead.items())) or 0,
        "ok": set(in_trail) == distinct
        and len(exported) == len(distinct)
        and not gaps
        and verified
        and kinds.get("duplicate", 0) == landed_copies
        and len(kinds) <= 1
        and not dead,
    }


async def notifications(ctx: Context) -> dict[str, Any]:
    """The in-app inbox of each agency's operator: one item per referral and event, and
    one for every referral sent to that agency (the only channel the network here has:
    no SMTP server, no webhook)."""
    items = {a: await ctx.client.inbox(a) for a in ctx.client.nodes}
    keys = [f"{a} {i['referral_id']} {i['event']}" for a, listed in items.items() for i in listed]
    twice = sum(1 for n in Counter(keys).values() if n > 1)
    told = {(a, i["referral_id"]) for a, listed in items.items() for i in listed if i["event"] == "requested"}
    untold = [s.id for s in ctx.sent if (s.receiver, s.id) not in told]
    return {
        "inbox items": len(keys),
        "items twice": twice,
        "referrals not in the receiver's inbox": len(untold),
        "inbox hash": digest(keys),
        "ok": twice == 0 and not untold,
    }


def as_text(name: str, counts: dict[str, Any]) -> str:
    shown = ", ".join(f"{k} {json.dumps(v) if isinstance(v, bool) else v}" for k, v in counts.items() if k != "ok")
    return f"  {name}: {'ok' if counts['ok'] else 'FAILED'} ({shown})"
