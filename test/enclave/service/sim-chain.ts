// A small in-memory ledger whose attestation policy is sim-v1 with the enclave
// under test registered at genesis, so the service's transactions are executed by
// the real state machine (evidence checks included), one block per exec call.
import { SimAttestationVerifier, SIM_FORMAT } from '../../../enclave/index.ts'
import type { EnclaveIdentityInfo } from '../../../enclave/service/index.ts'
import { AttestationVerifierRegistry, encodeTx, executeBlock, genesisState, signTx, approveTx, type LedgerState, type Receipt, type SignedTx, type TxBody, type TxType } from '../../../ledger/index.ts'
import { toHex } from '../../../primitives/index.ts'
import { CHAIN, defaultGenesis, GENESIS_TIME, keysFor } from '../../ledger/harness.ts'

export { CHAIN }

const verifier = new AttestationVerifierRegistry().register(SIM_FORMAT, new SimAttestationVerifier())

export class SimChain {
  state: LedgerState
  time = GENESIS_TIME

  constructor(enclave: EnclaveIdentityInfo, trustAnchor: Uint8Array, participants: readonly string[]) {
    const g = defaultGenesis()
    g.members = [...g.members.filter((m) => !m.roles.includes('participant')), ...participants.map((id) => ({ id, org: `${id} org`, roles: ['participant' as const], publicKey: keysFor(id).publicKey }))]
    g.budgets = participants.map((member) => ({ member, epsilon: 8, delta: 1e-5 }))
    g.attestation = { formats: [SIM_FORMAT], trustAnchors: { [SIM_FORMAT]: [trustAnchor] }, measurements: [toHex(enclave.measurement)] }
    g.enclaves = [{ id: enclave.enclaveId, platform: enclave.platform, measurement: enclave.measurement, publicKey: enclave.publicKey }]
    this.state = genesisState(g)
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
}

export function codes(receipts: Receipt[]): string[] {
  return receipts.map((r) => (r.code === 'OK' ? 'OK' : `${r.code}: ${r.message}`))
}
