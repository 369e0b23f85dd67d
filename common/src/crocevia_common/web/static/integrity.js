/* Crocevia audit, integrity page: verify in this browser, with its own SHA-256 and Ed25519,
 * that an event is in the signed trail and that the trail extends a checkpoint saved here
 * before (localStorage). The server only hands out proofs; every check is done here. */
"use strict";
(function () {
  const M = window.CroceviaMerkle;
  const form = document.getElementById("verify-form");
  if (!form || !M) return;
  const say = JSON.parse(document.getElementById("integrity-strings").textContent);
  const results = document.getElementById("verify-results");
  const verdict = document.getElementById("verify-verdict");
  const savedBox = document.getElementById("saved-checkpoint");
  const saveButton = document.getElementById("save-checkpoint");
  const SAVED = "crocevia.saved-checkpoint", KEY = "crocevia.log-key";
  let latest = null;

  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ""));
  const when = (iso) => new Date(iso).toLocaleString(document.documentElement.lang);

  function line(ok, text) {
    const li = document.createElement("li");
    li.className = ok ? "ok" : "fail";
    li.textContent = (ok ? "✓ " : "✗ ") + text;
    results.appendChild(li);
    return ok;
  }

  function saved() {
    try { return JSON.parse(localStorage.getItem(SAVED) || "null"); } catch (e) { return null; }
  }

  function showSaved() {
    const s = saved();
    savedBox.textContent = s ? fill(say.saved, { size: s.size, root: s.root, at: when(s.savedAt) }) : say.none_saved;
    savedBox.dataset.size = s ? String(s.size) : "";
  }

  async function fetchOk(url, as) {
    const answer = await fetch(url, { credentials: "same-origin", headers: { Accept: "*/*" } });
    if (!answer.ok) {
      let detail = answer.statusText;
      try { detail = (await answer.json()).detail || detail; } catch (e) { /* not JSON */ }
      throw new M.ProofError(fill(say.http_error, { url: url.split("?")[0], status: answer.status, detail }));
    }
    return as === "bytes" ? new Uint8Array(await answer.arrayBuffer()) : as === "json" ? answer.json() : answer.text();
  }

  // A witness cosigns a moment after the log signs: a checkpoint short of the policy is
  // fetched again a few times before the step fails.
  const WITNESS_TRIES = 5;

  async function checkpointStep() {
    for (let tries = 1; ; tries++) {
      const [note, vkey] = await Promise.all([fetchOk("/checkpoint", "text"), fetchOk("/checkpoint/key", "text")]);
      const known = localStorage.getItem(KEY);
      if (known && known.trim() !== vkey.trim()) throw new M.ProofError(say.key_changed);
      const checkpoint = await M.verifyCheckpoint(note, vkey);
      localStorage.setItem(KEY, vkey.trim());
      checkpoint.note = note;
      const witnessed = await witnessesOf(checkpoint);
      if (!witnessed.short || tries >= WITNESS_TRIES) {
        line(true, fill(say.checkpoint_ok, { origin: checkpoint.origin, size: checkpoint.size,
                                             root: M.b64encode(checkpoint.root) }));
        if (witnessed.short) throw new M.ProofError(fill(say.not_witnessed, witnessed));
        if (witnessed.witnesses) line(true, fill(say.witnessed_ok, witnessed));
        return checkpoint;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  // The witness policy the page names (k of n witness keys), checked here, not trusted.
  async function witnessesOf(checkpoint) {
    const policy = JSON.parse(document.getElementById("witness-policy").textContent);
    const cosigned = policy.keys.length ? await M.verifyCosignatures(checkpoint, policy.keys) : [];
    return { cosigned: cosigned.length, witnesses: policy.keys.length, quorum: policy.quorum,
             short: cosigned.length < policy.quorum };
  }

  async function inclusionStep(eventId, checkpoint) {
    const q = new URLSearchParams({ event_id: eventId, tree_size: String(checkpoint.size) });
    const [proof, entry] = await Promise.all([
      fetchOk("/ui/proofs/inclusion?" + q, "json"),
      fetchOk("/ui/trail/entries/" + encodeURIComponent(eventId), "bytes"),
    ]);
    const parsed = JSON.parse(new TextDecoder().decode(entry));
    if (parsed.event.id !== eventId) throw new M.ProofError(say.wrong_entry);
    const leaf = await M.leafHash(entry);
    if (!M.equal(leaf, M.b64decode(proof.leaf_hash))) throw new M.ProofError(say.leaf_mismatch);
    line(true, fill(say.leaf_ok, { type: parsed.event.type, leaf: M.b64encode(leaf) }));
    await M.checkInclusion(leaf, proof.leaf_index, checkpoint.size, proof.proof.map(M.b64decode), checkpoint.root);
    line(true, fill(say.inclusion_ok, { index: proof.leaf_index, size: checkpoint.size, steps: proof.proof.length }));
  }

  async function consistencyStep(checkpoint) {
    const s = saved();
    if (!s) { line(true, say.none_saved); return; }
    const [older, newer] = s.size <= checkpoint.size
      ? [{ size: s.size, root: M.b64decode(s.root) }, checkpoint] : [checkpoint, { size: s.size, root: M.b64decode(s.root) }];
    let proof = [];
    if (older.size > 0 && older.size < newer.size) {
      const q = new URLSearchParams({ from: String(older.size), to: String(newer.size) });
      proof = (await fetchOk("/proofs/consistency?" + q, "json")).proof.map(M.b64decode);
    }
    if (older.size > 0 || newer.size === older.size) {
      await M.checkConsistency(older.size, newer.size, older.root, newer.root, proof);
    }
    line(true, fill(say.consistency_ok, { from: older.size, to: newer.size, at: when(s.savedAt) }));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    results.replaceChildren();
    verdict.dataset.state = "running";
    verdict.textContent = say.running;
    const eventId = document.getElementById("event-id").value.trim();
    try {
      latest = await checkpointStep();
      if (eventId) await inclusionStep(eventId, latest);
      await consistencyStep(latest);
      verdict.dataset.state = "ok";
      verdict.textContent = say.verified;
      saveButton.disabled = false;
    } catch (e) {
      line(false, e instanceof M.ProofError ? e.message : fill(say.failed_with, { error: String(e) }));
      verdict.dataset.state = "fail";
      verdict.textContent = say.not_verified;
    }
  });

  saveButton.addEventListener("click", () => {
    if (!latest) return;
    localStorage.setItem(SAVED, JSON.stringify({ size: latest.size, root: M.b64encode(latest.root),
                                                 note: latest.note, savedAt: new Date().toISOString() }));
    showSaved();
  });

  document.getElementById("forget-checkpoint").addEventListener("click", () => {
    localStorage.removeItem(SAVED);
    showSaved();
  });

  showSaved();
  // The buttons come disabled from the server: until this script has attached its handlers a
  // click would submit the form as a plain page load and verify nothing.
  document.getElementById("verify-button").disabled = false;
  document.getElementById("forget-checkpoint").disabled = false;
})();
