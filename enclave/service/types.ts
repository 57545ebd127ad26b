/**
 * The enclave service's operations as typed request / response objects, and the
 * `EnclaveClient` port the untrusted host programs against. Bytes are Uint8Array,
 * CIDs are CID, member lists are arrays of [member, bytes] pairs (they travel as
 * DAG-CBOR, which has no Map). Both twins implement EnclaveClient: the
 * in-process one (InProcessEnclave) and the out-of-process one (node/enclave).
 */
import type { CID } from '../../primitives/index.ts'
import type { LedgerProofs } from './certified.ts'

export interface EnclaveIdentityInfo {
  enclaveId: string
  platform: string
  measurement: Uint8Array
  /** the registered ed25519 key that signs the enclave's transactions */
  publicKey: Uint8Array
}

/** The chain an enclave serves, as it reports it. */
export interface EnclaveLedgerInfo {
  chain: string
  /** the genesis hash it pins (round-key evidence binds it) */
  genesisHash: Uint8Array
  /** the highest epoch whose validators it has verified: a host sends only the epoch changes after it */
  epoch: number
}

/** What `identity` answers: who the enclave is and which chain it serves. */
export interface EnclaveIdentity extends EnclaveIdentityInfo {
  ledger: EnclaveLedgerInfo
}

export interface RoundKeyRequest {
  chain: string
  round: string
  /** the enclave's next transaction nonce on the chain */
  nonce: number
  /** unix seconds, the evidence's timestamp */
  time: number
}

export interface RoundKeyResponse {
  roundPublicKey: Uint8Array
  /** the signed, encoded enclave.round-key transaction */
  tx: Uint8Array
}

/**
 * Aggregate a round. Everything the enclave needs to know about the round comes from
 * `ledger`, proven under a certified root (certified.ts): the round record, every
 * commit record of the round, the record of every committed member, and
 * `checkpoint/latest`. The host adds only what the ledger does not hold: the
 * envelopes the members sent, and the base model's weights (which must give the
 * round's base model CID).
 */
export interface AggregateRequest {
  chain: string
  /** the round id */
  round: string
  envelopes: Array<[string, Uint8Array]>
  /** the base model's weights, float32 little-endian: their model file must have the round's baseModel CID */
  baseModel: Uint8Array
  /** proofs of round/<id>, commit/<id>/<member> (each committed member), member/<member> (each), checkpoint/latest */
  ledger: LedgerProofs
  /** the enclave's next transaction nonce on the chain */
  nonce: number
}

export interface ServiceExclusion {
  member: string
  reason: string
}

export interface AggregatedResponse {
  kind: 'aggregated'
  /** base + noised mean update, float32 little-endian */
  model: Uint8Array
  /** the model file's CID with the checkpoint profile (what addModel gives for these bytes) */
  modelCid: CID
  /** the published (noised mean) update, float32 little-endian: the transcript's updateHash is over these bytes */
  update: Uint8Array
  /** the signed, encoded round.result transaction */
  tx: Uint8Array
  /** ascending */
  included: string[]
  /** by member */
  excluded: ServiceExclusion[]
  transcriptHash: Uint8Array
  /** the sealed record of this release, for a later re-aggregation; the host stores it */
  sealed: Uint8Array
}

export interface InsufficientResponse {
  kind: 'insufficient'
  valid: number
  needed: number
  excluded: ServiceExclusion[]
}

export type AggregateResponse = AggregatedResponse | InsufficientResponse

/**
 * Re-aggregate a round's current result without the members the ledger lists as
 * pending revocation for it. The sealed record must be the one of the round's current
 * result (its transcript hash equal to the certified result's).
 */
export interface ReaggregateRequest {
  chain: string
  /** the round id */
  round: string
  /** the sealed record of the round's current result */
  sealed: Uint8Array
  /** the base model's weights, float32 little-endian */
  baseModel: Uint8Array
  /** proofs of round/<id> and checkpoint/latest */
  ledger: LedgerProofs
  nonce: number
}

export interface CloseRoundRequest {
  chain: string
  round: string
}

export interface CloseRoundResponse {
  /** whether a key was held and destroyed now */
  destroyed: boolean
}

export interface CheckpointAnchoredRequest {
  chain: string
  /** a proof of checkpoint/latest: the windows up to the newest anchored checkpoint are erased */
  ledger: LedgerProofs
}

export interface CheckpointAnchoredResponse {
  /** every window ≤ this one is erased on the chain */
  erasedThrough: number
}

export interface CallOptions {
  signal?: AbortSignal
}

/** The enclave as the host sees it; every failure is an EnclaveServiceError. */
export interface EnclaveClient {
  identity(options?: CallOptions): Promise<EnclaveIdentity>
  roundKey(request: RoundKeyRequest, options?: CallOptions): Promise<RoundKeyResponse>
  aggregate(request: AggregateRequest, options?: CallOptions): Promise<AggregateResponse>
  reaggregate(request: ReaggregateRequest, options?: CallOptions): Promise<AggregatedResponse>
  closeRound(request: CloseRoundRequest, options?: CallOptions): Promise<CloseRoundResponse>
  checkpointAnchored(request: CheckpointAnchoredRequest, options?: CallOptions): Promise<CheckpointAnchoredResponse>
  /** one raw request frame in, one response frame out (the wire codec's bytes) */
  exchange(request: Uint8Array, options?: CallOptions): Promise<Uint8Array>
}
