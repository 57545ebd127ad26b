/**
 * A small real chain for the API tests, persisted in a ChainStore over a memory
 * KV store: genesis, a member registered and granted a budget (plus a refused
 * grant), round r1 from open to result, a checkpoint, and round r2 left open so
 * that budgets hold a reservation. Plus an ApiServer on 127.0.0.1:0 over it.
 */
import { Registry } from 'prom-client'
import { ChainStore, executeBlock, MemoryKeyValueStore, txId, type LedgerBlock, type LedgerState, type Receipt, type TxBody } from '../../../ledger/index.ts'
import { sha256 } from '../../../primitives/index.ts'
import type { Logger } from '../../../node/index.ts'
import { ApiServer, LedgerQueries, NodeMetrics, type ApiAdmin, type ApiServerOptions, type BlockFeed, type CommitSource, type NodeStatus, type SubmitFn, type SubmitError } from '../../../node/api/index.ts'
import { CHAIN, keysFor, modelCid, TestChain, testEvidence, testVerifier } from '../../ledger/harness.ts'

export interface BuiltChain {
  chain: TestChain
  store: ChainStore
  /** ids of notable transactions */
  ids: { register: string; grant: string; refused: string; open: string; commitA: string }
  /** receipts of every committed block, by height */
  receipts: Map<number, Receipt[]>
  checkpointHeight: number
}

const training = { clipNorm: 1, noiseMultiplier: 1.1, samplingRate: 0.01, localEpochs: 1 }
export const R1_ELIGIBLE = ['bank-a', 'bank-b', 'bank-c', 'bank-d']

export async function buildChain(): Promise<BuiltChain> {
  const chain = new TestChain()
  const store = new ChainStore({ kv: new MemoryKeyValueStore() })
  chain.state = await store.initialize(chain.state)
  const receipts = new Map<number, Receipt[]>()
  const commit = async (...txs: Uint8Array[]): Promise<Receipt[]> => {
    const head = (await store.head())!
    chain.time += 5
    const block: LedgerBlock = { chain: CHAIN, height: chain.state.height + 1, timeSec: chain.time, parent: head.block, txs }
    const outcome = executeBlock(chain.state, block, { attestation: testVerifier })
    await store.commitBlock(block, outcome)
    chain.state = outcome.state
    receipts.set(block.height, outcome.receipts)
    const bad = outcome.receipts.filter((r) => r.code !== 'OK' && r.tx.toString() !== ids.refused)
    if (bad.length > 0) throw new Error(`fixture block ${block.height}: ${bad.map((r) => `${r.code} ${r.message}`).join('; ')}`)
    return outcome.receipts
  }
  const ids = { register: '', grant: '', refused: '', open: '', commitA: '' }
  const id = (bytes: Uint8Array) => txId(bytes).toString()

  // h1: governance registers bank-g and grants it a budget; the auditor's grant is refused
  const register = chain.tx('gov-1', 'member.register', { id: 'bank-g', org: 'bank-g org', roles: ['participant'], publicKey: keysFor('bank-g').publicKey })
  const grant = chain.tx('gov-1', 'budget.grant', { member: 'bank-g', epsilon: 2, delta: 1e-5 })
  const refused = chain.tx('auditor', 'budget.grant', { member: 'bank-g', epsilon: 100, delta: 1e-5 })
  Object.assign(ids, { register: id(register), grant: id(grant), refused: id(refused) })
  await commit(register, grant, refused)

  // h2..: round r1 from open to result (bank-c commits first; bank-d sits out)
  const open = (round: string, deadline: number): TxBody<'round.open'> => ({
    round, baseModel: modelCid('model-0'), training, aggregation: { rule: 'multi-krum', f: 0, m: 4 }, eligible: R1_ELIGIBLE, deadline, enclave: 'enclave-1',
  })
  const deadline = chain.state.height + 4
  const openTx = chain.tx('coord', 'round.open', open('r1', deadline))
  ids.open = id(openTx)
  await commit(openTx)
  const roundKey = keysFor('round-key-r1').publicKey
  await commit(chain.tx('enclave-1', 'enclave.round-key', { round: 'r1', publicKey: roundKey, attestation: testEvidence({ keys: [roundKey, keysFor('enclave-1').publicKey], for: ['enclave.round-key', 'r1'] }) }))
  const commitTx = (m: string) => chain.tx(m, 'round.commit', { round: 'r1', ciphertext: modelCid(`r1/${m}`), ...chain.statement('r1', m, 0.9) })
  const commitA = commitTx('bank-a')
  ids.commitA = id(commitA)
  await commit(commitTx('bank-c'), commitA, commitTx('bank-b'))
  while (chain.state.height < deadline) await commit()
  const dp = { clipNorm: 1, noiseMultiplier: 1.1, samplingRate: 0.01, steps: 100 }
  await commit(chain.tx('enclave-1', 'round.result', { round: 'r1', model: modelCid('model-1'), included: ['bank-a', 'bank-b'], excluded: [{ member: 'bank-c', reason: 'DECRYPT_FAILED' }], dp, aggregation: { f: 0, m: 2, centralNoiseMultiplier: 1.1 }, transcriptHash: sha256(new TextEncoder().encode('t1')) }))

  // a checkpoint of r1, then r2 opened (its reservation shows in the budgets)
  const pre: LedgerState = chain.state
  await commit(chain.tx('coord', 'checkpoint', { round: 'r1', model: modelCid('model-1'), snapshot: modelCid('snapshot-1'), stateRoot: pre.root, height: pre.height }))
  const checkpointHeight = chain.state.height
  await commit(chain.tx('coord', 'round.open', open('r2', chain.state.height + 10)))
  return { chain, store, ids, receipts, checkpointHeight }
}

export interface StartedApi {
  server: ApiServer
  url: string
  registry: Registry
  metrics: NodeMetrics
  /** what submit received */
  submitted: Uint8Array[]
}

export interface StartOptions {
  submit?: SubmitFn
  submitRefusal?: () => SubmitError | undefined
  status?: () => NodeStatus
  queries?: LedgerQueries
  options?: ApiServerOptions
  logger?: Logger
  admin?: ApiAdmin
  blocks?: BlockFeed
  commits?: CommitSource
}

export function statusOf(built: BuiltChain, over: Partial<NodeStatus> = {}): NodeStatus {
  return {
    chainId: CHAIN, validator: { id: 'val-0', index: 0 }, epoch: 0, view: 42, leader: { id: 'val-2', index: 2 }, committedHeight: built.chain.state.height, committedBlock: null,
    stateRoot: built.chain.state.root, peers: 3, mempoolSize: 7, syncing: false, version: '0.1.0-test', highestKnownHeight: built.chain.state.height + 2, ...over,
  }
}

export async function startApi(built: BuiltChain, opts: StartOptions = {}): Promise<StartedApi> {
  const registry = new Registry()
  const metrics = new NodeMetrics({ registry })
  const submitted: Uint8Array[] = []
  const submit: SubmitFn = opts.submit ?? (async (bytes) => {
    submitted.push(bytes)
    return { id: txId(bytes).toString() }
  })
  const queries = opts.queries ?? new LedgerQueries({ store: built.store, state: () => built.chain.state })
  const server = new ApiServer({ queries, submit, submitRefusal: opts.submitRefusal, status: opts.status ?? (() => statusOf(built)), registry, metrics, logger: opts.logger, admin: opts.admin, blocks: opts.blocks, commits: opts.commits }, { host: '127.0.0.1', port: 0, ...opts.options })
  await server.start()
  return { server, url: server.address().url, registry, metrics, submitted }
}
