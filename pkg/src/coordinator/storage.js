// The coordinator's SQLite storage (a Durable Object's `ctx.storage.sql`): every statement of
// KeygateCoordinator, synchronous, run inside `transactionSync` by the caller.
//
//   meta    the high-water mark and what was published: one row per name
//   blobs   the base envelope, in chunks of 1 MiB (a row holds at most 2 MB)
//   deltas  the signed deltas since the base, by revision (the chain)
//   nonces  a nonce shard's claims: a 16-byte fingerprint and when it may be forgotten
//
// The sharded mode (a later step) adds a table of keys by shard beside these; nothing here
// assumes one blob per state.

/** The most deltas kept after a full set; then a delta is refused (delta_chain_full). */
export const MAX_CHAIN_DELTAS = 1000;
/** The most bytes of deltas kept after a full set. */
export const MAX_CHAIN_BYTES = 8 * 1024 * 1024;

const CHUNK = 1024 * 1024;
const SCHEMA = 1;

const TABLES = [
  'CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v ANY) WITHOUT ROWID',
  'CREATE TABLE IF NOT EXISTS blobs (sha TEXT NOT NULL, seq INTEGER NOT NULL, bytes BLOB NOT NULL, PRIMARY KEY (sha, seq)) WITHOUT ROWID',
  'CREATE TABLE IF NOT EXISTS deltas (revision INTEGER PRIMARY KEY, sha TEXT NOT NULL, envelope TEXT NOT NULL, received_at INTEGER NOT NULL)',
  'CREATE TABLE IF NOT EXISTS nonces (fp BLOB PRIMARY KEY, exp INTEGER NOT NULL) WITHOUT ROWID',
  'CREATE INDEX IF NOT EXISTS nonces_by_exp ON nonces (exp)',
];

export class Storage {
  #storage;
  #sql;
  #head;

  constructor(storage) {
    this.#storage = storage;
    this.#sql = storage.sql;
    for (const t of TABLES) this.#sql.exec(t);
    const schema = this.#get('schema');
    if (schema === null) this.#set('schema', SCHEMA);
    else if (schema !== SCHEMA) throw new Error(`KeygateCoordinator: storage schema ${schema} is newer than this code (${SCHEMA})`);
    this.#head = this.#readHead();
  }

  /** Runs `fn` in one transaction (all or nothing); the cached head follows it. */
  transaction(fn) {
    try {
      return this.#storage.transactionSync(fn);
    } finally {
      this.#head = this.#readHead();
    }
  }

