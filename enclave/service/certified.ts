/**
 * The enclave's view of the ledger (docs/ARCHITECTURE.md, "Certified state"): every
 * ledger fact the service acts on arrives as a trie proof under a state root that
 * 2f+1 validators certified, and is checked here with the light client against the
 * genesis the enclave was started with (its hash pinned). The host that relays a
 * request is trusted for nothing: a forged or foreign certificate, a proof that does
 * not lead to the certified root, a record altered in transit, or a key the operation
 * needs and the request does not prove, are all refused with UNVERIFIED.
 *
 * What a request carries (LedgerProofs): the commit certificate of one height, the
 * DAG-CBOR trie proofs of the state keys the operation reads at that height, and the
 * epoch changes (certificate of an epoch's last height plus the proof of the next
 * validator set) that lead from the genesis to the certificate's epoch; epochs the
 * enclave verified before are skipped, and `identity` reports the highest one, so a
 * host sends each change once per enclave start.
 *
 * The light client's memory of epochs lives as long as the service; a restarted
 * enclave learns them again from the genesis. Any certified height is accepted, not
 * only the newest: the operations check that the facts they need are final at that
 * height (a round past its deadline, a result whose transcript matches the sealed
 * release), which is what makes an old height as good as a new one for them.
 */
import { z } from 'zod'
import { StateKey, type Genesis } from '../../ledger/index.ts'
import { decodeCertificate, LightClient, LightClientError, type CommitHeader } from '../../light/index.ts'
import { decode, toHex } from '../../primitives/index.ts'
import { EnclaveServiceError } from './errors.ts'
import { bytes, bytesOf, cid, uint } from './schemas.ts'

/** Ledger facts as a request carries them: see the file comment. */
export interface LedgerProofs {
  /** epoch changes from the genesis on, oldest first: [certificate, DAG-CBOR proof of the next validator set] */
  epochs: Array<[Uint8Array, Uint8Array]>
  /** the commit certificate of the height the facts are read at (consensus wire encoding) */
  certificate: Uint8Array
  /** [state key, DAG-CBOR trie proof] at that height */
  proofs: Array<[string, Uint8Array]>
}

/** What the enclave pins: the genesis document and the hash the consortium published for it. */
export interface LedgerTrust {
  genesis: Genesis
  /** the genesis hash (the state root at height 0), obtained out of band, never from the host */
  genesisHash: Uint8Array
}

function unverified(message: string, cause?: unknown): EnclaveServiceError {
  return new EnclaveServiceError('UNVERIFIED', message, cause === undefined ? undefined : { cause })
}

const positive = z.number().finite().positive()

/** The parts of the ledger's records the service reads (ledger/state/records.ts); other fields are ignored. */
export const CertifiedRound = z.object({
  id: z.string(),
  enclave: z.string(),
  baseModel: cid,
  training: z.object({ clipNorm: positive, noiseMultiplier: positive, samplingRate: z.number().finite().gt(0).max(1), localEpochs: positive }),
  aggregation: z.object({ f: uint, m: uint.min(1), centralNoiseMultiplier: z.number().finite().nonnegative().optional() }),
  steps: uint.min(1),
  eligibleCount: uint,
  deadline: uint,
  status: z.enum(['open', 'keyed', 'resulted', 'closed', 'aborted', 'discarded']),
  roundKey: bytesOf(32).nullable(),
  commitCount: uint,
  result: z.object({ model: cid, included: z.array(z.string()), transcriptHash: bytesOf(32) }).nullable(),
  reaggregate: z.array(z.string()),
})
export type CertifiedRound = z.output<typeof CertifiedRound>

export const CertifiedCommit = z.object({
  round: z.string(),
  member: z.string(),
  seq: uint,
  ciphertext: cid,
  plaintextHash: bytesOf(32),
  declaredNorm: z.number().finite().nonnegative(),
  statementSig: bytesOf(64),
  height: uint,
})
export type CertifiedCommit = z.output<typeof CertifiedCommit>

export const CertifiedMember = z.object({ id: z.string(), publicKey: bytesOf(32), revokedAt: uint.nullable() })
export type CertifiedMember = z.output<typeof CertifiedMember>

export const CertifiedCheckpoint = z.object({ seq: uint, round: z.string(), stateRoot: bytes })

/** The ledger's state at one certified height, as far as the request proved it. */
export class CertifiedFacts {
  readonly header: CommitHeader
  private readonly values: ReadonlyMap<string, Uint8Array | undefined>

  constructor(header: CommitHeader, values: ReadonlyMap<string, Uint8Array | undefined>) {
    this.header = header
    this.values = values
  }

  get height(): number {
    return this.header.height
  }

  /** The proven keys, in the order the request gave them. */
  keys(): string[] {
    return [...this.values.keys()]
  }

