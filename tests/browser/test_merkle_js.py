"""``merkle.js``, the verifier the integrity page runs, decides every RFC 9162 conformance
vector of transparency-dev/merkle exactly as the server's verifier does, in Chromium, and
checks witnesses' cosignatures as the server's policy does."""

from __future__ import annotations

from nacl.signing import SigningKey
from playwright.sync_api import Browser, BrowserContext, Page

from crocevia_common.tlog.checkpoint import Checkpoint, sign_checkpoint
from crocevia_common.tlog.cosignature import CosignerKey, cosign
from crocevia_common.tlog.note import SignatureLine
from crocevia_common.tlog.policy import with_cosignatures
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


COSIGNED_BY = """async ([note, keys]) => {
  const M = window.CroceviaMerkle;
  try { return await M.verifyCosignatures(M.parseCheckpoint(note), keys); } catch (e) { return e.message; }
}"""


def merkle_page(browser: Browser) -> tuple[BrowserContext, Page]:
    """A page of a secure context that loads ``merkle.js`` and nothing else."""
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
    return context, page


def test_merkle_js_counts_the_witnesses_whose_cosignature_verifies_and_refuses_a_forged_one(browser: Browser) -> None:
    log_key, keys = SigningKey.generate(), {name: SigningKey.generate() for name in ("a.test/w", "b.test/w")}
    checkpoint = Checkpoint("crocevia.test/trail", 3, bytes(range(32)))
    note = sign_checkpoint(checkpoint, checkpoint.origin, log_key)
    text = checkpoint.body()
    line = cosign(text, "a.test/w", keys["a.test/w"], 1_700_000_000)
    raw = bytearray(line.signature)
    raw[-1] ^= 0x01
    forged = SignatureLine(line.name, bytes(raw))
    vkeys = [str(CosignerKey(name, bytes(key.verify_key))) for name, key in keys.items()]
    context, page = merkle_page(browser)
    found = {
        "cosigned by a": page.evaluate(COSIGNED_BY, [with_cosignatures(note, [line]), vkeys]),
        "not cosigned": page.evaluate(COSIGNED_BY, [note, vkeys]),
        "another witness": page.evaluate(COSIGNED_BY, [with_cosignatures(note, [line]), vkeys[1:]]),
        "forged": page.evaluate(COSIGNED_BY, [with_cosignatures(note, [forged]), vkeys]),
    }
    context.close()
    assert found == {
        "cosigned by a": ["a.test/w"],
        "not cosigned": [],
        "another witness": [],
        "forged": "the cosignature by a.test/w does not verify",
    }


def test_merkle_js_decides_every_rfc9162_vector_as_expected(browser: Browser) -> None:
    cases = [
        {**load(name), "kind": kind, "name": name}
        for kind in ("inclusion", "consistency")
        for name in vector_names(kind)
    ]
    assert len(cases) == VECTOR_COUNT
    context, page = merkle_page(browser)
    assert page.evaluate("window.isSecureContext") is True
    assert page.evaluate(CHECK_ALL, cases) == []
    context.close()
