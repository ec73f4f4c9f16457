// Seeds the fuzz corpora from the project's vector files (run by `make fuzz`):
//   node fuzz/seed.mjs OUT_DIR
// writes OUT_DIR/<target>/<name> for every target. Existing
// files are kept, so a corpus grown by earlier runs stays; seeds are named by content hash.
import { createHash } from "node:crypto";
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

console.log(
  Object.entries(counts)
    .map(([t, n]) => `${t}: ${n} seeds`)
    .join(", "),
);
