/**
 * ApiClient: the one client of the validator HTTP API, for everything that talks to
 * validators from outside: the federation actors (participant peers, the enclave
 * host, the coordinator), the testnet tools (runner, scenarios, live view) and the
 * command line. It reads answers with the server's own schemas (schemas.ts): each
 * read validates the fields it uses with the schema the server is tested against
 * (picked from the server's, so a field can change in one place only) and turns
 * hex and CID strings into bytes and CIDs.
 *
 * It talks to one validator at a time and moves to the next on a network error, so
 * a caller survives a validator going down. It trusts the validator it asks (an
 * auditor who does not would check answers against /v1/proofs), except for state
 * snapshots, which it checks against their claimed (or an expected) root.
 */
import { z } from 'zod'
import { isLedgerError, MAX_SNAPSHOT_BYTES, stateFromSnapshot, type AggregationConfig, type CommitRecord, type LedgerState, type TrainingConfig } from '../../ledger/index.ts'
import { bytesEqual, CID, CodedError, decode, fromHex, toHex } from '../../primitives/index.ts'
import * as S from './schemas.ts'

export type ApiClientErrorCode =
  /** a validator answered with an error status */
  | 'API'
  /** a validator refused a submitted transaction at admission */
  | 'SUBMIT'
  /** an answer does not have the shape the API documents */
  | 'BAD_ANSWER'
  /** no validator answered */
  | 'UNREACHABLE'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'INVALID_ARGUMENT'

export class ApiClientError extends CodedError<ApiClientErrorCode> {
  /** SUBMIT only: the validator deferred the transaction ("not now") and asked to offer it again after this many milliseconds */
  readonly retryAfterMs: number | undefined
  /** the HTTP status, when a validator answered */
  readonly status: number | undefined
  /** the API's own error code (NOT_FOUND, NONCE_GAP, ADMIN_DISABLED, …), when a validator answered with one */
  readonly apiCode: string | undefined
  constructor(code: ApiClientErrorCode, message: string, options?: { cause?: unknown; retryAfterMs?: number; status?: number; apiCode?: string }) {
    super(code, message, options)
    this.retryAfterMs = options?.retryAfterMs
    this.status = options?.status
    this.apiCode = options?.apiCode
  }
}

export function isApiClientError(e: unknown): e is ApiClientError {
  return e instanceof ApiClientError
}

const DEFAULT_TIMEOUT_MS = 5_000
/** How long `submit` keeps offering a transaction the validators defer ("not now"). */
export const SUBMIT_RETRY_MS = 30_000
const MIN_RETRY_MS = 100
/** A snapshot can be large: the default time allowed to fetch one. */
const SNAPSHOT_TIMEOUT_MS = 60_000
const SNAPSHOT_CONTENT_TYPE = 'application/vnd.ipld.dag-cbor'

// ---- the server's schemas, read into the ledger's types ---------------------------

const bytes = S.Hex.transform((s) => fromHex(s))
const hash = S.Hash.transform((s) => fromHex(s))
const cid = S.Cid.transform((s, ctx) => {
  try {
    return CID.parse(s)
  } catch {
    ctx.addIssue({ code: 'custom', message: `not a CID: ${s}` })
    return z.NEVER
  }
})

const RoundResult = S.RoundResult.extend({ model: cid, transcriptHash: hash, superseded: z.array(cid) })
const Round = S.Round.extend({ baseModel: cid, roundKey: bytes.nullable(), result: RoundResult.nullable() })
const Commit = S.Commit.extend({ ciphertext: cid, plaintextHash: hash, statementSig: bytes })
const RoundAnswer = S.RoundDetail.extend({ round: Round, commits: z.object({ items: z.array(Commit), next: z.string().nullable() }) })
const RoundsAnswer = S.RoundPage.pick({ height: true, next: true }).extend({ items: z.array(S.RoundSummary.pick({ id: true, status: true }).loose()) }).loose()
const MemberAnswer = S.MemberDetail.pick({ height: true, nonce: true })
  .extend({
    member: S.Member.pick({ id: true, roles: true, revoked: true, revokedAt: true }).extend({ publicKey: bytes }).loose(),
    budget: S.Budget.pick({ epsilonCap: true, epsilonSpent: true, epsilonCommitted: true, epsilonAvailable: true, delta: true }).loose().nullable(),
  })
  .loose()
