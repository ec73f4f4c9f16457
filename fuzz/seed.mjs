// Seeds the fuzz corpora from the project's vector files (run by `make fuzz`):
//   node fuzz/seed.mjs OUT_DIR
// writes OUT_DIR/<target>/<name> for every target. Existing
// files are kept, so a corpus grown by earlier runs stays; seeds are named by content hash.
import { createHash, createPrivateKey, sign } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const vectors = join(root, "tests", "vectors");
const out = process.argv[2] ?? join(root, "fuzz", "corpus");
const read = (p) => readFileSync(p);
const json = (p) => JSON.parse(readFileSync(p, "utf8"));
const counts = {};

function seed(target, bytes) {
  const buf = typeof bytes === "string" ? Buffer.from(bytes) : Buffer.from(bytes);
  const dir = join(out, target);
  mkdirSync(dir, { recursive: true });
  const name = "seed-" + createHash("sha1").update(buf).digest("hex").slice(0, 16);
  writeFileSync(join(dir, name), buf);
  counts[target] = (counts[target] ?? 0) + 1;
}

// Every request case in the requests/, attacks/ and signatures/ format.
function requestCases() {
  const files = [
    ...readdirSync(join(vectors, "requests")).map((f) => join(vectors, "requests", f)),
    ...readdirSync(join(vectors, "attacks"))
      .filter((f) => !f.startsWith("keyset"))
      .map((f) => join(vectors, "attacks", f)),
    join(vectors, "signatures", "requests.json"),
  ];
  return files.flatMap((f) => json(f).cases.map((c) => c.request));
}

function splitUrl(url) {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^#]*)/i.exec(url);
  if (!m) return null;
  const target = m[3] || "/";
  const q = target.indexOf("?");
  return { authority: m[2], target, path: q < 0 ? target : target.slice(0, q) };
}

function keysets() {
  const docs = [read(join(root, "demo", "keyset.json"))];
  for (const f of readdirSync(join(vectors, "attacks")).filter((f) => f.startsWith("keyset"))) {
    docs.push(read(join(vectors, "attacks", f)));
  }
  docs.push(read(join(vectors, "signatures", "keyset.json")));
  for (const f of readdirSync(join(vectors, "keysets"))) {
    const p = join(vectors, "keysets", f);
    if (f.startsWith("valid_")) docs.push(read(p));
    else {
      const v = json(p);
      docs.push(Buffer.from(v.keyset_text ?? JSON.stringify(v.keyset, null, 1)));
    }
  }
  return docs;
}

// path: the paths of every request case, and the route patterns of every key set, alone and
// as "PATTERN\nPATH" with a path that the pattern covers.
const patterns = new Set();
for (const doc of keysets()) {
  try {
    for (const r of JSON.parse(doc.toString()).routes ?? []) {
      if (typeof r.path === "string") patterns.add(r.path);
    }
  } catch {}
}
const paths = new Set();
for (const req of requestCases()) {
  const u = splitUrl(req.url);
  if (u) paths.add(u.path);
}
for (const f of readdirSync(join(vectors, "attacks")).filter((f) => !f.startsWith("keyset"))) {
  for (const c of json(join(vectors, "attacks", f)).cases) {
    if (c.whatwg?.path) paths.add(c.whatwg.path);
  }
}
for (const p of paths) seed("path", p);
for (const pat of patterns) {
  const example = pat.replace(/\/\*\*$/, "/x/y").replace(/\/\*(?=\/|$)/g, "/x");
  seed("path", pat);
  seed("path", `${pat}\n${example}`);
  seed("path", `${pat}\n${example.toUpperCase()}/`);
}

// keyset: selector byte 0 (through a signed envelope), 1 (raw to a loader with publisher
// keys), 2 (raw without) before each document; the envelope vectors raw.
for (const doc of keysets()) {
  for (const sel of [0, 1, 2]) seed("keyset", Buffer.concat([Buffer.from([sel]), doc]));
}
for (const c of json(join(vectors, "envelopes", "envelopes.json")).cases) {
  const env = Buffer.from(typeof c.envelope === "string" ? c.envelope : JSON.stringify(c.envelope));
  seed("keyset", Buffer.concat([Buffer.from([1]), env]));
  seed("keyset", Buffer.concat([Buffer.from([2]), env]));
}

