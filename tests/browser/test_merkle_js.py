"""``merkle.js``, the verifier the integrity page runs, decides every RFC 9162 conformance
vector of transparency-dev/merkle exactly as the server's verifier does, in Chromium."""

from __future__ import annotations

from playwright.sync_api import Browser

from crocevia_common.web import STATIC
from tests.unit.audit.vectors import VECTOR_COUNT, load, vector_names

ORIGIN = "http://localhost"  # a secure context, where SubtleCrypto exists

CHECK_ALL = """async (cases) => {
  const M = window.CroceviaMerkle, b = (list) => (list || []).map(M.b64decode), wrong = [];
  for (const c of cases) {
    let ok = true;
    try {
      if (c.kind === "inclusion") {
        await M.checkInclusion(M.b64decode(c.leafHash), c.leafIdx, c.treeSize, b(c.proof), M.b64decode(c.root));
      } else {
        await M.checkConsistency(c.size1, c.size2, M.b64decode(c.root1), M.b64decode(c.root2), b(c.proof));
      }
    } catch (e) { ok = false; }
    if (ok === c.wantErr) wrong.push(c.name + ": " + c.desc);
  }
  return wrong;
}"""


def test_merkle_js_decides_every_rfc9162_vector_as_expected(browser: Browser) -> None:
    cases = [
        {**load(name), "kind": kind, "name": name}
        for kind in ("inclusion", "consistency")
        for name in vector_names(kind)
    ]
    assert len(cases) == VECTOR_COUNT
    context = browser.new_context()
    page = context.new_page()
    page.route(
        f"{ORIGIN}/",
        lambda route: route.fulfill(
            content_type="text/html", body='<!doctype html><script src="/static/merkle.js"></script>'
        ),
    )
    page.route(
        f"{ORIGIN}/static/merkle.js",
        lambda route: route.fulfill(content_type="text/javascript", body=(STATIC / "merkle.js").read_text()),
    )
    page.goto(f"{ORIGIN}/")
    assert page.evaluate("window.isSecureContext") is True
    assert page.evaluate(CHECK_ALL, cases) == []
    context.close()
