"""The results of a run: every figure of the performance table with its raw reference and
its target, memory, CPU, where the CPU goes, and the end-of-run checks; as text and JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Figure:
    name: str
    measured: str
    reference: str  # the raw reference measured in the same run, or ""
    ratio: float | None
    target: str
    met: bool | None  # None: the target is stated at a size this run did not reach


def _num(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return f"{text}{unit}"


def _noted(what: str, measured: str) -> Figure:
    """A figure measured for what it explains, with no reference and no target."""
    return Figure(what, measured, "", None, "", None)


def _floor(q: dict[str, Any]) -> list[Figure]:
    """The audit's HTTP floor beside the proof (runs before it was measured have none)."""
    if "http_floor_ms" not in q:
        return []
    return [
        _noted(
            "the audit's HTTP floor, same client: GET /healthz (no token, no read)",
            f"p50 {_num(q['http_floor_ms']['p50'])} ms, p95 {_num(q['http_floor_ms']['p95'])} ms",
        )
    ]


def _one_pair(one: Mapping[str, Any] | None) -> list[Figure]:
    """The flow between two agencies only, on the same network (runs before it was measured,
    and quick ones, have none)."""
    if not one:
        return []
    return [
        _noted(
            f"the same between two agencies only ({one['pair'][0]}, {one['pair'][1]}), on the same network:"
            " referrals per second, CPU per referral",
            f"{_num(one['per_second'])}/s, {_num(one['cpu_ms_per_referral'])} ms",
        )
    ]


def _cores(flow: Mapping[str, Any]) -> list[Figure]:
    """How busy the machine was during the flow, what shares its cores with the services,
    and the rates those cores allow at the CPU each referral costs (runs before it was
    measured have none)."""
    if "busy_cores" not in flow:
        return []
    cores = flow["cores"]
    services = flow["cpu_ms_per_referral"]
    shared = flow["nats_cpu_ms_per_referral"] + flow["client_cpu_ms_per_referral"]
    return [
        _noted(
            f"the machine during the flow: busy cores (of {cores}); CPU per referral of NATS and of the bench's"
            " client, on the same cores; the rate the cores allow at these costs, with NATS and the client and"
            " without them",
            f"{_num(flow['busy_cores'])} busy; NATS {_num(flow['nats_cpu_ms_per_referral'])} ms, client"
            f" {_num(flow['client_cpu_ms_per_referral'])} ms; {_num(1000 * cores / (services + shared))}/s,"
            f" {_num(1000 * cores / services)}/s",
        )
    ]


def _first(first: Mapping[str, Any] | None) -> list[Figure]:
    """The flow right after the start, before the measured one (runs before it was measured,
    and quick ones, have none)."""
    if not first:
        return []
    return [
        _noted(
            f"the first {first['referrals']:,} referrals after the start, the same way (statements compiled,"
            " directory entries and keys fetched for the first time): referrals per second, CPU per referral",
            f"{_num(first['per_second'])}/s, {_num(first['cpu_ms_per_referral'])} ms",
        )
    ]


def _signed(signed: dict[str, Any] | None, audit: dict[str, Any]) -> list[Figure]:
    """The audit against the raw pipeline that also verifies each message's Ed25519
    signature (runs before it was measured have none)."""
    if signed is None:
        return []
    return [
        Figure(
            "the same vs the raw pipeline verifying each message's signature too (Ed25519, PyNaCl),"
            " as any consumer that trusts nothing on the wire must",
            f"{_num(audit['events_per_second'])}/s",
            f"{_num(signed['events_per_second'])}/s",
            round(audit["events_per_second"] / signed["events_per_second"], 3),
            "",
            None,
        ),
        Figure(
            "the same, in CPU per event",
            f"{audit['cpu_ms_per_event']:.3f} ms",
            f"{signed['cpu_ms_per_event']:.3f} ms",
            round(signed["cpu_ms_per_event"] / audit["cpu_ms_per_event"], 3),
            "",
            None,
        ),
    ]