const Checkpoint = S.Checkpoint.extend({ model: cid, snapshot: cid, stateRoot: hash })
const CheckpointAnswer = S.CheckpointResponse.extend({ checkpoint: Checkpoint })
const StatusAnswer = S.NodeStatus
const HeightAnswer = S.NodeStatus.pick({ chainId: true }).extend({ committed: S.NodeStatus.shape.committed.pick({ height: true }).loose() }).loose()
const TxAnswer = S.TxView.pick({ id: true, height: true }).extend({ receipt: S.Receipt.pick({ code: true, message: true }).loose(), tx: z.unknown() }).loose()
const SubmitAnswer = S.Submitted
const ParamsAnswer = S.Params.pick({ height: true }).extend({
  params: S.Params.shape.params
    .pick({ chainId: true, resultGraceBlocks: true })
    .extend({ attestation: S.Params.shape.params.shape.attestation.extend({ trustAnchors: z.record(z.string(), z.array(bytes)), measurements: z.array(bytes) }) })
    .loose(),
})
const Enclave = S.Enclave.pick({ id: true, platform: true, revoked: true, nonce: true }).extend({ measurement: bytes, publicKey: bytes }).loose()
const EnclavesAnswer = S.EnclavePage.pick({ next: true }).extend({ items: z.array(Enclave) }).loose()

/** a commit certificate as the light client takes it: its DAG-CBOR only */
const CertificateCbor = S.CommitCertificate.pick({ certificateCbor: true }).extend({ certificateCbor: bytes }).loose().nullable()
const ProofAnswer = S.Proof.pick({ key: true, height: true }).extend({ proofCbor: bytes, certificate: CertificateCbor }).loose()
const ProofBatchAnswer = S.ProofBatch.pick({ height: true })
  .extend({ certificate: CertificateCbor, proofs: z.array(S.ProofBatch.shape.proofs.element.extend({ proofCbor: bytes }).loose()) })
  .loose()
const EpochChangeAnswer = S.EpochChange.pick({ epoch: true, height: true }).extend({ proofCbor: bytes, certificate: CertificateCbor }).loose()

