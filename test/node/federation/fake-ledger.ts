/**
 * A small fake validator API for the federation tests: an http server on
 * 127.0.0.1 port 0 answering the routes ApiClient calls, in the API's JSON
 * shapes (node/api views: records through toJson, bytes hex, CIDs strings,
 * errors `{ error: { code, message } }`). Tests set its state directly, decide
 * each submitted transaction's receipt, override any route's answer, and read
 * the log of requests it served.
 *
 * Its state is provable: GET and POST /v1/proofs answer with trie proofs of its
 * records (under the keys the ledger uses) and a commit certificate of the current
 * height signed by a quorum of FAKE_GENESIS's validators, so a VerifiedReader pinned
 * to FAKE_GENESIS checks them as it would a validator's. `FakeLedger.liar` answers
 * from the same records with a lie of the test's choosing: altered values under the
 * honest certificate, or its own state certified by one validator alone.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { signCertificate } from '../../helpers/commits.ts'
import { defaultGenesis } from '../../ledger/harness.ts'
import {
  decodeTx,
  genesisState,
  StateKey,
  StateTrie,
  txId,
  type Genesis,
  type ChainParams,
  type CommitRecord,
  type DecodedTx,
  type EnclaveRecord,
  type MemberRecord,
  type RoundRecord,
} from '../../../ledger/index.ts'
import { encode, sha256, toHex, type CID } from '../../../primitives/index.ts'
import { toJson, type JsonValue } from '../../../node/api/index.ts'

/** The genesis the fake ledger's certificates chain to (validators val-0…3, one epoch for any height a test reaches); clients pin its hash. */
export const FAKE_GENESIS: Genesis = defaultGenesis({ chainId: 'fed-test', epochLength: 1_000_000 })
export const FAKE_GENESIS_HASH = genesisState(FAKE_GENESIS).root
const VALIDATORS = FAKE_GENESIS.validators.map((v) => v.id)

/**
 * How a lying fake answers proofs: `tamper` alters the records it proves (under the honest
 * certificate); `certify` also certifies the altered state with these signers (a quorum
 * of them makes it a genuinely certified state: an old one, with `heightOffset` < 0).
 */
export interface Lie {
  tamper: (key: string, value: unknown) => unknown
  certify?: readonly string[]
  heightOffset?: number
}

export interface FakeRound {
  record: RoundRecord
  eligible: string[]
  commits: CommitRecord[]
}

export interface FakeReceipt {
  code: string
  message: string
}

/** An answer a test forces on a route: status and a JSON body (or raw text). */
export type Override = { status: number; body?: unknown; text?: string }

export class FakeLedger {
  height = 1
  chainId: string
  params: ChainParams | undefined
  readonly rounds = new Map<string, FakeRound>()
  readonly members = new Map<string, MemberRecord>()
  /** the nonce /v1/members reports per member (tests may let it lag behind receipts) */
  readonly nonces = new Map<string, number>()
  readonly enclaves = new Map<string, EnclaveRecord>()
  /** committed transactions by id (the latest receipt of a resubmitted one) */
  readonly txs = new Map<string, { decoded: DecodedTx; receipt: FakeReceipt; height: number }>()
  /** every transaction admitted, in order, resubmissions included */
  readonly submitted: Array<{ decoded: DecodedTx; receipt: FakeReceipt }> = []
  /** every request served, as 'GET /v1/…' (path without the query) */
  readonly requests: string[] = []
  /** decides a submitted transaction's receipt (default OK); throwing refuses it at admission */
  decide: (tx: DecodedTx) => FakeReceipt = () => ({ code: 'OK', message: '' })
  /** a forced answer for a path (without the query), or undefined for the normal one */
  override: (method: string, path: string) => Override | undefined = () => undefined
  private server: Server | undefined
  /** set on a liar (FakeLedger.liar) */
  private lie: Lie | undefined

  constructor(chainId: string) {
    this.chainId = chainId
  }

  /** A second fake API over the same records (rounds, members, enclaves, params) that lies in its proofs. */
  static liar(honest: FakeLedger, lie: Lie): FakeLedger {
    const f = new FakeLedger(honest.chainId)
    Object.assign(f, { rounds: honest.rounds, members: honest.members, enclaves: honest.enclaves, nonces: honest.nonces, txs: honest.txs })
    Object.defineProperty(f, 'height', { get: () => honest.height, set: (h: number) => (honest.height = h) })
    Object.defineProperty(f, 'params', { get: () => honest.params })
    f.lie = lie
    return f
  }