  /** The record at `key` (undefined: proven absent); UNVERIFIED when the request did not prove the key or the record is not of the expected shape. */
  get<S extends z.ZodType>(key: string, schema: S): z.output<S> | undefined {
    if (!this.values.has(key)) throw unverified(`the request proves no value for '${key}' at height ${this.height}; the operation needs it`)
    const raw = this.values.get(key)
    if (raw === undefined) return undefined
    let value: unknown
    try {
      value = decode(raw)
    } catch (e) {
      throw unverified(`the certified value of '${key}' does not decode: ${(e as Error).message}`, e)
    }
    const parsed = schema.safeParse(value)
    if (!parsed.success) throw new EnclaveServiceError('INTERNAL', `the certified value of '${key}' is not of the shape this enclave reads (a ledger of another version?): ${parsed.error.issues[0]?.message ?? ''}`)
    return parsed.data
  }

  round(id: string): CertifiedRound {
    const r = this.get(StateKey.round(id), CertifiedRound)
    if (r === undefined) throw new EnclaveServiceError('LEDGER_STATE', `round '${id}' does not exist at height ${this.height}`)
    if (r.id !== id) throw new EnclaveServiceError('INTERNAL', `the record under round/${id} is of round '${r.id}'`)
    return r
  }

  member(id: string): CertifiedMember {
    const m = this.get(StateKey.member(id), CertifiedMember)
    if (m === undefined || m.id !== id) throw new EnclaveServiceError('LEDGER_STATE', `member '${id}' is not registered at height ${this.height}`)
    return m
  }

  /** The newest anchored checkpoint's seq (0: none yet). */
  latestCheckpoint(): number {
    return this.get(StateKey.checkpointLatest, CertifiedCheckpoint)?.seq ?? 0
  }

  /**
   * The round's whole committed set, in ledger order: every commit record the request
   * proves for the round, which must be exactly commitCount records with seq 0 … n−1
   * (the ledger numbers a round's commits in order, so n proven records with distinct
   * seq below n are all of them; a host cannot leave one out or add one).
   */
  committedSet(round: CertifiedRound): CertifiedCommit[] {
    const prefix = StateKey.commit(round.id, '')
    const bySeq = new Array<CertifiedCommit | undefined>(round.commitCount)
    let found = 0
    for (const key of this.keys()) {
      if (!key.startsWith(prefix)) continue
      const c = this.get(key, CertifiedCommit)
      if (c === undefined) continue
      if (c.round !== round.id || StateKey.commit(c.round, c.member) !== key) throw new EnclaveServiceError('INTERNAL', `the record under '${key}' is the commit of '${c.member}' to '${c.round}'`)
      if (c.seq >= round.commitCount || bySeq[c.seq] !== undefined) throw new EnclaveServiceError('INTERNAL', `commit seq ${c.seq} of round '${round.id}' is out of order (${round.commitCount} commits)`)
      bySeq[c.seq] = c
      found++
    }
    if (found !== round.commitCount) throw unverified(`round '${round.id}' has ${round.commitCount} commits at height ${this.height}; the request proves ${found} of them`)
    return bySeq as CertifiedCommit[]
  }
}

/** The light client of one chain, anchored in the pinned genesis. */
export class CertifiedLedger {
  readonly chain: string
  private readonly light: LightClient

  constructor(trust: LedgerTrust) {
    try {
      this.light = LightClient.fromGenesis(trust.genesis, trust.genesisHash)
    } catch (e) {
      throw new EnclaveServiceError('BAD_REQUEST', `the pinned genesis: ${(e as Error).message}`, { cause: e })
    }
    this.chain = this.light.network.chain
  }

  /** The genesis hash this enclave trusts. */
  get genesisHash(): Uint8Array {
    return this.light.network.genesis.slice()
  }

  /** The highest epoch whose validators this enclave has verified (a host sends only the epoch changes after it). */
  get epoch(): number {
    return this.light.highestEpoch()
  }

  /** Verifies the request's proofs (see the file comment) and returns the facts at their height. */
  open(chain: string, p: LedgerProofs): CertifiedFacts {
    if (chain !== this.chain) throw new EnclaveServiceError('BAD_REQUEST', `this enclave serves chain '${this.chain}' (genesis ${toHex(this.light.network.genesis)}), not '${chain}'`)
    try {
      for (const [certificate, proof] of p.epochs) {
        const cert = decodeCertificate(certificate)
        // a change this enclave verified before (or earlier in this request) is skipped, not checked again
        if (this.light.knowsEpoch(cert.header.epoch + 1)) continue
        this.light.verifyEpochChange({ certificate: cert, proof: decode(proof) })
      }
      const entries = p.proofs.map(([key, proof]) => [key, decode(proof)] as const)
      const { header, values } = this.light.verifyValues(decodeCertificate(p.certificate), entries)
      return new CertifiedFacts(header, values)
    } catch (e) {
      if (e instanceof EnclaveServiceError) throw e
      const code = e instanceof LightClientError ? `${e.code}: ` : ''
      throw unverified(`the ledger facts do not verify against the pinned genesis: ${code}${(e as Error).message}`, e)
    }
  }
}
