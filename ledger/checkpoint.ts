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
import { addDirectory, type CasBlockstore, catFileBytes, CHECKPOINT_CID_OPTIONS, listDirectory, addFile, statFile, type ListEntry } from './cas/index.ts'
import { bytesEqual, decode, encode, toHex, type CID } from '../primitives/index.ts'
import { LedgerError } from './errors.ts'
import { LedgerState } from './state/state.ts'
import { Identifier } from './tx/schema.ts'
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
  transcripts: z.array(Identifier),
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

/** A state's every (key, value) pair in key order: the snapshot state.cbor holds, and what GET /v1/snapshots/{height} serves. */
export function snapshotEntries(state: LedgerState): Array<[string, Uint8Array]> {
  return [...state.trie.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

/**
 * Rebuilds the state at `height` from a snapshot's entries (e.g. fetched from a
 * validator, to pass to writeCheckpoint). Refused (CHECKPOINT) when a key appears
 * twice or, with `expectedRoot`, when the rebuilt root differs from it.
 */
export function stateFromSnapshot(entries: ReadonlyArray<readonly [string, Uint8Array]>, height: number, expectedRoot?: Uint8Array): LedgerState {
  if (!Number.isSafeInteger(height) || height < 0) throw new LedgerError('BAD_ARGUMENT', `snapshot height ${height} is not a non-negative integer`)
  const trie = StateTrie.fromEntries(entries)
  if (trie.size !== entries.length) throw new LedgerError('CHECKPOINT', `state snapshot lists ${entries.length} entries for ${trie.size} distinct keys`)
  const state = new LedgerState(trie, height)
  if (expectedRoot !== undefined && !bytesEqual(state.root, expectedRoot)) {
    throw new LedgerError('CHECKPOINT', `state snapshot at height ${height} rebuilds root ${toHex(state.root)}, expected ${toHex(expectedRoot)}`)
  }
  return state
}

/** Adds a model's weights as a file with the checkpoint profile; returns its CID. */
export async function addModel(store: CasBlockstore, model: Float32Array): Promise<CID> {
  return addFile(store, float32ToLeBytes(model), { params: CHECKPOINT_CID_OPTIONS })
}

export async function writeCheckpoint(store: CasBlockstore, input: CheckpointInput): Promise<WrittenCheckpoint> {
  const transcripts = [...(input.transcripts ?? new Map()).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  for (const [round] of transcripts) {
    if (!Identifier.safeParse(round).success) throw new LedgerError('BAD_ARGUMENT', `transcript round id '${round}' is not an identifier`)
  }
  const manifest: Manifest = {
    version: CHECKPOINT_VERSION,
    height: input.state.height,
    stateRoot: input.state.root,
    model: { file: MODEL_FILE, dtype: 'float32-le', length: input.model.length },
    transcripts: transcripts.map(([round]) => round),
  }
  const snapshot = { entries: snapshotEntries(input.state) }
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
  const { cid: model } = await statFile(store, `${root}/${MODEL_FILE}`)
  return { root, model }
}

/** Size limits applied before a checkpoint file is read (a CAR of a few MB can describe gigabytes of repeated chunks). */
export const MAX_MANIFEST_BYTES = 64 * 1024
export const MAX_TRANSCRIPT_BYTES = 16 * 1024 * 1024

/**
 * Reads a checkpoint back and rebuilds its state. With `anchored` (the ledger's
 * checkpoint record), the state root, height and model file must be exactly
 * those the ledger anchored. Every file's size is checked before it is read.
 */
export async function restoreCheckpoint(store: CasBlockstore, root: CID, anchored?: AnchoredCheckpoint): Promise<RestoredCheckpoint> {
  const fail = (why: string) => new LedgerError('CHECKPOINT', why)
  const listing = new Map((await listDirectory(store, root)).map((e) => [e.name, e]))
  const read = async (name: string, limit: number, dir: Map<string, ListEntry> = listing): Promise<Uint8Array> => {
    const entry = dir.get(name)
    if (entry === undefined || entry.type !== 'file') throw fail(`checkpoint has no file '${name}'`)
    if (entry.size > BigInt(limit)) throw fail(`'${name}' is ${entry.size} bytes, limit ${limit}`)
    return catFileBytes(store, entry.cid)
  }
  const parsed = ManifestSchema.safeParse(decode(await read(MANIFEST_FILE, MAX_MANIFEST_BYTES)))
  if (!parsed.success) throw fail(`bad checkpoint manifest: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`)
  const manifest = parsed.data
  const modelEntry = listing.get(MODEL_FILE)
  if (anchored !== undefined) {
    if (manifest.height !== anchored.height) throw fail(`checkpoint is of height ${manifest.height}, the ledger anchored height ${anchored.height}`)
    if (modelEntry === undefined || !modelEntry.cid.equals(anchored.model)) throw fail(`checkpoint model ${modelEntry?.cid} is not the anchored ${anchored.model}`)
  }
  const snapshot = SnapshotSchema.safeParse(decode(await read(STATE_FILE, MAX_SNAPSHOT_BYTES), MAX_SNAPSHOT_BYTES))
  if (!snapshot.success) throw fail(`bad state snapshot: ${snapshot.error.issues[0]?.path.join('.')}: ${snapshot.error.issues[0]?.message}`)
  const state = stateFromSnapshot(snapshot.data.entries, manifest.height, manifest.stateRoot)
  if (anchored !== undefined && !bytesEqual(state.root, anchored.stateRoot)) throw fail(`checkpoint state root ${toHex(state.root)} is not the anchored ${toHex(anchored.stateRoot)}`)
  const model = leBytesToFloat32(await read(MODEL_FILE, manifest.model.length * 4))
  if (model.length !== manifest.model.length) throw fail(`model has ${model.length} values, manifest says ${manifest.model.length}`)
  // exactly the transcripts the manifest lists, no more, no fewer
  const transcripts = new Map<string, Uint8Array>()
  const dir = listing.has(TRANSCRIPTS_DIR) ? new Map((await listDirectory(store, `${root}/${TRANSCRIPTS_DIR}`)).map((e) => [e.name, e])) : new Map<string, ListEntry>()
  const expected = new Set(manifest.transcripts.map((r) => `${r}.cbor`))
  const extra = [...dir.keys()].filter((name) => !expected.has(name))
  if (extra.length > 0) throw fail(`transcripts not in the manifest: ${extra.join(', ')}`)
  for (const round of manifest.transcripts) transcripts.set(round, await read(`${round}.cbor`, MAX_TRANSCRIPT_BYTES, dir))
  return { manifest, state, model, transcripts }
}
