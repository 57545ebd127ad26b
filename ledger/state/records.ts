/**
 * What the ledger keeps in its state, one record type per key family
 * (see keys.ts). Records are plain DAG-CBOR-encodable objects; heights are block
 * heights, never wall-clock time.
 */
import type { CID } from '../../primitives/index.ts'
import type { AggregationConfig, Role, TrainingConfig, Validator } from '../tx/schema.ts'

export interface ChainParams {
  chainId: string
  /** blocks per epoch; validator-set changes take effect at epoch boundaries */
  epochLength: number
  /** governance: how many distinct governors must sign a governance transaction */
  governanceThreshold: number
  /** keys of revocation-list authorities (e.g. an attestation service), by id */
  revocationAuthorities: Record<string, Uint8Array>
  /**
   * Attestation policy. Everything that decides whether evidence verifies lives here,
   * in the state every validator shares: the allowed formats, the trust anchors of each
   * format (sim-v1: testnet root keys; hardware formats: vendor roots), the maximum age
   * of evidence, and the allowed enclave measurements (hex).
   */
  attestation: AttestationPolicy
  /** Rényi orders of every budget's RDP curve */
  rdpOrders: number[]
  /** a round's deadline may be at most this many blocks after it opens */
  maxRoundBlocks: number
  /** blocks after a round's deadline during which only the enclave's result may end it */
  resultGraceBlocks: number
}

export interface AttestationPolicy {
  formats: string[]
  trustAnchors: Record<string, Uint8Array[]>
  maxEvidenceAgeSeconds: number
  measurements: string[]
}

export interface MemberRecord {
  id: string
  org: string
  roles: Role[]
  publicKey: Uint8Array
  attestation: CID | null
  registeredAt: number
  /** height from which the member is refused, or null */
  revokedAt: number | null
  revocationReason: string | null
}

export interface EnclaveRecord {
  id: string
  platform: string
  measurement: Uint8Array
  /** ed25519 key the enclave signs its transactions (and results) with */
  publicKey: Uint8Array
  registeredAt: number
  revokedAt: number | null
  revocationReason: string | null
}

export type RoundStatus = 'open' | 'keyed' | 'resulted' | 'closed' | 'aborted' | 'discarded'

export interface RoundRecord {
  id: string
  coordinator: string
  baseModel: CID
  training: TrainingConfig
  aggregation: AggregationConfig
  /** DP-SGD steps each participant runs in this round: ceil(localEpochs / samplingRate) */
  steps: number
  /** how many members are eligible; the list is under keys.ts `roundEligible`, and `eligible` marks each one */
  eligibleCount: number
  enclave: string
  openedAt: number
  deadline: number
  status: RoundStatus
  /** the enclave's x25519 key for this round (null until enclave.round-key) */
  roundKey: Uint8Array | null
  /** how many members committed; commit records (keys.ts `commit`) carry their ledger order as `seq` */
  commitCount: number
  result: RoundResultRecord | null
  /** members revoked after this round's result: the round must be re-aggregated without them */
  reaggregate: string[]
  /** why governance discarded the round's result (status 'discarded'), else null */
  discardReason: string | null
}

export interface RoundResultRecord {
  model: CID
  included: string[]
  excluded: Array<{ member: string; reason: string }>
  /** Multi-Krum's f and m as applied, and the central noise's σ, as the enclave declared and the ledger checked them */
  aggregation: { f: number; m: number; centralNoiseMultiplier: number }
  transcriptHash: Uint8Array
  height: number
  /** results superseded by re-aggregation, oldest first */
  superseded: CID[]
}

export interface CommitRecord {
  round: string
  member: string
  /** position in the ledger's order of this round's commits (0-based) */
  seq: number
  ciphertext: CID
  plaintextHash: Uint8Array
  declaredNorm: number
  statementSig: Uint8Array
  height: number
}

export interface BudgetRecord {
  member: string
  epsilonCap: number
  delta: number
  /** RDP already spent, per order of ChainParams.rdpOrders */
  spent: number[]
  /** ε of `spent` at `delta` (derived; kept for queries) */
  epsilonSpent: number
  /** open rounds the member is eligible for: each reserves its round's RDP until it results or aborts */
  reservations: string[]
}

export interface ValidatorSetRecord {
  epoch: number
  validators: Validator[]
}

export interface PendingValidatorSet {
  epoch: number
  validators: Validator[]
  orderedAt: number
}

export interface CheckpointRecord {
  seq: number
  round: string
  model: CID
  snapshot: CID
  stateRoot: Uint8Array
  height: number
  anchoredAt: number
}