// keyset_plain: every key set document as it is, and generated sets in the shape publishers
// write (the shape the plain reader takes), compact and indented, with every member of a key
// entry, escapes and non-ASCII text.
for (const doc of keysets()) seed("keyset_plain", doc);
{
  const hmac = { alg: "hmac-sha256", secret: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTAxMjM" };
  const ed = { alg: "ed25519", public_key: "K9Jn2DmIqu9mDvnBDuxSddGd7hau6ZEHZlWkcUwSuLo" };
  const digest = (i) => "sha256:" + createHash("sha256").update(`key-${i}`).digest("base64url");
  const entry = (i) => {
    const e = { id: `key-${i}`, api_key_hash: digest(i) };
    if (i % 2) e.scopes = ["orders:read", "orders:*"];
    if (i % 3 === 0) e.status = ["active", "disabled", "revoked"][(i / 3) % 3];
    if (i % 4 === 1) e.not_before = "2026-11-01T00:00:00Z";
    if (i % 4 === 2) e.expires_at = "2027-01-31T00:00:00.5+01:00";
    if (i % 5 === 0) e.allow_cidrs = ["203.0.113.0/24", "2001:db8::/32"];
    if (i % 5 === 1) e.deny_cidrs = ["10.0.0.1/32"];
    if (i % 6 === 2) e.name = i % 12 === 2 ? "@escaped@" : "Café ☃";
    if (i % 7 === 3) e.meta = { team: "billing", n: i, tags: ["a", null, true] };
    if (i % 4 === 3) e.signing = i % 8 === 3 ? hmac : ed;
    if (i % 9 === 4) e.require_signature = true;
    return e;
  };
  for (const n of [1, 3, 8, 24]) {
    const set = { keygate: 1, revision: n, issued_at: "2026-11-29T00:00:00Z", keys: [] };
    for (let i = 0; i < n; i++) set.keys.push(entry(i * 7 + n));
    // One name written with escapes JSON.stringify would not write.
    const text = (indent) =>
      JSON.stringify(set, null, indent).replaceAll('"@escaped@"', String.raw`"caf\u00e9 \"q\" \/ \\ \ud83d\ude00"`);
    seed("keyset_plain", text(undefined));
    seed("keyset_plain", text(2));
    seed("keyset_plain", text("\t"));
  }
}

// signature: flags, Signature-Input, Signature, other header lines, blank line, body. The
// RFC 9421 Appendix B inputs, and the signed cases, each forged (flags 0) and signed by the
// harness (flags 1); flags bits 1-2 pick the method, 3-4 the URL (see fuzz/src/sigs.rs).
const rfc = json(join(vectors, "rfc9421", "cases.json"));
for (const c of rfc.cases) {
  if (!c.signature_input) continue;
  const label = c.signature_input.split("=")[0];
  const sig = c.signature ?? `${label}=:AAAA:`;
  for (const flags of [0, 1, 3, 9]) {
    seed("signature", Buffer.concat([Buffer.from([flags]), Buffer.from(`${c.signature_input}\n${sig}\n`)]));
  }
}
for (const req of requestCases()) {
  const h = req.headers ?? [];
  const input = h.find(([n]) => n.toLowerCase() === "signature-input");
  if (!input) continue;
  const sig = h.find(([n]) => n.toLowerCase() === "signature")?.[1] ?? "";
  const rest = h
    .filter(([n]) => !/^signature(-input)?$/i.test(n))
    .map(([n, v]) => `${n}: ${v}`)
    .join("\n");
  const body = req.body != null ? `\n\n${req.body}` : "";
  for (const flags of [0, 1, 5]) {
    seed("signature", Buffer.concat([Buffer.from([flags]), Buffer.from(`${input[1]}\n${sig}\n${rest}${body}`)]));
  }
}

// http1: the RFC 9421 test requests, and every request case written out as HTTP/1.1.
for (const f of readdirSync(join(vectors, "rfc9421")).filter((f) => f.endsWith(".http"))) {
  seed("http1", read(join(vectors, "rfc9421", f)));
}
for (const req of requestCases()) {
  const u = splitUrl(req.url);
  if (!u) continue;
  const lines = [`${req.method} ${u.target} HTTP/1.1`, `Host: ${u.authority}`];
  for (const [n, v] of req.headers ?? []) lines.push(`${n}: ${v}`);
  seed("http1", lines.join("\r\n") + "\r\n\r\n" + (req.body ?? ""));
}

// delta: selector bit 2 clear (raw document; bits 0-1 pick the base set) before every delta
// vector, and generated chains (bit 2 set) from a few byte patterns (see fuzz/src/deltas.rs).
const deltaVectors = json(join(vectors, "deltas", "deltas.json"));
for (const c of deltaVectors.cases) {
  const doc = Buffer.from(JSON.stringify(c.delta));
  for (const sel of [0, 1, 8, 0x29]) seed("delta", Buffer.concat([Buffer.from([sel]), doc]));
}
for (let base = 0; base < 4; base++) {
  for (const pattern of [[2, 3, 1, 8, 26, 0, 40, 3], [1, 8, 0, 0, 9, 1, 17, 2, 20, 4, 35, 128, 2, 4, 3, 5]]) {
    seed("delta", Buffer.from([4 | base | 8, ...pattern]));
  }
}

// Signed envelopes: the harness's publisher key (fuzz/src/keysets.rs: seed [7; 32], kid
// "fuzz"), flattened as keygate signs, and general with a second, unverifiable signature.
const publisher = createPrivateKey({
  key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), Buffer.alloc(32, 7)]),
  format: "der",
  type: "pkcs8",
});
const b64u = (b) => Buffer.from(b).toString("base64url");
function envelopes(doc) {
  const protectedB64 = b64u(JSON.stringify({ alg: "EdDSA", kid: "fuzz" }));
  const payload = b64u(doc);
  const signature = b64u(sign(null, Buffer.from(`${protectedB64}.${payload}`), publisher));
  const flat = { payload, protected: protectedB64, signature };
  const general = {
    payload,
    signatures: [
      { protected: b64u('{"alg":"EdDSA"}'), header: { kid: "other" }, signature: b64u(Buffer.alloc(64)) },
      { protected: protectedB64, signature },
    ],
  };
  return [JSON.stringify(flat), JSON.stringify(general, null, 1)];
}
const sha = (b) => createHash("sha256").update(b).digest("base64url");

