/**
 * The mempool's view of the ledger: the chain id, each sender's next nonce and each
 * sender's signing key and revocation. It is read from the committed state (the
 * node hands a fresh one to `onCommit`); `mempoolStateFrom` builds it from any
 * `StateReader` using the ledger's key layout, looking senders up the way the
 * ledger does: a member record first, then an enclave record.
 */
import { StateKey, type ChainParams, type EnclaveRecord, type MemberRecord, type StateReader } from '../../ledger/index.ts'
import { decode } from '../../primitives/index.ts'

export interface MempoolSender {
  kind: 'member' | 'enclave'
  /** the ed25519 key the sender's transactions are signed with */
  publicKey: Uint8Array
  /** height from which the ledger refuses the sender, or null */
  revokedAt: number | null
}

export interface MempoolState {
  readonly chainId: string
  /** the nonce the sender's next transaction must carry */
  nonce(sender: string): number
  /** the sender's key and revocation, or undefined if it is neither a member nor an enclave */
  sender(id: string): MempoolSender | undefined
}

/** A `MempoolState` over committed ledger state. Throws if the state has no chain parameters (no genesis: a wiring bug). */
export function mempoolStateFrom(reader: StateReader): MempoolState {
  const get = <T>(key: string): T | undefined => {
    const raw = reader.getRaw(key)
    return raw === undefined ? undefined : decode<T>(raw)
  }
  const params = get<ChainParams>(StateKey.params)
  if (params === undefined) throw new Error('mempool state: the ledger state has no chain parameters (not initialized from genesis)')
  return {
    chainId: params.chainId,
    nonce: (sender) => get<number>(StateKey.nonce(sender)) ?? 0,
    sender(id) {
      const m = get<MemberRecord>(StateKey.member(id))
      if (m !== undefined) return { kind: 'member', publicKey: m.publicKey, revokedAt: m.revokedAt }
      const e = get<EnclaveRecord>(StateKey.enclave(id))
      if (e !== undefined) return { kind: 'enclave', publicKey: e.publicKey, revokedAt: e.revokedAt }
      return undefined
    },
  }
}
