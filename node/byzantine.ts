/**
 * A Byzantine validator for testnets: a filter over what the honest consensus core
 * asks the driver to send, which makes this validator misbehave on purpose, with
 * its own key only (it cannot forge another validator's signature). Configured per
 * node (`byzantine` in config.json) and meant for fault-injection tests: a network
 * of 3f + 1 must stay safe and live with f such validators.
 *
 * - `equivocate`: as leader, signs two conflicting blocks for the view and sends
 *   one to half the other validators and the other block to the rest, directly
 *   (not by gossip, so no single peer sees both unless they compare notes).
 * - `double-vote`: with each vote, also signs and sends a vote for a made-up block
 *   of the same view to the same leader.
 * - `lying-api`: its API lies in every state proof it serves (node/api/proofs.ts
 *   `ProofLies`): altered values, or an older height given as the newest. Consensus
 *   stays honest; light clients must catch the lies and ask another validator.
 *
 * The core itself stays honest (its safety state, its own votes), so the
 * misbehaviour is only on the wire, as a real attacker's would be.
 */
import { blockId, proposalMessage, voteMessage, type Block, type EpochOutput, type Proposal, type QuorumSigner, type Vote } from '../consensus/index.ts'

export const BYZANTINE_BEHAVIOURS = ['equivocate', 'double-vote', 'lying-api'] as const
export type ByzantineBehaviour = (typeof BYZANTINE_BEHAVIOURS)[number]

export interface ByzantineComponents {
  /** this validator's consensus signer (its own key) */
  signer: QuorumSigner
  /** the current epoch's validators by peer id, this one included */
  validators(): readonly string[]
  self: string
  logger: { warn(obj: object, msg?: string): void }
}

/** Counts of what a Byzantine validator did, for tests and logs. */
export interface ByzantineStats {
  equivocations: number
  doubleVotes: number
}

export class Byzantine {
  readonly stats: ByzantineStats = { equivocations: 0, doubleVotes: 0 }
  private readonly components: ByzantineComponents
  private readonly behaviours: ReadonlySet<ByzantineBehaviour>
  private counter = 0

  constructor(components: ByzantineComponents, behaviours: readonly ByzantineBehaviour[]) {
    this.components = components
    this.behaviours = new Set(behaviours)
  }

  /** The outputs to carry out instead of `outputs`. */
  apply(outputs: readonly EpochOutput[]): EpochOutput[] {
    return outputs.flatMap((o) => {
      if (o.type === 'broadcast' && o.message.kind === 'proposal' && this.behaviours.has('equivocate')) return this.equivocate(o.message)
      if (o.type === 'send' && o.message.kind === 'vote' && this.behaviours.has('double-vote')) return [o, this.doubleVote(o.to, o.message)]
      return [o]
    })
  }

  private equivocate(a: Proposal): EpochOutput[] {
    const junk = new TextEncoder().encode(`equivocation ${this.components.self} ${a.block.view} ${this.counter++}`)
    const other: Block = { ...a.block, payload: [...a.block.payload, junk] }
    const b: Proposal = { ...a, block: other, signature: this.components.signer.sign(proposalMessage(other.epoch, blockId(other))) }
    const peers = this.components.validators().filter((p) => p !== this.components.self)
    this.stats.equivocations++
    this.components.logger.warn({ view: a.block.view, peers: peers.length }, 'byzantine: sending two conflicting proposals for one view')
    return peers.map((to, i): EpochOutput => ({ type: 'send', to, message: i % 2 === 0 ? a : b }))
  }

  private doubleVote(to: string, v: Vote): EpochOutput {
    const fake = new Uint8Array(32)
    new DataView(fake.buffer).setUint32(0, this.counter++)
    this.stats.doubleVotes++
    this.components.logger.warn({ view: v.view }, 'byzantine: voting for a second block in one view')
    return { type: 'send', to, message: { ...v, block: fake, signature: this.components.signer.sign(voteMessage(v.epoch, v.view, fake, v.height)) } }
  }
}
