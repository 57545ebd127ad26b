/**
 * The vocabulary of the consensus core: blocks, votes, quorum certificates,
 * timeouts, and the inputs the core accepts and the outputs it emits. The core
 * is a deterministic state machine (`Replica.handle(input) → Output[]`): no I/O,
 * no clock, no randomness; time arrives as input and timers leave as outputs.
 *
 * Validators are named by their index in the epoch's validator set. Hashes are
 * 32-byte sha256 digests. Every signed message carries its epoch and a kind tag
 * (see signing.ts), so a signature for one kind can never count as another.
 */

export type Hash = Uint8Array
export type ValidatorIndex = number

/** An aggregate signature: which validators signed, and their signature(s) in one scheme-specific blob. */
export interface AggregateSignature {
  /** bitmap, bit i (LSB-first within each byte) set iff validator i signed */
  signers: Uint8Array
  /** ed25519 multisig: the signers' 64-byte signatures in index order, concatenated; BLS: one aggregate */
  signature: Uint8Array
}

/** A quorum certificate: 2f+1 votes for one block in one view. */
export interface QuorumCertificate {
  epoch: number
  view: number
  block: Hash
  /** height of the certified block (lets a replica judge a QC without the block) */
  height: number
  votes: AggregateSignature
}

/** A timeout certificate: 2f+1 validators gave up on `view`. */
export interface TimeoutCertificate {
  epoch: number
  view: number
  timeouts: AggregateSignature
}

export interface Block {
  epoch: number
  view: number
  height: number
  parent: Hash
  /** the QC this block extends (it certifies `parent`), as in chained HotStuff */
  justify: QuorumCertificate
  proposer: ValidatorIndex
  /** unix seconds from the proposer's clock: the ledger's block time */
  timeSec: number
  /** ordered commands (ledger transactions, or opaque bytes in benchmarks) */
  payload: Uint8Array[]
}

export interface Proposal {
  kind: 'proposal'
  block: Block
  /** present when the view was entered by a timeout rather than by a QC of the previous view */
  tc: TimeoutCertificate | null
  /** the proposer's signature over the block id */
  signature: Uint8Array
}

export interface Vote {
  kind: 'vote'
  epoch: number
  view: number
  block: Hash
  height: number
  voter: ValidatorIndex
  signature: Uint8Array
}

export interface Timeout {
  kind: 'timeout'
  epoch: number
  view: number
  /** the sender's highest QC, so that the next leader extends the highest certified block */
  highQC: QuorumCertificate
  /** the TC that brought the sender into `view` (if it came by timeout): lets laggers catch up. Not signed. */
  tc: TimeoutCertificate | null
  voter: ValidatorIndex
  signature: Uint8Array
}

export interface BlockRequest {
  kind: 'block-request'
  /** ids of blocks wanted; the responder also sends their ancestors down to `knownHeight` */
  ids: Hash[]
  knownHeight: number
}

export interface BlockResponse {
  kind: 'block-response'
  blocks: Block[]
}

/** Sent to a replica whose timeout shows an older highest QC: the newer QC and the blocks up to it. */
export interface SyncInfo {
  kind: 'sync'
  highQC: QuorumCertificate
  /** blocks from the QC's block down towards the recipient's highest QC, newest first */
  blocks: Block[]
}

/**
 * Sent by a replica that sees messages of a later epoch than its own: asks the
 * peer for the proof that `epoch` ended (answered with a `sync` of that epoch whose
 * QC commits the epoch's last block).
 */
export interface EpochRequest {
  kind: 'epoch-request'
  epoch: number
}

export type ConsensusMessage = Proposal | Vote | Timeout | BlockRequest | BlockResponse | SyncInfo | EpochRequest

/** Inputs to `Replica.handle`. Network messages arrive already verified (see verify.ts). */
export type Input =
  | { type: 'start'; nowMs: number }
  | { type: 'message'; from: ValidatorIndex; message: ConsensusMessage; nowMs: number }
  | { type: 'timer'; view: number; nowMs: number }
  /** the mempool has commands (a leader of an idle view may propose) */
  | { type: 'commands-available'; nowMs: number }

/** Outputs, carried out in order by the driver (or the simulator). */
export type Output =
  /** persist before any later output leaves the node (safety rules) */
  /** `blocks`: the uncommitted blocks held at that moment, persisted with the state (a restart brings them back) */
  | { type: 'persist-safety'; state: SafetyState; blocks: Block[] }
  | { type: 'broadcast'; message: ConsensusMessage }
  | { type: 'send'; to: ValidatorIndex; message: ConsensusMessage }
  /** deliver a `timer` input for `view` at `atMs` (ms on the input clock); a newer set-timer replaces it */
  | { type: 'set-timer'; view: number; atMs: number }
  /** blocks newly committed, oldest first */
  | { type: 'commit'; blocks: Block[] }
  /** the epoch's last block committed (after its `commit`); `proof` shows it to others */
  | { type: 'epoch-end'; block: Block; proof: SyncInfo }

/** What safety depends on; persisted before a vote or timeout signature leaves. */
export interface SafetyState {
  epoch: number
  /** highest view this replica voted in */
  lastVotedView: number
  /** the vote cast in `lastVotedView`, sent again if asked again */
  lastVote: Vote | null
  /** highest view this replica signed a timeout for */
  lastTimeoutView: number
  lastTimeout: Timeout | null
  /** the locked QC (chained HotStuff: the QC of the head of the highest 2-chain) */
  lockedQC: QuorumCertificate
}
