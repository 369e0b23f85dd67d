"""The witness's HTTP interface (c2sp.org/tlog-witness): ``POST /add-checkpoint`` for logs,
``GET /<origin hash>/checkpoint`` for monitors, ``GET /key`` for whoever pins the witness."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from crocevia_common.problems import Problem
from crocevia_common.tlog.witness_protocol import ADD_CHECKPOINT, SIZE_MEDIA_TYPE, size_body
from crocevia_witness import views
from crocevia_witness.domain.witnessing import Refusal, SizeMismatch
from crocevia_witness.handlers.add_checkpoint import add_checkpoint
from crocevia_witness.handlers.context import RunningWitness

router = APIRouter(tags=["witness"])
NOTE = "text/plain; charset=utf-8"
_ORIGIN_HASH = re.compile(r"[0-9a-f]{64}")


def _running(request: Request) -> RunningWitness:
    running: RunningWitness = request.app.state.witness
    return running


@router.post(
    ADD_CHECKPOINT,
    response_class=PlainTextResponse,
    summary="Cosign a checkpoint that extends the one this witness cosigned last",
    responses={
        200: {"description": "the cosignature line", "content": {NOTE: {}}},
        409: {"description": "the size this witness holds", "content": {SIZE_MEDIA_TYPE: {}}},
    },
)
async def post_add_checkpoint(request: Request) -> Response:
    running = _running(request)
    try:
        cosignature = await add_checkpoint(running.witness, running.transaction, await request.body())
    except SizeMismatch as refusal:
        # The spec's answer, exactly: the size alone, typed text/x.tlog.size (no charset).
        return Response(size_body(refusal.held_size), status_code=409, headers={"content-type": SIZE_MEDIA_TYPE})
    except Refusal as refusal:
        raise Problem(refusal.status, refusal.slug, refusal.title, refusal.detail) from None
    return PlainTextResponse(f"{cosignature}\n", media_type=NOTE)


@router.get(
    "/{hashed_origin}/checkpoint",
    response_class=PlainTextResponse,
    summary="The checkpoint of a log (SHA-256 of its origin, hex) this witness cosigned last",
)
async def get_checkpoint(request: Request, hashed_origin: str) -> PlainTextResponse:
    note = (
        await views.cosigned_checkpoint(_running(request), hashed_origin)
        if _ORIGIN_HASH.fullmatch(hashed_origin)
        else None
    )
    if note is None:
        raise Problem(
            404, "checkpoint-not-found", "No such checkpoint", "this witness cosigned no checkpoint of that log"
        )
    return PlainTextResponse(note, media_type=NOTE)


@router.get("/key", response_class=PlainTextResponse, summary="This witness's verifier key (cosignature/v1)")
async def get_key(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"{_running(request).witness.cosigner}\n", media_type=NOTE)
