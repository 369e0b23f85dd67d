"""Asking a witness to cosign a checkpoint (the client side of c2sp.org/tlog-witness).

A log calls :func:`request_cosignature` with each new checkpoint and the consistency proof
from the size the witness holds; a witness that holds another size answers
:class:`WitnessSizeMismatch` with its size, so the log can prove from there and ask again.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from crocevia_common.tlog.cosignature import CosignerKey, cosignatures
from crocevia_common.tlog.note import NoteError, SignatureLine, split_note
from crocevia_common.tlog.witness_protocol import ADD_CHECKPOINT, MalformedSubmission, Submission, parse_size_body

_MAX_ANSWER = 64 * 1024


class WitnessRefused(Exception):
    """The witness did not cosign: its HTTP ``status`` and what it said (or why its answer
    was not a valid cosignature)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"the witness answered {status}: {detail}")
        self.status = status
        self.detail = detail


class WitnessSizeMismatch(WitnessRefused):
    """The witness holds a checkpoint of another size than the request said (409)."""

    def __init__(self, size: int) -> None:
        super().__init__(409, f"it holds a checkpoint of size {size}")
        self.size = size


async def request_cosignature(
    client: httpx.AsyncClient,
    url: str,
    witness: CosignerKey,
    note: str,
    old_size: int,
    proof: Sequence[bytes],
) -> SignatureLine:
    """The witness's cosignature line over the checkpoint ``note``, verified with its key.

    ``url`` is the witness's submission prefix; ``old_size`` the size it cosigned last (0 the
    first time) and ``proof`` the consistency proof from there to the checkpoint. Raises
    :class:`WitnessSizeMismatch` (409), :class:`WitnessRefused` for any other refusal or an
    answer that is not a valid cosignature of ``witness``, and ``httpx.HTTPError`` when the
    witness cannot be reached.
    """
    body = Submission(old_size, tuple(proof), note).body()
    answer = await client.post(url.rstrip("/") + ADD_CHECKPOINT, content=body)
    if answer.status_code == 409:
        try:
            size = parse_size_body(answer.content)
        except MalformedSubmission as error:
            raise WitnessRefused(409, error.reason) from None
        raise WitnessSizeMismatch(size)
    if answer.status_code != 200:
        raise WitnessRefused(answer.status_code, answer.text[:500])
    if len(answer.content) > _MAX_ANSWER:
        raise WitnessRefused(200, "the answer is too long to be cosignatures")
    try:
        # As the spec suggests: the answer's lines appended to the checkpoint make a note.
        text, _ = split_note(note)
        _, lines = split_note(text + "\n" + answer.text)
        found = cosignatures(text, lines, [witness])
    except NoteError as error:
        raise WitnessRefused(200, error.reason) from None
    if witness not in found:
        raise WitnessRefused(200, f"the answer holds no cosignature by {witness}")
    return next(line for line in lines if (line.name, line.key_id) == (witness.name, witness.key_id))
