"""Integrity for auditors: the latest signed checkpoint, the log's key, gaps, and the
inclusion proofs the page's own script verifies (``/static/integrity.js``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse

from crocevia_audit import views
from crocevia_audit.entrypoints.access import audit_log, party_of
from crocevia_audit.entrypoints.routes.checkpoints import refused
from crocevia_audit.entrypoints.routes.integrity import get_gaps
from crocevia_audit.entrypoints.web.deps import Reader
from crocevia_audit.handlers.proofs import ProofRefused
from crocevia_common.inputs import TreeSize
from crocevia_common.web.i18n import Translator, request_language
from crocevia_common.web.pages import pages_of

router = APIRouter(prefix="/ui")
# What the verifying script says, in the page's language.
SCRIPT_STRINGS = (
    "saved",
    "none_saved",
    "http_error",
    "key_changed",
    "checkpoint_ok",
    "witnessed_ok",
    "not_witnessed",
    "wrong_entry",
    "leaf_mismatch",
    "leaf_ok",
    "inclusion_ok",
    "consistency_ok",
    "running",
    "verified",
    "not_verified",
    "failed_with",
)


@router.get("/integrity", response_class=HTMLResponse)
async def integrity_page(
    request: Request, principal: Reader, event_id: Annotated[str, Query(max_length=36)] = ""
) -> HTMLResponse:
    t = Translator(request_language(request))
    log = audit_log(request)
    checkpoint = await views.checkpoint(log)
    gaps = await get_gaps(request, principal, source=None, status="open")
    body = checkpoint.note.split("\n\n")[0].split("\n") if checkpoint else []
    policy = log.settings.witness_policy()
    return pages_of(request).render(
        request,
        "integrity.html",
        checkpoint=checkpoint,
        body=body,
        vkey=log.checkpointer.vkey,
        witnessed=await views.witnessed(log),
        witness_policy={"keys": [str(key) for key in policy.witnesses], "quorum": policy.quorum},
        gaps=gaps["gaps"],
        event_id=event_id,
        script_strings={k: t(f"verify.{k}") for k in SCRIPT_STRINGS},
    )


@router.get("/proofs/inclusion")
async def inclusion_for_page(
    request: Request,
    principal: Reader,
    event_id: Annotated[str, Query(min_length=1, max_length=36)],
    tree_size: Annotated[TreeSize | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    """The API's inclusion proof, with the session of the page."""
    try:
        return await views.inclusion(audit_log(request), event_id, tree_size, party_of(principal))
    except ProofRefused as exc:
        raise refused(exc) from None
