// Certified ledger facts for tests: a Certifier follows a chain's states (genesisState,
// then each block's), signs a commit certificate for any state with a quorum of the
// epoch's validators (keys from the ledger harness, keysFor), keeps the state at each
// epoch's last height for epoch-change proofs, and bundles trie proofs of state keys
// the way an enclave request carries them (LedgerProofs).
import type { CommitCertificate, CommitHeader } from '../../consensus/index.ts'
import type { LedgerProofs } from '../../enclave/service/index.ts'
import { StateKey, type Genesis, type LedgerState, type ValidatorSetRecord } from '../../ledger/index.ts'
import { encode, sha256 } from '../../primitives/index.ts'
import { signCertificate } from './commits.ts'

export class Certifier {
  readonly chain: string
  readonly genesisHash: Uint8Array
  readonly epochLength: number
  /** the state after each epoch's last height, by epoch */
  private readonly epochEnds = new Map<number, LedgerState>()
  private readonly genesisSet: string[]

  constructor(genesis: Genesis, genesisState: LedgerState) {
    this.chain = genesis.chainId
    this.genesisHash = genesisState.root
    this.epochLength = genesis.epochLength
    this.genesisSet = genesis.validators.map((v) => v.id)
  }

  /** Call with every state the chain reaches (it keeps those that end an epoch). */
  observe(state: LedgerState): void {
    if ((state.height + 1) % this.epochLength === 0) this.epochEnds.set(Math.floor(state.height / this.epochLength), state)
  }

  /** The validator ids of `epoch`, in index order (the genesis set, or the set the previous epoch's last state holds). */
  validatorsOf(epoch: number): string[] {
    if (epoch === 0) return this.genesisSet
    const end = this.epochEnds.get(epoch - 1)
    if (end === undefined) throw new Error(`the certifier did not see the end of epoch ${epoch - 1}`)
    return end.get<ValidatorSetRecord>(StateKey.validators)!.validators.map((v) => v.id)
  }

  header(state: LedgerState, over: Partial<CommitHeader> = {}): CommitHeader {
    const h = state.height
    return { chain: this.chain, genesis: this.genesisHash, epoch: Math.floor(h / this.epochLength), height: h, block: sha256(encode(['block', h])), ledgerBlock: null, stateRoot: state.root, ...over }
  }

  /** `state`'s certificate, signed by the first 2f+1 of its epoch's validators (or by `signers`). */
  certificate(state: LedgerState, opts: { signers?: readonly string[]; header?: Partial<CommitHeader> } = {}): CommitCertificate {
    const header = this.header(state, opts.header)
    const set = this.validatorsOf(header.epoch)
    const quorum = set.length - Math.floor((set.length - 1) / 3)
    return signCertificate(header, opts.signers ?? set.slice(0, quorum), set)
  }

  /** Every epoch change up to `state`'s epoch, as a request carries them. */
  epochChanges(state: LedgerState): Array<[Uint8Array, Uint8Array]> {
    const out: Array<[Uint8Array, Uint8Array]> = []
    for (let e = 0; e < Math.floor(state.height / this.epochLength); e++) {
      const end = this.epochEnds.get(e)!
      out.push([encode(this.certificate(end)), encode(end.trie.prove(StateKey.validators))])
    }
    return out
  }

  /** Proofs of `keys` under `state`'s certified root. */
  proofs(state: LedgerState, keys: readonly string[]): LedgerProofs {
    return { epochs: this.epochChanges(state), certificate: encode(this.certificate(state)), proofs: keys.map((k) => [k, encode(state.trie.prove(k))]) }
  }
}

/** The keys an aggregate request proves for `round`: the round, each commit, each committed member, the newest checkpoint. */
export function aggregateKeys(state: LedgerState, round: string): string[] {
  const prefix = StateKey.commit(round, '')
  const members = [...state.trie.entries()].map(([k]) => k).filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length))
  return [StateKey.round(round), ...members.map((m) => StateKey.commit(round, m)), ...members.map((m) => StateKey.member(m)), StateKey.checkpointLatest]
}

/** The keys a re-aggregation proves. */
export const reaggregateKeys = (round: string): string[] => [StateKey.round(round), StateKey.checkpointLatest]
