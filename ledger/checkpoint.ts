/**
 * Checkpoints: a UnixFS directory, anchored on the ledger by its root CID, that
 * holds everything needed to resume or audit training from a point:
 *
 *   checkpoint.cbor       manifest: version, height, state root, model shape
 *   model.f32le           model weights, little-endian float32
 *   state.cbor            the ledger state at `height`: every (key, value) pair, key-sorted
 *   transcripts/<round>.cbor   round transcripts since the previous checkpoint
 *
 * It is imported with CHECKPOINT_CID_OPTIONS (one frozen constant), so anyone
 * running `ipfs add -r` with the same profile on the same files gets the same
 * CID. Restoring rebuilds the state trie from `state.cbor` and refuses a
 * checkpoint whose rebuilt root, height or model differs from what its manifest
 * claims or what the ledger anchored.
 */
import { z } from 'zod'
import { addDirectory, type CasBlockstore, catFileBytes, CHECKPOINT_CID_OPTIONS, listDirectory, addFile } from './cas/index.ts'
import { bytesEqual, decode, encode, toHex, type CID } from './codec.ts'
import { LedgerError } from './errors.ts'
import { LedgerState } from './state/state.ts'
import { StateTrie } from './state/trie.ts'

export const CHECKPOINT_VERSION = 1
const MODEL_FILE = 'model.f32le'
const STATE_FILE = 'state.cbor'
const MANIFEST_FILE = 'checkpoint.cbor'
const TRANSCRIPTS_DIR = 'transcripts'
/** A state snapshot larger than this is refused on restore. */
export const MAX_SNAPSHOT_BYTES = 1024 * 1024 * 1024

export interface CheckpointInput {
  state: LedgerState
  model: Float32Array
  /** DAG-CBOR transcripts by round id */
  transcripts?: ReadonlyMap<string, Uint8Array>
}

const ManifestSchema = z.strictObject({
  version: z.literal(CHECKPOINT_VERSION),
  height: z.number().int().nonnegative(),
  stateRoot: z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length === 32, 'expected 32 bytes'),
  model: z.strictObject({ file: z.literal(MODEL_FILE), dtype: z.literal('float32-le'), length: z.number().int().nonnegative() }),
  transcripts: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/)),
})
export type Manifest = z.infer<typeof ManifestSchema>

const SnapshotSchema = z.strictObject({
  entries: z.array(z.tuple([z.string(), z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected bytes')])),
})

/** What the ledger anchored (a `checkpoint` record): the restore must reproduce it. */
export interface AnchoredCheckpoint {
  stateRoot: Uint8Array
  height: number
  model: CID
}

export interface WrittenCheckpoint {
  /** the directory's root CID: what the `checkpoint` transaction anchors as `snapshot` */
  root: CID
  /** the model file's CID: equals the round result's model CID when added with the same profile */
  model: CID
}

export interface RestoredCheckpoint {
  manifest: Manifest
  state: LedgerState
  model: Float32Array
  transcripts: Map<string, Uint8Array>
}

export function float32ToLeBytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4)
  const view = new DataView(out.buffer)
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true)
  return out
}

export function leBytesToFloat32(bytes: Uint8Array): Float32Array {
  if (bytes.length % 4 !== 0) throw new LedgerError('MALFORMED', `model file of ${bytes.length} bytes is not a whole number of float32 values`)
  const out = new Float32Array(bytes.length / 4)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true)
  return out
}

/** Adds a model's weights as a file with the checkpoint profile; returns its CID. */
export async function addModel(store: CasBlockstore, model: Float32Array): Promise<CID> {
  return addFile(store, float32ToLeBytes(model), { params: CHECKPOINT_CID_OPTIONS })
}

export async function writeCheckpoint(store: CasBlockstore, input: CheckpointInput): Promise<WrittenCheckpoint> {
  const transcripts = [...(input.transcripts ?? new Map()).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  const manifest: Manifest = {
    version: CHECKPOINT_VERSION,
    height: input.state.height,
    stateRoot: input.state.root,
    model: { file: MODEL_FILE, dtype: 'float32-le', length: input.model.length },
    transcripts: transcripts.map(([round]) => round),
  }
  const snapshot = { entries: [...input.state.trie.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) }
  const modelBytes = float32ToLeBytes(input.model)
  const root = await addDirectory(
    store,
    [
      { path: MANIFEST_FILE, content: encode(manifest) },
      { path: MODEL_FILE, content: modelBytes },
      { path: STATE_FILE, content: encode(snapshot) },
      ...transcripts.map(([round, bytes]) => ({ path: `${TRANSCRIPTS_DIR}/${round}.cbor`, content: bytes })),
    ],
    { params: CHECKPOINT_CID_OPTIONS },
  )
  const model = (await listDirectory(store, root)).find((e) => e.name === MODEL_FILE)!.cid
  return { root, model }
}

/**
 * Reads a checkpoint back and rebuilds its state. With `anchored` (the ledger's
 * checkpoint record), the state root, height and model file must be exactly
 * those the ledger anchored.
 */
export async function restoreCheckpoint(store: CasBlockstore, root: CID, anchored?: AnchoredCheckpoint): Promise<RestoredCheckpoint> {
  const fail = (why: string) => new LedgerError('CHECKPOINT', why)
  const parsed = ManifestSchema.safeParse(decode(await catFileBytes(store, `${root}/${MANIFEST_FILE}`)))
  if (!parsed.success) throw fail(`bad checkpoint manifest: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`)
  const manifest = parsed.data
  const snapshot = SnapshotSchema.safeParse(decode(await catFileBytes(store, `${root}/${STATE_FILE}`), MAX_SNAPSHOT_BYTES))
  if (!snapshot.success) throw fail(`bad state snapshot: ${snapshot.error.issues[0]?.path.join('.')}: ${snapshot.error.issues[0]?.message}`)
  const state = new LedgerState(StateTrie.fromEntries(snapshot.data.entries), manifest.height)
  if (!bytesEqual(state.root, manifest.stateRoot)) throw fail(`snapshot rebuilds state root ${toHex(state.root)}, manifest claims ${toHex(manifest.stateRoot)}`)
  const listing = await listDirectory(store, root)
  const modelEntry = listing.find((e) => e.name === MODEL_FILE)
  if (modelEntry === undefined) throw fail('checkpoint has no model file')
  if (anchored !== undefined) {
    if (!bytesEqual(state.root, anchored.stateRoot)) throw fail(`checkpoint state root ${toHex(state.root)} is not the anchored ${toHex(anchored.stateRoot)}`)
    if (manifest.height !== anchored.height) throw fail(`checkpoint is of height ${manifest.height}, the ledger anchored height ${anchored.height}`)
    if (!modelEntry.cid.equals(anchored.model)) throw fail(`checkpoint model ${modelEntry.cid} is not the anchored ${anchored.model}`)
  }
  const model = leBytesToFloat32(await catFileBytes(store, modelEntry.cid))
  if (model.length !== manifest.model.length) throw fail(`model has ${model.length} values, manifest says ${manifest.model.length}`)
  const transcripts = new Map<string, Uint8Array>()
  if (manifest.transcripts.length > 0) {
    for (const entry of await listDirectory(store, `${root}/${TRANSCRIPTS_DIR}`)) transcripts.set(entry.name.replace(/\.cbor$/, ''), await catFileBytes(store, entry.cid))
  }
  return { manifest, state, model, transcripts }
}
