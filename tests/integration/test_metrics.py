"""Every service exposes what an operator watches at /metrics, in the Prometheus text format
(read here with Prometheus' own parser): HTTP by route template and status, the outbox, each
consumer's progress, dead letters by reason, readiness."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nats
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.referrals.conftest import referral_body
from tests.kit.services import eventually

CASA, CPIA = "pioltello-casa", "cpia2"
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


async def scrape(client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    answer = await client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def test_a_node_counts_its_requests_outbox_consumer_and_dead_letters(node_factory, tokens, nats_url):
    async with node_factory(CASA) as casa, node_factory(CPIA) as cpia:
        sent = await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))
        rid = sent.json()["id"]
        await casa.get(f"/referrals/{rid}", headers=tokens.bearer(CASA))
        nc = await nats.connect(nats_url)
        await nc.jetstream().publish("referral.v1.pioltello-casa.cpia2.requested", b"{not json")
        await nc.close()

        async def settled():
            at_cpia = await scrape(cpia)
            done = value(
                at_cpia,
                "crocevia_dead_letters_total",
                consumer="referrals-cpia2",
                reason="payload is not JSON (at byte N)",
            )
            return done == 1 and at_cpia

        at_cpia = await eventually(settled, timeout=20)
        at_casa = await scrape(casa)
    assert value(at_casa, "crocevia_http_requests_total", method="POST", route="/referrals", status="201") == 1
    assert (
        value(at_casa, "crocevia_http_requests_total", method="GET", route="/referrals/{referral_id}", status="200")
        == 1
    )
    assert not [k for k in at_casa if rid in str(k)], "a route is a template, never a path with an id"
    assert value(at_cpia, "crocevia_consumer_applied_total", consumer="referrals-cpia2") == 1
    assert value(at_cpia, "crocevia_consumer_pending", consumer="referrals-cpia2") == 0
    assert value(at_casa, "crocevia_outbox_backlog") == 0 and value(at_casa, "crocevia_outbox_oldest_age_seconds") == 0
    for check in ("database", "nats", "outbox", "consumers"):
        assert value(at_cpia, "crocevia_ready", check=check) == 1


async def test_every_metric_the_dashboard_and_the_alerts_use_exists(node_factory):
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    board = json.loads((DEPLOY / "grafana" / "crocevia.json").read_text())
    expressions = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    expressions += [t["expr"] for p in board["panels"] for t in p["targets"]]
    used = {name for expr in expressions for name in re.findall(r"\bcrocevia_[a-z_]+", expr)}
    async with node_factory(CPIA) as node:
        text = (await node.get("/metrics")).text
    offered: set[str] = set()
    for family in text_string_to_metric_families(text):
        offered |= {family.name, *(s.name for s in family.samples)}
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}.get(family.type, ())
        offered |= {family.name + suffix for suffix in suffixes}
    assert len(used) >= 8
    assert used - offered == set()