  #get(k) {
    const rows = this.#sql.exec('SELECT v FROM meta WHERE k = ?', k).toArray();
    return rows.length ? rows[0].v : null;
  }

  #set(k, v) {
    this.#sql.exec('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v', k, v);
  }

  #readHead() {
    const revision = this.#get('revision');
    if (revision === null) return null;
    const chain = this.#sql.exec('SELECT count(*) AS n, coalesce(sum(length(envelope)), 0) AS bytes FROM deltas').one();
    return Object.freeze({
      revision,
      payloadSha256: this.#get('sha'),
      base: Object.freeze({ revision: this.#get('base_revision'), payloadSha256: this.#get('base_sha') }),
      deltas: chain.n,
      chainBytes: chain.bytes,
      published: this.#get('published_revision') ?? 0,
    });
  }

  /** The high-water mark (see KeygateCoordinator#head), or null. */
  head() {
    return this.#head;
  }

  /** Whether `state` is the base or a state the chain passed through. */
  onChain(state) {
    const h = this.#head;
    if (state.revision === h.base.revision) return state.payloadSha256 === h.base.payloadSha256;
    const row = this.#sql.exec('SELECT sha FROM deltas WHERE revision = ?', state.revision).toArray();
    return row.length === 1 && row[0].sha === state.payloadSha256;
  }

  /** The envelopes of the chain above `revision`, oldest first. */
  deltasAfter(revision) {
    return this.#sql
      .exec('SELECT envelope FROM deltas WHERE revision > ? ORDER BY revision', revision)
      .toArray()
      .map((r) => r.envelope);
  }

  /** A new base (a full set): its envelope replaces the old one, the chain is dropped. */
  setBase(u) {
    const old = this.#get('base_sha');
    if (old !== null && old !== u.payloadSha256) this.#sql.exec('DELETE FROM blobs WHERE sha = ?', old);
    this.#sql.exec('DELETE FROM blobs WHERE sha = ?', u.payloadSha256);
    for (let at = 0, seq = 0; at < u.bytes.byteLength || seq === 0; at += CHUNK, seq++) {
      this.#sql.exec('INSERT INTO blobs (sha, seq, bytes) VALUES (?, ?, ?)', u.payloadSha256, seq, u.bytes.subarray(at, at + CHUNK));
    }
    this.#sql.exec('DELETE FROM deltas');
    this.#set('base_revision', u.revision);
    this.#set('base_sha', u.payloadSha256);
    this.#set('base_published', 0);
    this.#setMark(u);
  }

  /** A delta on top of the head. */
  appendDelta(u) {
    this.#sql.exec(
      'INSERT INTO deltas (revision, sha, envelope, received_at) VALUES (?, ?, ?, ?)',
      u.revision,
      u.payloadSha256,
      new TextDecoder().decode(u.bytes),
      Date.now(),
    );
    this.#setMark(u);
  }

  #setMark(u) {
    this.#set('revision', u.revision);
    this.#set('sha', u.payloadSha256);
    // (read again at once: a transaction may judge another update on top of this one)
    this.#head = this.#readHead();
  }

  /** The base envelope's bytes when `sha` is the base's digest, else null. */
  readBlob(sha) {
    const rows = this.#sql.exec('SELECT bytes FROM blobs WHERE sha = ? ORDER BY seq', sha).toArray();
    if (rows.length === 0) return null;
    const parts = rows.map((r) => new Uint8Array(r.bytes));
    const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }

  /** What KV lacks: `{ base }` (whether the base envelope is unpublished), or null. */
  publishPending() {
    const h = this.#head;
    if (!h) return null;
    const base = !this.#get('base_published');
    return base || h.published < h.revision ? { base } : null;
  }

  /** Records that KV holds `head`. */
  published(head) {
    if (this.#get('base_sha') === head.base.payloadSha256) this.#set('base_published', 1);
    if ((this.#get('published_revision') ?? 0) < head.revision) this.#set('published_revision', head.revision);
  }

  /** Records that KV may not hold the head (a write of it landed late): all is published again. */
  unpublished() {
    this.#set('base_published', 0);
    this.#set('published_revision', 0);
  }

  /** Claims a nonce fingerprint until `exp` (ms): true unless a live claim holds it. */
  claimNonce(fp, exp, now) {
    const rows = this.#sql
      .exec(
        'INSERT INTO nonces (fp, exp) VALUES (?, ?) ON CONFLICT (fp) DO UPDATE SET exp = excluded.exp WHERE nonces.exp <= ? RETURNING exp',
        fp,
        exp,
        now,
      )
      .toArray();
    return rows.length === 1;
  }

  /** Forgets the claim of `fp` until `exp` (ms), if it is the one held. */
  releaseNonce(fp, exp) {
    this.#sql.exec('DELETE FROM nonces WHERE fp = ? AND exp = ?', fp, exp);
  }

  /** Forgets up to `limit` claims that expired before `now`. */
  sweepNonces(now, limit) {
    if (limit === Infinity) this.#sql.exec('DELETE FROM nonces WHERE exp <= ?', now);
    else this.#sql.exec('DELETE FROM nonces WHERE fp IN (SELECT fp FROM nonces WHERE exp <= ? LIMIT ?)', now, limit);
  }

  /** When the next claim expires (ms), or null when none is held. */
  nextNonceExpiry() {
    return this.#sql.exec('SELECT min(exp) AS exp FROM nonces').one().exp;
  }
}
