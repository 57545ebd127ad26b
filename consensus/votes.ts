/**
 * Vote and timeout collection, as a replica does it for the views it leads or times
 * out in: signatures counted per view (votes per block as well), one per signer, and
 * the certificate formed once a quorum has signed. It decides nothing about safety
 * and checks no signature (verify.ts has done that); it only counts and aggregates.
 */
import type { QuorumScheme } from './crypto.ts'
import { hashKey } from './signing.ts'
import type { QuorumCertificate, Timeout, TimeoutCertificate, ValidatorIndex, Vote } from './types.ts'

export class VoteCollector {
  private readonly epoch: number
  private readonly quorum: number
  private readonly scheme: QuorumScheme
  /** view → block key → voter → vote */
  private readonly votes = new Map<number, Map<string, Map<ValidatorIndex, Vote>>>()

  constructor(epoch: number, quorum: number, scheme: QuorumScheme) {
    this.epoch = epoch
    this.quorum = quorum
    this.scheme = scheme
  }

  /** Counts `v`; returns the QC when it is the quorum-th distinct vote for its block in its view (once). */
  add(v: Vote): QuorumCertificate | undefined {
    let byBlock = this.votes.get(v.view)
    if (byBlock === undefined) this.votes.set(v.view, (byBlock = new Map()))
    const key = hashKey(v.block)
    let voters = byBlock.get(key)
    if (voters === undefined) byBlock.set(key, (voters = new Map()))
    if (voters.has(v.voter) || voters.size >= this.quorum) return undefined
    voters.set(v.voter, v)
    if (voters.size < this.quorum) return undefined
    const parts = [...voters.values()].map((x) => ({ signer: x.voter, signature: x.signature }))
    return { epoch: this.epoch, view: v.view, block: v.block, height: v.height, votes: this.scheme.aggregate(parts) }
  }

  /** Forgets the votes of views that can no longer form a QC this replica uses (below view − 1). */
  prune(view: number): void {
    for (const v of this.votes.keys()) if (v + 1 < view) this.votes.delete(v)
  }
}

export class TimeoutCollector {
  private readonly epoch: number
  private readonly quorum: number
  private readonly scheme: QuorumScheme
  /** view → voter → timeout */
  private readonly timeouts = new Map<number, Map<ValidatorIndex, Timeout>>()

  constructor(epoch: number, quorum: number, scheme: QuorumScheme) {
    this.epoch = epoch
    this.quorum = quorum
    this.scheme = scheme
  }

  /**
   * Counts `t`. Returns undefined for a signer already counted in that view; else how
   * many have timed out of the view, and the TC when `t` is the quorum-th.
   */
  add(t: Timeout): { count: number; tc?: TimeoutCertificate } | undefined {
    let byVoter = this.timeouts.get(t.view)
    if (byVoter === undefined) this.timeouts.set(t.view, (byVoter = new Map()))
    if (byVoter.has(t.voter)) return undefined
    byVoter.set(t.voter, t)
    if (byVoter.size !== this.quorum) return { count: byVoter.size }
    const parts = [...byVoter.values()].map((x) => ({ signer: x.voter, signature: x.signature }))
    return { count: byVoter.size, tc: { epoch: this.epoch, view: t.view, timeouts: this.scheme.aggregate(parts) } }
  }

  /** Forgets the timeouts of views below `view`. */
  prune(view: number): void {
    for (const v of this.timeouts.keys()) if (v < view) this.timeouts.delete(v)
  }
}
