/* Crocevia: verifying the audit trail in the browser, with the browser's own SHA-256.
 *
 * RFC 9162 (Certificate Transparency 2.0) section 2.1: leaf SHA-256(0x00 || entry), node
 * SHA-256(0x01 || left || right); inclusion proofs verified as 2.1.3.2 says, consistency
 * proofs as 2.1.4.2 says (step numbers in the comments are the RFC's). Checkpoints are
 * C2SP signed notes, checked with the log's Ed25519 verifier key.
 * Our own code, no dependencies; the same cases the server's verifier decides.
 */
"use strict";
(function (root) {
  const HASH_SIZE = 32;

  class ProofError extends Error {}

  function b64decode(text) {
    const raw = atob(text);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function b64encode(bytes) {
    let raw = "";
    for (const b of bytes) raw += String.fromCharCode(b);
    return btoa(raw);
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

  async function sha256(...parts) {
    const size = parts.reduce((n, p) => n + p.length, 0);
    const joined = new Uint8Array(size);
    let at = 0;
    for (const p of parts) { joined.set(p, at); at += p.length; }
    return new Uint8Array(await crypto.subtle.digest("SHA-256", joined));
  }

  const leafHash = (entry) => sha256(Uint8Array.of(0), entry);
  const nodeHash = (left, right) => sha256(Uint8Array.of(1), left, right);
  const lsb = (n) => (n & 1n) === 1n;

  function hashSized(proof) {
    proof.forEach((p, i) => {
      if (p.length !== HASH_SIZE) throw new ProofError(`proof element ${i} is ${p.length} bytes, not 32`);
    });
  }

  /* RFC 9162 2.1.3.2: is leafHash the leaf at index in the tree of treeSize with root? */
  async function checkInclusion(leaf, index, treeSize, proof, rootHash) {
    const idx = BigInt(index), size = BigInt(treeSize);
    // 1. leaf_index >= tree_size fails.
    if (idx < 0n || idx >= size) throw new ProofError(`leaf index ${index} is outside a tree of size ${treeSize}`);
    if (leaf.length !== HASH_SIZE) throw new ProofError("leaf hash is not 32 bytes");
    hashSized(proof);
    // 2. fn = leaf_index, sn = tree_size - 1.  3. r = hash.
    let fn = idx, sn = size - 1n, r = leaf;
    // 4. For each p in the inclusion path:
    for (const p of proof) {
      if (sn === 0n) throw new ProofError("proof is longer than the path to the root");  // a.
      if (lsb(fn) || fn === sn) {  // b.
        r = await nodeHash(p, r);
        while (!lsb(fn) && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      } else {
        r = await nodeHash(r, p);
      }
      fn >>= 1n; sn >>= 1n;  // c.
    }
    // 5. sn == 0 and r == root_hash.
    if (sn !== 0n) throw new ProofError("proof is shorter than the path to the root");
    if (!equal(r, rootHash)) throw new ProofError("calculated root does not match the checkpoint's root");
  }

  /* RFC 9162 2.1.4.2: does the tree of newSize (newRoot) extend the tree of oldSize (oldRoot)? */
  async function checkConsistency(oldSize, newSize, oldRoot, newRoot, proof) {
    const first = BigInt(oldSize), second = BigInt(newSize);
    if (first < 0n || second < first) throw new ProofError(`size ${newSize} cannot follow size ${oldSize}`);
    if (first === second) {  // not in the RFC's steps: decided as the conformance vectors do
      if (proof.length) throw new ProofError("equal sizes need an empty proof");
      if (!equal(oldRoot, newRoot)) throw new ProofError("equal sizes but different roots");
      if (first === 0n && !equal(oldRoot, await sha256())) throw new ProofError("the empty tree's root is wrong");
      return;
    }
    if (first === 0n) throw new ProofError("a consistency proof from the empty tree proves nothing");
    if (!proof.length) throw new ProofError("empty proof");  // 1.
    hashSized(proof);
    const path = [...proof];
    if ((first & (first - 1n)) === 0n) path.unshift(oldRoot);  // 2.
    let fn = first - 1n, sn = second - 1n;  // 3.
    while (lsb(fn)) { fn >>= 1n; sn >>= 1n; }  // 4.
    let fr = path[0], sr = path[0];  // 5.
    for (const c of path.slice(1)) {  // 6.
      if (sn === 0n) throw new ProofError("proof is longer than the path to the root");
      if (lsb(fn) || fn === sn) {
        fr = await nodeHash(c, fr);
        sr = await nodeHash(c, sr);
        while (!lsb(fn) && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      } else {
        sr = await nodeHash(sr, c);
      }
      fn >>= 1n; sn >>= 1n;
    }
    // 7. fr == first_hash, sr == second_hash, sn == 0.
    if (sn !== 0n) throw new ProofError("proof is shorter than the path to the root");
    if (!equal(fr, oldRoot)) throw new ProofError("calculated old root does not match the saved checkpoint");
    if (!equal(sr, newRoot)) throw new ProofError("calculated new root does not match the latest checkpoint");
  }

  /* A checkpoint note: body (origin, size, root, extensions) and its signature lines. */
  function parseCheckpoint(note) {
    const split = note.lastIndexOf("\n\n");
    if (split < 0) throw new ProofError("the checkpoint has no signatures");
    const body = note.slice(0, split + 1);
    const lines = body.slice(0, -1).split("\n");
    if (lines.length < 3 || !/^(0|[1-9][0-9]*)$/.test(lines[1])) throw new ProofError("malformed checkpoint");
    const signatures = note.slice(split + 2).split("\n").filter(Boolean).map((line) => {
      if (!line.startsWith("\u2014 ")) throw new ProofError("malformed signature line");
      const [name, sig] = line.slice(2).split(" ");
      return { name, sig: b64decode(sig) };
    });
    return { body, origin: lines[0], size: Number(lines[1]), root: b64decode(lines[2]),
             extensions: lines.slice(3), signatures };
  }

  async function keyId(name, publicKey) {
    const text = new TextEncoder().encode(name + "\n");
    return (await sha256(text, Uint8Array.of(1), publicKey)).slice(0, 4);
  }

  /* Verify a checkpoint's Ed25519 signature with a C2SP verifier key <name>+<id>+<key>. */
  async function verifyCheckpoint(note, vkey) {
    const parts = vkey.trim().split("+");
    const name = parts[0], encoded = parts.slice(2).join("+");
    const keyData = b64decode(encoded);
    if (keyData[0] !== 1 || keyData.length !== 33) throw new ProofError("not an Ed25519 verifier key");
    const publicKey = keyData.slice(1);
    const id = await keyId(name, publicKey);
    const checkpoint = parseCheckpoint(note);
    const mine = checkpoint.signatures.find((s) => s.name === name && equal(s.sig.slice(0, 4), id));
    if (!mine || mine.sig.length !== 68) throw new ProofError("no signature by the log's key");
    let key;
    try {
      key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      throw new ProofError("this browser cannot check Ed25519 signatures");
    }
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, mine.sig.slice(4),
                                          new TextEncoder().encode(checkpoint.body));
    if (!ok) throw new ProofError("the checkpoint's signature does not verify");
    return checkpoint;
  }

  /* The witnesses (C2SP verifier keys <name>+<id>+<base64(0x04 || key)>) whose
   * cosignature/v1 over a parsed checkpoint verifies; one by a witness's key that does not
   * verify rejects the checkpoint (ProofError), lines by other keys are ignored. */
  async function verifyCosignatures(checkpoint, witnessKeys) {
    const cosigned = [];
    for (const vkey of witnessKeys) {
      const parts = vkey.trim().split("+");
      const name = parts[0], keyData = b64decode(parts.slice(2).join("+"));
      if (keyData[0] !== 4 || keyData.length !== 33) throw new ProofError("not a witness key: " + name);
      const publicKey = keyData.slice(1);
      const id = (await sha256(new TextEncoder().encode(name + "\n"), Uint8Array.of(4), publicKey)).slice(0, 4);
      const lines = checkpoint.signatures.filter((s) => s.name === name && equal(s.sig.slice(0, 4), id));
      if (!lines.length) continue;
      const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
      for (const s of lines) {
        if (s.sig.length !== 76) throw new ProofError("the cosignature by " + name + " is not a cosignature/v1");
        const time = new DataView(s.sig.buffer, s.sig.byteOffset + 4, 8).getBigUint64(0);
        const signed = new TextEncoder().encode("cosignature/v1\ntime " + time + "\n" + checkpoint.body);
        if (!(await crypto.subtle.verify({ name: "Ed25519" }, key, s.sig.slice(12), signed))) {
          throw new ProofError("the cosignature by " + name + " does not verify");
        }
      }
      cosigned.push(name);
    }
    return cosigned;
  }

  root.CroceviaMerkle = { ProofError, b64decode, b64encode, equal, sha256, leafHash, nodeHash,
                          checkInclusion, checkConsistency, parseCheckpoint, verifyCheckpoint,
                          verifyCosignatures };
})(window);