const SnapshotSchema = z.strictObject({
  height: z.number().int().nonnegative(),
  stateRoot: z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length === 32, 'expected 32 bytes'),
  entries: z.array(z.tuple([z.string(), z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected bytes')])),
})

export type NodeStatusView = z.output<typeof StatusAnswer>
export type RoundView = z.output<typeof Round> & { training: TrainingConfig; aggregation: AggregationConfig }
export type RoundResultView = z.output<typeof RoundResult>
export type MemberView = z.output<typeof MemberAnswer>
export type CheckpointView = z.output<typeof Checkpoint>
export type ChainParamsView = z.output<typeof ParamsAnswer>['params']
export type EnclaveView = z.output<typeof Enclave>
export interface RoundDetail {
  height: number
  round: RoundView
  eligible: string[]
  /** every commit, in ledger order */
  commits: CommitRecord[]
}
/** What a validator answered for a proof, as bytes for the light client (light/): it has not been checked. */
export interface ProofAnswer {
  key: string
  height: number
  /** DAG-CBOR of the trie proof */
  proof: Uint8Array
  /** DAG-CBOR of the height's commit certificate; null when the validator holds none */
  certificate: Uint8Array | null
}

/** What a validator answered for many keys at one height (POST /v1/proofs): the keys are those asked, in order; nothing else is checked. */
export interface ProofBatchAnswer {
  height: number
  /** DAG-CBOR of the height's commit certificate; null when the validator holds none */
  certificate: Uint8Array | null
  /** DAG-CBOR of each key's trie proof, in the order asked */
  proofs: Array<{ key: string; proof: Uint8Array }>
}

/** How an epoch got its validators, as a validator answered it (unchecked). */
export interface EpochChangeAnswer {
  epoch: number
  height: number
  proof: Uint8Array
  certificate: Uint8Array | null
}

export interface TxReceipt {
  id: string
  height: number
  code: string
  message: string
  tx: unknown
}

export interface ApiClientOptions {
  /** validator API base URLs, e.g. http://127.0.0.1:26660 */
  apis: readonly string[]
  /** per request, default 5 s */
  timeoutMs?: number
  /** the largest JSON answer read, default DEFAULT_MAX_ANSWER_BYTES (snapshots have their own cap) */
  maxAnswerBytes?: number
}

/** The default cap of a JSON answer: a page of 1,000 commits or a batch of 2,048 proofs fits many times over. */
export const DEFAULT_MAX_ANSWER_BYTES = 32 * 1024 * 1024

export interface CallOptions {
  signal?: AbortSignal
  /** this request's time limit instead of the client's */
  timeoutMs?: number
}

export interface SnapshotOptions extends CallOptions {
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
  /** the snapshot's size as fetched */
  bytes: number
}

interface Request extends CallOptions {
  method?: 'GET' | 'POST'
  body?: string
  /** a 404 is an answer (undefined), not an error */
  notFoundOk?: boolean
  /** the code an error status becomes */
  failCode?: 'API' | 'SUBMIT'
  /** read the answer as bytes of this content type instead of JSON, at most maxBytes */
  binary?: { contentType: string; maxBytes: number }
}

export class ApiClient {
  private readonly apis: readonly string[]
  private readonly timeoutMs: number
  private readonly maxAnswerBytes: number
  private current = 0
  /** the next nonce per sender as this client last used it (validators' state may lag a receipt by a moment) */
  private readonly nonces = new Map<string, number>()

  constructor(options: ApiClientOptions) {
    if (options.apis.length === 0) throw new ApiClientError('INVALID_ARGUMENT', 'an API client needs at least one validator API')
    this.apis = options.apis
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.maxAnswerBytes = options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES
  }

  // ---- node ---------------------------------------------------------------------

  /** GET /v1/status: the node's view of the chain. */
  async status(opts: CallOptions = {}): Promise<NodeStatusView> {
    return this.parse(StatusAnswer, await this.request('/v1/status', opts), 'status')
  }

  /** The committed height (GET /v1/status). */
  async height(signal?: AbortSignal): Promise<number> {
    return this.parse(HeightAnswer, await this.request('/v1/status', { signal }), 'status').committed.height
  }

  // ---- state --------------------------------------------------------------------

  /** GET /v1/proofs/{key}: a proof under the newest certified root this validator holds (or at `height`), unchecked. */
  async proof(key: string, opts: CallOptions & { height?: number } = {}): Promise<ProofAnswer> {
    const query = opts.height === undefined ? '' : `?height=${opts.height}`
    const a = this.parse(ProofAnswer, await this.request(`/v1/proofs/${encodeURIComponent(key)}${query}`, opts), 'proof')
    return { key: a.key, height: a.height, proof: a.proofCbor, certificate: a.certificate?.certificateCbor ?? null }
  }

  /**
   * POST /v1/proofs: proofs of `keys` (1 to MAX_PROOF_BATCH_KEYS, each once), all at
   * one height: the newest certified one this validator holds, or `height`. The
   * answer must list exactly the keys asked, in order (else BAD_ANSWER); the proofs
   * and the certificate are not checked (the light client does that).
   */
  async proofs(keys: string[], opts: CallOptions & { height?: number } = {}): Promise<ProofBatchAnswer> {
    if (keys.length === 0 || keys.length > S.MAX_PROOF_BATCH_KEYS) throw new ApiClientError('INVALID_ARGUMENT', `asked for ${keys.length} proofs: 1 to ${S.MAX_PROOF_BATCH_KEYS} keys per request`)
    if (new Set(keys).size !== keys.length) throw new ApiClientError('INVALID_ARGUMENT', 'a key is asked for twice')
    const body = JSON.stringify(opts.height === undefined ? { keys } : { keys, height: opts.height })
    const a = this.parse(ProofBatchAnswer, await this.request('/v1/proofs', { ...opts, method: 'POST', body }), 'proof batch')
    let i = 0
    while (i < keys.length && i < a.proofs.length && a.proofs[i]!.key === keys[i]) i++
    if (i < keys.length || i < a.proofs.length) {
      const [got, asked] = [a.proofs[i]?.key, keys[i]].map((k) => (k === undefined ? undefined : `'${k.slice(0, 100)}'`))
      const why = got === undefined ? `no proof for ${asked}` : asked === undefined ? `a proof for ${got}, not asked` : `a proof for ${got} where ${asked} was asked`
      throw new ApiClientError('BAD_ANSWER', `POST /v1/proofs: the validator answered ${a.proofs.length} proofs for ${keys.length} keys: at index ${i}, ${why}`)
    }
    return { height: a.height, certificate: a.certificate?.certificateCbor ?? null, proofs: a.proofs.map((p) => ({ key: p.key, proof: p.proofCbor })) }
  }

  /** GET /v1/epochs/{epoch}: how the epoch got its validators, unchecked; undefined when the validator has no record of it. */
  async epochChange(epoch: number, opts: CallOptions = {}): Promise<EpochChangeAnswer | undefined> {
    const raw = await this.request(`/v1/epochs/${epoch}`, { ...opts, notFoundOk: true })
    if (raw === undefined) return undefined
    const a = this.parse(EpochChangeAnswer, raw, 'epoch change')
    return { epoch: a.epoch, height: a.height, proof: a.proofCbor, certificate: a.certificate?.certificateCbor ?? null }
  }

  /** A round with all its commits (following the commit pages), or undefined when unknown. */
  async round(id: string, signal?: AbortSignal): Promise<RoundDetail | undefined> {
    const commits: CommitRecord[] = []
    const seen = new Set<string>()
    let cursor: string | null = null
    let first: z.output<typeof RoundAnswer> | undefined
    do {
      const query: string = cursor === null ? '?limit=1000' : `?limit=1000&cursor=${encodeURIComponent(cursor)}`
      const raw = await this.request(`/v1/rounds/${encodeURIComponent(id)}${query}`, { signal, notFoundOk: true })
      if (raw === undefined) return undefined
      const page = this.parse(RoundAnswer, raw, `round '${id}'`)
      first ??= page
      commits.push(...page.commits.items)
      cursor = nextPage(seen, page.commits.next, `round '${id}'`)
    } while (cursor !== null)
    return { height: first.height, round: first.round as RoundView, eligible: first.eligible, commits }
  }

  /** Ids and statuses of every round. */
  async rounds(signal?: AbortSignal): Promise<Array<{ id: string; status: string }>> {
    const out: Array<{ id: string; status: string }> = []
    const seen = new Set<string>()
    let cursor: string | null = null
    do {
      const query: string = cursor === null ? '?limit=1000' : `?limit=1000&cursor=${encodeURIComponent(cursor)}`
      const page = this.parse(RoundsAnswer, await this.request(`/v1/rounds${query}`, { signal }), 'rounds')
      out.push(...page.items.map((r) => ({ id: r.id, status: r.status })))
      cursor = nextPage(seen, page.next, 'rounds')
    } while (cursor !== null)
    return out
  }

  async member(id: string, signal?: AbortSignal): Promise<MemberView | undefined> {
    const raw = await this.request(`/v1/members/${encodeURIComponent(id)}`, { signal, notFoundOk: true })
    return raw === undefined ? undefined : this.parse(MemberAnswer, raw, `member '${id}'`)
  }

  async params(signal?: AbortSignal): Promise<ChainParamsView> {
    return this.parse(ParamsAnswer, await this.request('/v1/params', { signal }), 'chain parameters').params
  }

  async enclave(id: string, signal?: AbortSignal): Promise<EnclaveView | undefined> {
    const seen = new Set<string>()
    let cursor: string | null = null
    do {
      const query: string = cursor === null ? '?limit=1000' : `?limit=1000&cursor=${encodeURIComponent(cursor)}`
      const page = this.parse(EnclavesAnswer, await this.request(`/v1/enclaves${query}`, { signal }), 'enclaves')
      const found = page.items.find((e) => e.id === id)
      if (found !== undefined) return found
      cursor = nextPage(seen, page.next, 'enclaves')
    } while (cursor !== null)
    return undefined
  }

  async latestCheckpoint(signal?: AbortSignal): Promise<CheckpointView | undefined> {
    const raw = await this.request('/v1/checkpoints/latest', { signal, notFoundOk: true })
    return raw === undefined ? undefined : this.parse(CheckpointAnswer, raw, 'checkpoint').checkpoint
  }

  async checkpoint(seq: number, signal?: AbortSignal): Promise<CheckpointView | undefined> {
    const raw = await this.request(`/v1/checkpoints/${seq}`, { signal, notFoundOk: true })
    return raw === undefined ? undefined : this.parse(CheckpointAnswer, raw, `checkpoint ${seq}`).checkpoint
  }

  /**
   * GET /v1/snapshots/{height}: the validator's state after block `height`, checked:
   * keys strictly sorted, entries that rebuild the claimed (or expected) root, the
   * height asked for. Throws API when refused (404 when the node no longer retains
   * that height), BAD_ANSWER when oversized or not a valid snapshot of that height.
   */
  async snapshot(height: number, opts: SnapshotOptions = {}): Promise<FetchedSnapshot> {
    if (!Number.isSafeInteger(height) || height < 0) throw new ApiClientError('INVALID_ARGUMENT', `snapshot height ${height} is not a non-negative integer`)
    const path = `/v1/snapshots/${height}`
    const fail = (why: string, cause?: unknown) => new ApiClientError('BAD_ANSWER', `GET ${path}: ${why}`, { cause })
    const body = (await this.request(path, { ...opts, timeoutMs: opts.timeoutMs ?? SNAPSHOT_TIMEOUT_MS, binary: { contentType: SNAPSHOT_CONTENT_TYPE, maxBytes: opts.maxBytes ?? MAX_SNAPSHOT_BYTES } })) as Uint8Array
    let raw: unknown
    try {
      raw = decode(body, Number.MAX_SAFE_INTEGER)
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
    return { height: snap.height, stateRoot: snap.stateRoot, entries: snap.entries, state, bytes: body.length }
  }

  // ---- transactions -------------------------------------------------------------

  /** The sender's next nonce: the ledger's, or one past what this client last had committed, whichever is higher. */
  async nextNonce(sender: string, signal?: AbortSignal): Promise<number> {
    // members and enclaves both sign transactions; the API shows an enclave's nonce in its view
    const onLedger = (await this.member(sender, signal))?.nonce ?? (await this.enclave(sender, signal))?.nonce ?? 0
    return Math.max(onLedger, this.nonces.get(sender) ?? 0)
  }

  /**
   * Builds a transaction for `sender` at its next nonce (`build(nonce)` signs it),
   * submits it, waits for its receipt and remembers the nonce it consumed (a refused
   * transaction consumes none). Returns the receipt, whatever its code.
   */
  async send(sender: string, build: (nonce: number) => Uint8Array | Promise<Uint8Array>, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<TxReceipt> {
    const nonce = await this.nextNonce(sender, opts.signal)
    const receipt = await this.waitFor(await this.submit(await build(nonce), opts.signal), opts)
    if (receipt.code === 'OK') this.nonces.set(sender, nonce + 1)
    return receipt
  }

  /**
   * Submits a signed, encoded transaction; returns its id. A refusal that means "not
   * now" (the node is full, the sender is ahead of its window: the answer carries
   * retryAfterMs) is offered again after that long, for up to SUBMIT_RETRY_MS; any
   * other refusal at admission, or one still deferred then, throws SUBMIT.
   */
  async submit(tx: Uint8Array, signal?: AbortSignal): Promise<string> {
    const body = JSON.stringify({ tx: Buffer.from(tx).toString('base64') })
    const deadline = Date.now() + SUBMIT_RETRY_MS
    for (;;) {
      try {
        const raw = await this.request('/v1/txs', { method: 'POST', body, signal, failCode: 'SUBMIT' })
        return this.parse(SubmitAnswer, raw, 'submit answer').id
      } catch (e) {
        const asked = e instanceof ApiClientError && e.code === 'SUBMIT' ? e.retryAfterMs : undefined
        if (asked === undefined) throw e
        const wait = Math.max(MIN_RETRY_MS, asked) // a validator answering 0 does not get a busy loop
        if (Date.now() + wait > deadline) throw e
        await sleep(wait, signal)
      }
    }
  }

  /** The transaction's receipt once committed, or undefined. */
  async receipt(id: string, signal?: AbortSignal): Promise<TxReceipt | undefined> {
    const raw = await this.request(`/v1/txs/${encodeURIComponent(id)}`, { signal, notFoundOk: true })
    if (raw === undefined) return undefined
    const t = this.parse(TxAnswer, raw, `transaction ${id}`)
    return { id: t.id, height: t.height, code: t.receipt.code, message: t.receipt.message, tx: t.tx }
  }

  /** Polls until the transaction commits (or `timeoutMs` passes: TIMEOUT). */
  async waitFor(id: string, opts: { timeoutMs?: number; pollMs?: number; signal?: AbortSignal } = {}): Promise<TxReceipt> {
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000)
    for (;;) {
      const r = await this.receipt(id, opts.signal)
      if (r !== undefined) return r
      if (Date.now() > deadline) throw new ApiClientError('TIMEOUT', `transaction ${id} did not commit within ${opts.timeoutMs ?? 60_000} ms`)
      await sleep(opts.pollMs ?? 200, opts.signal)
    }
  }

  // ---- testnet fault injection (POST /v1/admin/…; 404 ADMIN_DISABLED elsewhere) -----

  /** The node refuses traffic with these peers, both ways. Returns every peer it blocks now. */
  async block(peers: readonly string[], opts: CallOptions = {}): Promise<string[]> {
    return this.parse(S.BlockedPeers, await this.admin('block', { peers }, opts), 'admin answer').blocked
  }

  /** Undoes block. Returns every peer the node still blocks. */
  async unblock(peers: readonly string[], opts: CallOptions = {}): Promise<string[]> {
    return this.parse(S.BlockedPeers, await this.admin('unblock', { peers }, opts), 'admin answer').blocked
  }

  /** The node holds back its outgoing traffic by `ms` (0 turns it off). Returns the delay now applied. */
  async delay(ms: number, opts: CallOptions = {}): Promise<number> {
    return this.parse(S.DelayState, await this.admin('delay', { ms }, opts), 'admin answer').delayMs
  }

  private async admin(action: 'block' | 'unblock' | 'delay', body: unknown, opts: CallOptions): Promise<unknown> {
    try {
      return await this.request(`/v1/admin/${action}`, { ...opts, method: 'POST', body: JSON.stringify(body) })
    } catch (e) {
      if (e instanceof ApiClientError && e.status === 404) {
        const need = action === 'delay' ? 'delays' : 'partitions'
        throw new ApiClientError('API', `${e.message} (this node has no admin hook enabled; ${need} need POST /v1/admin/${action})`, { cause: e, status: e.status, apiCode: e.apiCode })
      }
      throw e
    }
  }

  // ---- transport ----------------------------------------------------------------

  /**
   * Reads `raw` with `schema`. Fields the schema does not know are dropped, not
   * refused: a validator newer than this client may add fields (the server's own
   * tests hold it to the strict schema). A field missing, of another type or out of
   * range is BAD_ANSWER.
   */
  private parse<T extends z.ZodType>(schema: T, raw: unknown, what: string): z.output<T> {
    let value = raw
    for (let pass = 0; ; pass++) {
      const r = schema.safeParse(value)
      if (r.success) return r.data
      const wrong = r.error.issues.find((i) => i.code !== 'unrecognized_keys')
      if (wrong !== undefined || pass >= 3) {
        const issue = wrong ?? r.error.issues[0]
        throw new ApiClientError('BAD_ANSWER', `validator answered an unexpected ${what}: ${issue?.path.join('.')}: ${issue?.message}`)
      }
      if (pass === 0) value = structuredClone(value)
      for (const issue of r.error.issues) {
        if (issue.code !== 'unrecognized_keys') continue
        const holder = issue.path.reduce<unknown>((o, k) => (o as Record<PropertyKey, unknown>)?.[k as PropertyKey], value) as Record<string, unknown>
        for (const key of issue.keys) delete holder[key]
      }
    }
  }

  /** One request, to the current validator, moving on to the next on a network error (each tried once). */
  private async request(path: string, req: Request): Promise<unknown> {
    const method = req.method ?? 'GET'
    const init: RequestInit = { method, ...(req.body === undefined ? {} : { body: req.body, headers: { 'content-type': 'application/json' } }) }
    let lastError: unknown
    let timedOut = false
    for (let attempt = 0; attempt < this.apis.length; attempt++) {
      const api = this.apis[this.current]!
      const where = `${method} ${new URL(path, api).toString()}`
      const timeout = AbortSignal.timeout(req.timeoutMs ?? this.timeoutMs)
      let res: Response
      try {
        res = await fetch(new URL(path, api), { ...init, signal: req.signal === undefined ? timeout : AbortSignal.any([req.signal, timeout]) })
        if (res.ok && req.binary !== undefined) return await readBinary(res, where, req.binary.contentType, req.binary.maxBytes)
        const text = new TextDecoder().decode(await readCapped(res, this.maxAnswerBytes, (why) => new ApiClientError('BAD_ANSWER', `${where}: ${why}`)))
        return answer(res, text, where, req)
      } catch (e) {
        if (e instanceof ApiClientError) throw e
        if (req.signal?.aborted) throw new ApiClientError('ABORTED', 'aborted', { cause: req.signal.reason })
        timedOut ||= timeout.aborted
        lastError = e
        this.current = (this.current + 1) % this.apis.length
      }
    }
    const why = timedOut ? 'timed out' : ((lastError as Error & { cause?: { code?: string } })?.cause?.code ?? (lastError as Error)?.message)
    throw new ApiClientError('UNREACHABLE', `no validator answered ${method} ${path} (${this.apis.join(', ')}): ${why}`, { cause: lastError })
  }
}

/** Most pages a listing is followed for (10^7 items at 1,000 a page): a validator cannot keep a client paging forever. */
export const MAX_PAGES = 10_000

/** The next page's cursor; BAD_ANSWER for a cursor seen before (a loop) or past MAX_PAGES. */
function nextPage(seen: Set<string>, next: string | null, what: string): string | null {
  if (next === null) return null
  if (seen.has(next)) throw new ApiClientError('BAD_ANSWER', `${what}: the validator's page cursor '${next.slice(0, 100)}' repeats`)
  if (seen.size >= MAX_PAGES) throw new ApiClientError('BAD_ANSWER', `${what}: more than ${MAX_PAGES} pages`)
  seen.add(next)
  return next
}

/** A JSON answer: the value, undefined for an accepted 404, or the API's error as ApiClientError. */
function answer(res: Response, text: string, where: string, req: Request): unknown {
  if (res.status === 404 && req.notFoundOk) return undefined
  let json: unknown
  try {
    json = text === '' ? null : JSON.parse(text)
  } catch {
    // an error status from something in front of the node (a proxy's 502 page) is still an error status
    if (!res.ok) throw new ApiClientError(req.failCode ?? 'API', `${where}: HTTP ${res.status}: ${text.slice(0, 200)}`, { status: res.status })
    throw new ApiClientError('BAD_ANSWER', `${where}: HTTP ${res.status}, not JSON`)
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: unknown; message?: unknown; retryAfterMs?: unknown } } | null)?.error
    const apiCode = typeof err?.code === 'string' ? err.code : undefined
    const message = typeof err?.message === 'string' ? err.message : text.slice(0, 200)
    const retryAfterMs = typeof err?.retryAfterMs === 'number' && Number.isFinite(err.retryAfterMs) && err.retryAfterMs >= 0 ? err.retryAfterMs : undefined
    throw new ApiClientError(req.failCode ?? 'API', `${where}: HTTP ${res.status}${apiCode === undefined ? '' : ` ${apiCode}`}: ${message}`, { retryAfterMs, status: res.status, apiCode })
  }
  return json
}