def _replayed(replayed: dict[str, Any] | None, audit: dict[str, Any]) -> list[Figure]:
    """The audit against its own writes done again by sqlite3 alone (SQLite runs only; runs
    before it was measured have none): what of its CPU the database's work explains."""
    if replayed is None:
        return []
    return [
        Figure(
            "the same vs the audit's own writes done again by sqlite3 alone, into an empty database of its schema"
            " (every entry with its indexes, the tree nodes, the running totals; batches as the audit's)",
            f"{audit['cpu_ms_per_event']:.3f} ms",
            f"{replayed['cpu_ms_per_entry']:.3f} ms",
            round(replayed["cpu_ms_per_entry"] / audit["cpu_ms_per_event"], 3),
            "",
            None,
        )
    ]


def figures(run: dict[str, Any]) -> list[Figure]:
    """The issue's table for one database, from what the run measured."""
    flow, backlog, q = run["flow"], run["backlog"], run["queries"]
    raw_rate = run["raw_ingest"]["events_per_second"]
    audit, notifications = backlog["audit"], backlog["notifications"]
    audit_rate = audit["events_per_second"]
    ratio = audit_rate / raw_rate
    cpu_ratio = run["raw_ingest"]["cpu_ms_per_event"] / audit["cpu_ms_per_event"]
    by_rate = {s["rate"]: s for s in run["steady"]}
    at_target = by_rate.get(50.0) or by_rate[max(by_rate)]
    size = q["trail_size"]
    at_million = size >= 1_000_000

    def below(value: float, limit: float) -> bool | None:
        return value <= limit if at_million else None if value <= limit else False

    out = [
        Figure(
            f"audit ingest of {backlog['events']:,} events published at once, vs the same messages consumed raw"
            " (nats-py fetch + sqlite3 hash-chained append, batches of 256)",
            f"{_num(audit_rate)}/s",
            f"{_num(raw_rate)}/s",
            round(ratio, 3),
            ">= 0.5x the raw pipeline, >= 10k events/s",
            ratio >= 0.5 and audit_rate >= 10_000,
        ),
        Figure(
            "the same, in CPU per event (the audit process; the raw pipeline's process)",
            f"{audit['cpu_ms_per_event']:.3f} ms",
            f"{run['raw_ingest']['cpu_ms_per_event']:.3f} ms",
            round(cpu_ratio, 3),
            "",
            None,
        ),
        *_signed(run["raw_ingest"].get("signed"), audit),
        *_replayed(run["raw_ingest"].get("replayed_writes"), audit),
        Figure(
            f"referrals sent over every agency pair, {flow['concurrency']} at a time,"
            " until received back at the sender",
            f"{_num(flow['per_second'])}/s ({flow['referrals']:,} referrals)",
            "",
            None,
            ">= 150/s",
            flow["per_second"] >= 150,
        ),
        Figure(
            "CPU per referral across all services and their database server, NATS apart (until audit and"
            " notifications applied it too)",
            f"{_num(flow['cpu_ms_per_referral'])} ms",
            "",
            None,
            "(follows from >= 150/s on 2 cores: <= 13 ms)",
            flow["cpu_ms_per_referral"] <= 13,
        ),
        *_cores(flow),
        *_first(run.get("first_flow")),
        *_one_pair(run.get("flow_one_pair")),
    ]
    for rate, s in sorted(by_rate.items()):
        lat = s["received_at_sender_ms"]
        hops = s.get("hops_ms", {})  # each hop's own tail (runs before they were measured have none)
        by_hop = ", ".join(f"{name.replace('_', ' ')} {_num(h['p99'])}" for name, h in hops.items())
        out.append(
            Figure(
                f"create -> received at the sender, {_num(rate)}/s (achieved {_num(s['achieved_rate'])}/s)",
                f"p50 {_num(lat['p50'])} ms, p99 {_num(lat['p99'])} ms"
                + (f" (p99 by hop: {by_hop} ms)" if by_hop else ""),
                "",
                None,
                "p99 <= 150 ms at 50/s",
                lat["p99"] <= 150 if rate >= 50 else None,
            )
        )
    inbox = at_target["inbox_item_ms"]
    made = flow["events"] / flow["seconds"]  # until the last referral was received back
    out += [
        Figure(
            f"notifications: {notifications['events']:,} events of a backlog applied (inbox items, e-mails and"
            " webhooks queued)",
            f"{_num(notifications['events_per_second'])} events/s"
            f" ({notifications['cpu_ms_per_event']:.1f} ms CPU each)",
            "",
            None,
            ">= 300 events/s",
            notifications["events_per_second"] >= 300,
        ),
        Figure(
            f"notifications: the {flow['events']:,} events of the flow cleared (counted from the flow's start;"
            " the flow made them at its own rate)",
            f"{_num(flow['notifications_events_per_second'])} events/s"
            f" in {_num(flow['notifications_cleared_seconds'])} s, made at {_num(made)} events/s;"
            f" {_num(max(flow['notifications_cleared_seconds'] - flow['seconds'], 0.0))} s after the last"
            " referral was received back",
            "",
            None,
            ">= 300 events/s",
            # Not judged when the flow made its events more slowly than that.
            flow["notifications_events_per_second"] >= 300 if made >= 300 else None,
        ),
        Figure(
            f"event -> inbox item at {_num(at_target['rate'])} referrals/s",
            f"p50 {_num(inbox['p50'])} ms, p99 {_num(inbox['p99'])} ms",
            "",
            None,
            "p99 <= 500 ms at 50 referrals/s",
            inbox["p99"] <= 500 if at_target["rate"] >= 50 else None,
        ),
        Figure(
            f"inclusion proof over HTTP at {size:,} entries",
            f"p50 {_num(q['inclusion_proof_ms']['p50'])} ms, p95 {_num(q['inclusion_proof_ms']['p95'])} ms",
            "",
            None,
            "<= 5 ms at 1M entries",
            below(q["inclusion_proof_ms"]["p50"], 5),
        ),
        *_floor(q),
        Figure(
            f"trail query with a filter at {size:,} entries",
            f"p95 {_num(q['trail_query_ms']['p95'])} ms (max {_num(q['trail_query_ms']['max'])} ms)",
            "",
            None,
            "p95 <= 50 ms at 1M entries",
            below(q["trail_query_ms"]["p95"], 50),
        ),
        Figure(
            f"/indicators?group_by=pair at {size:,} entries",
            f"{_num(q['indicators_pair_ms']['p50'])} ms",
            "",
            None,
            "<= 300 ms at 1M entries",
            below(q["indicators_pair_ms"]["p50"], 300),
        ),
        Figure(
            f"offline verify of the export ({size:,} entries) vs a raw SHA-256 chain over the same lines",
            f"{_num(q['offline_verify_entries_per_second'])}/s",
            f"{_num(q['raw_chain_entries_per_second'])}/s",
            q["offline_verify_vs_raw"],
            ">= 0.6x the raw chain",
            q["offline_verify_vs_raw"] >= 0.6,
        ),
    ]
    if "raw_merkle_entries_per_second" in q:  # runs before it was measured have none
        out.append(
            Figure(
                "the same vs a raw RFC 9162 recompute over the same lines (a leaf hash per entry and the"
                " nodes it completes, no parsing)",
                f"{_num(q['offline_verify_entries_per_second'])}/s",
                f"{_num(q['raw_merkle_entries_per_second'])}/s",
                q["offline_verify_vs_raw_merkle"],
                "",
                None,
            )
        )
    return out


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return lines


