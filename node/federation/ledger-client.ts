/**
 * LedgerClient: what the off-chain actors of a federation (participant peers, the
 * enclave host, the coordinator) need of the validators' HTTP API, typed. It
 * reads round, member, budget and checkpoint records back from the API's JSON
 * (hex bytes, CID strings; node/api/json.ts) into the ledger's own record types,
 * submits signed transactions and waits for their receipts.
 *
 * It talks to one validator at a time and moves to the next on a network error,
 * so an actor survives a validator going down. It trusts the validator it asks:
 * an auditor who does not would check answers against /v1/proofs.
 */
import { z } from 'zod'
import { type CommitRecord, type TrainingConfig, type AggregationConfig } from '../../ledger/index.ts'
import { CID, fromHex } from '../../primitives/index.ts'
import { FederationError } from './errors.ts'

const DEFAULT_TIMEOUT_MS = 5_000

const hex = z.string().regex(/^([0-9a-f]{2})*$/).transform((s) => fromHex(s))
const cid = z.string().transform((s, ctx) => {
  try {
    return CID.parse(s)
  } catch {
    ctx.addIssue({ code: 'custom', message: `not a CID: ${s}` })
    return z.NEVER
  }
})

const ResultSchema = z.object({
  model: cid,
  included: z.array(z.string()),
  excluded: z.array(z.object({ member: z.string(), reason: z.string() })),
  transcriptHash: hex,
  height: z.number(),
  superseded: z.array(cid),
})

const RoundSchema = z.object({
  id: z.string(),
  coordinator: z.string(),
  baseModel: cid,
  training: z.object({ clipNorm: z.number(), noiseMultiplier: z.number(), samplingRate: z.number(), localEpochs: z.number() }),
  aggregation: z.object({ rule: z.literal('multi-krum'), f: z.number(), m: z.number(), centralNoiseMultiplier: z.number().optional() }),
  steps: z.number(),
  eligibleCount: z.number(),
  enclave: z.string(),
  openedAt: z.number(),
  deadline: z.number(),
  status: z.string(),
  roundKey: hex.nullable(),
  commitCount: z.number(),
  result: ResultSchema.nullable(),
  reaggregate: z.array(z.string()),
  discardReason: z.string().nullable().optional(),
})

const CommitSchema = z.object({
  round: z.string(),
  member: z.string(),
  seq: z.number(),
  ciphertext: cid,
  plaintextHash: hex,
  declaredNorm: z.number(),
  statementSig: hex,
  height: z.number(),
})

const RoundAnswer = z.object({ height: z.number(), round: RoundSchema, eligible: z.array(z.string()), commits: z.object({ items: z.array(CommitSchema), next: z.string().nullable() }) })
const RoundsAnswer = z.object({ height: z.number(), items: z.array(z.object({ id: z.string(), status: z.string() })), next: z.string().nullable() })
const MemberAnswer = z.object({
  height: z.number(),
  member: z.object({ id: z.string(), roles: z.array(z.string()), publicKey: hex, revoked: z.boolean(), revokedAt: z.number().nullable() }),
  nonce: z.number(),
  budget: z.object({ epsilonCap: z.number(), epsilonSpent: z.number(), epsilonCommitted: z.number(), epsilonAvailable: z.number(), delta: z.number() }).nullable(),
})
const CheckpointSchema = z.object({ seq: z.number(), round: z.string(), model: cid, snapshot: cid, stateRoot: hex, height: z.number(), anchoredAt: z.number() })
const CheckpointAnswer = z.object({ height: z.number(), checkpoint: CheckpointSchema })
const StatusAnswer = z.object({ chainId: z.string(), committed: z.object({ height: z.number() }) })
const TxAnswer = z.object({ id: z.string(), height: z.number(), receipt: z.object({ code: z.string(), message: z.string() }), tx: z.unknown() })
const SubmitAnswer = z.object({ id: z.string() })
const ParamsAnswer = z.object({
  height: z.number(),
  params: z.object({
    chainId: z.string(),
    attestation: z.object({ formats: z.array(z.string()), trustAnchors: z.record(z.string(), z.array(hex)), maxEvidenceAgeSeconds: z.number(), measurements: z.array(hex) }),
    resultGraceBlocks: z.number(),
  }),
})
const EnclaveSchema = z.object({ id: z.string(), platform: z.string(), measurement: hex, publicKey: hex, revoked: z.boolean(), nonce: z.number() })
const EnclavesAnswer = z.object({ items: z.array(EnclaveSchema), next: z.string().nullable() })

