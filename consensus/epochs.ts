/**
 * Epochs: the validator set changes only between epochs. The ledger orders a
 * change (validator-set.update) and fixes where the epoch ends (its last height);
 * when that block commits, the replica of the epoch stops and the driver, having
 * executed the block, hands over the next epoch's set (`next-epoch`). The next
 * epoch's genesis is derived from the last block (nextEpochGenesis), so every
 * honest validator starts it from the same point.
 *
 * `Epochs` is the edge and the router around the per-epoch `Replica`s:
 * - it verifies every message with the verifier of the message's epoch (the
 *   verdict maps to gossip accept / ignore / reject) and names peers by stable ids
 *   (libp2p peer ids, simulator node names), since indices change between epochs;
 * - a peer still in an epoch that has ended here is sent the end proof (a `sync`
 *   whose QC commits the last block); a peer in a later epoch is asked for the
 *   proof of ours (`epoch-request`);
 * - a node that is not a validator of the current epoch follows it: it accepts the
 *   end proof once it verifies (verifyEpochEnd) and moves on.
 * Deterministic like the replica: no clock, no I/O.
 */
import type { QuorumScheme, QuorumSigner } from './crypto.ts'
import type { Mempool } from './mempool.ts'
import { Replica, type ReplicaOptions } from './replica.ts'
import { blockId, hashKey } from './signing.ts'
import type { Block, BlockRequest, ConsensusMessage, SafetyState, SyncInfo, ValidatorIndex } from './types.ts'
import { MessageVerifier, type Verdict, type VerifierOptions } from './verify.ts'

export interface EpochSetup {
  epoch: number
  /** the validators' stable ids, in index order */
  validators: readonly string[]
  scheme: QuorumScheme
  /** makeGenesis(0, …) for the first epoch, nextEpochGenesis(epoch, n, previous last block) after */
  genesis: Block
  /** the height of the epoch's last block (Infinity: the epoch does not end) */
  lastHeight: number
}

export type EpochInput =
  | { type: 'start'; nowMs: number }
  | { type: 'timer'; epoch: number; view: number; nowMs: number }
  | { type: 'commands-available'; nowMs: number }
  /** the next epoch, after an `epoch-end` output (the driver executed the last block and read the new set) */
  | { type: 'next-epoch'; setup: EpochSetup; nowMs: number }

export type EpochOutput =
  | { type: 'persist-safety'; state: SafetyState; blocks: Block[] }
  | { type: 'broadcast'; message: ConsensusMessage }
  | { type: 'send'; to: string; message: ConsensusMessage }
  | { type: 'set-timer'; epoch: number; view: number; atMs: number }
  | { type: 'commit'; blocks: Block[] }
  | { type: 'epoch-end'; epoch: number; block: Block; proof: SyncInfo }

export interface EpochsComponents {
  /** this node's signer at a validator index (the key is the same in every epoch) */
  signer(index: ValidatorIndex): QuorumSigner
  mempool: Mempool
}

export interface EpochsOptions {
  /** this node's stable id */
  self: string
  setup: EpochSetup
  /** for a restart inside `setup.epoch` */
  safety?: SafetyState
  committed?: Block
  history?: readonly Block[]
  /** uncommitted blocks persisted with the safety state */
  pending?: readonly Block[]
  /** end proofs of earlier epochs, to answer peers that are behind */
  proofs?: ReadonlyMap<number, SyncInfo>
  replica?: Omit<ReplicaOptions, 'epoch' | 'genesis' | 'safety' | 'committed' | 'history' | 'pending' | 'lastHeight'>
  verifier?: Omit<VerifierOptions, 'epoch' | 'genesis'>
  /** at most one epoch-request to, or proof for, a peer per this many ms (default 500) */
  answerIntervalMs?: number
  /** ended epochs whose replicas are kept to serve their blocks to peers catching up (default 4) */
  keepEpochs?: number
  /** a node following an epoch it does not validate asks for its end this often, ms (default 1000) */
  followIntervalMs?: number
}

interface Running {
  setup: EpochSetup
  index: ValidatorIndex | null
  replica: Replica | null
  verifier: MessageVerifier
  ended: SyncInfo | null
}

export class Epochs {
  private readonly components: EpochsComponents
  private readonly options: EpochsOptions
  private current: Running
  /** ended epochs still served, newest first */
  private previous: Running[] = []
  private readonly proofs = new Map<number, SyncInfo>()
  private readonly answered = new Map<string, number>()
  private out: EpochOutput[] = []

  constructor(components: EpochsComponents, options: EpochsOptions) {
    this.components = components
    this.options = options
    for (const [e, p] of options.proofs ?? []) this.proofs.set(e, p)
    this.current = this.open(options.setup, { safety: options.safety, committed: options.committed, history: options.history, pending: options.pending })
  }

  get epoch(): number {
    return this.current.setup.epoch
  }

  get setup(): EpochSetup {
    return this.current.setup
  }

  /** The current epoch's replica; null while this node is not one of its validators. */
  get replica(): Replica | null {
    return this.current.replica
  }

