// The phone's device key: an ECDSA P-256 key pair made by WebCrypto with a non-extractable private
// key, kept in IndexedDB (a CryptoKey survives there without ever being exported). Its public JWK
// is registered on join (`device_key`); check-ins carry `device_sig` over
// `class_id|student_id|proof|client_time_ms` (docs/PROTOCOL.md, "Device binding").
"use strict";
self.AttendanceDevice = (() => {
  const Outbox = self.AttendanceOutbox;
  let cached = null;

  function base64url(bytes) {
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  async function create() {
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    const full = await crypto.subtle.exportKey("jwk", pair.publicKey);
    const jwk = { kty: full.kty, crv: full.crv, x: full.x, y: full.y };
    return { privateKey: pair.privateKey, jwk };
  }

  /// The device's key, made on first use. Null where WebCrypto is missing (an insecure origin):
  /// the page then checks in unsigned, as students without a key always could.
  function key() {
    if (!cached) {
      cached = (async () => {
        if (!self.crypto || !crypto.subtle || !self.indexedDB) return null;
        const stored = await Outbox.run("keys", "readonly", (s) => Outbox.request(s.get("device")));
        if (stored) return stored;
        const made = await create();
        await Outbox.run("keys", "readwrite", (s) => Outbox.request(s.put(made, "device")));
        return made;
      })().catch(() => null);
    }
    return cached;
  }

  /// base64url of the 64-byte r‖s signature WebCrypto makes over the UTF-8 of `text`.
  async function sign(privateKey, text) {
    const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, new TextEncoder().encode(text));
    return base64url(new Uint8Array(sig));
  }

  return { key, sign };
})();
