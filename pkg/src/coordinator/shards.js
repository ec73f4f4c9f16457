// The coordinator's shards of a sharded key set (keygate keyset shard): content-addressed
// blobs, and which manifests name them. SQLite statements only, synchronous, run inside the
// caller's `transactionSync`.
//
//   shard_blobs  one row per shard (a shard is at most MAX_SHARD_BYTES), by its SHA-256
//   shard_refs   the shards the manifest in use names (live 1), and those a manifest pushed
//                before its shards were all uploaded names (live 0: staged)
//
// Only a shard some manifest names is ever stored, and a shard no manifest names any more is
// deleted when the next manifest (or a full set) is committed. The coordinator never vouches
// for a shard: isolates use one only when it hashes to the digest the signed manifest names.

/** The largest shard stored (a SQLite row holds at most 2 MB). */
export const MAX_SHARD_BYTES = 1024 * 1024;

/** How many shards one alarm publishes to KV (KV allows 1000 operations per invocation). */
export const PUBLISH_BATCH = 400;

const TABLES = [
  'CREATE TABLE IF NOT EXISTS shard_blobs (sha TEXT PRIMARY KEY, bytes BLOB NOT NULL, published INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID',
  'CREATE TABLE IF NOT EXISTS shard_refs (sha TEXT NOT NULL, live INTEGER NOT NULL, PRIMARY KEY (sha, live)) WITHOUT ROWID',
];

export class ShardStore {
  #sql;

  constructor(sql) {
    this.#sql = sql;
    for (const t of TABLES) this.#sql.exec(t);
  }

  /** The digests of `shas` that are not stored. */
  missing(shas) {
    return shas.filter((sha) => this.#sql.exec('SELECT 1 FROM shard_blobs WHERE sha = ?', sha).toArray().length === 0);
  }

  /** Records `shas` as the shards of a staged manifest (replacing an earlier staged one). */
  stage(shas) {
    this.#sql.exec('DELETE FROM shard_refs WHERE live = 0');
    for (const sha of shas) this.#sql.exec('INSERT OR IGNORE INTO shard_refs (sha, live) VALUES (?, 0)', sha);
  }

  /** Whether a manifest in use or staged names `sha`. */
  named(sha) {
    return this.#sql.exec('SELECT 1 FROM shard_refs WHERE sha = ? LIMIT 1', sha).toArray().length > 0;
  }

  /** Stores a shard (once); true when it was new. */
  put(sha, bytes) {
    return this.#sql.exec('INSERT INTO shard_blobs (sha, bytes) VALUES (?, ?) ON CONFLICT (sha) DO NOTHING RETURNING sha', sha, bytes).toArray().length > 0;
  }

  /** `shas` become the shards in use (a manifest was committed); the staged list is dropped. */
  activate(shas) {
    this.#sql.exec('DELETE FROM shard_refs');
    for (const sha of shas) this.#sql.exec('INSERT OR IGNORE INTO shard_refs (sha, live) VALUES (?, 1)', sha);
    this.#collect();
  }

  /** A full set was committed: no shard is in use any more (a staged manifest keeps its own). */
  clear() {
    this.#sql.exec('DELETE FROM shard_refs WHERE live = 1');
    this.#collect();
  }

  #collect() {
    this.#sql.exec('DELETE FROM shard_blobs WHERE sha NOT IN (SELECT sha FROM shard_refs)');
  }

  /** A shard of the manifest in use, or null. */
  read(sha) {
    const rows = this.#sql
      .exec('SELECT b.bytes AS bytes FROM shard_blobs b JOIN shard_refs r ON r.sha = b.sha AND r.live = 1 WHERE b.sha = ?', sha)
      .toArray();
    return rows.length ? new Uint8Array(rows[0].bytes) : null;
  }

  /** Up to `limit` shards in use that KV does not hold yet: `[{ sha, bytes }]`. */
  unpublished(limit) {
    return this.#sql
      .exec('SELECT b.sha AS sha, b.bytes AS bytes FROM shard_blobs b JOIN shard_refs r ON r.sha = b.sha AND r.live = 1 WHERE b.published = 0 LIMIT ?', limit)
      .toArray()
      .map((r) => ({ sha: r.sha, bytes: new Uint8Array(r.bytes) }));
  }

  markPublished(shas) {
    for (const sha of shas) this.#sql.exec('UPDATE shard_blobs SET published = 1 WHERE sha = ?', sha);
  }
}
