/**
 * CAR v1 (https://ipld.io/specs/transport/car/carv1/) export and import: the
 * transport for moving a checkpoint (or any DAG) between stores, like Kubo's
 * `ipfs dag export` / `ipfs dag import`.
 *
 * Export encodes the CAR itself, pulled by the reader: the header (roots), then
 * for every block reachable from them, once, in the fixed order of `walkDag`,
 * `varint(length) || CID || bytes`. The same DAG always gives the same CAR bytes
 * (those of @ipld/car's writer), nothing is read ahead of the consumer, and a
 * consumer that stops early leaves nothing running.
 *
 * Import (car-reader.ts) bounds the header and every block before reading them
 * (`OVERSIZED`), checks every block against its CID before storing it
 * (`CID_MISMATCH`), and then requires every root to be in the store
 * (`NOT_FOUND`, unless `allowPartial`); bytes that are not a CAR are `MALFORMED`.
 * A failed import may leave the blocks read before the failure in the store:
 * they are verified, so this is harmless. CAR v2 files are read by their inner
 * v1 payload.
 */
import * as dagCbor from '@ipld/dag-cbor'
import type { CID } from 'multiformats/cid'
import { varint } from 'multiformats'
import { LedgerError } from '../errors.ts'
import type { CasBlockstore } from './blockstore.ts'
import { openCar } from './car-reader.ts'
import { walkDag } from './dag-walk.ts'

export { MAX_CAR_BLOCK_BYTES, MAX_CAR_HEADER_BYTES } from './car-reader.ts'

export interface CarImportOptions {
  signal?: AbortSignal
  /** accept a CAR whose roots are not all in the store afterwards (reported in `missingRoots`) */
  allowPartial?: boolean
}

export interface CarImportResult {
  roots: CID[]
  /** blocks read (duplicates counted) */
  blocks: number
  /** block payload bytes read */
  bytes: number
  /** roots still not in the store after the import (only ever non-empty with `allowPartial`) */
  missingRoots: CID[]
}

/** The CAR v1 bytes of the DAG(s) under `roots`, as a stream. */
export async function* exportCar(store: CasBlockstore, roots: CID | readonly CID[], options: { signal?: AbortSignal } = {}): AsyncGenerator<Uint8Array> {
  const rootList = Array.isArray(roots) ? [...(roots as readonly CID[])] : [roots as CID]
  if (rootList.length === 0) throw new LedgerError('BAD_ARGUMENT', 'a CAR needs at least one root')
  // fail before writing a header if a root is missing
  for (const root of rootList) {
    if (!(await store.has(root, options))) throw new LedgerError('NOT_FOUND', `block ${root.toString()} is not in the store`)
  }
  yield withLength(dagCbor.encode({ version: 1, roots: rootList }), 0)
  for await (const { cid, bytes } of walkDag(store, rootList, options)) {
    const head = withLength(cid.bytes, bytes.length)
    // small blocks in one piece; large ones after their head, without a copy
    if (bytes.length <= 16 * 1024) {
      const section = new Uint8Array(head.length + bytes.length)
      section.set(head, 0)
      section.set(bytes, head.length)
      yield section
    } else {
      yield head
      yield bytes
    }
  }
}

/** `varint(prefix.length + more) || prefix` */
function withLength(prefix: Uint8Array, more: number): Uint8Array {
  const length = prefix.length + more
  const out = new Uint8Array(varint.encodingLength(length) + prefix.length)
  varint.encodeTo(length, out, 0)
  out.set(prefix, out.length - prefix.length)
  return out
}

/** The whole CAR in one buffer. */
export async function exportCarBytes(store: CasBlockstore, roots: CID | readonly CID[], options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const part of exportCar(store, roots, options)) parts.push(part)
  return Uint8Array.from(Buffer.concat(parts))
}

/** Reads a CAR (bytes or a byte stream), verifies and stores every block; returns its roots. */
export async function importCar(store: CasBlockstore, car: Uint8Array | AsyncIterable<Uint8Array>, options: CarImportOptions = {}): Promise<CarImportResult> {
  options.signal?.throwIfAborted()
  const reader = await openCar(car)
  const result: CarImportResult = { roots: reader.roots, blocks: 0, bytes: 0, missingRoots: [] }
  const putOptions = options.signal === undefined ? {} : { signal: options.signal }
  for await (const { cid, bytes } of reader.blocks()) {
    options.signal?.throwIfAborted()
    await store.put(cid, bytes, putOptions) // verifies: CID_MISMATCH
    result.blocks++
    result.bytes += bytes.length
  }
  for (const root of reader.roots) {
    if (!(await store.has(root, putOptions))) result.missingRoots.push(root)
  }
  if (result.missingRoots.length > 0 && options.allowPartial !== true) {
    const list = result.missingRoots.map(String).join(', ')
    throw new LedgerError('NOT_FOUND', `the CAR's root${result.missingRoots.length > 1 ? 's' : ''} ${list} ${result.missingRoots.length > 1 ? 'are' : 'is'} neither in the CAR nor in the store`)
  }
  return result
}
