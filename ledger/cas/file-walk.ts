/**
 * Reading a UnixFS file's bytes in order, one block at a time, with bounded
 * memory: only the path of nodes from the root to the current leaf is held
 * (each node's remaining links), never data ahead of the reader. The exporter's
 * own file walker queues every block it can find without waiting for the reader
 * (a 1 GiB cat held about 1 GiB), so `catFile` reads through this walk instead.
 *
 * The walk is strict about sizes: every child must hold exactly the bytes its
 * parent's `blockSizes` entry says, so the size in the root node (what
 * `statFile` reports) is exactly the number of bytes a full read yields; any
 * inconsistency is `MALFORMED`.
 */
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import type { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { LedgerError } from '../errors.ts'
import type { CasBlockstore } from './blockstore.ts'

/** A child still to read: where its bytes start in the file, and how many it must hold. */
interface Pending {
  cid: CID
  position: bigint
  size: bigint
}

/** The children of one node that overlap the range, in order; `next` is the first not yet read. */
interface Frame {
  children: Pending[]
  next: number
}

/** The UnixFS data of a dag-pb file node (`file` or `raw`), or `MALFORMED`. */
export function fileNodeData(cid: CID, node: dagPb.PBNode): UnixFS {
  if (node.Data === undefined) throw malformed(cid, 'no UnixFS data in the dag-pb node')
  let unixfs: UnixFS
  try {
    unixfs = UnixFS.unmarshal(node.Data)
  } catch (e) {
    throw malformed(cid, `bad UnixFS data: ${(e as Error).message}`, e)
  }
  if (unixfs.type !== 'file' && unixfs.type !== 'raw') throw malformed(cid, `a '${unixfs.type}' node inside a file`)
  if (node.Links.length !== unixfs.blockSizes.length) throw malformed(cid, `${node.Links.length} links but ${unixfs.blockSizes.length} block sizes`)
  return unixfs
}

/**
 * The bytes [start, end) of the dag-pb file `cid` (already decoded as `node`),
 * in order. `0 <= start <= end <= fileSize` is the caller's to check.
 */
export async function* readFileRange(
  store: CasBlockstore,
  cid: CID,
  node: dagPb.PBNode,
  start: bigint,
  end: bigint,
  options: { signal?: AbortSignal } = {},
): AsyncGenerator<Uint8Array> {
  if (start >= end) return
  const stack: Frame[] = []
  let emitted = 0n

  // the node's own data, then a frame of its children that overlap [start, end)
  const expand = (pb: dagPb.PBNode, unixfs: UnixFS, position: bigint): Uint8Array | undefined => {
    let out: Uint8Array | undefined
    if (unixfs.data !== undefined && unixfs.data.length > 0) {
      out = slice(unixfs.data, position, start, end)
      position += BigInt(unixfs.data.length)
    }
    const children: Pending[] = []
    for (let i = 0; i < pb.Links.length && position < end; i++) {
      const size = unixfs.blockSizes[i]!
      if (position + size > start && size > 0n) children.push({ cid: pb.Links[i]!.Hash, position, size })
      position += size
    }
    if (children.length > 0) stack.push({ children, next: 0 })
    return out
  }

  const rootData = expand(node, fileNodeData(cid, node), 0n)
  if (rootData !== undefined) {
    emitted += BigInt(rootData.length)
    yield rootData
  }
  while (stack.length > 0) {
    options.signal?.throwIfAborted()
    const frame = stack[stack.length - 1]!
    const child = frame.children[frame.next++]!
    // drop an exhausted frame before descending: a long chain of one-link nodes stays O(1)
    if (frame.next === frame.children.length) stack.pop()
    const bytes = await store.getBytes(child.cid, options)
    let data: Uint8Array | undefined
    if (child.cid.code === raw.code) {
      if (BigInt(bytes.length) !== child.size) throw malformed(child.cid, `raw leaf of ${bytes.length} bytes where its parent says ${child.size}`)
      data = slice(bytes, child.position, start, end)
    } else if (child.cid.code === dagPb.code) {
      let pb: dagPb.PBNode
      try {
        pb = dagPb.decode(bytes)
      } catch (e) {
        throw malformed(child.cid, `not valid dag-pb: ${(e as Error).message}`, e)
      }
      const unixfs = fileNodeData(child.cid, pb)
      if (unixfs.fileSize() !== child.size) throw malformed(child.cid, `node of ${unixfs.fileSize()} bytes where its parent says ${child.size}`)
      data = expand(pb, unixfs, child.position)
    } else {
      throw malformed(child.cid, `unsupported codec 0x${child.cid.code.toString(16)} inside a file`)
    }
    if (data !== undefined) {
      emitted += BigInt(data.length)
      yield data
    }
  }
  if (emitted !== end - start) throw malformed(cid, `read ${emitted} bytes of the ${end - start} expected`)
}

/** The part of `data` (which starts at `position` in the file) inside [start, end), if any. */
function slice(data: Uint8Array, position: bigint, start: bigint, end: bigint): Uint8Array | undefined {
  const from = start > position ? start - position : 0n
  const to = end - position < BigInt(data.length) ? end - position : BigInt(data.length)
  if (to <= from) return undefined
  return data.subarray(Number(from), Number(to))
}

function malformed(cid: CID, why: string, cause?: unknown): LedgerError {
  return new LedgerError('MALFORMED', `malformed UnixFS file at ${cid.toString()}: ${why}`, cause === undefined ? undefined : { cause })
}