  /** The records as the ledger keys them, DAG-CBOR encoded (`tamper` applied to each value when given). */
  private entries(tamper?: Lie['tamper']): Array<[string, Uint8Array]> {
    const out: Array<[string, unknown]> = [[StateKey.genesis, FAKE_GENESIS_HASH]]
    if (this.params !== undefined) out.push([StateKey.params, this.params])
    for (const m of this.members.values()) out.push([StateKey.member(m.id), m])
    for (const e of this.enclaves.values()) out.push([StateKey.enclave(e.id), e])
    for (const { record, eligible, commits } of this.rounds.values()) {
      out.push([StateKey.round(record.id), record], [StateKey.roundEligible(record.id), eligible])
      for (const m of eligible) out.push([StateKey.eligible(record.id, m), true])
      for (const c of commits) out.push([StateKey.commit(record.id, c.member), c])
    }
    return out.map(([k, v]) => [k, encode(tamper === undefined ? v : tamper(k, v))])
  }

  /** The state trie of the current records, and the commit certificate of the current height. */
  private certified(): { trie: StateTrie; certificate: { certificateCbor: string } } {
    const honest = StateTrie.fromEntries(this.entries())
    const trie = this.lie === undefined ? honest : StateTrie.fromEntries(this.entries(this.lie.tamper))
    const certifiedRoot = this.lie?.certify === undefined ? honest.root : trie.root
    const height = this.height + (this.lie?.heightOffset ?? 0)
    const header = { chain: this.chainId, genesis: FAKE_GENESIS_HASH, epoch: 0, height, block: sha256(encode(['fake block', height])), ledgerBlock: null, stateRoot: certifiedRoot }
    const cert = signCertificate(header, this.lie?.certify ?? VALIDATORS.slice(0, 3), VALIDATORS)
    return { trie, certificate: { certificateCbor: toHex(encode(cert)) } }
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      this.serve(req, res).catch((e: unknown) => send(res, 500, { error: { code: 'INTERNAL', message: (e as Error).message } }))
    })
    this.server = server
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  async stop(): Promise<void> {
    const server = this.server
    this.server = undefined
    if (server === undefined) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  count(prefix: string): number {
    return this.requests.filter((r) => r.startsWith(prefix)).length
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x')
    const method = req.method ?? 'GET'
    const path = decodeURIComponent(url.pathname)
    this.requests.push(`${method} ${path}`)
    const forced = this.override(method, path)
    if (forced !== undefined) {
      res.writeHead(forced.status, { 'content-type': 'application/json' })
      res.end(forced.text ?? JSON.stringify(forced.body))
      return
    }
    if (method === 'POST' && path === '/v1/txs') return this.submit(req, res)
    if (method === 'POST' && path === '/v1/proofs') {
      const chunks: Buffer[] = []
      for await (const c of req) chunks.push(c as Buffer)
      const { keys } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { keys: string[] }
      const { trie, certificate } = this.certified()
      return send(res, 200, { height: this.height + (this.lie?.heightOffset ?? 0), stateRoot: toHex(trie.root), certificate, proofs: keys.map((key) => ({ key, proofCbor: toHex(encode(trie.prove(key))) })) })
    }
    if (method !== 'GET') return notFound(res, `${method} ${path}`)
    const seg = path.split('/').filter((s) => s.length > 0)
    const h = this.height
    if (path === '/v1/status') return send(res, 200, { chainId: this.chainId, committed: { height: h, block: null, stateRoot: '00' } })
    if (path === '/v1/params') return this.params === undefined ? notFound(res, 'params') : send(res, 200, { height: h, params: toJson(this.params) })
    if (path === '/v1/checkpoints/latest') return notFound(res, 'checkpoint (none anchored yet)')
    if (seg[1] === 'proofs' && seg.length >= 3) {
      const key = seg.slice(2).join('/')
      const { trie, certificate } = this.certified()
      return send(res, 200, { key, height: this.height + (this.lie?.heightOffset ?? 0), proofCbor: toHex(encode(trie.prove(key))), certificate })
    }
    if (seg[1] === 'epochs') return notFound(res, 'epoch change (the fake ledger has one epoch)')
    if (path === '/v1/rounds') {
      const items = [...this.rounds.values()].map(({ record: r }) => ({ id: r.id, status: r.status, coordinator: r.coordinator, enclave: r.enclave, openedAt: r.openedAt, deadline: r.deadline, eligibleCount: r.eligibleCount, commitCount: r.commitCount, model: r.result === null ? null : r.result.model.toString() }))
      return send(res, 200, { height: h, items, next: null })
    }
    if (path === '/v1/enclaves') return send(res, 200, { height: h, items: [...this.enclaves.values()].map((e) => ({ ...(revocable(e, h) as Record<string, JsonValue>), nonce: this.nonces.get(e.id) ?? 0 })), next: null })
    if (seg[1] === 'rounds' && seg.length === 3) {
      const r = this.rounds.get(seg[2]!)
      if (r === undefined) return notFound(res, `round '${seg[2]}'`)
      return send(res, 200, { height: h, round: toJson(r.record), eligible: r.eligible, commits: { items: r.commits.map((c) => toJson(c)), next: null } })
    }
    if (seg[1] === 'members' && seg.length === 3) {
      const m = this.members.get(seg[2]!)
      if (m === undefined) return notFound(res, `member '${seg[2]}'`)
      return send(res, 200, { height: h, member: revocable(m, h), nonce: this.nonces.get(m.id) ?? 0, budget: null })
    }
    if (seg[1] === 'txs' && seg.length === 3) {
      const t = this.txs.get(seg[2]!)
      if (t === undefined) return notFound(res, `transaction '${seg[2]}'`)
      return send(res, 200, { id: seg[2], height: t.height, index: 0, block: seg[2], receipt: { index: 0, tx: seg[2], ...t.receipt }, tx: toJson(t.decoded.signed) })
    }
    return notFound(res, path)
  }

  private async submit(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    let decoded: DecodedTx
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { tx: string }
      decoded = decodeTx(Uint8Array.from(Buffer.from(body.tx, 'base64')))
    } catch (e) {
      return send(res, 400, { error: { code: 'MALFORMED', message: (e as Error).message } })
    }
    let receipt: FakeReceipt
    try {
      receipt = this.decide(decoded)
    } catch (e) {
      return send(res, 400, { error: { code: 'NONCE_MISMATCH', message: (e as Error).message } })
    }
    this.height++
    const id = txId(decoded.bytes).toString()
    this.txs.set(id, { decoded, receipt, height: this.height })
    this.submitted.push({ decoded, receipt })
    send(res, 202, { id })
  }
}

