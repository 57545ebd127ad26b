/**
 * Safety rules: the only code that decides whether this replica may sign a vote
 * or a timeout. Its state (SafetyState) must be persisted before the signature
 * leaves the node; the replica emits `persist-safety` ahead of the message.
 *
 * Voting rule for a block B in view v (chained HotStuff, Yin et al. 2019, Alg. 3):
 *   S1. v > lastVotedView: one vote per view, never backwards.
 *       (Asked again for the same block in lastVotedView: the stored vote is returned.)
 *   S2. v > lastTimeoutView: no vote in a view this replica has given up on.
 *   S3. safeNode: B extends the locked block, or B.justify.view > lockedQC.view.
 * Locking rule: on a QC whose block's own justify is QC', lock QC' if it is
 *   higher than the current lock (the head of the highest 2-chain).
 * Timeout rule:
 *   T1. v ≥ lastTimeoutView; asked again for lastTimeoutView, the stored timeout is returned.
 * A refusal is a returned SafetyError whose code names the condition (S1 ALREADY_VOTED,
 * S2 TIMED_OUT, S3 NOT_SAFE, T1 BEHIND); going backwards is always one of them.
 *
 * What the rules sign comes out as a `Signed` value, whose message can only be taken
 * out with `release`, which first hands over the safety record the signature was made
 * under: the caller cannot get hold of a vote or timeout without being given the
 * record to persist ahead of it.
 */
import { CodedError } from '../primitives/index.ts'
import type { QuorumSigner } from './crypto.ts'
import { timeoutMessage, voteMessage, blockId } from './signing.ts'
import type { Block, QuorumCertificate, SafetyState, Timeout, Vote } from './types.ts'

/** Why the safety rules refused to sign: the numbered condition that failed. */
export type SafetyErrorCode =
  /** S1: a vote in a view at or below the last one voted in (going backwards) */
  | 'ALREADY_VOTED'
  /** S2: a vote in a view this replica has timed out of */
  | 'TIMED_OUT'
  /** S3: a block that neither extends the locked block nor justifies a newer QC */
  | 'NOT_SAFE'
  /** T1: a timeout for a view below the last one timed out (going backwards) */
  | 'BEHIND'

/** A refusal of the safety rules. Returned, not thrown: a refused vote or timeout is normal, and the replica simply does not sign. */
export class SafetyError extends CodedError<SafetyErrorCode> {}

const MESSAGE = Symbol('signed message')
const RECORD = Symbol('safety record')

/**
 * A vote or timeout signed by the safety rules, sealed with the safety record it was
 * signed under (null when it is the stored one, asked for again: that record is
 * durable already). Only SafetyRules makes these; `release` opens them.
 */
export interface Signed<M extends Vote | Timeout> {
  readonly [MESSAGE]: M
  readonly [RECORD]: SafetyState | null
}

/** The signed message, after `persist` was handed its safety record (if it has one to write): emit that first. */
export function release<M extends Vote | Timeout>(signed: Signed<M>, persist: (record: SafetyState) => void): M {
  const record = signed[RECORD]
  if (record !== null) persist(record)
  return signed[MESSAGE]
}

/** Whether `signed` is a new signature (its record must be written) rather than the stored one given again. */
export function isFresh(signed: Signed<Vote | Timeout>): boolean {
  return signed[RECORD] !== null
}

export type VoteDecision = { ok: true; signed: Signed<Vote> } | { ok: false; error: SafetyError }
export type TimeoutDecision = { ok: true; signed: Signed<Timeout> } | { ok: false; error: SafetyError }

export class SafetyRules {
  #state: SafetyState
  private readonly signer: QuorumSigner

  constructor(state: SafetyState, signer: QuorumSigner) {
    this.#state = state
    this.signer = signer
  }

  get state(): SafetyState {
    return this.#state
  }

  get lockedQC(): QuorumCertificate {
    return this.#state.lockedQC
  }

  /**
   * Decides a vote for `block`. `extendsLocked` tells whether the block extends the
   * locked block (the caller walks its block tree). A fresh vote changes the state,
   * which is sealed with it: `release` hands it over to persist before the vote.
   */
  voteFor(block: Block, extendsLocked: boolean): VoteDecision {
    const s = this.#state
    const id = blockId(block)
    if (block.view === s.lastVotedView && s.lastVote !== null && sameBytes(s.lastVote.block, id)) return { ok: true, signed: seal(s.lastVote, null) }
    if (block.view <= s.lastVotedView) return refuse('ALREADY_VOTED', `S1: already voted in view ${s.lastVotedView}`)
    if (block.view <= s.lastTimeoutView) return refuse('TIMED_OUT', `S2: timed out in view ${s.lastTimeoutView}`)
    if (!extendsLocked && !(block.justify.view > s.lockedQC.view)) return refuse('NOT_SAFE', `S3: does not extend the lock (view ${s.lockedQC.view}) and justifies view ${block.justify.view}`)
    const vote: Vote = {
      kind: 'vote',
      epoch: block.epoch,
      view: block.view,
      block: id,
      height: block.height,
      voter: this.signer.index,
      signature: this.signer.sign(voteMessage(block.epoch, block.view, id, block.height)),
    }
    this.#state = { ...s, lastVotedView: block.view, lastVote: vote }
    return { ok: true, signed: seal(vote, this.#state) }
  }

  /** Locking rule: `qc2` is the justify of the block `qc` certifies (the 2-chain head). Returns true if the lock moved. */
  observeTwoChain(qc2: QuorumCertificate): boolean {
    if (qc2.view <= this.#state.lockedQC.view) return false
    this.#state = { ...this.#state, lockedQC: qc2 }
    return true
  }

  /** Signs a timeout for `view` carrying `highQC`, or returns the stored one; refuses (BEHIND) a view below the last timed out (T1). */
  timeoutFor(epoch: number, view: number, highQC: QuorumCertificate): TimeoutDecision {
    const s = this.#state
    if (view < s.lastTimeoutView) return refuse('BEHIND', `T1: timed out in view ${s.lastTimeoutView} already`)
    if (view === s.lastTimeoutView && s.lastTimeout !== null) return { ok: true, signed: seal(s.lastTimeout, null) }
    const timeout: Timeout = { kind: 'timeout', epoch, view, highQC, tc: null, voter: this.signer.index, signature: this.signer.sign(timeoutMessage(epoch, view)) }
    this.#state = { ...s, lastTimeoutView: view, lastTimeout: timeout }
    return { ok: true, signed: seal(timeout, this.#state) }
  }
}

function seal<M extends Vote | Timeout>(message: M, record: SafetyState | null): Signed<M> {
  return { [MESSAGE]: message, [RECORD]: record }
}

function refuse(code: SafetyErrorCode, message: string): { ok: false; error: SafetyError } {
  return { ok: false, error: new SafetyError(code, message) }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
