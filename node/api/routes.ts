/**
 * The API's routes: one table of method, path template, handler and what the
 * route says about itself (route-docs.ts). The server registers exactly these on
 * fastify, validates their parameters with the documented zod schemas, and builds
 * the OpenAPI document it serves from the registered routes (openapi.ts), so the
 * document cannot drift from what is served.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Registry } from 'prom-client'
import { submitBatch } from './batch.ts'
import { ApiError, ApiErrorCode, badRequest, notFound, notReady, submitFailure, type SubmitError } from './errors.ts'
import { mediaType, parseJson, readBody } from './http.ts'
import type { BlockEvents } from './events.ts'
import { decodeBase64 } from './json.ts'
import { operationList } from './openapi.ts'
import { proof, proofBatch, type ProofLies } from './proofs.ts'
import * as D from './route-docs.ts'
import { AdminDelay, AdminPeers, MAX_ADMIN_DELAY_MS, MAX_ADMIN_PEERS, MAX_PEER_ID_LENGTH, TxSubmission } from './schemas.ts'

export { MAX_ADMIN_DELAY_MS, MAX_ADMIN_PEERS, MAX_PEER_ID_LENGTH }
import type { LedgerQueries } from './queries.ts'
import { SNAPSHOT_CONTENT_TYPE } from './snapshots.ts'
import type { Logger } from '../logger.ts'
import type { CommitCertificate } from '../../consensus/index.ts'
import { encode, toHex } from '../../primitives/index.ts'
import { commitView } from './views.ts'
import type { PageRequest } from './state-index.ts'
import { lagOf, statusToJson, type NodeStatus } from './status.ts'

export type SubmitFn = (bytes: Uint8Array, signal?: AbortSignal) => Promise<{ id: string }>

export type HttpMethod = 'GET' | 'POST'

/**
 * Testnet-only fault injection behind POST /v1/admin/block, /unblock and /delay:
 * connection gating by libp2p peer id, used to build network partitions, and a
 * hold-back of the node's outgoing traffic (the node wires P2PHost's
 * block/unblock/blocked and setDelay/delay). Absent on production nodes, where
 * these routes answer 404 ADMIN_DISABLED. `block` and `setDelay` may reject bad
 * input by throwing an error whose `code` is 'INVALID_ARGUMENT' (as P2PHost does):
 * the client gets a 400.
 */
export interface ApiAdmin {
  block(peers: string[]): Promise<void>
  unblock(peers: string[]): void | Promise<void>
  /** the peer ids currently blocked */
  blocked(): string[]
  /** hold back every outgoing message by `ms` (0 turns it off) */
  setDelay(ms: number): void
  /** the current outgoing delay in ms */
  delay(): number
}

/** Admin bodies are small: 100 ids of 128 characters fit well under this. */
const ADMIN_MAX_BODY_BYTES = 64 * 1024

/** Commit certificates (node/certification.ts) and epoch changes (node/consensus-store.ts), for GET /v1/commits/… and /v1/epochs/… */
export interface CommitSource {
  certifiedHeight(): number
  certificate(height: number): Promise<CommitCertificate | undefined>
  /** how epoch `epoch` (≥ 1) got its validators: the last height before it and the proof of the set under its root */
  epochChange(epoch: number): Promise<{ epoch: number; height: number; proof: unknown } | undefined>
}

export interface RouteDeps {
  queries: LedgerQueries
  /** undefined: this node keeps no commit certificates (those routes answer 404) */
  commits: CommitSource | undefined
  submit: SubmitFn
  /** the refusal any client transaction would get now, if any (ApiServerComponents.submitRefusal) */
  submitRefusal: () => SubmitError | undefined
  status: () => NodeStatus
  registry: Registry
  /** testnet fault injection; undefined on production nodes */
  admin: ApiAdmin | undefined
  /** testnet fault injection (byzantine 'lying-api'): this node lies in its proofs */
  lies: ProofLies | undefined
  /** GET /v1/events/blocks (answers 404 EVENTS_DISABLED when the node gave no block feed) */
  events: BlockEvents
  logger: Logger | undefined
  maxBodyBytes: number
  /** the body cap of POST /v1/txs/batch */
  maxBatchBodyBytes: number
  healthTimeoutMs: number
  /** the OpenAPI document of the routes served (the index at GET /v1), and its bytes (GET /openapi.json) */
  openapi(): Record<string, unknown>
  openapiBytes(): Uint8Array
}

