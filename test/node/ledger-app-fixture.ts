/**
 * A LedgerApp (the validator's application) over a memory store, driven block by
 * block without consensus: the harness consortium with sim-v1 attestation (the
 * only format a LedgerApp verifies), a round taken to its result, and blocks
 * that each change the state so that every height has its own root.
 */
import type { Block } from '../../consensus/index.ts'
import { certifyPlatform, issueSimEvidence, SIM_FORMAT } from '../../enclave/index.ts'
import {
  ChainStore,
  encodeTx,
  evidenceNonce,
  MemoryKeyValueStore,
  signTx,
  StateKey,
  type Receipt,
  type TxBody,
  type TxType,
} from '../../ledger/index.ts'
import { DomainTag, sha256, signPayload } from '../../primitives/index.ts'
import { LedgerApp } from '../../node/app.ts'
import { CHAIN, defaultGenesis, GENESIS_TIME, keysFor, MEASUREMENT, MEASUREMENT_HEX, modelCid, PARTICIPANTS } from '../ledger/harness.ts'

const SIM_ROOT = keysFor('sim-root')
const SIM_PLATFORM = keysFor('sim-platform')
export const SIM_GENESIS = defaultGenesis({ attestation: { formats: [SIM_FORMAT], trustAnchors: { [SIM_FORMAT]: [SIM_ROOT.publicKey] }, measurements: [MEASUREMENT_HEX] } })

export class AppChain {
  readonly kv: MemoryKeyValueStore
  readonly store: ChainStore
  readonly app: LedgerApp
  time = GENESIS_TIME

  private constructor(kv: MemoryKeyValueStore, store: ChainStore, app: LedgerApp) {
    this.kv = kv
    this.store = store
    this.app = app
  }

  /** Opens a LedgerApp over `kv` (a fresh store, or the store of an earlier app: a restart). */
  static async open(kv = new MemoryKeyValueStore(), time = GENESIS_TIME): Promise<AppChain> {
    const store = new ChainStore({ kv })
    const chain = new AppChain(kv, store, await LedgerApp.open({ store, now: () => Date.now() }, SIM_GENESIS))
    chain.time = time
    return chain
  }

  /** A copy of this chain's store as it is now: reopening it is a restart of this validator. */
  async copyOfStore(): Promise<MemoryKeyValueStore> {
    const copy = new MemoryKeyValueStore()
    const ops: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array }> = []
    for await (const [key, value] of this.kv.iterate({})) ops.push({ type: 'put', key, value })
    await copy.batch(ops)
    return copy
  }

  get height(): number {
    return this.app.height()
  }

  /** A transaction from `sender` with its next nonce in the committed state. */
  tx<T extends TxType>(sender: string, type: T, body: TxBody<T>): Uint8Array {
    const nonce = this.app.state.get<number>(StateKey.nonce(sender)) ?? 0
    return encodeTx(signTx({ chain: CHAIN, type, sender, nonce, body }, keysFor(sender).secretKey))
  }

  /** Commits the next block through LedgerApp.commit; returns its stored receipts. */
  async commit(...txs: Uint8Array[]): Promise<Receipt[]> {
    this.time += 5
    // LedgerApp reads a consensus block's height, time and payload only
    const block = { height: this.height + 1, timeSec: this.time, payload: txs } as Partial<Block> as Block
    await this.app.commit(block)
    return (await this.store.commitAt(block.height))!.receipts
  }

  /** Blocks that each register a member, until `height`. */
  async advanceTo(height: number): Promise<void> {
    while (this.height < height) {
      const id = `filler-${this.height + 1}`
      await expectOk(this.commit(this.tx('gov-1', 'member.register', { id, org: id, roles: ['auditor'], publicKey: keysFor(id).publicKey })))
    }
  }

  /** Round r1 from open to its result; returns the height of the result. */
  async resultedRound(): Promise<number> {
    const deadline = this.height + 4
    const training = { clipNorm: 1, noiseMultiplier: 1.1, samplingRate: 0.01, localEpochs: 1 }
    await expectOk(this.commit(this.tx('coord', 'round.open', { round: 'r1', baseModel: modelCid('model-0'), training, aggregation: { rule: 'multi-krum', f: 1, m: 4 }, eligible: PARTICIPANTS, deadline, enclave: 'enclave-1' })))
    const roundKey = keysFor('round-key-r1').publicKey
    const cert = certifyPlatform(SIM_ROOT.secretKey, 'sim', SIM_PLATFORM.publicKey, this.time + 86_400)
    const evidence = issueSimEvidence(cert, SIM_PLATFORM.secretKey, { platform: 'sim', measurement: MEASUREMENT, keys: [roundKey, keysFor('enclave-1').publicKey], nonce: evidenceNonce(CHAIN, 'enclave.round-key', 'r1', this.app.state.get<Uint8Array>(StateKey.genesis)!), timestamp: this.time, debug: false })
    await expectOk(this.commit(this.tx('enclave-1', 'enclave.round-key', { round: 'r1', publicKey: roundKey, attestation: { format: SIM_FORMAT, evidence } })))
    const statement = (m: string) => {
      const s = { chain: CHAIN, round: 'r1', member: m, plaintextHash: sha256(new TextEncoder().encode(`r1/${m}`)), declaredNorm: 0.9 }
      return { statement: s, statementSig: signStatement(m, s) }
    }
    await expectOk(this.commit(...PARTICIPANTS.slice(0, 4).map((m) => this.tx(m, 'round.commit', { round: 'r1', ciphertext: modelCid(`r1/${m}`), ...statement(m) }))))
    await this.advanceTo(deadline)
    const dp = { clipNorm: 1, noiseMultiplier: 1.1, samplingRate: 0.01, steps: 100 }
    await expectOk(this.commit(this.tx('enclave-1', 'round.result', { round: 'r1', model: modelCid('model-1'), included: PARTICIPANTS.slice(0, 4), excluded: [], dp, aggregation: { f: 1, m: 4, centralNoiseMultiplier: 1.1 }, transcriptHash: sha256(new TextEncoder().encode('t1')) })))
    return this.height
  }

  /** A checkpoint body of r1's result at `height` with `stateRoot`. */
  checkpointBody(height: number, stateRoot: Uint8Array): TxBody<'checkpoint'> {
    return { round: 'r1', model: modelCid('model-1'), snapshot: modelCid(`snapshot@${height}`), stateRoot, height }
  }
}

function signStatement(member: string, statement: unknown): Uint8Array {
  return signPayload(keysFor(member).secretKey, DomainTag.UPDATE_STATEMENT, statement)
}

async function expectOk(receipts: Promise<Receipt[]>): Promise<void> {
  const bad = (await receipts).filter((r) => r.code !== 'OK')
  if (bad.length > 0) throw new Error(`fixture block refused: ${bad.map((r) => `${r.code} ${r.message}`).join('; ')}`)
}
