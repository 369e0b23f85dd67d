"""A receipt checked in the browser, by anyone who holds one (the person referred, an office
that must see when they were referred): the page's own script (``/static/receipt.js``, with
``merkle.js``) verifies the checkpoint's signature and cosignatures and each entry's
inclusion, against the log's key this page names, then that the latest checkpoint extends
the receipt's. No sign-in: a receipt holds no personal data, and it is not sent back."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from crocevia_audit.entrypoints.access import audit_log
from crocevia_audit.entrypoints.web.integrity import SCRIPT_STRINGS
from crocevia_common.web.i18n import Translator, request_language
from crocevia_common.web.pages import pages_of

router = APIRouter(prefix="/ui")
RECEIPT_STRINGS = ("not_a_receipt", "wrong_tree", "wrong_fact", "no_request", "proven", "still_there", "no_latest")


@router.get("/receipt", response_class=HTMLResponse)
async def receipt_page(request: Request) -> HTMLResponse:
    t = Translator(request_language(request))
    log = audit_log(request)
    policy = log.settings.witness_policy()
    strings = {k: t(f"verify.{k}") for k in SCRIPT_STRINGS} | {k: t(f"receipt-check.{k}") for k in RECEIPT_STRINGS}
    return pages_of(request).render(
        request,
        "receipt_check.html",
        vkey=log.checkpointer.vkey,
        witness_policy={"keys": [str(key) for key in policy.witnesses], "quorum": policy.quorum},
        script_strings=strings,
    )
