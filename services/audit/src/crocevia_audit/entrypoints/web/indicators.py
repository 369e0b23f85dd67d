"""Indicators as charts: flows between agencies, time to accept by service, monthly
volumes by domain, targets missed, erasures pending."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from crocevia_audit.entrypoints.access import party_of
from crocevia_audit.entrypoints.routes.indicators import get_indicators
from crocevia_audit.entrypoints.web.charts import Series, bar_chart, column_chart
from crocevia_audit.entrypoints.web.deps import Reader, day_start
from crocevia_common.web.i18n import Translator, request_language
from crocevia_common.web.pages import pages_of

router = APIRouter(prefix="/ui")
PALETTE = ("s1", "s2", "s3", "s4", "s5", "s6", "s7")


async def _groups(
    request: Request, principal: Any, group_by: list[str], since: Any, until: Any
) -> list[dict[str, Any]]:
    answer = await get_indicators(request, principal, group_by=group_by, since=since, until=until, as_of=None)
    groups: list[dict[str, Any]] = answer["groups"]
    return groups


def _pair_label(g: dict[str, Any]) -> str:
    return f"{g['group']['sender_agency']} → {g['group']['receiver_agency']}"


def _service_label(g: dict[str, Any]) -> str:
    return f"{g['group']['receiver_agency']} · {g['group']['service_id']}"


def _flows(t: Translator, pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """Referrals between agencies: accepted, rejected, still waiting."""
    outcome = [Series(t("ind.accepted"), "s1"), Series(t("ind.rejected"), "s2"), Series(t("ind.waiting"), "s4")]
    flows = [
        (_pair_label(g), [g["accepted"], g["rejected"], max(g["requested"] - g["accepted"] - g["rejected"], 0)])
        for g in pairs
    ]
    counted = [Series(t(f"ind.{name}"), "") for name in ("requested", "accepted", "rejected", "completed")]
    flow_table = [(_pair_label(g), [g["requested"], g["accepted"], g["rejected"], g["completed"]]) for g in pairs]
    return {
        "flows_chart": bar_chart("flows", t("ind.flows"), flows, outcome, stacked=True),
        "flows": flows,
        "flow_table": flow_table,
        "counted": counted,
        "outcome": outcome,
    }


def _times_and_targets(t: Translator, services: list[dict[str, Any]]) -> dict[str, Any]:
    """Time to accept or reject by service, and the targets each service missed."""
    speed = [Series(t("ind.median"), "s1"), Series(t("ind.p90"), "s3")]
    decided = [(_service_label(g), g["time_to_accept_or_reject"]) for g in services]
    times = [(label, [d["median_seconds"], d["p90_seconds"]]) for label, d in decided if d["count"]]
    missed_series = [Series(t("ind.missed-receive"), "s2"), Series(t("ind.missed-decide"), "s5")]
    missed = [
        (_service_label(g), [g["targets_missed"]["receive"], g["targets_missed"]["accept_or_reject"]]) for g in services
    ]
    return {
        "times_chart": bar_chart("times", t("ind.times"), times, speed, stacked=False, unit=t.duration),
        "missed_chart": bar_chart("missed", t("ind.missed"), missed, missed_series, stacked=False),
        "times": times,
        "times_table": [(label, [t.duration(v) for v in values]) for label, values in times],
        "missed": missed,
        "speed": speed,
        "missed_series": missed_series,
    }


def _volumes(t: Translator, monthly: list[dict[str, Any]]) -> dict[str, Any]:
    """Referrals requested each month, by domain."""
    months = sorted({g["group"]["month"] for g in monthly})
    domains = sorted({g["group"]["domain"] or "-" for g in monthly})
    by = {(g["group"]["month"], g["group"]["domain"] or "-"): g["requested"] for g in monthly}
    volume_series = [Series(t.code("domain", d), PALETTE[i % len(PALETTE)]) for i, d in enumerate(domains)]
    volumes = [(m, [by.get((m, d), 0) for d in domains]) for m in months]
    return {
        "volumes_chart": column_chart("volumes", t("ind.volumes"), volumes, volume_series),
        "volumes": volumes,
        "volume_series": volume_series,
    }


def _pending(t: Translator, pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """Erasures still pending after a withdrawal of consent."""
    pending = [(_pair_label(g), [g["erasures_pending"]]) for g in pairs if g["erasures_pending"]]
    return {
        "pending_chart": bar_chart(
            "pending", t("ind.pending"), pending, [Series(t("ind.pending"), "s5")], stacked=True
        ),
        "pending": pending,
        "pending_total": sum(g["erasures_pending"] for g in pairs),
    }


@router.get("/indicators", response_class=HTMLResponse)
async def indicators_page(request: Request, principal: Reader) -> HTMLResponse:
    t = Translator(request_language(request))
    since_text, until_text = request.query_params.get("since", ""), request.query_params.get("until", "")
    since, until = day_start(since_text), day_start(until_text, days=1)
    if since and until and since >= until:
        since = until = None
    pairs = await _groups(request, principal, ["pair"], since, until)
    services = await _groups(request, principal, ["service"], since, until)
    monthly = await _groups(request, principal, ["month", "domain"], since, until)
    return pages_of(request).render(
        request,
        "indicators.html",
        since=since_text,
        until=until_text,
        pairs=pairs,
        services=services,
        party=party_of(principal),
        **_flows(t, pairs),
        **_times_and_targets(t, services),
        **_volumes(t, monthly),
        **_pending(t, pairs),
    )
