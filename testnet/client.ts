/**
 * The few validator HTTP API calls the testnet tools make: GET /v1/status (the
 * NodeStatusJson of node/api/status.ts, read leniently: only the fields shown
 * here are required) and the fault-injection admin hook: POST
 * /v1/admin/block and /v1/admin/unblock with {"peers": [peerId, …]}, which
 * refuses traffic with those peers both ways (node/p2p P2PHost.block/unblock),
 * and POST /v1/admin/delay with {"ms": N}, which holds back the node's own
 * outgoing traffic by N ms (P2PHost.setDelay; 0 turns it off).
 */
import { z } from 'zod'
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
