// The layout of a fedledger repository folder (`--repo DIR`, the demo's `--dir`).

/** The level database inside a repo folder: one database, its buckets keep data apart. */
export const REPO_DB_DIR = 'db'
