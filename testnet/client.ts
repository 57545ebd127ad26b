/**
 * The few validator HTTP API calls the testnet tools make: GET /v1/status (the
 * NodeStatusJson of node/api/status.ts, read leniently: only the fields shown
 * here are required) and the fault-injection admin hook: POST
 * /v1/admin/block and /v1/admin/unblock with {"peers": [peerId, …]}, which
 * refuses traffic with those peers both ways (node/p2p P2PHost.block/unblock),
 * and POST /v1/admin/delay with {"ms": N}, which holds back the node's own
 * outgoing traffic by N ms (P2PHost.setDelay; 0 turns it off). And GET
 * /v1/snapshots/{height}: a recent whole ledger state as DAG-CBOR, decoded,
 * checked (sorted unique keys, entries that rebuild the claimed root, the height
 * asked for) and rebuilt, for a coordinator that writes a checkpoint.
 */
import { z } from 'zod'
import { isLedgerError, MAX_SNAPSHOT_BYTES, stateFromSnapshot, type LedgerState } from '../ledger/index.ts'
import { bytesEqual, decode, toHex } from '../primitives/index.ts'
import { TestnetError } from './errors.ts'

const DEFAULT_TIMEOUT_MS = 2_000

const StatusSchema = z.object({
  chainId: z.string(),
  validator: z.object({ id: z.string(), index: z.number() }).nullable(),
  epoch: z.number(),
  view: z.number(),
  leader: z.object({ id: z.string(), index: z.number() }).nullable(),
  committed: z.object({ height: z.number(), block: z.string().nullable() }),
  peers: z.number(),
  mempoolSize: z.number(),
  syncing: z.boolean(),
})
export type StatusView = z.output<typeof StatusSchema>

export interface RequestOptions {
  signal?: AbortSignal
  timeoutMs?: number
}

async function request(url: string, init: RequestInit, opts: RequestOptions): Promise<unknown> {
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS)
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout
  let res: Response
  let text: string
  try {
    res = await fetch(url, { ...init, signal })
    text = await res.text()
  } catch (e) {
    if (opts.signal?.aborted) throw new TestnetError('ABORTED', 'aborted', { cause: opts.signal.reason })
    const cause = (e as Error & { cause?: { code?: string } }).cause?.code
    throw new TestnetError('API', `${init.method ?? 'GET'} ${url}: ${timeout.aborted ? 'timed out' : (cause ?? (e as Error).message)}`, { cause: e })
  }
  let json: unknown
  try {
    json = text === '' ? null : JSON.parse(text)
  } catch {
    json = undefined
  }
  if (!res.ok) {
    const detail = (json as { error?: { code?: string; message?: string } } | undefined)?.error
    throw new TestnetError('API', `${init.method ?? 'GET'} ${url}: HTTP ${res.status}${detail?.message ? `: ${detail.message}` : ''}`)
  }
  if (json === undefined) throw new TestnetError('API', `${init.method ?? 'GET'} ${url}: the answer is not JSON`)
  return json
}

/** GET <api>/v1/status. Throws API when unreachable, failing or not a status. */
export async function fetchStatus(api: string, opts: RequestOptions = {}): Promise<StatusView> {
  const url = new URL('/v1/status', api).toString()
  const parsed = StatusSchema.safeParse(await request(url, { method: 'GET' }, opts))
  if (!parsed.success) throw new TestnetError('API', `GET ${url}: not a node status (${parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ')})`)
  return parsed.data
}

/** POST <api>/v1/admin/block {"peers": [...]}: the node refuses traffic with these peers. */
export async function blockPeers(api: string, peers: readonly string[], opts: RequestOptions = {}): Promise<void> {
  await admin(api, 'block', { peers }, opts)
}

/** POST <api>/v1/admin/unblock {"peers": [...]}: undoes blockPeers. */
export async function unblockPeers(api: string, peers: readonly string[], opts: RequestOptions = {}): Promise<void> {
  await admin(api, 'unblock', { peers }, opts)
}

/** POST <api>/v1/admin/delay {"ms": N}: the node holds back its outgoing traffic by N ms (0 turns it off). */
export async function delayPeer(api: string, ms: number, opts: RequestOptions = {}): Promise<void> {
  await admin(api, 'delay', { ms }, opts)
}

async function admin(api: string, action: 'block' | 'unblock' | 'delay', body: unknown, opts: RequestOptions): Promise<void> {
  const url = new URL(`/v1/admin/${action}`, api).toString()
  try {
    await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }, opts)
  } catch (e) {
    if (e instanceof TestnetError && /HTTP 404/.test(e.message)) {
      const need = action === 'delay' ? 'delays' : 'partitions'
      throw new TestnetError('API', `${e.message} (this node has no admin hook enabled; ${need} need POST /v1/admin/${action})`, { cause: e })
    }
    throw e
  }
}

/** A snapshot can be large: the default time allowed to fetch one. */
const SNAPSHOT_TIMEOUT_MS = 60_000
const SNAPSHOT_CONTENT_TYPE = 'application/vnd.ipld.dag-cbor'

