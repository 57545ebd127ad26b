/**
 * UnixFS import over a blockstore, giving the CIDs Kubo's `ipfs add`
 * prints for the same bytes and parameters (see profiles.ts):
 *
 * - `addFile`: one file, not wrapped in a directory — the CID of `ipfs add -Q FILE`
 *   (`addSymlink` likewise for a symbolic link).
 * - `addDirectory`: a directory built from entries `{ path, content }` (or
 *   `{ path }` for an empty directory, `{ path, symlink }` for a symbolic link),
 *   paths relative to the directory — the CID of `ipfs add -r -Q DIR`. The ledger's
 *   checkpoints are built this way, from bytes in memory; the CLI feeds it a walk
 *   of a directory on disk.
 *
 * Reading back (`catFile`, `statFile`, `listDirectory`) is in unixfs-read.ts.
 *
 * No metadata (mode, mtime) is recorded, as with Kubo's defaults: a CID depends
 * only on names and bytes.
 */
import { importer, type ImportCandidate, type ImporterOptions } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced, trickle } from 'ipfs-unixfs-importer/layout'
import type { CID } from 'multiformats/cid'
import { LedgerError } from '../errors.ts'
import type { CasBlockstore } from './blockstore.ts'
import { checkUnixFsParams, resolveUnixFsParams, type UnixFsOptions, type UnixFsParams } from './profiles.ts'

export type ByteSource = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>

/** One entry of a directory to import. Neither `content` nor `symlink`: an (empty) directory. */
export interface DirectoryEntry {
  /** relative, '/'-separated, no '.' or '..' segments */
  path: string
  content?: ByteSource
  /** target of a symbolic link (stored as is, never followed) */
  symlink?: string
}

export interface AddOptions extends UnixFsOptions {
  /** the exact parameters; when given, `profile` and the other fields are ignored */
  params?: UnixFsParams
  signal?: AbortSignal
}

function paramsOf(options: AddOptions): UnixFsParams {
  return options.params !== undefined ? checkUnixFsParams(options.params) : resolveUnixFsParams(options)
}

/** Imports one file; returns its CID (what `ipfs add -Q` prints). */
export async function addFile(store: CasBlockstore, content: ByteSource, options: AddOptions = {}): Promise<CID> {
  const params = paramsOf(options)
  let root: CID | undefined
  for await (const entry of importer([{ content }], store, importerOptions(params, options.signal))) root = entry.cid
  if (root === undefined) throw new Error('importer produced no root for a single file')
  return root
}

/** Imports a lone symbolic link (stored, never followed); `ipfs add LINK` does the same. */
export async function addSymlink(store: CasBlockstore, target: string, options: AddOptions = {}): Promise<CID> {
  const params = paramsOf(options)
  let root: CID | undefined
  for await (const entry of importer([{ path: 'link', link: target }], store, importerOptions(params, options.signal))) root = entry.cid
  if (root === undefined) throw new Error('importer produced no symlink node')
  return root
}

const ROOT = 'root'

/** Imports a directory from its entries; returns the directory's CID (what `ipfs add -r -Q DIR` prints). */
export async function addDirectory(
  store: CasBlockstore,
  entries: Iterable<DirectoryEntry> | AsyncIterable<DirectoryEntry>,
  options: AddOptions = {},
): Promise<CID> {
  const params = paramsOf(options)
  let root: CID | undefined
  for await (const entry of importer(candidates(entries), store, importerOptions(params, options.signal))) {
    if (entry.path === ROOT) root = entry.cid
  }
  if (root === undefined) throw new Error('importer produced no root directory')
  return root
}

/**
 * Every entry under one synthetic top-level name, so the importer yields that
 * directory last and unwrapped. Refuses what the importer would silently
 * resolve by dropping data: a path given twice, or a name that is both a file
 * (or link) and a directory. A directory named again, or after its contents, is skipped.
 */
async function* candidates(entries: Iterable<DirectoryEntry> | AsyncIterable<DirectoryEntry>): AsyncGenerator<ImportCandidate> {
  const leaves = new Set<string>()
  const dirs = new Set<string>()
  yield { path: ROOT }
  for await (const entry of entries) {
    const path = checkPath(entry.path)
    if (entry.content !== undefined && entry.symlink !== undefined) {
      throw new LedgerError('BAD_ARGUMENT', `'${path}' has both content and a symlink target`)
    }
    const segments = path.split('/')
    for (let i = 1; i < segments.length; i++) {
      const ancestor = segments.slice(0, i).join('/')
      if (leaves.has(ancestor)) throw new LedgerError('BAD_ARGUMENT', `'${ancestor}' is both a file and a directory in directory import`)
      dirs.add(ancestor)
    }
    const full = `${ROOT}/${path}`
    if (entry.content === undefined && entry.symlink === undefined) {
      if (leaves.has(path)) throw new LedgerError('BAD_ARGUMENT', `'${path}' is both a file and a directory in directory import`)
      if (dirs.has(path)) continue
      dirs.add(path)
      yield { path: full }
      continue
    }
    if (leaves.has(path)) throw new LedgerError('BAD_ARGUMENT', `duplicate path '${path}' in directory import`)
    if (dirs.has(path)) throw new LedgerError('BAD_ARGUMENT', `'${path}' is both a file and a directory in directory import`)
    leaves.add(path)
    if (entry.content !== undefined) yield { path: full, content: entry.content }
    else yield { path: full, link: entry.symlink! }
  }
}

function checkPath(path: string): string {
  const segments = typeof path === 'string' ? path.split('/') : []
  const ok = segments.length > 0 && segments.every((s) => s !== '' && s !== '.' && s !== '..' && !s.includes('\0'))
  if (!ok) throw new LedgerError('BAD_ARGUMENT', `bad path '${String(path)}' in directory import (relative, '/'-separated, no empty, '.' or '..' segments)`)
  return path
}

/** The importer's options for `params`: every CID-deciding knob set explicitly. */
export function importerOptions(params: UnixFsParams, signal?: AbortSignal): ImporterOptions {
  const maxChildrenPerNode = params.maxLinksPerNode
  const trickleLayout = params.layout === 'trickle'
  const options: ImporterOptions = {
    cidVersion: params.cidVersion,
    rawLeaves: params.rawLeaves,
    chunker: fixedSize({ chunkSize: params.chunkSize }),
    layout: trickleLayout ? trickle({ maxChildrenPerNode, layerRepeat: params.trickleLayerRepeat }) : balanced({ maxChildrenPerNode }),
    // Kubo's trickle builder always makes a root node over its leaves, and its
    // non-raw leaves are UnixFS `raw` nodes; its balanced builder stores a
    // one-chunk file as that chunk, in a UnixFS `file` leaf.
    leafType: trickleLayout ? 'raw' : 'file',
    reduceSingleLeafToSelf: !trickleLayout,
    shardSplitThresholdBytes: params.hamtThresholdBytes,
    shardSplitStrategy: params.hamtSizeEstimation,
    shardFanoutBits: params.hamtFanoutBits,
    fieldOrder: 'links-first',
    wrapWithDirectory: false,
  }
  if (signal !== undefined) options.onProgress = () => signal.throwIfAborted()
  return options
}