def _met(figure: Figure) -> str:
    if not figure.target:
        return ""
    return {True: "yes", False: "NO", None: "n/a"}[figure.met]


def _profile_lines(name: str, profile: dict[str, Any], top: int) -> list[str]:
    def listing(key: str) -> str:
        return ", ".join(f"{k} {v}%" for k, v in profile.get(key, [])[:top])

    return [
        f"{name}: {profile['samples']} samples running ({profile['waiting_samples']} waiting, left out)",
        f"  packages on the stack: {listing('inclusive_packages_pct')}",
        f"  packages at the top:   {listing('self_packages_pct')}",
        f"  functions at the top:  {listing('self_functions_pct')}",
        f"  innermost function of ours: {listing('innermost_crocevia_function_pct')}",
        f"  functions of ours on the stack: {listing('inclusive_crocevia_function_pct')}",
    ]


def run_text(database: str, run: dict[str, Any]) -> list[str]:
    if "error" in run:
        return [f"## {database}", "", f"The run failed: {run['error']}", ""]
    rows = [["figure", "measured", "raw reference, same run", "ratio", "target", "met"]]
    for f in figures(run):
        ratio = f"{f.ratio:.2f}x" if f.ratio is not None else ""
        rows.append([f.name, f.measured, f.reference, ratio, f.target, _met(f)])
    lines = [f"## {database} (version {run['database_version']})", "", *_table(rows)]
    lines += ["(met n/a: the target is stated at a size or a rate this run did not reach)", ""]
    memory = [["service", "idle RSS MiB", "peak RSS MiB under load", "CPU s in the flow"]]
    for name in [*run["memory_idle_mib"], *(k for k in run["flow"]["cpu_seconds"] if k.startswith("postgresql"))]:
        cpu = run["flow"]["cpu_seconds"].get(name)
        memory.append(
            [
                name,
                _num(run["memory_idle_mib"].get(name)),
                _num(run["memory_peak_mib"].get(name)),
                "" if cpu is None else f"{cpu:.1f}",
            ]
        )
    lines += [*_table(memory), ""]
    flow, backlog = run["flow"], run["backlog"]
    audit, notifications = backlog["audit"], backlog["notifications"]
    start_cpu = sum(run["start_cpu_seconds"].values())
    lines += [
        f"start: {run['start_seconds']:.0f} s until every service answered /readyz ({start_cpu:.0f} s of CPU in all,"
        f" {start_cpu / len(run['start_cpu_seconds']):.1f} s per service)",
        f"idle CPU of all services together: {run['idle_cpu_percent']:.1f}% of one core",
        f"flow: {flow['referrals']} referrals posted in {flow['posted_seconds']:.1f} s, all received back at their"
        f" senders after {flow['seconds']:.1f} s; {flow['events']} events; the audit had applied them after"
        f" {flow['audit_cleared_seconds']:.1f} s, notifications after {flow['notifications_cleared_seconds']:.1f} s",
        f"backlog: {backlog['referrals']} referrals sent in {backlog['sent_seconds']:.1f} s with the audit and"
        f" notifications paused (the nodes: {backlog['nodes_cpu_ms_per_referral']:.0f} ms of CPU per referral);"
        f" the audit, resumed alone, fetched within {1000 * audit['first_fetch_seconds']:.0f} ms and applied"
        f" {audit['events']} events in {audit['seconds']:.2f} s ({audit['cpu_ms_per_event']:.2f} ms CPU each);"
        f" notifications applied {notifications['events']} in {notifications['seconds']:.1f} s"
        f" ({notifications['cpu_ms_per_event']:.1f} ms CPU each)",
        f"raw pipeline: the same {run['raw_ingest']['events']} messages in {run['raw_ingest']['seconds']:.3f} s",
        "queries ran one at a time with the nodes idle and notifications paused",
    ]
    lines.append(f"/verify over HTTP: {run['queries']['verify_http_ms']:,.0f} ms, ok: {run['queries']['verify_ok']}")
    lines.append("trail queries by filter (ms): " + _by_filter(run["queries"]["trail_query_ms_by_filter"]))
    lines.append(f"indicators by pair: {run['queries']['indicators_groups']} groups")
    lines += ["", "Checks at the end of the run:"]
    lines += [f"  {k}: {v}" for k, v in run["checks"].items()]
    lines += ["", "Where the CPU goes (py-spy, % of the process's samples):"]
    for name, profile in run["profiles"].items():
        lines += _profile_lines(name, profile, 8)
    return [*lines, ""]


def _by_filter(kinds: dict[str, dict[str, float]]) -> str:
    return "; ".join(f"{k} p50 {v['p50']:.0f} p95 {v['p95']:.0f}" for k, v in kinds.items())


def text(results: dict[str, Any], describe: Callable[[dict[str, Any]], list[str]]) -> str:
    lines = describe(results)
    for database, run in results["runs"].items():
        lines += run_text(database, run)
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], output: Path, describe: Callable[[dict[str, Any]], list[str]]) -> str:
    """Write ``<output>.txt`` and ``<output>.json``; the text."""
    output.parent.mkdir(parents=True, exist_ok=True)
    body = text(results, describe)
    output.with_suffix(".txt").write_text(body)
    output.with_suffix(".json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return body
