"""Checkpoints and proofs. They reveal sizes and hashes only, so anyone may ask: a log's
checkpoints are meant to be gossiped, and a verifier needs no account to check them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import PlainTextResponse

from crocevia_audit import views
from crocevia_audit.entrypoints.access import Reader, audit_log, party_of
from crocevia_audit.handlers.proofs import ProofRefused
from crocevia_common.inputs import TreeSize
from crocevia_common.problems import Problem

router = APIRouter(tags=["checkpoints and proofs"])
NOTE = "text/plain; charset=utf-8"


def refused(exc: ProofRefused) -> Problem:
    return Problem(exc.status, exc.slug, "No such proof", exc.detail)


@router.get("/checkpoint", response_class=PlainTextResponse, summary="The latest signed checkpoint (open to anyone)")
async def get_checkpoint(
    request: Request, size: Annotated[TreeSize | None, Query(description="an earlier checkpoint")] = None
) -> PlainTextResponse:
    signed = await views.checkpoint(audit_log(request), size)
    if signed is None:
        raise Problem(
            404,
            "checkpoint-not-found",
            "No such checkpoint",
            "no checkpoint yet" if size is None else f"no checkpoint was signed at size {size}",
        )
    return PlainTextResponse(signed.note, media_type=NOTE, headers={"Crocevia-Tree-Size": str(signed.size)})


@router.get(
    "/checkpoint/key",
    response_class=PlainTextResponse,
    summary="The verifier key of the log's signing key (C2SP vkey, open to anyone)",
)
async def get_key(request: Request) -> PlainTextResponse:
    return PlainTextResponse(audit_log(request).checkpointer.vkey + "\n", media_type=NOTE)


@router.get("/proofs/inclusion", summary="RFC 9162 inclusion proof of an event (auditors; staff: their entries)")
async def get_inclusion(
    request: Request,
    principal: Reader,
    event_id: Annotated[str, Query(min_length=1, max_length=36)],
    tree_size: Annotated[TreeSize | None, Query(ge=1, description="default: the latest checkpoint's")] = None,
) -> dict[str, Any]:
    try:
        return await views.inclusion(audit_log(request), event_id, tree_size, party_of(principal))
    except ProofRefused as exc:
        raise refused(exc) from None


@router.get("/proofs/consistency", summary="RFC 9162 consistency proof between two tree sizes (open to anyone)")
async def get_consistency(
    request: Request,
    old: Annotated[TreeSize, Query(alias="from")],
    new: Annotated[TreeSize, Query(alias="to")],
) -> dict[str, Any]:
    try:
        return await views.consistency(audit_log(request), old, new)
    except ProofRefused as exc:
        raise refused(exc) from None


@router.get(
    "/receipts/{referral_id}",
    summary="A referral's receipt: its request and receipt entries, their inclusion proofs and the checkpoint"
    " (auditors; staff: their agency's referrals)",
)
async def get_receipt(
    request: Request, principal: Reader, referral_id: Annotated[str, Path(min_length=1, max_length=64)]
) -> dict[str, Any]:
    try:
        found = await views.receipt(audit_log(request), referral_id, party_of(principal))
    except ProofRefused as exc:
        raise refused(exc) from None
    return found.model_dump(mode="json")