// Manifests of one bit-0 table over each base of fuzz/src/deltas.rs (the keys routes name as
// webhook keys stay in the header set), and the bit-0 shards.
const bases = [
  deltaVectors.base,
  readFileSync(join(vectors, "keysets", "valid_webhooks.json"), "utf8"),
  readFileSync(join(vectors, "keysets", "valid_full.json"), "utf8"),
  readFileSync(join(vectors, "webhooks", "keyset.json"), "utf8"),
];
const manifests = [];
bases.forEach((text, b) => {
  const { keys, ...header } = JSON.parse(text);
  const hooks = new Set((header.routes ?? []).flatMap((r) => r.webhook_keys ?? []));
  const shard = (list) => Buffer.from(JSON.stringify({ keygate: 1, revision: 1, keys: list }));
  const d = shard(keys.filter((k) => k.api_key_hash));
  const i = shard(keys);
  const manifest = Buffer.from(
    JSON.stringify({
      keygate: 1,
      kind: "manifest",
      payload_sha256: sha(text),
      keys: keys.length,
      shards: { bits: 0, d: [sha(d)], i: [sha(i)] },
      set: { ...header, keys: keys.filter((k) => hooks.has(k.id)) },
    }),
  );
  manifests.push(manifest);
  // shard: selector bit 4 clear (a manifest), set (a shard: which, preload, bytes).
  seed("shard", Buffer.concat([Buffer.from([b]), manifest]));
  seed("shard", Buffer.concat([Buffer.from([0x10 | b, 0, 0]), d]));
  seed("shard", Buffer.concat([Buffer.from([0x10 | b, 1, 0]), i]));
  seed("shard", Buffer.concat([Buffer.from([0x10 | b | 4, 1, 0xff]), i]));
});

// envelope: selector 0 key sets, 1 deltas, 2 manifests (each signed), 3 publisher keys,
// 4 publisher secrets; the envelope vectors as they are.
for (const doc of keysets()) for (const e of envelopes(doc)) seed("envelope", Buffer.concat([Buffer.from([0]), Buffer.from(e)]));
for (const c of deltaVectors.cases) {
  for (const e of envelopes(JSON.stringify(c.delta))) seed("envelope", Buffer.concat([Buffer.from([1]), Buffer.from(e)]));
}
for (const m of manifests) for (const e of envelopes(m)) seed("envelope", Buffer.concat([Buffer.from([2]), Buffer.from(e)]));
for (const c of json(join(vectors, "envelopes", "envelopes.json")).cases) {
  const env = typeof c.envelope === "string" ? c.envelope : JSON.stringify(c.envelope);
  seed("envelope", Buffer.concat([Buffer.from([0]), Buffer.from(env)]));
  if (c.publisher_keys) seed("envelope", Buffer.concat([Buffer.from([3]), Buffer.from(c.publisher_keys)]));
}
const pub = createPrivateKey({ key: publisher.export({ format: "jwk" }), format: "jwk" });
const jwk = pub.export({ format: "jwk" });
seed("envelope", Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify({ kty: "OKP", crv: "Ed25519", x: jwk.x, kid: "fuzz" }))]));
seed("envelope", Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify({ keys: [{ kty: "OKP", crv: "Ed25519", x: jwk.x }] }))]));
seed("envelope", Buffer.concat([Buffer.from([3]), Buffer.from(`${jwk.x}, ${jwk.x}`)]));
seed("envelope", Buffer.concat([Buffer.from([4]), Buffer.from(jwk.d)]));
seed("envelope", Buffer.concat([Buffer.from([4]), Buffer.from(JSON.stringify({ ...jwk, kid: "fuzz" }))]));
seed("envelope", Buffer.concat([Buffer.from([4]), Buffer.from(JSON.stringify({ key: jwk.d, signing: { alg: "ed25519", public_key: jwk.x } }))]));

