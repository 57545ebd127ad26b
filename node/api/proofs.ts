/**
 * GET /v1/proofs/{key} and POST /v1/proofs: Merkle proofs of state keys with the
 * commit certificate of their height, what a light client needs to believe a value
 * without trusting the node. Both choose the height the same way (`proofHeight`):
 * the one asked for, else the newest height that is both certified and still held
 * here, else the current state. The batch proves every key under that one state
 * root, so that a verifier checks one certificate for all of them (an enclave host
 * proving a round's records to its enclave). A large batch is proven in chunks of
 * PROOF_CHUNK keys with the event loop given back between them (as a transaction
 * batch is admitted), so that consensus messages and timers are not held up.
 */
import { nextTurn } from '../mempool/index.ts'
import { ApiError, ApiErrorCode, badRequest } from './errors.ts'
import { mediaType, parseJson, readBody } from './http.ts'
import type { RouteContext, RouteDeps, RouteResult } from './routes.ts'
import { MAX_PROOF_BATCH_KEYS, MAX_PROOF_KEY_LENGTH, ProofBatchRequest } from './schemas.ts'
import { commitView, type CommitView } from './views.ts'
import { decode, encode, fromHex, toHex } from '../../primitives/index.ts'

/**
 * The body cap of POST /v1/proofs (or the server's maxBodyBytes if smaller): 2,048 of
 * the longest keys the ledger writes (`eligible/<round>/<member>` with 64-character
 * ids, about 141 bytes each in JSON) take about 290 KB.
 */
export const MAX_PROOF_BATCH_BODY_BYTES = 512 * 1024
/** Keys proven between two turns of the event loop (about 5 to 10 ms of proving on a state of 20,000 keys). */
export const PROOF_CHUNK = 128

/**
 * Testnet fault injection (byzantine 'lying-api'): a validator that lies in the proofs
 * it serves, in turn with each answer: an altered value (the proof no longer leads to
 * the certified root), then an older certified height given as the newest (a
 * rollback). Light clients must catch both and ask another validator.
 */
export class ProofLies {
  private told = 0

  /** What to do with the next answer. */
  next(): 'alter' | 'stale' {
    return this.told++ % 2 === 0 ? 'alter' : 'stale'
  }

  /** `proofCbor` (hex) with the proven value changed, when it proves one. */
  static alter(proofCbor: string): string {
    const p = decode<{ end: { kind: string; value?: Uint8Array } }>(fromHex(proofCbor))
    if (p.end.kind !== 'value' || p.end.value === undefined || p.end.value.length === 0) return proofCbor
    const value = p.end.value.slice()
    value[value.length - 1]! ^= 1
    return toHex(encode({ ...p, end: { ...p.end, value } }))
  }
}

/** How many heights back a lying node's "newest" answer is. */
const STALE_BY = 3

/** The height a lying node answers at, and how it alters proofs (identity when honest). */
function lie(d: RouteDeps, asked: number | undefined): { height: number | undefined; alter: (proofCbor: string) => string } {
  const honest = { height: proofHeight(d, asked), alter: (p: string) => p }
  if (d.lies === undefined) return honest
  if (d.lies.next() === 'alter') return { ...honest, alter: ProofLies.alter }
  const stale = honest.height === undefined ? undefined : honest.height - STALE_BY
  return stale !== undefined && asked === undefined && stale > 0 && d.queries.provableAt(stale) ? { ...honest, height: stale } : { ...honest, alter: ProofLies.alter }
}

/** GET /v1/proofs/{key}[?height=H]: one key's proof, its value, and the certificate of its height. */
export async function proof(d: RouteDeps, c: RouteContext): Promise<RouteResult> {
  const asked = c.query.get('height')
  const told = lie(d, asked === null ? undefined : Number(asked))
  const view = d.queries.proof(c.params.key!, told.height)
  return { status: 200, json: { ...view, proofCbor: told.alter(view.proofCbor), certificate: await certificateAt(d, view.height) } }
}

/** POST /v1/proofs `{"keys": [...], "height"?: H}`: each key's proof, in the order asked, all at one height. */
export async function proofBatch(d: RouteDeps, c: RouteContext): Promise<RouteResult> {
  if (mediaType(c.req.headers['content-type']) !== 'application/json') {
    throw new ApiError(415, ApiErrorCode.UNSUPPORTED_MEDIA_TYPE, `send application/json: {"keys": ["<state key>", ...], "height"?: <height>}`)
  }
  const { keys, height } = proofRequestOf(parseJson(await readBody(c.req, Math.min(d.maxBodyBytes, MAX_PROOF_BATCH_BODY_BYTES))))
  const pause = async () => {
    await nextTurn()
    if (c.signal.aborted) throw badRequest('the client went away before its proofs were made')
  }
  const told = lie(d, height)
  const batch = await d.queries.proofs(keys, told.height, { pause, every: PROOF_CHUNK })
  const proofs = batch.proofs.map((p) => ({ ...p, proofCbor: told.alter(p.proofCbor) }))
  return { status: 200, json: { height: batch.height, stateRoot: batch.stateRoot, certificate: await certificateAt(d, batch.height), proofs } }
}

/**
 * The height a proof is given at: the one asked for, else the newest height that is
 * both certified and whose state this node still holds, else undefined (the current
 * state, which may not be certified yet).
 */
function proofHeight(d: RouteDeps, asked: number | undefined): number | undefined {
  if (asked !== undefined || d.commits === undefined) return asked
  const newest = Math.min(d.commits.certifiedHeight(), d.queries.snapshot().state.height)
  return newest > 0 && d.queries.provableAt(newest) ? newest : undefined
}

async function certificateAt(d: RouteDeps, height: number): Promise<CommitView | null> {
  const cert = height < 1 ? undefined : await d.commits?.certificate(height)
  return cert === undefined ? null : commitView(cert)
}

/** The keys (1 to MAX_PROOF_BATCH_KEYS, each once) and the height of a POST /v1/proofs body (schemas.ts ProofBatchRequest). */
function proofRequestOf(parsed: unknown): { keys: string[]; height?: number } {
  const r = ProofBatchRequest.safeParse(parsed)
  if (!r.success) {
    const keys = (parsed as { keys?: unknown } | null)?.keys
    if (Array.isArray(keys) && keys.length > MAX_PROOF_BATCH_KEYS) throw badRequest(`${keys.length} keys: at most ${MAX_PROOF_BATCH_KEYS} per request`)
    const item = r.error.issues.find((i) => i.path.length === 2 && i.path[0] === 'keys' && typeof i.path[1] === 'number')
    if (item !== undefined) throw badRequest(`keys[${String(item.path[1])}] is not a state key (a string of 1 to ${MAX_PROOF_KEY_LENGTH} characters)`)
    if (r.error.issues.some((i) => i.path[0] === 'height')) throw badRequest('height must be a non-negative integer')
    throw badRequest(`JSON body must be {"keys": ["<state key>", ...], "height"?: <height>} with 1 to ${MAX_PROOF_BATCH_KEYS} keys`)
  }
  const first = new Map<string, number>()
  r.data.keys.forEach((key, i) => {
    const before = first.get(key)
    if (before !== undefined) throw badRequest(`keys[${i}] repeats keys[${before}] ('${key.length > 100 ? `${key.slice(0, 100)}…` : key}'): ask for each key once`)
    first.set(key, i)
  })
  return r.data
}
