// A small in-memory ledger whose attestation policy is sim-v1 with the enclave
// under test registered at genesis, so the service's transactions are executed by
// the real state machine (evidence checks included), one block per exec call. Every
// state it reaches can be certified (test/helpers/certified.ts), so the requests it
// builds carry the ledger facts the way a host relays them: proofs under a certified
// root that the enclave checks against this chain's pinned genesis.
import { SimAttestationVerifier, SIM_FORMAT } from '../../../enclave/index.ts'
import type { AggregateRequest, EnclaveClient, EnclaveIdentityInfo, LedgerProofs, LedgerTrust, ReaggregateRequest } from '../../../enclave/service/index.ts'
import { AttestationVerifierRegistry, encodeTx, executeBlock, genesisState, signTx, approveTx, StateKey, type Genesis, type LedgerState, type Receipt, type RoundRecord, type SignedTx, type TxBody, type TxType } from '../../../ledger/index.ts'
import { toHex, type CID } from '../../../primitives/index.ts'
import { aggregateKeys, Certifier, reaggregateKeys } from '../../helpers/certified.ts'
import { CHAIN, defaultGenesis, GENESIS_TIME, keysFor, modelCid } from '../../ledger/harness.ts'

export { CHAIN }

const verifier = new AttestationVerifierRegistry().register(SIM_FORMAT, new SimAttestationVerifier())

export class SimChain {
  readonly genesis: Genesis
  readonly certifier: Certifier
  state: LedgerState
  time = GENESIS_TIME

  constructor(enclave: EnclaveIdentityInfo, trustAnchor: Uint8Array, participants: readonly string[]) {
    const g = defaultGenesis()
    g.members = [...g.members.filter((m) => !m.roles.includes('participant')), ...participants.map((id) => ({ id, org: `${id} org`, roles: ['participant' as const], publicKey: keysFor(id).publicKey }))]
    g.budgets = participants.map((member) => ({ member, epsilon: 100, delta: 1e-5 }))
    g.attestation = { formats: [SIM_FORMAT], trustAnchors: { [SIM_FORMAT]: [trustAnchor] }, measurements: [toHex(enclave.measurement)] }
    g.enclaves = [{ id: enclave.enclaveId, platform: enclave.platform, measurement: enclave.measurement, publicKey: enclave.publicKey }]
    this.genesis = g
    this.state = genesisState(g)
    this.certifier = new Certifier(g, this.state)
  }

  /** What an enclave of this chain pins. */
  trust(): LedgerTrust {
    return { genesis: this.genesis, genesisHash: this.certifier.genesisHash }
  }

  /** The next nonce of `sender` on the chain. */
  nonce(sender: string): number {
    return this.state.get<number>(`nonce/${sender}`) ?? 0
  }

  /** A transaction signed with the harness key of `sender` (governors co-sign with `approvers`). */
  tx<T extends TxType>(sender: string, type: T, body: TxBody<T>, approvers: string[] = []): Uint8Array {
    const tx = { chain: CHAIN, type, sender, nonce: this.nonce(sender), body }
    const signed: SignedTx<T> = signTx(tx, keysFor(sender).secretKey)
    if (approvers.length > 0) signed.approvals = approvers.map((a) => approveTx(tx, a, keysFor(a).secretKey))
    return encodeTx(signed)
  }

  exec(...txs: Uint8Array[]): Receipt[] {
    this.time += 5
    const out = executeBlock(this.state, { height: this.state.height + 1, timeSec: this.time, txs }, { attestation: verifier })
    this.state = out.state
    this.certifier.observe(this.state)
    return out.receipts
  }

  /** exec one by one (each in its own block), so nonces of one sender advance between them */
  execEach(...build: Array<() => Uint8Array>): Receipt[] {
    return build.flatMap((b) => this.exec(b()))
  }

  advanceTo(height: number): void {
    while (this.state.height < height) this.exec()
  }

  get<T>(key: string): T | undefined {
    return this.state.get<T>(key)
  }

  round(id: string): RoundRecord {
    return this.get<RoundRecord>(StateKey.round(id))!
  }

  /** Proofs of `keys` under the current state's certificate (or `state`'s). */
  proofs(keys: readonly string[], state: LedgerState = this.state): LedgerProofs {
    return this.certifier.proofs(state, keys)
  }

  /** An aggregate request for `round` at the current state, as an honest host builds it. */
  aggregateRequest(round: string, envelopes: Array<[string, Uint8Array]>, baseModel: Uint8Array, state: LedgerState = this.state): AggregateRequest {
    return { chain: CHAIN, round, envelopes, baseModel, ledger: this.proofs(aggregateKeys(state, round), state), nonce: this.nonce(enclaveOf(this, round)) }
  }

  /** A re-aggregation request for `round` at the current state (or `state`). */
  reaggregateRequest(round: string, sealed: Uint8Array, baseModel: Uint8Array, state: LedgerState = this.state): ReaggregateRequest {
    return { chain: CHAIN, round, sealed, baseModel, ledger: this.proofs(reaggregateKeys(round), state), nonce: this.nonce(enclaveOf(this, round)) }
  }

  /** Anchors a checkpoint of the newest resulted round (snapshot content is not checked by the ledger). */
  checkpoint(round: string): Receipt[] {
    const r = this.round(round)
    return this.exec(this.tx('coord', 'checkpoint', { round, model: r.result!.model, snapshot: modelCid(`snapshot ${this.state.height}`), stateRoot: this.state.root, height: this.state.height }))
  }

  /**
   * Opens round `id` assigned to the enclave behind `client`, has the enclave key it
   * (the ledger checks the evidence), and executes `commits` (built from the round key).
   */
  async keyedRound<T>(client: EnclaveClient, id: string, open: { baseModel: CID; training: TxBody<'round.open'>['training']; aggregation: TxBody<'round.open'>['aggregation']; eligible: string[]; deadlineIn?: number }, commits: (roundPublicKey: Uint8Array) => { txs: Uint8Array[]; value: T }): Promise<T> {
    const enclave = (await client.identity()).enclaveId
    const { deadlineIn, ...rest } = open
    const opened = this.exec(this.tx('coord', 'round.open', { round: id, ...rest, deadline: this.state.height + (deadlineIn ?? 20), enclave }))
    if (opened[0]!.code !== 'OK') throw new Error(`round.open ${id}: ${opened[0]!.code}: ${opened[0]!.message}`)
    const key = await client.roundKey({ chain: CHAIN, round: id, nonce: this.nonce(enclave), time: this.time })
    const keyed = this.exec(key.tx)
    if (keyed[0]!.code !== 'OK') throw new Error(`enclave.round-key ${id}: ${keyed[0]!.code}: ${keyed[0]!.message}`)
    const made = commits(key.roundPublicKey)
    for (const r of this.exec(...made.txs)) if (r.code !== 'OK') throw new Error(`round.commit ${id}: ${r.code}: ${r.message}`)
    return made.value
  }
}

function enclaveOf(chain: SimChain, round: string): string {
  return chain.round(round).enclave
}

export function codes(receipts: Receipt[]): string[] {
  return receipts.map((r) => (r.code === 'OK' ? 'OK' : `${r.code}: ${r.message}`))
}
