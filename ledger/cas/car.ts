/**
 * CAR v1 (https://ipld.io/specs/transport/car/carv1/) export and import with
 * @ipld/car: the transport for moving a checkpoint (or any DAG) between stores,
 * like Kubo's `ipfs dag export` / `ipfs dag import`.
 *
 * Export writes the roots, then every block reachable from them once, in the
 * fixed order of `walkDag`: the same DAG always gives the same CAR bytes.
 * Import checks every block against its CID before storing it (`CID_MISMATCH`);
 * bytes that are not a CAR are `MALFORMED`. A failed import may leave the blocks
 * read before the failure in the store: they are verified, so this is harmless.
 * (@ipld/car also reads CAR v2 files, by their inner v1 payload.)
 */
import { CarBlockIterator, CarWriter } from '@ipld/car'
import type { CID } from 'multiformats/cid'
import { LedgerError, isLedgerError } from '../errors.ts'
import type { CasBlockstore } from './blockstore.ts'
import { walkDag } from './dag-walk.ts'

/** Larger blocks are refused on import: nothing we (or Kubo) write comes close. */
export const MAX_CAR_BLOCK_BYTES = 4 * 1024 * 1024

export interface CarImportResult {
  roots: CID[]
  /** blocks read (duplicates counted) */
  blocks: number
  /** block payload bytes read */
  bytes: number
}

/** The CAR v1 bytes of the DAG(s) under `roots`, as a stream. */
export async function* exportCar(store: CasBlockstore, roots: CID | readonly CID[], options: { signal?: AbortSignal } = {}): AsyncGenerator<Uint8Array> {
  const rootList = Array.isArray(roots) ? [...(roots as readonly CID[])] : [roots as CID]
  if (rootList.length === 0) throw new LedgerError('BAD_ARGUMENT', 'a CAR needs at least one root')
  // fail before writing a header if a root is missing
  for (const root of rootList) {
    if (!(await store.has(root, options))) throw new LedgerError('NOT_FOUND', `block ${root.toString()} is not in the store`)
  }
  const { writer, out } = CarWriter.create(rootList)
  let failure: { error: unknown } | undefined
  // the writer only resolves a put once its bytes are read from `out`, so the
  // producer runs alongside the loop below
  const producing = (async () => {
    try {
      for await (const block of walkDag(store, rootList, options)) await writer.put(block)
    } catch (e) {
      failure = { error: e }
    } finally {
      await writer.close()
    }
  })()
  for await (const chunk of out) yield chunk
  await producing
  if (failure !== undefined) throw failure.error
}

/** The whole CAR in one buffer. */
export async function exportCarBytes(store: CasBlockstore, roots: CID | readonly CID[], options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const part of exportCar(store, roots, options)) parts.push(part)
  return Uint8Array.from(Buffer.concat(parts))
}

/** Reads a CAR (bytes or a byte stream), verifies and stores every block; returns its roots. */
export async function importCar(store: CasBlockstore, car: Uint8Array | AsyncIterable<Uint8Array>, options: { signal?: AbortSignal } = {}): Promise<CarImportResult> {
  let reader: CarBlockIterator
  try {
    reader = car instanceof Uint8Array ? await CarBlockIterator.fromBytes(car) : await CarBlockIterator.fromIterable(car)
  } catch (e) {
    throw malformed(e)
  }
  const roots = await reader.getRoots()
  const blocks = reader[Symbol.asyncIterator]()
  const result: CarImportResult = { roots, blocks: 0, bytes: 0 }
  for (;;) {
    options.signal?.throwIfAborted()
    let next: IteratorResult<{ cid: CID; bytes: Uint8Array }>
    try {
      next = await blocks.next()
    } catch (e) {
      throw malformed(e)
    }
    if (next.done === true) break
    const { cid, bytes } = next.value
    if (bytes.length > MAX_CAR_BLOCK_BYTES) {
      throw new LedgerError('OVERSIZED', `CAR block ${cid.toString()} is ${bytes.length} bytes, limit ${MAX_CAR_BLOCK_BYTES}`)
    }
    await store.put(cid, bytes, options) // verifies: CID_MISMATCH
    result.blocks++
    result.bytes += bytes.length
  }
  return result
}

function malformed(e: unknown): LedgerError {
  if (isLedgerError(e)) return e
  return new LedgerError('MALFORMED', `not a valid CAR: ${(e as Error)?.message ?? String(e)}`, { cause: e })
}