export interface RouteContext {
  params: Record<string, string>
  query: URLSearchParams
  req: IncomingMessage
  /** aborted when the client goes away */
  signal: AbortSignal
}

export type RouteResult =
  | { status: number; json: unknown; headers?: Record<string, string> }
  | { status: number; text: string; contentType: string }
  | { status: number; bytes: Uint8Array; contentType: string }
  /**
   * A long-lived response the route writes itself (Server-Sent Events). `stream`
   * either throws before writing anything (the server answers with the error) or
   * writes the head and owns the response from then on; it must end the response
   * when `closing` aborts (the server is stopping).
   */
  | { stream: (res: ServerResponse, closing: AbortSignal) => void }

export interface RouteDef {
  method: HttpMethod
  /** the path template, parameters in braces: `/v1/blocks/{ref}` */
  path: string
  handle: (deps: RouteDeps, ctx: RouteContext) => Promise<RouteResult> | RouteResult
  /** what the document says about it; its parameter schemas are checked before `handle` runs */
  doc: D.RouteDoc
}

const ok = (json: unknown): RouteResult => ({ status: 200, json })
/** a client-supplied value, cut short for an error message */
const q = (s: string | undefined): string => (s === undefined ? '' : s.length > 100 ? `${s.slice(0, 100)}…` : s)
const found = <T>(value: T | undefined, what: string): RouteResult => {
  if (value === undefined) throw notFound(`${what} not found`)
  return ok(value)
}

export const ROUTES: readonly RouteDef[] = [
  { method: 'POST', path: '/v1/txs', handle: submitTx, doc: D.submitTx },
  { method: 'POST', path: '/v1/txs/batch', handle: submitBatch, doc: D.submitTxBatch },
  { method: 'GET', path: '/v1/txs/{id}', handle: async (d, c) => found(await d.queries.tx(c.params.id!), `transaction ${q(c.params.id)}`), doc: D.getTx },
  { method: 'GET', path: '/v1/blocks/latest', handle: async (d) => found(await d.queries.latestBlock(), 'block (only genesis is committed)'), doc: D.getLatestBlock },
  { method: 'GET', path: '/v1/blocks/{ref}', handle: async (d, c) => found(await d.queries.block(c.params.ref!), `block ${q(c.params.ref)}`), doc: D.getBlock },
  { method: 'GET', path: '/v1/members', handle: (d, c) => ok(d.queries.members(pageOf(c.query))), doc: D.listMembers },
  { method: 'GET', path: '/v1/members/{id}', handle: (d, c) => found(d.queries.member(c.params.id!), `member '${q(c.params.id)}'`), doc: D.getMember },
  { method: 'GET', path: '/v1/enclaves', handle: (d, c) => ok(d.queries.enclaves(pageOf(c.query))), doc: D.listEnclaves },
  { method: 'GET', path: '/v1/rounds', handle: (d, c) => ok(d.queries.rounds(pageOf(c.query))), doc: D.listRounds },
  { method: 'GET', path: '/v1/rounds/{id}', handle: (d, c) => found(d.queries.round(c.params.id!, pageOf(c.query)), `round '${q(c.params.id)}'`), doc: D.getRound },
  { method: 'GET', path: '/v1/budgets/{member}', handle: (d, c) => found(d.queries.budget(c.params.member!), `budget of '${q(c.params.member)}'`), doc: D.getBudget },
  { method: 'GET', path: '/v1/checkpoints', handle: (d, c) => ok(d.queries.checkpoints(pageOf(c.query))), doc: D.listCheckpoints },
  { method: 'GET', path: '/v1/checkpoints/latest', handle: (d) => found(d.queries.latestCheckpoint(), 'checkpoint (none anchored yet)'), doc: D.getLatestCheckpoint },
  { method: 'GET', path: '/v1/checkpoints/{seq}', handle: (d, c) => found(d.queries.checkpoint(c.params.seq!), `checkpoint ${q(c.params.seq)}`), doc: D.getCheckpoint },
  { method: 'GET', path: '/v1/validators', handle: (d) => ok(d.queries.validators()), doc: D.getValidators },
  { method: 'GET', path: '/v1/params', handle: (d) => ok(d.queries.params()), doc: D.getParams },
  { method: 'GET', path: '/v1/commits/latest', handle: (d) => commit(d, d.commits?.certifiedHeight() ?? 0), doc: D.getLatestCommit },
  { method: 'GET', path: '/v1/commits/{height}', handle: (d, c) => commit(d, Number(c.params.height)), doc: D.getCommit },
  { method: 'GET', path: '/v1/epochs/{epoch}', handle: (d, c) => epochChange(d, Number(c.params.epoch)), doc: D.getEpochChange },
  { method: 'GET', path: '/v1/proofs/{key}', handle: proof, doc: D.getProof },
  { method: 'POST', path: '/v1/proofs', handle: proofBatch, doc: D.getProofBatch },
  { method: 'GET', path: '/v1/snapshots/{height}', handle: (d, c) => ({ status: 200, bytes: d.queries.snapshotBytes(c.params.height!), contentType: SNAPSHOT_CONTENT_TYPE }), doc: D.getSnapshot },
  { method: 'GET', path: '/v1/status', handle: (d) => ok(statusToJson(nodeStatus(d))), doc: D.getStatus },
  { method: 'GET', path: '/v1/events/blocks', handle: (d, c) => d.events.route(c.query), doc: D.blockEvents },
  { method: 'GET', path: '/healthz', handle: health, doc: D.health },
  { method: 'POST', path: '/v1/admin/block', handle: (d, c) => adminCall(d, c, 'block'), doc: D.adminBlock },
  { method: 'POST', path: '/v1/admin/unblock', handle: (d, c) => adminCall(d, c, 'unblock'), doc: D.adminUnblock },
  { method: 'POST', path: '/v1/admin/delay', handle: (d, c) => adminCall(d, c, 'delay'), doc: D.adminDelay },
  { method: 'GET', path: '/metrics', handle: async (d) => ({ status: 200, text: await d.registry.metrics(), contentType: d.registry.contentType }), doc: D.metrics },
  { method: 'GET', path: '/openapi.json', handle: (d) => ({ status: 200, bytes: d.openapiBytes(), contentType: 'application/json; charset=utf-8' }), doc: D.openapi },
  { method: 'GET', path: '/v1', handle: (d) => ({ status: 200, text: indexPage(d.openapi()), contentType: 'text/html; charset=utf-8' }), doc: D.index },
]