export type RoundView = z.output<typeof RoundSchema> & { training: TrainingConfig; aggregation: AggregationConfig }
export type RoundResultView = z.output<typeof ResultSchema>
export type MemberView = z.output<typeof MemberAnswer>
export type CheckpointView = z.output<typeof CheckpointSchema>
export type ChainParamsView = z.output<typeof ParamsAnswer>['params']
export type EnclaveView = z.output<typeof EnclaveSchema>
export interface RoundDetail {
  height: number
  round: RoundView
  eligible: string[]
  /** every commit, in ledger order */
  commits: CommitRecord[]
}
export interface TxReceipt {
  id: string
  height: number
  code: string
  message: string
  tx: unknown
}

export interface LedgerClientOptions {
  /** validator API base URLs, e.g. http://127.0.0.1:26660 */
  apis: readonly string[]
  timeoutMs?: number
}

export class LedgerClient {
  private readonly apis: readonly string[]
  private readonly timeoutMs: number
  private current = 0
  /** the next nonce per sender as this client last used it (validators' state may lag a receipt by a moment) */
  private readonly nonces = new Map<string, number>()

  constructor(options: LedgerClientOptions) {
    if (options.apis.length === 0) throw new FederationError('BAD_ARGUMENT', 'a ledger client needs at least one validator API')
    this.apis = options.apis
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  }

  async height(signal?: AbortSignal): Promise<number> {
    return this.parse(StatusAnswer, await this.get('/v1/status', signal), 'status').committed.height
  }

  /** A round with all its commits (following the commit pages), or undefined when unknown. */
  async round(id: string, signal?: AbortSignal): Promise<RoundDetail | undefined> {
    const commits: CommitRecord[] = []
    let cursor: string | null = null
    let first: z.output<typeof RoundAnswer> | undefined
    do {
      const query: string = cursor === null ? '?limit=1000' : `?limit=1000&cursor=${encodeURIComponent(cursor)}`
      const raw = await this.get(`/v1/rounds/${encodeURIComponent(id)}${query}`, signal, true)
      if (raw === undefined) return undefined
      const page = this.parse(RoundAnswer, raw, `round '${id}'`)
      first ??= page
      commits.push(...page.commits.items)
      cursor = page.commits.next
    } while (cursor !== null)
    return { height: first.height, round: first.round as RoundView, eligible: first.eligible, commits }
  }

  /** Ids and statuses of every round. */
  async rounds(signal?: AbortSignal): Promise<Array<{ id: string; status: string }>> {
    const out: Array<{ id: string; status: string }> = []
    let cursor: string | null = null
    do {
      const query: string = cursor === null ? '?limit=1000' : `?limit=1000&cursor=${encodeURIComponent(cursor)}`
      const page = this.parse(RoundsAnswer, await this.get(`/v1/rounds${query}`, signal), 'rounds')
      out.push(...page.items)
      cursor = page.next
    } while (cursor !== null)
    return out
  }

  async member(id: string, signal?: AbortSignal): Promise<MemberView | undefined> {
    const raw = await this.get(`/v1/members/${encodeURIComponent(id)}`, signal, true)
    return raw === undefined ? undefined : this.parse(MemberAnswer, raw, `member '${id}'`)
  }

  async params(signal?: AbortSignal): Promise<ChainParamsView> {
    return this.parse(ParamsAnswer, await this.get('/v1/params', signal), 'chain parameters').params
  }

  async enclave(id: string, signal?: AbortSignal): Promise<EnclaveView | undefined> {
    let cursor: string | null = null
    do {
      const query: string = cursor === null ? '?limit=1000' : `?limit=1000&cursor=${encodeURIComponent(cursor)}`
      const page = this.parse(EnclavesAnswer, await this.get(`/v1/enclaves${query}`, signal), 'enclaves')
      const found = page.items.find((e) => e.id === id)
      if (found !== undefined) return found
      cursor = page.next
    } while (cursor !== null)
    return undefined
  }

