"""The node asks the audit for a referral's receipt, as the staff member who asked it."""

from __future__ import annotations

import httpx

from crocevia_common.tlog.receipt import Receipt, ReceiptError, read_receipt


class ReceiptUnavailable(Exception):
    """No receipt now: ``status``, ``slug`` and ``detail`` say why (the audit's own reason
    when it gave one)."""

    def __init__(self, status: int, slug: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail


async def fetch_receipt(audit_url: str, referral_id: str, bearer: str | None, timeout: float = 10.0) -> Receipt:
    """The audit's receipt of ``referral_id``; ReceiptUnavailable otherwise."""
    if not audit_url:
        raise ReceiptUnavailable(503, "audit-unknown", "this node does not know where the audit answers")
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    try:
        async with httpx.AsyncClient(base_url=audit_url, timeout=timeout) as client:
            answer = await client.get(f"/receipts/{referral_id}", headers=headers)
    except httpx.HTTPError as exc:
        raise ReceiptUnavailable(503, "audit-unavailable", f"the audit did not answer: {type(exc).__name__}") from None
    if answer.status_code != 200:
        slug, detail = _problem(answer)
        status = answer.status_code if answer.status_code in (404, 409) else 503
        raise ReceiptUnavailable(status, slug, detail)
    try:
        return read_receipt(answer.content)
    except ReceiptError as exc:
        raise ReceiptUnavailable(502, "audit-answer-invalid", exc.reason) from None


def _problem(answer: httpx.Response) -> tuple[str, str]:
    try:
        body = answer.json()
        slug = str(body["type"]).rsplit("/", 1)[-1]
        return slug, str(body.get("detail") or body.get("title") or slug)
    except (ValueError, KeyError, TypeError):
        return "audit-unavailable", f"the audit answered {answer.status_code}"