/** How an epoch got its validators: what a light client verifies before it trusts the epoch's certificates. */
async function epochChange(d: RouteDeps, epoch: number): Promise<RouteResult> {
  if (epoch < 1) throw notFound('epoch 0 takes its validators from the genesis')
  const change = await d.commits?.epochChange(epoch)
  if (change === undefined) throw notFound(`no record of how epoch ${epoch} began on this node`)
  const cert = await d.commits?.certificate(change.height)
  return ok({ epoch, height: change.height, certificate: cert === undefined ? null : commitView(cert), proofCbor: toHex(encode(change.proof)) })
}

async function commit(d: RouteDeps, height: number): Promise<RouteResult> {
  const cert = height < 1 ? undefined : await d.commits?.certificate(height)
  if (cert === undefined) throw notFound(height < 1 ? 'no height is certified yet' : `no commit certificate for height ${height} on this node`)
  return ok(commitView(cert))
}

const indexes = new WeakMap<object, string>()

/** GET /v1: every route with its summary, grouped as the document lists them, and a link to the document. */
function indexPage(document: Record<string, unknown>): string {
  const cached = indexes.get(document)
  if (cached !== undefined) return cached
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
  const rows = operationList(document)
    .map((o) => `<tr><td>${esc(o.tag)}</td><td><code>${esc(o.method)}</code></td><td><code>${esc(o.path)}</code></td><td>${esc(o.summary)}</td></tr>`)
    .join('\n')
  const index = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fedledger validator API</title></head>
<body>
<h1>fedledger validator API</h1>
<p>The machine-readable document: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
<table>
<thead><tr><th>group</th><th>method</th><th>path</th><th>what it does</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</body></html>
`
  indexes.set(document, index)
  return index
}

/** `?limit=&cursor=`; a limit above the cap is capped, anything not a positive integer is refused. */
function pageOf(query: URLSearchParams): PageRequest {
  const req: PageRequest = {}
  const limit = query.get('limit')
  if (limit !== null) {
    if (!/^\d{1,6}$/.test(limit) || Number(limit) < 1) throw badRequest('limit must be a positive integer')
    req.limit = Number(limit)
  }
  const cursor = query.get('cursor')
  if (cursor !== null) {
    if (cursor.length === 0 || cursor.length > 256) throw badRequest('cursor must be 1 to 256 characters')
    req.cursor = cursor
  }
  return req
}

function nodeStatus(d: RouteDeps): NodeStatus {
  try {
    return d.status()
  } catch {
    throw notReady('node status unavailable (is the node started?)')
  }
}

async function submitTx(d: RouteDeps, c: RouteContext): Promise<RouteResult> {
  const type = mediaType(c.req.headers['content-type'])
  if (type !== 'application/cbor' && type !== 'application/json') {
    throw new ApiError(415, ApiErrorCode.UNSUPPORTED_MEDIA_TYPE, 'send the transaction as application/cbor (raw DAG-CBOR) or application/json ({"tx": "<base64>"})')
  }
  const body = await readBody(c.req, d.maxBodyBytes)
  let tx: Uint8Array
  if (type === 'application/cbor') tx = body
  else {
    const parsed = TxSubmission.safeParse(parseJson(body))
    if (!parsed.success) throw badRequest('JSON body must be {"tx": "<base64 of the DAG-CBOR transaction>"}')
    tx = decodeBase64(parsed.data.tx, 'tx')
  }
  if (tx.length === 0) throw badRequest('empty transaction')
  let result: { id: string }
  try {
    result = await d.submit(tx, c.signal)
  } catch (e) {
    throw submitFailure(e)
  }
  const id = String(result.id)
  return { status: 202, json: { id }, headers: { location: `/v1/txs/${encodeURIComponent(id)}` } }
}

async function adminCall(d: RouteDeps, c: RouteContext, op: 'block' | 'unblock' | 'delay'): Promise<RouteResult> {
  const admin = d.admin
  if (admin === undefined) {
    throw new ApiError(404, ApiErrorCode.ADMIN_DISABLED, 'admin routes are disabled on this node: they exist only for testnets, enabled via config api.admin')
  }
  if (mediaType(c.req.headers['content-type']) !== 'application/json') {
    const shape = op === 'delay' ? '{"ms": <milliseconds>}' : '{"peers": ["<libp2p peer id>", ...]}'
    throw new ApiError(415, ApiErrorCode.UNSUPPORTED_MEDIA_TYPE, `send application/json: ${shape}`)
  }
  const body = parseJson(await readBody(c.req, Math.min(d.maxBodyBytes, ADMIN_MAX_BODY_BYTES)))
  try {
    if (op === 'delay') {
      admin.setDelay(delayOf(body))
      return ok({ delayMs: admin.delay() })
    }
    const peers = peersOf(body)
    if (op === 'block') await admin.block(peers)
    else await admin.unblock(peers)
  } catch (e) {
    if (e instanceof ApiError) throw e
    const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined
    if (code === 'INVALID_ARGUMENT') throw new ApiError(400, ApiErrorCode.BAD_REQUEST, (e as Error).message, { cause: e })
    throw e
  }
  return ok({ blocked: admin.blocked() })
}

/** `{"ms": N}`: an integer number of milliseconds in 0..MAX_ADMIN_DELAY_MS (schemas.ts AdminDelay). */
function delayOf(parsed: unknown): number {
  const r = AdminDelay.safeParse(parsed)
  if (!r.success) throw badRequest(`JSON body must be {"ms": N} with N an integer from 0 to ${MAX_ADMIN_DELAY_MS} (milliseconds; 0 turns the delay off)`)
  return r.data.ms
}

/** `{"peers": [...]}`: 1 to MAX_ADMIN_PEERS peer ids (schemas.ts AdminPeers), duplicates dropped (first occurrence kept). */
function peersOf(parsed: unknown): string[] {
  const r = AdminPeers.safeParse(parsed)
  if (!r.success) {
    const item = r.error.issues.find((i) => i.path.length === 2 && i.path[0] === 'peers' && typeof i.path[1] === 'number')
    if (item !== undefined) throw badRequest(`peers[${String(item.path[1])}] is not a peer id (1 to ${MAX_PEER_ID_LENGTH} letters and digits)`)
    throw badRequest(`JSON body must be {"peers": ["<libp2p peer id>", ...]} with 1 to ${MAX_ADMIN_PEERS} peer ids`)
  }
  return [...new Set(r.data.peers)]
}

async function health(d: RouteDeps): Promise<RouteResult> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(notReady(`the store did not answer within ${d.healthTimeoutMs} ms`)), d.healthTimeoutMs)
  })
  try {
    const head = await Promise.race([d.queries.head(), timeout]).catch((e: unknown) => {
      throw e instanceof ApiError ? e : notReady('the store is not readable')
    })
    if (head === undefined) throw notReady('the store holds no chain yet')
    const s = nodeStatus(d)
    return ok({ status: 'ok', height: head.height, syncing: s.syncing, lag: lagOf(s, Date.now()) })
  } finally {
    clearTimeout(timer)
  }
}