  /** The end proof of an epoch that ended here. */
  proofOf(epoch: number): SyncInfo | undefined {
    return this.proofs.get(epoch)
  }

  handle(input: EpochInput): EpochOutput[] {
    this.out = []
    const r = this.current.replica
    if (input.type === 'next-epoch') this.advance(input.setup, input.nowMs)
    else if (input.type === 'timer') {
      if (input.epoch !== this.epoch) return this.out
      if (r !== null) this.run(this.current, r.handle({ type: 'timer', view: input.view, nowMs: input.nowMs }))
      else if (input.view === FOLLOW_VIEW) this.follow(input.nowMs)
    } else if (r !== null) this.run(this.current, r.handle(input))
    else if (input.type === 'start') this.follow(input.nowMs)
    return this.out
  }

  /** Not a validator of this epoch: keep asking for the proof that it ended (nothing else would tell us). */
  private follow(nowMs: number): void {
    if (this.current.ended !== null || Number.isFinite(this.current.setup.lastHeight) === false) return
    this.out.push({ type: 'broadcast', message: { kind: 'epoch-request', epoch: this.epoch } })
    this.out.push({ type: 'set-timer', epoch: this.epoch, view: FOLLOW_VIEW, atMs: nowMs + (this.options.followIntervalMs ?? 1000) })
  }

  /** Verifies a message from peer `from` and, if valid, hands it to the replica of its epoch. */
  receive(from: string, message: ConsensusMessage, nowMs: number): { verdict: Verdict; outputs: EpochOutput[] } {
    this.out = []
    const verdict = this.route(from, message, nowMs)
    return { verdict, outputs: this.out }
  }

  private route(from: string, m: ConsensusMessage, nowMs: number): Verdict {
    if (m.kind === 'epoch-request') {
      if (!Number.isInteger(m.epoch) || m.epoch < 0) return ignore('malformed', `epoch ${m.epoch}`)
      const proof = this.proofs.get(m.epoch)
      if (proof !== undefined && this.mayAnswer(from, nowMs)) this.out.push({ type: 'send', to: from, message: proof })
      return { ok: true }
    }
    if (m.kind === 'block-request') return this.blockRequest(from, m, nowMs)
    const epoch = epochOf(m) ?? this.epoch
    if (epoch > this.epoch) {
      // the sender is ahead: ask it how our epoch ended
      if (this.mayAnswer(from, nowMs)) this.out.push({ type: 'send', to: from, message: { kind: 'epoch-request', epoch: this.epoch } })
      return ignore('wrong-epoch', `epoch ${epoch} is ahead of ours (${this.epoch})`)
    }
    const running = epoch === this.epoch ? this.current : (this.previous.find((r) => r.setup.epoch === epoch) ?? null)
    if (running === null || (running.ended !== null && running.replica === null)) {
      const proof = this.proofs.get(epoch)
      if (proof !== undefined && m.kind !== 'sync' && m.kind !== 'block-response' && this.mayAnswer(from, nowMs)) this.out.push({ type: 'send', to: from, message: proof })
      return ignore('wrong-epoch', `epoch ${epoch} has ended here and is no longer served`)
    }
    const sender = running.setup.validators.indexOf(from)
    if (sender < 0) return { ok: false, action: 'reject', reason: 'unknown-signer', detail: `${from} is not a validator of epoch ${epoch}` }
    const verdict = running.verifier.verify(m, sender, running.replica?.view ?? 0)
    if (!verdict.ok) return verdict
    if (running.replica !== null) this.run(running, running.replica.handle({ type: 'message', from: sender, message: m, nowMs }))
    else if (m.kind === 'sync' && running.ended === null) {
      // following an epoch we do not validate: wait for the proof that it ended
      const last = verifyEpochEnd(m, running.setup.lastHeight)
      if (last !== null) this.ended(running, last, m)
    }
    return verdict
  }

  /** Block requests carry no epoch: the replicas of this epoch and the kept ended ones answer what they hold. */
  private blockRequest(from: string, m: BlockRequest, nowMs: number): Verdict {
    let known = false
    for (const running of [this.current, ...this.previous]) {
      const sender = running.setup.validators.indexOf(from)
      if (running.replica === null || sender < 0) continue
      known = true
      const verdict = running.verifier.verify(m, sender, running.replica.view)
      if (!verdict.ok) return verdict
      this.run(running, running.replica.handle({ type: 'message', from: sender, message: m, nowMs }))
    }
    return known ? { ok: true } : { ok: false, action: 'ignore', reason: 'unknown-signer', detail: `${from} is not a validator of epoch ${this.epoch} or the one before` }
  }

  /** Carries out a replica's outputs: indices become stable ids, timers get the epoch. */
  private run(running: Running, outputs: ReturnType<Replica['handle']>): void {
    for (const o of outputs) {
      if (o.type === 'send') {
        const to = running.setup.validators[o.to]
        if (to !== undefined) this.out.push({ type: 'send', to, message: o.message })
      } else if (o.type === 'set-timer') this.out.push({ type: 'set-timer', epoch: running.setup.epoch, view: o.view, atMs: o.atMs })
      else if (o.type === 'epoch-end') this.ended(running, o.block, o.proof)
      else this.out.push(o)
    }
  }