/** A successful answer that must be bytes of `contentType`, read under a byte cap. */
async function readBinary(res: Response, where: string, contentType: string, maxBytes: number): Promise<Uint8Array> {
  const fail = (why: string) => new ApiClientError('BAD_ANSWER', `${where}: ${why}`)
  const type = res.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase()
  if (type !== contentType) {
    await res.body?.cancel()
    throw fail(`the answer is ${type ?? 'untyped'}, not ${contentType}`)
  }
  return readCapped(res, maxBytes, fail)
}

/** The answer's body, read under a byte cap (a validator cannot make a client buffer without bound). */
async function readCapped(res: Response, maxBytes: number, fail: (why: string) => ApiClientError): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? NaN)
  if (declared > maxBytes) {
    await res.body?.cancel()
    throw fail(`the answer is ${declared} bytes, limit ${maxBytes}`)
  }
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of res.body ?? []) {
    size += chunk.length
    if (size > maxBytes) {
      await res.body?.cancel().catch(() => undefined)
      throw fail(`the answer is over ${maxBytes} bytes`)
    }
    chunks.push(chunk)
  }
  return new Uint8Array(Buffer.concat(chunks, size))
}

/** Waits `ms`, or rejects with ABORTED when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ApiClientError('ABORTED', 'aborted'))
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(t)
      reject(new ApiClientError('ABORTED', 'aborted'))
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
