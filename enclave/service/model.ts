/**
 * The new model of a release: base weights plus the published update, as the
 * float32 little-endian bytes the host stores, and their CID exactly as
 * ledger/checkpoint.ts `addModel` gives it (the checkpoint CID profile), computed
 * in an in-memory blockstore so that the host gets the same CID when it adds the
 * bytes to its own store. No I/O.
 */
import { addModel, CasBlockstore, leBytesToFloat32, MemoryKeyValueStore, float32ToLeBytes } from '../../ledger/index.ts'
import { type CID } from '../../primitives/index.ts'
import { EnclaveServiceError } from './errors.ts'

/** The base model's weights; BAD_REQUEST unless they are `dimension` finite float32 values. */
export function parseBaseModel(bytes: Uint8Array, dimension: number): Float32Array {
  if (bytes.length !== dimension * 4) throw new EnclaveServiceError('BAD_REQUEST', `the base model is ${bytes.length} bytes; ${dimension} float32 values take ${dimension * 4}`)
  const base = leBytesToFloat32(bytes)
  for (let k = 0; k < base.length; k++) {
    if (!Number.isFinite(base[k]!)) throw new EnclaveServiceError('BAD_REQUEST', `base model weight ${k} is ${base[k]}`)
  }
  return base
}

/** base + update, coordinate by coordinate, rounded once to float32. */
export function applyUpdate(base: Float32Array, update: Float32Array): Float32Array {
  if (base.length !== update.length) throw new EnclaveServiceError('INTERNAL', `an update of length ${update.length} for a model of length ${base.length}`)
  const out = new Float32Array(base.length)
  for (let k = 0; k < base.length; k++) out[k] = base[k]! + update[k]!
  return out
}

/** The model's bytes and its CID (addModel's, in a throwaway in-memory store). */
export async function modelFile(model: Float32Array): Promise<{ bytes: Uint8Array; cid: CID }> {
  const cid = await addModel(new CasBlockstore({ kv: new MemoryKeyValueStore() }), model)
  return { bytes: float32ToLeBytes(model), cid }
}