  private ended(running: Running, last: Block, proof: SyncInfo): void {
    if (running.ended !== null) return
    running.ended = proof
    this.proofs.set(running.setup.epoch, proof)
    // a proof carries the epoch's last blocks: keep those of the last few epochs only
    for (const e of this.proofs.keys()) if (e < running.setup.epoch - KEEP_PROOFS) this.proofs.delete(e)
    this.out.push({ type: 'epoch-end', epoch: running.setup.epoch, block: last, proof })
  }

  private advance(setup: EpochSetup, nowMs: number): void {
    if (this.current.ended === null) throw new Error(`next-epoch ${setup.epoch} before epoch ${this.epoch} ended`)
    if (setup.epoch !== this.epoch + 1) throw new Error(`next-epoch ${setup.epoch} does not follow epoch ${this.epoch}`)
    const last = this.current.ended.blocks.at(-1)!
    if (setup.genesis.epoch !== setup.epoch || setup.genesis.height !== last.height || hashKey(setup.genesis.parent) !== hashKey(blockId(last))) {
      throw new Error(`the genesis of epoch ${setup.epoch} does not follow the last block of epoch ${this.epoch}`)
    }
    // proofs of older epochs stay (they are small); the replicas of the last few stay to serve their blocks
    this.previous = [this.current, ...this.previous].slice(0, this.options.keepEpochs ?? 4)
    this.current = this.open(setup, {})
    if (this.current.replica !== null) this.run(this.current, this.current.replica.handle({ type: 'start', nowMs }))
    else this.follow(nowMs)
  }

  private open(setup: EpochSetup, restart: Pick<ReplicaOptions, 'safety' | 'committed' | 'history' | 'pending'>): Running {
    const index = setup.validators.indexOf(this.options.self)
    const verifier = new MessageVerifier(setup.scheme, { ...this.options.verifier, epoch: setup.epoch, genesis: setup.genesis })
    const replica =
      index < 0
        ? null
        : new Replica(index, { scheme: setup.scheme, signer: this.components.signer(index), mempool: this.components.mempool }, {
            ...this.options.replica,
            ...restart,
            epoch: setup.epoch,
            genesis: setup.genesis,
            lastHeight: setup.lastHeight,
          })
    return { setup, index: index < 0 ? null : index, replica, verifier, ended: null }
  }

  private mayAnswer(peer: string, nowMs: number): boolean {
    const prev = this.answered.get(peer)
    if (prev !== undefined && nowMs - prev < (this.options.answerIntervalMs ?? 500)) return false
    this.answered.set(peer, nowMs)
    if (this.answered.size > 10_000) this.answered.clear()
    return true
  }
}

/** end proofs kept for peers that are behind, in epochs */
const KEEP_PROOFS = 8

/** Replicas start at view 1: a timer for view 0 is a follower's. */
const FOLLOW_VIEW = 0

/** The epoch a message belongs to (undefined for those that carry none). */
export function epochOf(m: ConsensusMessage): number | undefined {
  switch (m.kind) {
    case 'proposal':
      return m.block.epoch
    case 'vote':
    case 'timeout':
    case 'epoch-request':
      return m.epoch
    case 'sync':
      return m.highQC.epoch
    case 'block-response':
      return m.blocks[0]?.epoch
    case 'block-request':
      return undefined
  }
}

/**
 * Checks that a verified `sync` proves the end of an epoch: its QC certifies b2,
 * whose justify certifies its parent b1, whose justify certifies its parent b0
 * (the 3-chain commit rule), and the blocks run by parent links from b0 down to
 * the block at `lastHeight`, which is returned (null if the proof does not hold).
 * The QC and the blocks' justify QCs must already have been verified (MessageVerifier).
 */
export function verifyEpochEnd(proof: SyncInfo, lastHeight: number): Block | null {
  const byId = new Map(proof.blocks.map((b) => [hashKey(blockId(b)), b]))
  const b2 = byId.get(hashKey(proof.highQC.block))
  if (b2 === undefined || b2.height !== proof.highQC.height) return null
  const b1 = byId.get(hashKey(b2.parent))
  if (b1 === undefined || hashKey(b2.justify.block) !== hashKey(b2.parent)) return null
  const b0 = byId.get(hashKey(b1.parent))
  if (b0 === undefined || hashKey(b1.justify.block) !== hashKey(b1.parent) || b0.height < lastHeight) return null
  let b: Block | undefined = b0
  while (b !== undefined && b.height > lastHeight) b = byId.get(hashKey(b.parent))
  return b !== undefined && b.height === lastHeight ? b : null
}

function ignore(reason: 'wrong-epoch' | 'malformed', detail: string): Verdict {
  return { ok: false, action: 'ignore', reason, detail }
}