// sealed: selector 0 (a sealed value), 1 (position, byte, plaintext: the harness seals and
// alters it), 2 (seal keys), 3 (a key set read with the seal keys of sealed/jose.json).
const withSel = (sel, text) => Buffer.concat([Buffer.from([sel]), Buffer.from(text)]);
for (const f of ["jose.json", "jwcrypto.json"]) {
  const v = json(join(vectors, "sealed", f));
  for (const c of [...(v.valid ?? []), ...(v.invalid ?? [])]) if (c.sealed) seed("sealed", withSel(0, c.sealed));
  if (v.seal_keys) {
    seed("sealed", withSel(2, JSON.stringify(v.seal_keys)));
    for (const k of v.seal_keys.keys ?? []) seed("sealed", withSel(2, JSON.stringify(k)));
  }
}
const jose = json(join(vectors, "sealed", "jose.json"));
for (const c of jose.valid) {
  seed("sealed", Buffer.concat([Buffer.from([1, 5, 65]), Buffer.from(c.plaintext)]));
  const sealedSet = {
    keygate: 1,
    revision: 1,
    keys: [{ id: "s", signing: { alg: "hmac-sha256", sealed: c.sealed } }],
  };
  seed("sealed", withSel(3, JSON.stringify(sealedSet)));
  seed("sealed", withSel(3, JSON.stringify({ ...sealedSet, keys: [...sealedSet.keys, { id: "w", webhook: { sealed: c.sealed } }] })));
}
for (const f of ["valid_jwk_members.json", "invalid_jwk_members.json", "valid_webhooks.json"]) {
  const raw = readFileSync(join(vectors, "keysets", f), "utf8");
  const v = JSON.parse(raw);
  seed("sealed", withSel(3, f.startsWith("valid_") ? raw : (v.keyset_text ?? JSON.stringify(v.keyset))));
}

// webhook: flags, then webhook-id, webhook-timestamp, webhook-signature lines and the body:
// every delivery of the webhook vectors as sent (flags 0), and signed by the harness at now
// (flags 3), with its tokens added (flags 11), streamed in chunks of 1 and 46 bytes.
for (const c of json(join(vectors, "webhooks", "requests.json")).cases) {
  const h = c.request.headers ?? [];
  const get = (n) => h.find(([k]) => k.toLowerCase() === n)?.[1] ?? "";
  const text = [get("webhook-id"), get("webhook-timestamp"), get("webhook-signature"), c.request.body ?? ""].join("\n");
  for (const flags of [0x00, 0x03, 0x0b, 0xf0]) seed("webhook", withSel(flags, text));
}
const ref = json(join(vectors, "webhooks", "reference.json"));
seed("webhook", withSel(0, [ref.id, String(ref.timestamp), ref.signature, ref.body].join("\n")));

// digest: flags, then the Content-Digest line, a second field line, and the body: every
// Content-Digest of the request vectors with its body as sent (flags 0, and 2 with the value
// split in two field lines), and each body digested by the harness (flags 1 sha-256, 5
// sha-512, 0x31 streamed in chunks of 16).
for (const req of requestCases()) {
  const body = req.body ?? "";
  const cd = (req.headers ?? []).filter(([n]) => n.toLowerCase() === "content-digest").map(([, v]) => v);
  if (cd.length) {
    seed("digest", withSel(0, `${cd.join(", ")}\n\n${body}`));
    const [a, ...b] = cd.join(", ").split(", ");
    seed("digest", withSel(2, `${a}\n${b.join(", ")}\n${body}`));
  }
  if (body) for (const flags of [1, 5, 0x31]) seed("digest", withSel(flags, `\n\n${body}`));
}
seed("digest", withSel(1, "md5=:AAAA:, unixsum=1\n\n{}"));

console.log(
  Object.entries(counts)
    .map(([t, n]) => `${t}: ${n} seeds`)
    .join(", "),
);