function revocable(rec: object & { revokedAt: number | null }, height: number): JsonValue {
  return { ...(toJson(rec) as Record<string, JsonValue>), revoked: rec.revokedAt !== null && rec.revokedAt <= height }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

function notFound(res: ServerResponse, what: string): void {
  send(res, 404, { error: { code: 'NOT_FOUND', message: `${what} not found` } })
}

/** A round record with everything a test does not care about filled in. */
export function roundRecord(over: Partial<RoundRecord> & { id: string; baseModel: CID; enclave: string; eligibleCount: number }): RoundRecord {
  return {
    coordinator: 'coordinator',
    training: { clipNorm: 1, noiseMultiplier: 1.1, samplingRate: 0.5, localEpochs: 1 },
    aggregation: { rule: 'multi-krum', f: 0, m: 1 },
    steps: 2,
    openedAt: 1,
    deadline: 1_000,
    status: 'open',
    roundKey: null,
    commitCount: 0,
    result: null,
    reaggregate: [],
    discardReason: null,
    ...over,
  }
}

export function memberRecord(id: string, publicKey: Uint8Array): MemberRecord {
  return { id, org: `${id} org`, roles: ['participant'], publicKey, attestation: null, registeredAt: 1, revokedAt: null, revocationReason: null }
}

/** Chain parameters with a sim-v1 attestation policy: `roots` as trust anchors, `measurements` allowed. */
export function chainParams(chainId: string, roots: Uint8Array[], measurements: Uint8Array[]): ChainParams {
  return {
    chainId, epochLength: 1000, governanceThreshold: 1, revocationAuthorities: {},
    attestation: { formats: ['sim-v1'], trustAnchors: { 'sim-v1': roots }, maxEvidenceAgeSeconds: 3600, measurements: measurements.map(toHex) },
    rdpOrders: [2, 4, 8], maxRoundBlocks: 1000, resultGraceBlocks: 10,
  }
}
