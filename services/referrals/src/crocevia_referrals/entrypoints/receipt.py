"""A referral's receipt for the person referred (``crocevia_common.tlog.receipt``): the
audit makes it, the node serves it as JSON, a printable page or a PDF. It holds no
personal data, so serving it is not a read of the referral's personal part."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from crocevia_common.problems import Problem
from crocevia_common.tlog.checkpoint import Checkpoint
from crocevia_common.tlog.note import split_note
from crocevia_common.tlog.receipt import Receipt
from crocevia_common.web.i18n import Translator, request_language
from crocevia_common.web.pages import pages_of
from crocevia_common.web.session import PageRefused, session_of
from crocevia_referrals import views
from crocevia_referrals.adapters.audit_client import ReceiptUnavailable, fetch_receipt
from crocevia_referrals.adapters.receipt_pdf import qr_svg, receipt_pdf
from crocevia_referrals.entrypoints.deps import not_found, reads_of
from crocevia_referrals.entrypoints.deps import own_agency as api_own_agency
from crocevia_referrals.entrypoints.http import Staff
from crocevia_referrals.entrypoints.web.deps import Staff as PageStaff
from crocevia_referrals.entrypoints.web.deps import own_agency

router = APIRouter()
Format = Literal["json", "html", "pdf"]
ReferralId = Annotated[str, Path(min_length=1, max_length=64)]


@dataclass(frozen=True)
class Shown:
    """What the page and the PDF show of a receipt."""

    receipt: Receipt
    sender: str
    receiver: str
    service: str
    origin: str
    root: str
    cosigners: list[str]

    @property
    def qr_text(self) -> str:
        """What the QR code holds: the referral and the tree head it is proven in."""
        return f"crocevia-receipt:{self.receipt.referral_id}:{self.receipt.tree_size}:{self.root}"


def _shown(request: Request, receipt: Receipt) -> Shown:
    reads = reads_of(request)
    names, services = views.agency_names(reads), views.service_names(reads)
    text, lines = split_note(receipt.checkpoint)
    head = Checkpoint.from_body(text)
    return Shown(
        receipt=receipt,
        sender=names.get(receipt.sender_agency, receipt.sender_agency),
        receiver=names.get(receipt.receiver_agency, receipt.receiver_agency),
        service=services.get((receipt.receiver_agency, receipt.service_id), receipt.service_id),
        origin=head.origin,
        root=base64.b64encode(head.root).decode(),
        cosigners=[line.name for line in lines if line.name != head.origin],
    )


def _rows(t: Translator, shown: Shown) -> list[tuple[str, str]]:
    r = shown.receipt
    rows = [
        (t("receipt.referral"), r.referral_id),
        (t("receipt.from"), shown.sender),
        (t("receipt.to"), shown.receiver),
        (t("receipt.service"), shown.service),
    ]
    for event in r.events:
        rows.append(
            (t(f"receipt.{event.event}"), f"{t.time(event.occurred_at)} ({t('receipt.entry', n=event.leaf_index)})")
        )
    rows += [
        (t("receipt.log"), f"{shown.origin}, {t('receipt.size', n=r.tree_size)}"),
        (t("receipt.root"), shown.root),
        (t("receipt.cosigned"), ", ".join(shown.cosigners) or t("receipt.no-witness")),
    ]
    return rows


async def _answer(request: Request, referral_id: str, bearer: str | None, fmt: Format) -> Response:
    if await views.referral(reads_of(request), referral_id) is None:
        raise not_found(referral_id)
    receipt = await fetch_receipt(pages_of(request).links().audit, referral_id, bearer)
    if fmt == "json":
        headers = {"Content-Disposition": f'attachment; filename="receipt-{referral_id}.json"'}
        return JSONResponse(receipt.model_dump(mode="json"), headers=headers)
    t = Translator(request_language(request))
    shown = _shown(request, receipt)
    if fmt == "pdf":
        footer = [t("receipt.check"), f"crocevia-audit receipt verify receipt-{referral_id}.json --key <...>"]
        body = receipt_pdf(t("receipt.title"), _rows(t, shown), shown.qr_text, footer)
        headers = {"Content-Disposition": f'inline; filename="receipt-{referral_id}.pdf"'}
        return Response(body, media_type="application/pdf", headers=headers)
    return pages_of(request).render(request, "receipt.html", shown=shown, rows=_rows(t, shown), qr_svg=qr_svg)


def _problem(exc: ReceiptUnavailable) -> Problem:
    return Problem(exc.status, exc.slug, "No receipt now", exc.detail)


@router.get(
    "/referrals/{referral_id}/receipt",
    tags=["referrals"],
    summary="The person's receipt of the referral, without personal data (JSON, HTML or PDF)",
    response_model=None,
)
async def get_receipt(
    request: Request, principal: Staff, referral_id: ReferralId, format: Annotated[Format, Query()] = "json"
) -> Response:
    api_own_agency(request, principal, referral_id)
    bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip() or None
    try:
        return await _answer(request, referral_id, bearer, format)
    except ReceiptUnavailable as exc:
        raise _problem(exc) from None


@router.get("/ui/referrals/{referral_id}/receipt", include_in_schema=False, response_model=None)
async def receipt_page(
    request: Request, principal: PageStaff, referral_id: ReferralId, format: Annotated[Format, Query()] = "html"
) -> Response:
    own_agency(request, principal)
    session = session_of(request)
    try:
        return await _answer(request, referral_id, session.bearer if session else None, format)
    except Problem as exc:
        raise PageRefused(exc.status, "refused.no-referral", id=referral_id) from None
    except ReceiptUnavailable as exc:
        raise PageRefused(exc.status, "refused.no-receipt", reason=exc.detail) from None
