/**
 * Reading UnixFS back from a blockstore, as Kubo does:
 *
 * - `catFile`: a file's bytes, by CID or `CID/path/in/dir` (`ipfs cat`), streamed
 *   with bounded memory (file-walk.ts), optionally a byte range.
 * - `statFile`: what a path names (file, directory, symlink) and its size, from
 *   the root block alone: callers refuse oversized files before reading them.
 * - `listDirectory`: a directory's entries (`ipfs ls`).
 *
 * Paths are resolved by ipfs-unixfs-exporter. Every failure is a typed
 * `LedgerError` (an abort passes through as is): blocks that pass the hash check
 * but do not decode, or decode to nonsense, are `MALFORMED`.
 */
import { exporter, type UnixFSEntry } from 'ipfs-unixfs-exporter'
import type { CID } from 'multiformats/cid'
import { parseCid } from '../../primitives/index.ts'
import { LedgerError, isLedgerError } from '../errors.ts'
import type { CasBlockstore } from './blockstore.ts'
import { fileNodeData, readFileRange } from './file-walk.ts'

export interface CatOptions {
  /** first byte to read (default 0; at most the file size) */
  offset?: number
  /** bytes to read from `offset` (default: to the end) */
  length?: number
  signal?: AbortSignal
}

export type EntryType = 'file' | 'directory' | 'symlink' | 'other'

export interface FileStat {
  cid: CID
  /** a raw block (a one-chunk file with raw leaves) is a file */
  type: EntryType
  /** file size in bytes (files; exactly what `catFile` yields), else the block size */
  size: bigint
}

export interface ListEntry extends FileStat {
  name: string
}

/** A file's bytes, streamed in order. `target`: a CID, or `CID/path/inside/a/directory`. */
export async function* catFile(store: CasBlockstore, target: CID | string, options: CatOptions = {}): AsyncGenerator<Uint8Array> {
  const entry = await resolve(store, target, options.signal)
  const size = fileSize(entry, target)
  const { start, end } = byteRange(size, options)
  if (start === end) return
  try {
    if (entry.type === 'file') {
      yield* readFileRange(store, entry.cid, entry.node, start, end, options.signal === undefined ? {} : { signal: options.signal })
    } else {
      // raw and identity: the block (or the CID) is the whole file
      const bytes = entry.type === 'identity' ? entry.cid.multihash.digest : (entry.node as Uint8Array)
      yield bytes.subarray(Number(start), Number(end))
    }
  } catch (e) {
    throw translate(e, target, options.signal)
  }
}

/** All of a file's bytes in one buffer (use `statFile` first to bound what this reads). */
export async function catFileBytes(store: CasBlockstore, target: CID | string, options: CatOptions = {}): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const part of catFile(store, target, options)) parts.push(part)
  return parts.length === 1 ? parts[0]! : Uint8Array.from(Buffer.concat(parts))
}

/** What `target` names and its size, read from its root block only (no file content is read). */
export async function statFile(store: CasBlockstore, target: CID | string, options: { signal?: AbortSignal } = {}): Promise<FileStat> {
  const entry = await resolve(store, target, options.signal)
  return { cid: entry.cid, type: kindOf(entry), size: sizeOf(entry) }
}

/** A directory's entries in name order (HAMT shards included). */
export async function listDirectory(store: CasBlockstore, target: CID | string, options: { signal?: AbortSignal } = {}): Promise<ListEntry[]> {
  const entry = await resolve(store, target, options.signal)
  if (entry.type !== 'directory') throw new LedgerError('BAD_ARGUMENT', `${String(target)} is not a directory`)
  const out: ListEntry[] = []
  try {
    for await (const child of entry.entries()) {
      const resolved = await resolve(store, child.cid, options.signal)
      out.push({ name: child.name, cid: child.cid, type: kindOf(resolved), size: sizeOf(resolved) })
    }
  } catch (e) {
    throw translate(e, target, options.signal)
  }
  return out.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
}

/** The size of a file entry; anything else (directory, symlink, dag-cbor object) is `BAD_ARGUMENT`. */
function fileSize(entry: UnixFSEntry, target: CID | string): bigint {
  const type = kindOf(entry)
  if (type === 'directory') throw new LedgerError('BAD_ARGUMENT', `${String(target)} is a directory, not a file`)
  if (type === 'symlink') throw new LedgerError('BAD_ARGUMENT', `${String(target)} is a symbolic link`)
  if (type !== 'file') throw new LedgerError('BAD_ARGUMENT', `${String(target)} is not a UnixFS file`)
  return sizeOf(entry)
}

function byteRange(size: bigint, options: CatOptions): { start: bigint; end: bigint } {
  const { offset = 0, length } = options
  if (!Number.isSafeInteger(offset) || offset < 0) throw new LedgerError('BAD_ARGUMENT', `offset must be an integer >= 0, got ${String(offset)}`)
  if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) throw new LedgerError('BAD_ARGUMENT', `length must be an integer >= 0, got ${String(length)}`)
  const start = BigInt(offset)
  if (start > size) throw new LedgerError('BAD_ARGUMENT', `offset ${offset} is past the end of the file (${size} bytes)`)
  const end = length === undefined || start + BigInt(length) > size ? size : start + BigInt(length)
  return { start, end }
}

function kindOf(entry: UnixFSEntry): EntryType {
  if (entry.type === 'directory') return 'directory'
  if (entry.type === 'file') {
    if (entry.unixfs.type === 'symlink') return 'symlink'
    if (entry.unixfs.type !== 'file' && entry.unixfs.type !== 'raw') return 'other'
    fileNodeData(entry.cid, entry.node) // MALFORMED if its links and sizes disagree
    return 'file'
  }
  if (entry.type === 'raw' || entry.type === 'identity') return 'file'
  return 'other'
}

function sizeOf(entry: UnixFSEntry): bigint {
  if (entry.type === 'file') return entry.unixfs.fileSize()
  if (entry.type === 'identity') return BigInt(entry.cid.multihash.digest.length)
  return entry.size
}

async function resolve(store: CasBlockstore, target: CID | string, signal?: AbortSignal): Promise<UnixFSEntry> {
  if (typeof target === 'string') parseCid(target.replace(/^\/ipfs\//, '').split('/')[0] ?? '') // BAD_ARGUMENT if not a CID
  try {
    return await exporter(target, store, signal === undefined ? {} : { signal })
  } catch (e) {
    throw translate(e, target, signal)
  }
}

/**
 * Exporter errors as typed ledger errors; ours and aborts pass through. Whatever
 * else the exporter or a decoder throws (a dag-cbor CID over bytes that are not
 * CBOR, a RangeError from deep nesting, ...) comes from the stored data: `MALFORMED`.
 */
function translate(e: unknown, target: CID | string, signal?: AbortSignal): unknown {
  if (isLedgerError(e)) return e
  const name = (e as { name?: unknown } | null)?.name
  if (name === 'AbortError' || (signal?.aborted === true && e === signal.reason)) return e
  const message = e instanceof Error ? e.message : String(e)
  if (name === 'NotFoundError' || name === 'BadPathError') return new LedgerError('NOT_FOUND', `${String(target)}: ${message}`, { cause: e })
  if (name === 'NoResolverError') return new LedgerError('BAD_ARGUMENT', `${String(target)}: unsupported codec (${message})`, { cause: e })
  if (name === 'InvalidParametersError') return new LedgerError('BAD_ARGUMENT', `${String(target)}: ${message}`, { cause: e })
  return new LedgerError('MALFORMED', `${String(target)}: malformed data (${message})`, { cause: e })
}