const SnapshotSchema = z.strictObject({
  height: z.number().int().nonnegative(),
  stateRoot: z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length === 32, 'expected 32 bytes'),
  entries: z.array(z.tuple([z.string(), z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected bytes')])),
})

export interface SnapshotOptions extends RequestOptions {
  /** the root the chain recorded after block `height` (e.g. from GET /v1/blocks/{height} of another validator): the snapshot must have it */
  expectedRoot?: Uint8Array
  /** the largest body accepted, default MAX_SNAPSHOT_BYTES (the limit a checkpoint restore applies) */
  maxBytes?: number
}

export interface FetchedSnapshot {
  height: number
  stateRoot: Uint8Array
  /** every (key, DAG-CBOR value) pair, key-sorted: a checkpoint's state.cbor entries */
  entries: Array<[string, Uint8Array]>
  /** the state rebuilt from the entries (its root is stateRoot), ready for writeCheckpoint */
  state: LedgerState
}

/**
 * GET <api>/v1/snapshots/{height}: the validator's state after block `height`.
 * Throws API when unreachable, refused (404 when the node no longer retains that
 * height), oversized, or not a valid snapshot of that height: keys not strictly
 * sorted, or entries that do not rebuild the claimed (or expected) root.
 */
export async function fetchSnapshot(api: string, height: number, opts: SnapshotOptions = {}): Promise<FetchedSnapshot> {
  if (!Number.isSafeInteger(height) || height < 0) throw new TestnetError('INVALID_ARGUMENT', `snapshot height ${height} is not a non-negative integer`)
  const url = new URL(`/v1/snapshots/${height}`, api).toString()
  const fail = (why: string, cause?: unknown) => new TestnetError('API', `GET ${url}: ${why}`, { cause })
  const bytes = await requestBytes(url, SNAPSHOT_CONTENT_TYPE, { ...opts, timeoutMs: opts.timeoutMs ?? SNAPSHOT_TIMEOUT_MS }, opts.maxBytes ?? MAX_SNAPSHOT_BYTES)
  let raw: unknown
  try {
    raw = decode(bytes, Number.MAX_SAFE_INTEGER)
  } catch (e) {
    throw fail(`not DAG-CBOR (${(e as Error).message})`, e)
  }
  const parsed = SnapshotSchema.safeParse(raw)
  if (!parsed.success) throw fail(`not a snapshot (${parsed.error.issues.map((i) => i.path.join('.') || '(root)').slice(0, 3).join(', ')})`)
  const snap = parsed.data
  if (snap.height !== height) throw fail(`the snapshot is of height ${snap.height}, not ${height}`)
  for (let i = 1; i < snap.entries.length; i++) {
    if (!(snap.entries[i - 1]![0] < snap.entries[i]![0])) throw fail(`entries are not strictly sorted by key at index ${i}`)
  }
  if (opts.expectedRoot !== undefined && !bytesEqual(snap.stateRoot, opts.expectedRoot)) {
    throw fail(`the snapshot claims root ${toHex(snap.stateRoot)}, expected ${toHex(opts.expectedRoot)}`)
  }
  let state: LedgerState
  try {
    state = stateFromSnapshot(snap.entries, snap.height, snap.stateRoot)
  } catch (e) {
    throw isLedgerError(e) ? fail(e.message, e) : e
  }
  return { height: snap.height, stateRoot: snap.stateRoot, entries: snap.entries, state }
}

/** A GET whose successful answer is bytes of `contentType`, read under a byte cap; errors are the API's JSON. */
async function requestBytes(url: string, contentType: string, opts: RequestOptions, maxBytes: number): Promise<Uint8Array> {
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS)
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout
  const fail = (why: string, cause?: unknown) => new TestnetError('API', `GET ${url}: ${why}`, { cause })
  try {
    const res = await fetch(url, { signal })
    if (!res.ok) {
      const text = await res.text()
      let detail: { code?: string; message?: string } | undefined
      try {
        detail = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error
      } catch {
        detail = undefined
      }
      throw fail(`HTTP ${res.status}${detail?.code ? ` ${detail.code}` : ''}${detail?.message ? `: ${detail.message}` : ''}`)
    }
    const type = res.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase()
    if (type !== contentType) {
      await res.body?.cancel()
      throw fail(`the answer is ${type ?? 'untyped'}, not ${contentType}`)
    }
    const declared = Number(res.headers.get('content-length') ?? NaN)
    if (declared > maxBytes) {
      await res.body?.cancel()
      throw fail(`the answer is ${declared} bytes, limit ${maxBytes}`)
    }
    const chunks: Uint8Array[] = []
    let size = 0
    for await (const chunk of res.body ?? []) {
      size += chunk.length
      if (size > maxBytes) throw fail(`the answer is over ${maxBytes} bytes`)
      chunks.push(chunk)
    }
    return new Uint8Array(Buffer.concat(chunks, size))
  } catch (e) {
    if (e instanceof TestnetError) throw e
    if (opts.signal?.aborted) throw new TestnetError('ABORTED', 'aborted', { cause: opts.signal.reason })
    const cause = (e as Error & { cause?: { code?: string } }).cause?.code
    throw fail(timeout.aborted ? 'timed out' : (cause ?? (e as Error).message), e)
  }
}