  async latestCheckpoint(signal?: AbortSignal): Promise<CheckpointView | undefined> {
    const raw = await this.get('/v1/checkpoints/latest', signal, true)
    return raw === undefined ? undefined : this.parse(CheckpointAnswer, raw, 'checkpoint').checkpoint
  }

  async checkpoint(seq: number, signal?: AbortSignal): Promise<CheckpointView | undefined> {
    const raw = await this.get(`/v1/checkpoints/${seq}`, signal, true)
    return raw === undefined ? undefined : this.parse(CheckpointAnswer, raw, `checkpoint ${seq}`).checkpoint
  }

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
        const raw = await this.call('/v1/txs', { method: 'POST', headers: { 'content-type': 'application/json' }, body }, signal, false, 'SUBMIT')
        return this.parse(SubmitAnswer, raw, 'submit answer').id
      } catch (e) {
        const asked = e instanceof FederationError && e.code === 'SUBMIT' ? e.retryAfterMs : undefined
        if (asked === undefined) throw e
        const wait = Math.max(MIN_RETRY_MS, asked) // a validator answering 0 does not get a busy loop
        if (Date.now() + wait > deadline) throw e
        await sleep(wait, signal)
      }
    }
  }

  /** The transaction's receipt once committed, or undefined. */
  async receipt(id: string, signal?: AbortSignal): Promise<TxReceipt | undefined> {
    const raw = await this.get(`/v1/txs/${encodeURIComponent(id)}`, signal, true)
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
      if (Date.now() > deadline) throw new FederationError('TIMEOUT', `transaction ${id} did not commit within ${opts.timeoutMs ?? 60_000} ms`)
      await sleep(opts.pollMs ?? 200, opts.signal)
    }
  }

  private parse<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.output<S> {
    const r = schema.safeParse(raw)
    if (!r.success) throw new FederationError('BAD_ANSWER', `validator answered an unexpected ${what}: ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`)
    return r.data
  }

  private get(path: string, signal: AbortSignal | undefined, notFoundOk = false): Promise<unknown> {
    return this.call(path, { method: 'GET' }, signal, notFoundOk, 'API')
  }

  /** One request, to the current validator, moving on to the next on a network error (each tried once). */
  private async call(path: string, init: RequestInit, signal: AbortSignal | undefined, notFoundOk: boolean, failCode: 'API' | 'SUBMIT'): Promise<unknown> {
    let lastError: unknown
    for (let attempt = 0; attempt < this.apis.length; attempt++) {
      const api = this.apis[this.current]!
      const timeout = AbortSignal.timeout(this.timeoutMs)
      let res: Response
      let text: string
      try {
        res = await fetch(new URL(path, api), { ...init, signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]) })
        text = await res.text()
      } catch (e) {
        if (signal?.aborted) throw new FederationError('ABORTED', 'aborted', { cause: signal.reason })
        lastError = e
        this.current = (this.current + 1) % this.apis.length
        continue
      }
      if (res.status === 404 && notFoundOk) return undefined
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch {
        throw new FederationError('BAD_ANSWER', `${init.method} ${api}${path}: HTTP ${res.status}, not JSON`)
      }
      if (!res.ok) {
        const err = (json as { error?: { code?: string; message?: string; retryAfterMs?: unknown } }).error
        const retryAfterMs = typeof err?.retryAfterMs === 'number' && Number.isFinite(err.retryAfterMs) && err.retryAfterMs >= 0 ? err.retryAfterMs : undefined
        throw new FederationError(failCode, `${init.method} ${path}: HTTP ${res.status} ${err?.code ?? ''}: ${err?.message ?? text.slice(0, 200)}`, { retryAfterMs })
      }
      return json
    }
    throw new FederationError('UNREACHABLE', `no validator answered ${init.method} ${path} (${this.apis.join(', ')}): ${(lastError as Error)?.message}`, { cause: lastError })
  }
}

/** How long `submit` keeps offering a transaction the validators defer ("not now"). */
export const SUBMIT_RETRY_MS = 30_000
const MIN_RETRY_MS = 100

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new FederationError('ABORTED', 'aborted'))
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(t)
      reject(new FederationError('ABORTED', 'aborted'))
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
