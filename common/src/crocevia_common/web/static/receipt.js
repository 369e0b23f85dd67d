/* Crocevia audit, receipt page: check a person's receipt in this browser, with its own
 * SHA-256 and Ed25519 (merkle.js): the checkpoint is signed by the log's key this page names
 * and cosigned as its witness policy asks, and each entry states the receipt's facts and is
 * included in that checkpoint's tree; then that the audit's latest checkpoint, held to the
 * same key and policy, extends the receipt's (a consistency proof), so the entries are still
 * there. Only the two tree sizes are asked of the audit; the receipt is not sent. */
"use strict";
(function () {
  const M = window.CroceviaMerkle;
  const form = document.getElementById("receipt-form");
  if (!form || !M) return;
  const say = JSON.parse(document.getElementById("receipt-strings").textContent);
  const policy = JSON.parse(document.getElementById("receipt-policy").textContent);
  const results = document.getElementById("receipt-results");
  const verdict = document.getElementById("receipt-verdict");
  const text = document.getElementById("receipt-text");
  const fill = (s, values) => s.replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ""));
  const FACTS = ["referral_id", "sender_agency", "receiver_agency", "service_id"];

  function line(ok, message) {
    const li = document.createElement("li");
    li.className = ok ? "ok" : "fail";
    li.textContent = (ok ? "✓ " : "✗ ") + message;
    results.appendChild(li);
  }

  async function check(receipt) {
    if (!receipt || receipt.format !== "crocevia-receipt/1" || !Array.isArray(receipt.events)) {
      throw new M.ProofError(say.not_a_receipt);
    }
    const cp = await M.verifyCheckpoint(receipt.checkpoint, form.dataset.vkey);
    line(true, fill(say.checkpoint_ok, { origin: cp.origin, size: cp.size, root: M.b64encode(cp.root) }));
    const cosigned = await M.verifyCosignatures(cp, policy.keys);
    const counts = { cosigned: cosigned.length, witnesses: policy.keys.length, quorum: policy.quorum };
    if (cosigned.length < policy.quorum) throw new M.ProofError(fill(say.not_witnessed, counts));
    if (policy.keys.length) line(true, fill(say.witnessed_ok, counts));
    if (cp.size !== receipt.tree_size) throw new M.ProofError(fill(say.wrong_tree, { size: cp.size }));
    if (!receipt.events.some((e) => e.event === "requested")) throw new M.ProofError(say.no_request);
    for (const e of receipt.events) {
      const entry = JSON.parse(e.entry), data = entry.event.data;
      const stated = FACTS.every((k) => data[k] === receipt[k]) && data.event === e.event &&
        entry.event.id === e.event_id && entry.index === e.leaf_index && data.occurred_at === e.occurred_at;
      if (!stated) throw new M.ProofError(fill(say.wrong_fact, { event: e.event }));
      const leaf = await M.leafHash(new TextEncoder().encode(e.entry));
      await M.checkInclusion(leaf, e.leaf_index, cp.size, e.audit_path.map(M.b64decode), cp.root);
      line(true, fill(say.proven, { event: e.event, at: e.occurred_at, index: e.leaf_index, size: cp.size }));
    }
    await stillThere(cp);
  }

  /* The audit's latest checkpoint, signed by the log and cosigned as the policy asks. A
   * checkpoint just made waits a moment for its witnesses: asked again for up to 15 s. */
  async function latestWitnessed() {
    for (let attempt = 1; ; attempt++) {
      const answer = await fetch("/checkpoint", { cache: "no-store" });
      if (!answer.ok) throw new M.ProofError(say.no_latest);
      const latest = await M.verifyCheckpoint(await answer.text(), form.dataset.vkey);
      const cosigned = await M.verifyCosignatures(latest, policy.keys);
      if (cosigned.length >= policy.quorum) return latest;
      if (attempt >= 15) {
        throw new M.ProofError(fill(say.not_witnessed, { cosigned: cosigned.length, witnesses: policy.keys.length, quorum: policy.quorum }));
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  /* The audit's latest checkpoint extends the receipt's: its entries are still in the trail. */
  async function stillThere(cp) {
    const latest = await latestWitnessed();
    let proof = [];
    if (latest.size > cp.size) {
      const asked = await fetch(`/proofs/consistency?from=${cp.size}&to=${latest.size}`, { cache: "no-store" });
      if (!asked.ok) throw new M.ProofError(say.no_latest);
      proof = (await asked.json()).proof.map(M.b64decode);
    }
    await M.checkConsistency(cp.size, latest.size, cp.root, latest.root, proof);
    line(true, fill(say.still_there, { size: latest.size }));
  }

  document.getElementById("receipt-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (file) text.value = await file.text();
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    results.replaceChildren();
    verdict.dataset.state = "running";
    verdict.textContent = say.running;
    try {
      let receipt;
      try { receipt = JSON.parse(text.value); } catch (e) { throw new M.ProofError(say.not_a_receipt); }
      await check(receipt);
      verdict.dataset.state = "ok";
      verdict.textContent = say.verified;
    } catch (error) {
      line(false, fill(say.failed_with, { error: error.message }));
      verdict.dataset.state = "failed";
      verdict.textContent = say.not_verified;
    }
  });
})();
