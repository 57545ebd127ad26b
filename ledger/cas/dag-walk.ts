/**
 * Walking a DAG in the blockstore: the links of one block (by codec), and every
 * block reachable from some roots, each once, in a fixed order (depth-first,
 * pre-order, links in the order the block lists them; roots in the order given).
 * The order depends only on the DAG, so the same DAG always serializes to the
 * same CAR bytes.
 *
 * Codecs: dag-pb (UnixFS), raw (leaves), dag-cbor (ledger objects). Anything else
 * cannot be traversed and is refused (`BAD_ARGUMENT`) rather than silently cut off.
 */
import * as dagCbor from '@ipld/dag-cbor'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { LedgerError } from '../errors.ts'
import type { CasBlockstore } from './blockstore.ts'

export interface DagBlock {
  cid: CID
  bytes: Uint8Array
}

/** The CIDs a block links to, in order. */
export function linksOf(cid: CID, bytes: Uint8Array): CID[] {
  switch (cid.code) {
    case raw.code:
      return []
    case dagPb.code: {
      let node: dagPb.PBNode
      try {
        node = dagPb.decode(bytes)
      } catch (e) {
        throw new LedgerError('MALFORMED', `block ${cid.toString()} is not valid dag-pb: ${(e as Error).message}`, { cause: e })
      }
      return node.Links.map((l) => l.Hash)
    }
    case dagCbor.code: {
      let value: unknown
      try {
        value = dagCbor.decode(bytes)
      } catch (e) {
        throw new LedgerError('MALFORMED', `block ${cid.toString()} is not valid dag-cbor: ${(e as Error).message}`, { cause: e })
      }
      const out: CID[] = []
      collectCids(value, out)
      return out
    }
    default:
      throw new LedgerError('BAD_ARGUMENT', `cannot traverse codec 0x${cid.code.toString(16)} of ${cid.toString()}`)
  }
}

function collectCids(value: unknown, out: CID[]): void {
  if (value === null || typeof value !== 'object') return
  const cid = CID.asCID(value)
  if (cid !== null) {
    out.push(cid)
    return
  }
  if (value instanceof Uint8Array) return
  if (Array.isArray(value)) {
    for (const v of value) collectCids(v, out)
    return
  }
  // DAG-CBOR maps decode with their keys already in canonical order
  for (const v of Object.values(value as Record<string, unknown>)) collectCids(v, out)
}

/**
 * Every block reachable from `roots`, each once (by CID), read and verified
 * through the blockstore. A missing block is `NOT_FOUND`.
 */
export async function* walkDag(store: CasBlockstore, roots: readonly CID[], options: { signal?: AbortSignal } = {}): AsyncGenerator<DagBlock> {
  const seen = new Set<string>()
  // explicit stack (deep DAGs must not exhaust the call stack); reversed so links pop in order
  const stack: CID[] = [...roots].reverse()
  while (stack.length > 0) {
    const cid = stack.pop()!
    const key = cid.toString()
    if (seen.has(key)) continue
    seen.add(key)
    const bytes = await store.getBytes(cid, options)
    const links = linksOf(cid, bytes)
    yield { cid, bytes }
    for (let i = links.length - 1; i >= 0; i--) stack.push(links[i]!)
  }
}
