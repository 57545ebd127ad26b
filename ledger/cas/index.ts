/**
 * ledger/cas: the content-addressed store. Blocks are kept in the key-value port
 * (bucket CAS_BLOCK, keyed by multihash) and checked against their CID on every
 * read and write. On top of it: UnixFS import and export whose CIDs equal what
 * Kubo's `ipfs add` prints for the same bytes and options (profiles
 * `unixfs-v1-2025`, the default and the checkpoint profile, and `unixfs-v0-2015`),
 * and CAR v1 export/import for moving DAGs between stores. Reading is streamed
 * with bounded memory (`catFile`), and `statFile` gives a file's size from its
 * root block so callers can refuse oversized files before reading them.
 *
 * It is not an IPFS node: no networking (bitswap, DHT, gateways), no pinning or
 * garbage collection, no MFS, no UnixFS metadata (mode, mtime), and it never
 * touches the file system itself: callers hand it bytes and byte streams (the CLI
 * walks directories on disk). Checkpoint directories are built from in-memory
 * entries with `addDirectory(store, entries, { params: CHECKPOINT_CID_OPTIONS })`.
 */
export { CasBlockstore, verifyBlock, MultihashCode, type CasBlockstoreComponents, type BlockBytes } from './blockstore.ts'
export {
  CHECKPOINT_CID_OPTIONS,
  CID_PROFILES,
  DEFAULT_CID_PROFILE,
  MAX_CHUNK_SIZE,
  MAX_LINKS_PER_NODE,
  UNIXFS_V0_2015,
  UNIXFS_V1_2025,
  checkUnixFsParams,
  isCidProfileName,
  resolveUnixFsParams,
  type CidProfileName,
  type DagLayout,
  type ShardSizeEstimation,
  type UnixFsOptions,
  type UnixFsParams,
} from './profiles.ts'
export { addFile, addSymlink, addDirectory, importerOptions, type AddOptions, type ByteSource, type DirectoryEntry } from './unixfs.ts'
export { catFile, catFileBytes, statFile, listDirectory, type CatOptions, type EntryType, type FileStat, type ListEntry } from './unixfs-read.ts'
export { walkDag, linksOf, type DagBlock } from './dag-walk.ts'
export {
  exportCar,
  exportCarBytes,
  importCar,
  MAX_CAR_BLOCK_BYTES,
  MAX_CAR_HEADER_BYTES,
  type CarImportOptions,
  type CarImportResult,
} from './car.ts'
