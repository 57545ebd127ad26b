/**
 * One HotStuff replica as a deterministic state machine (chained HotStuff, Yin
 * et al., PODC 2019): `handle(input)` returns the outputs to carry out, in order.
 *
 * - A leader per view (round-robin) proposes a block extending its highest QC.
 *   Replicas vote for it (safety.ts decides) and send the vote to the next view's
 *   leader, who aggregates 2f+1 votes into a QC and proposes on top of it.
 * - Commit rule (3-chain): when a QC certifies b2, b2's justify certifies b1 and
 *   b1's justify certifies b0, with b2 → b1 → b0 direct parents, b0 commits.
 * - Pacemaker: a view timer (exponential back-off over consecutive timeouts)
 *   makes a replica sign a timeout; 2f+1 timeouts form a TC that moves everyone
 *   to the next view; f+1 timeouts for a view make a replica join them, which
 *   synchronises views.
 * - Batching: a block carries up to maxBatch commands from the mempool. When the
 *   mempool is empty, leaders still propose (empty blocks) while uncommitted
 *   non-empty blocks remain, so a lone command commits promptly; then they idle,
 *   and no timers run until commands arrive, unless `emptyBlockIntervalMs` asks
 *   for an empty block that often (CometBFT's create_empty_blocks_interval).
 * - Block sync: a proposal whose ancestors are unknown is buffered while the
 *   missing blocks are requested from its proposer.
 *
 * Messages reaching `handle` are verified (verify.ts): signatures, QCs and TCs are
 * valid for this epoch. The replica still checks everything that depends on its
 * own state (views, leaders, ancestry).
 *
 * Its parts, each in its own file: vote and timeout counting (votes.ts), the view
 * timer (pacemaker.ts), what a leader proposes (proposer.ts), and the voting and
 * timeout rules (safety.ts). What the safety rules sign comes sealed with its
 * safety record, and this file sends a vote, timeout or proposal only through
 * `emitSigned`, which emits that record's `persist-safety` first; other outputs
 * cannot carry them (`PlainOutput`).
 */
import type { QuorumScheme, QuorumSigner } from './crypto.ts'
import { BlockTree } from './blocktree.ts'
import { collectDown, MAX_FETCHED_SYNCS, ServeAllowance, syncBytes } from './block-sync.ts'
import type { Mempool } from './mempool.ts'
import { Pacemaker } from './pacemaker.ts'
import { nextBlock } from './proposer.ts'
import { release, SafetyRules, type Signed } from './safety.ts'
import { blockId, hashKey, proposalMessage } from './signing.ts'
import type { Block, BlockRequest, Hash, BlockResponse, ConsensusMessage, Input, Output, Proposal, QuorumCertificate, SafetyState, SyncInfo, Timeout, TimeoutCertificate, ValidatorIndex, Vote } from './types.ts'
import { commandKey, genesisQC, quorumSize } from './genesis.ts'
import { LeaderReputation, RoundRobin, type LeaderElection, type ReputationOptions } from './leader.ts'
import { TimeoutCollector, VoteCollector } from './votes.ts'

/** Messages that carry this replica's signature under the safety rules, or need its vote persisted first (its proposal). */
type SignedMessage = Vote | Timeout | Proposal
/** Outputs that carry none: they may leave at any time. */
type PlainOutput =
  | Exclude<Output, { type: 'broadcast' | 'send' }>
  | { type: 'broadcast'; message: Exclude<ConsensusMessage, SignedMessage> }
  | { type: 'send'; to: ValidatorIndex; message: Exclude<ConsensusMessage, SignedMessage> }

/** How far ahead of a voter's clock a block's time may be (so a Byzantine leader cannot push block time, and empty blocks, away) */
export const MAX_FUTURE_BLOCK_MS = 60_000

export interface ReplicaComponents {
  scheme: QuorumScheme
  signer: QuorumSigner
  mempool: Mempool
}

export interface ReplicaOptions {
  epoch: number
  genesis: Block
  /** safety state persisted before a crash; omitted for a fresh replica */
  safety?: SafetyState
  /** the highest block this replica had committed before a restart (default: genesis) */
  committed?: Block
  /** first view timeout, ms (doubles per consecutive timeout, up to maxTimeoutMs) */
  baseTimeoutMs?: number
  maxTimeoutMs?: number
  /** commands per block, and payload bytes per block */
  maxBatch?: number
  maxBatchBytes?: number
  /** idle chain: propose an empty block once this long (ms) has passed since the parent's time (default 0: never); the caller delivers `commands-available` at least that often */
  emptyBlockIntervalMs?: number
  /** committed blocks kept to serve peers that catch up */
  retainCommitted?: number
  /** most block bytes (payloads + a per-block allowance) in one block response or sync, default 3 MiB (fits a 4 MiB frame); more takes further requests */
  maxSyncBytes?: number
  /** who leads a view: 'reputation' (default; skips validators absent from recent commits) or 'round-robin' */
  leaderElection?: 'reputation' | 'round-robin'
  reputation?: ReputationOptions
  /** recently committed blocks of this epoch, oldest first, for leader reputation after a restart */
  history?: readonly Block[]
  /**
   * uncommitted blocks persisted before the restart (see `uncommittedBlocks`): the
   * locked and highest QCs may certify blocks that no peer keeps any more (a whole
   * network that restarted), so a replica must bring its own back
   */
  pending?: readonly Block[]
  /**
   * The height of the epoch's last block (default: none). Blocks above it carry no
   * commands: they only serve to commit it. When it commits the replica emits
   * `epoch-end` and from then on only answers peers that are still in the epoch.
   */
  lastHeight?: number
}

export class Replica {
  readonly index: ValidatorIndex
  readonly n: number
  readonly epoch: number
  private readonly scheme: QuorumScheme
  private readonly signer: QuorumSigner
  private readonly mempool: Mempool
  private readonly safety: SafetyRules
  private readonly tree: BlockTree
  private readonly opts: Required<Pick<ReplicaOptions, 'baseTimeoutMs' | 'maxTimeoutMs' | 'maxBatch' | 'maxBatchBytes' | 'maxSyncBytes' | 'emptyBlockIntervalMs'>>
  private readonly quorum: number
  private readonly leaders: LeaderElection

  /** current view */
  view = 1
  highQC: QuorumCertificate
  private lastTC: TimeoutCertificate | null = null
  private proposedView = 0
  private readonly pacemaker: Pacemaker
  /** votes collected as next leader, and timeouts of the views this replica is in */
  private readonly votes: VoteCollector
  private readonly timeouts: TimeoutCollector
  /** proposals waiting for missing ancestors, by the missing parent's key */
  private readonly waiting = new Map<string, { proposal: Proposal; from: ValidatorIndex }>()
  /**
   * Blocks that hang by hash from a block we want (the high QC's, or a waiting
   * proposal's parent) but do not reach our tree yet: a response cut at
   * maxSyncBytes holds the newest part of what is missing, and the rest is asked
   * for below the chain's bottom until it connects. Nothing else is kept, so junk
   * cannot pile up; at most MAX_FETCHED_SYNCS × maxSyncBytes.
   */
  private readonly fetched = new Map<string, Block>()
  /** the one continuation request in flight (the id asked for, of whom, when) */
  private continuation: { key: string; peer: ValidatorIndex; at: number } | null = null
  /** when each peer's last block request was answered, and when it was last sent a sync (ms) */
  private readonly served: ServeAllowance
  private readonly syncSent = new Map<ValidatorIndex, number>()
  private readonly lastHeight: number
  /** the proof that the epoch ended (its last block committed), once it has */
  private endProof: SyncInfo | null = null
  /** set while answering peers after the end (the only outputs an ended replica makes) */
  private serving = false
  private out: Output[] = []
  private nowMs = 0
  /**
   * Commands committed during the current step: the driver removes them from the
   * mempool only after carrying out this step's outputs, so a proposal made in the
   * same step must not take them again.
   */
  private committedThisStep = new Set<string>()

  constructor(index: ValidatorIndex, components: ReplicaComponents, options: ReplicaOptions) {
    this.index = index
    this.scheme = components.scheme
    this.signer = components.signer
    this.mempool = components.mempool
    this.n = components.scheme.size
    this.epoch = options.epoch
    this.quorum = quorumSize(this.n)
    this.opts = {
      baseTimeoutMs: options.baseTimeoutMs ?? 1000,
      maxTimeoutMs: options.maxTimeoutMs ?? 60_000,
      maxBatch: options.maxBatch ?? 400,
      maxBatchBytes: options.maxBatchBytes ?? 1024 * 1024,
      maxSyncBytes: options.maxSyncBytes ?? 3 * 1024 * 1024,
      emptyBlockIntervalMs: options.emptyBlockIntervalMs ?? 0,
    }
    this.served = new ServeAllowance(this.opts.baseTimeoutMs, this.opts.maxSyncBytes)
    this.pacemaker = new Pacemaker({ baseTimeoutMs: this.opts.baseTimeoutMs, maxTimeoutMs: this.opts.maxTimeoutMs })
    this.votes = new VoteCollector(this.epoch, this.quorum, this.scheme)
    this.timeouts = new TimeoutCollector(this.epoch, this.quorum, this.scheme)
    this.leaders = options.leaderElection === 'round-robin' ? new RoundRobin(this.n) : new LeaderReputation(this.n, this.epoch, options.reputation, options.history)
    this.lastHeight = options.lastHeight ?? Number.POSITIVE_INFINITY
    const committed = options.committed ?? options.genesis
    if (committed.epoch !== this.epoch || committed.height < options.genesis.height) throw new Error(`replica of epoch ${this.epoch} given a committed block of epoch ${committed.epoch} at height ${committed.height}`)
    this.tree = new BlockTree(committed, options.retainCommitted ?? 1000)
    const gqc = genesisQC(options.genesis)
    const safety = options.safety ?? { epoch: this.epoch, lastVotedView: 0, lastVote: null, lastTimeoutView: 0, lastTimeout: null, lockedQC: gqc }
    this.safety = new SafetyRules(safety, components.signer)
    for (const b of [...(options.pending ?? [])].sort((x, y) => x.height - y.height)) if (b.epoch === this.epoch) this.tree.add(b)
    this.highQC = safety.lockedQC.view > gqc.view ? safety.lockedQC : gqc
    for (const b of this.tree.uncommitted()) if (b.justify.view > this.highQC.view) this.highQC = b.justify
    // after a restart: never propose again in a view already voted or timed out in, and start
    // no lower than the highest QC we hold (its view is over)
    this.view = Math.max(1, safety.lastVotedView, safety.lastTimeoutView, this.highQC.view + 1)
    this.proposedView = Math.max(safety.lastVotedView, safety.lastTimeoutView)
  }

  get committedHeight(): number {
    return this.tree.committed.height
  }

  get committedBlock(): Block {
    return this.tree.committed
  }

  /** Blocks above the committed one that this replica holds: to persist with the safety state. */
  uncommittedBlocks(): Block[] {
    return this.tree.uncommitted()
  }

  /** The leader of `view` as this replica sees it. */
  leaderOf(view: number): ValidatorIndex {
    return this.leaders.leaderOf(view)
  }

  get safetyState(): SafetyState {
    return this.safety.state
  }

  /** True once the epoch's last block has committed. */
  get ended(): boolean {
    return this.endProof !== null
  }

  handle(input: Input): Output[] {
    this.out = []
    this.nowMs = input.nowMs
    if (this.committedThisStep.size > 0) this.committedThisStep = new Set()
    if (this.endProof !== null) {
      if (input.type === 'message') this.afterEnd(input.message, input.from)
      return this.out
    }
    switch (input.type) {
      case 'start':
        this.armTimer()
        this.tryPropose()
        break
      case 'commands-available':
        this.armTimer()
        this.tryPropose()
        break
      case 'timer':
        if (input.view === this.view && this.pacemaker.isArmed(input.view)) this.localTimeout()
        break
      case 'message': {
        const m = input.message
        if (m.kind === 'proposal') this.onProposal(m, input.from)
        else if (m.kind === 'vote') this.onVote(m)
        else if (m.kind === 'timeout') this.onTimeout(m)
        else if (m.kind === 'block-request') this.onBlockRequest(m, input.from)
        else if (m.kind === 'block-response') this.onBlockResponse(m, input.from)
        else if (m.kind === 'sync') this.onSync(m, input.from)
        // 'epoch-request' is answered by whoever holds the ended epochs (epochs.ts)
        break
      }
    }
    return this.out
  }

  // ---- proposals and votes -------------------------------------------------

  private onProposal(p: Proposal, from: ValidatorIndex): void {
    const b = this.acceptProposal(p, from)
    if (b === undefined) return
    const decision = this.safety.voteFor(b, this.tree.extends(b, this.safety.lockedQC.block))
    if (decision.ok) this.castVote(decision.signed, [])
  }

  /**
   * A proposal's checks that depend on this replica's state (leader, views, the
   * epoch's end, ancestry, block time); its certificates are applied and its block
   * added. Returns the block if it is one to vote on now.
   */
  private acceptProposal(p: Proposal, from: ValidatorIndex): Block | undefined {
    const b = p.block
    if (b.epoch !== this.epoch || b.proposer !== this.leaderOf(b.view)) return undefined
    const enteredBy = p.tc !== null ? p.tc.view : b.justify.view
    if (b.view !== enteredBy + 1 || (p.tc !== null && p.tc.view < b.justify.view)) return undefined
    if (b.height > this.lastHeight && b.payload.length > 0) return undefined // past the epoch's end only empty blocks
    if (p.tc !== null) this.processTC(p.tc)
    this.processQC(b.justify)
    if (!this.tree.has(b.parent)) {
      if (b.height > this.tree.committed.height) this.requestBlocks(p, from)
      return undefined
    }
    if (!this.tree.add(b)) return undefined
    this.releaseWaiting(b)
    if (b.view !== this.view) return undefined
    // Block time never goes backwards and never runs ahead: the ledger judges evidence,
    // revocation lists and deadlines at it, so a Byzantine leader must not back-date a block
    // (nor push time an hour ahead and stall honest leaders' empty blocks).
    if (b.timeSec < this.tree.parentOf(b)!.timeSec) return undefined
    if (b.timeSec * 1000 > this.nowMs + MAX_FUTURE_BLOCK_MS) return undefined
    return b
  }

  /** Sends a vote to the next view's leader (or counts it, if that is us), after `before` (our proposal) and after its safety write. */
  private castVote(signed: Signed<Vote>, before: Array<{ type: 'broadcast'; message: Proposal }>): void {
    let mine: Vote | undefined
    this.emitSigned(signed, (vote) => {
      const next = this.leaderOf(vote.view + 1)
      if (next !== this.index) return [...before, { type: 'send', to: next, message: vote }]
      mine = vote
      return before
    })
    if (mine !== undefined) this.onVote(mine)
  }

  private onVote(v: Vote): void {
    if (v.epoch !== this.epoch || this.leaderOf(v.view + 1) !== this.index || v.view + 1 < this.view) return
    const qc = this.votes.add(v)
    if (qc !== undefined) this.processQC(qc)
  }

  /** highQC, locking and commit rules, view advance. */
  private processQC(qc: QuorumCertificate): void {
    if (qc.view > this.highQC.view) this.highQC = qc
    const b2 = this.tree.get(qc.block)
    if (b2 !== undefined) {
      this.safety.observeTwoChain(b2.justify)
      const b1 = this.tree.get(b2.justify.block)
      const b0 = b1 === undefined ? undefined : this.tree.get(b1.justify.block)
      if (b1 !== undefined && b0 !== undefined && sameKey(b2.parent, b1) && sameKey(b1.parent, b0) && b0.height > this.tree.committed.height) {
        const blocks = this.tree.commit(b0).filter((b) => b.height <= this.lastHeight)
        for (const blk of blocks) for (const c of blk.payload) this.committedThisStep.add(commandKey(c))
        this.leaders.observe(blocks)
        if (blocks.length > 0) this.emit({ type: 'commit', blocks })
        if (b0.height >= this.lastHeight) this.endEpoch(qc)
      }
    }
    if (qc.view + 1 > this.view) {
      this.pacemaker.progressed()
      this.enterView(qc.view + 1)
    }
  }

  private processTC(tc: TimeoutCertificate): void {
    if (tc.view + 1 > this.view) {
      this.lastTC = tc
      this.enterView(tc.view + 1)
    }
  }

  private enterView(view: number): void {
    this.view = view
    this.votes.prune(view)
    this.timeouts.prune(view)
    this.armTimer()
    this.tryPropose()
  }

  private tryPropose(): void {
    const view = this.view
    if (this.leaderOf(view) !== this.index || this.proposedView >= view) return
    const byQC = this.highQC.view === view - 1
    const tc = this.lastTC !== null && this.lastTC.view === view - 1 ? this.lastTC : null
    if (!byQC && tc === null) return
    const parent = this.tree.get(this.highQC.block)
    if (parent === undefined) return
    const block = nextBlock(
      { epoch: this.epoch, view, proposer: this.index, parent, highQC: this.highQC, branch: this.tree.pathFromCommitted(parent) ?? [], committedThisStep: this.committedThisStep, lastHeight: this.lastHeight, nowMs: this.nowMs, emptyBlockDue: this.emptyBlockDue(parent) },
      this.mempool,
      this.opts,
    )
    if (block === undefined) return // idle: nothing to order, nothing to finish
    const proposal: Proposal = { kind: 'proposal', block, tc: byQC ? null : tc, signature: this.signer.sign(proposalMessage(this.epoch, blockId(block))) }
    this.proposedView = view
    // The leader votes for its own block, and the proposal leaves after that vote's safety
    // write: a leader that crashes in between restarts with lastVotedView = view and never
    // proposes a second block in this view.
    if (this.acceptProposal(proposal, this.index) === undefined) return
    const decision = this.safety.voteFor(block, this.tree.extends(block, this.safety.lockedQC.block))
    if (decision.ok) {
      this.castVote(decision.signed, [{ type: 'broadcast', message: proposal }])
      return
    }
    // It has timed out of this view already (S2): the timeout's record, durable since it
    // left, covers the view (a restart never proposes in it again), so the proposal still
    // goes out under it. The others may vote for it; a leader that gave up alone would
    // otherwise hold a view nobody else has a reason to end.
    if (decision.error.code !== 'TIMED_OUT') return
    const cover = this.safety.timeoutFor(this.epoch, view, this.highQC)
    if (cover.ok) this.emitSigned(cover.signed, () => [{ type: 'broadcast', message: proposal }])
  }

  // ---- pacemaker -----------------------------------------------------------

  private hasWork(): boolean {
    if (this.mempool.size() > 0) return true
    const head = this.tree.get(this.highQC.block)
    const branch = head === undefined ? undefined : this.tree.pathFromCommitted(head)
    return head === undefined || branch === undefined || branch.some((b) => b.payload.length > 0 || b.height >= this.lastHeight) || this.emptyBlockDue(head, 3)
  }

  /** An idle chain's empty block is due after `intervals` × emptyBlockIntervalMs: leaders propose after one; timers arm after three (our highQC may lag a block) */
  private emptyBlockDue(parent: Block, intervals = 1): boolean {
    const interval = this.opts.emptyBlockIntervalMs
    return interval > 0 && parent.height < this.lastHeight && this.nowMs - parent.timeSec * 1000 >= intervals * interval
  }

  private armTimer(): void {
    if (this.pacemaker.isArmed(this.view) || !this.hasWork()) return
    const at = this.pacemaker.arm(this.view, this.nowMs)
    if (at !== undefined) this.emit({ type: 'set-timer', view: this.view, atMs: at })
  }

  private localTimeout(): void {
    this.pacemaker.timedOut()
    this.retrySync()
    this.signTimeout(this.view)
    this.armTimer() // back-off timer in case the TC does not form
  }

  private signTimeout(view: number): void {
    const decision = this.safety.timeoutFor(this.epoch, view, this.highQC)
    if (!decision.ok) return
    // attach (unsigned, and so refreshable on every re-send) our highest QC and the TC that got us
    // here, so replicas still in an earlier view catch up
    const tc = this.lastTC !== null && this.lastTC.view === view - 1 ? this.lastTC : null
    let timeout: Timeout | undefined
    this.emitSigned(decision.signed, (signed) => {
      timeout = { ...signed, highQC: this.highQC, tc }
      return [{ type: 'broadcast', message: timeout }]
    })
    this.onTimeout(timeout!)
  }

  private onTimeout(t: Timeout): void {
    if (t.epoch !== this.epoch) return
    if (t.tc !== null) this.processTC(t.tc)
    this.processQC(t.highQC)
    if (t.voter !== this.index && t.highQC.view < this.highQC.view && this.mayAnswer(this.syncSent, t.voter)) this.sendSync(t.voter, t.highQC.height)
    if (t.view < this.view) return
    const counted = this.timeouts.add(t)
    if (counted === undefined) return
    const f = this.n - this.quorum
    // f+1 replicas gave up on this view: at least one honest one did, so join them.
    if (counted.count >= f + 1 && this.safety.state.lastTimeoutView < t.view) this.signTimeout(t.view)
    if (counted.tc !== undefined) this.processTC(counted.tc)
  }

  // ---- block sync ----------------------------------------------------------

  /** On a timeout: ask everyone again for blocks still missing (a request or its answer may have been lost). */
  private retrySync(): void {
    this.pruneWaiting()
    const ids = [...this.waiting.values()].map((w) => w.proposal.block.parent)
    // the chain to the high QC first (continuing below what was fetched of it), so it is never cut off
    if (!this.tree.has(this.highQC.block)) ids.unshift(this.fetchedBottom()?.parent ?? this.highQC.block)
    if (ids.length === 0) return
    const request: BlockRequest = { kind: 'block-request', ids: ids.slice(0, 16), knownHeight: this.tree.committed.height }
    this.emit({ type: 'broadcast', message: request })
  }

  private requestBlocks(p: Proposal, from: ValidatorIndex): void {
    const key = hashKey(p.block.parent)
    if (this.waiting.has(key)) return
    this.waiting.set(key, { proposal: p, from })
    const request: BlockRequest = { kind: 'block-request', ids: [p.block.parent], knownHeight: this.tree.committed.height }
    this.emit({ type: 'send', to: from, message: request })
  }

  private onBlockRequest(r: BlockRequest, from: ValidatorIndex): void {
    const budget = this.served.take(from, this.nowMs)
    if (budget <= 0) return
    const { blocks, bytes } = collectDown((id) => this.tree.get(id), r.ids.slice(0, 16), r.knownHeight, Math.min(budget, this.opts.maxSyncBytes))
    this.served.spent(from, bytes)
    if (blocks.length > 0) this.emit({ type: 'send', to: from, message: { kind: 'block-response', blocks } satisfies BlockResponse })
  }

  private onBlockResponse(r: BlockResponse, from: ValidatorIndex): void {
    this.takeFetched(r.blocks, from)
    this.processQC(this.highQC) // its block may have arrived: apply the commit rule
  }

  /** The lowest block held of the chains still being fetched (they all hang from wanted blocks), if any. */
  private fetchedBottom(): Block | undefined {
    let lowest: Block | undefined
    for (const b of this.fetched.values()) if (lowest === undefined || b.height < lowest.height) lowest = b
    return lowest
  }

  /** Forgets proposals waiting for a parent at or below our committed height: that parent is not on our chain. */
  private pruneWaiting(): void {
    for (const [key, w] of this.waiting) if (w.proposal.block.height <= this.tree.committed.height + 1) this.waiting.delete(key)
  }

  /**
   * Takes `blocks` (a block response or sync from `from`) together with what was
   * fetched before: each chain that hangs by hash from a wanted block (the high
   * QC's first, then waiting proposals' parents) is added if it reaches our tree,
   * or else kept, and the bottom of the first such chain is asked of `from` next
   * (one continuation in flight). Blocks on no such chain are dropped.
   */
  private takeFetched(blocks: readonly Block[], from: ValidatorIndex): void {
    this.pruneWaiting()
    const byId = new Map(this.fetched)
    for (const b of blocks) if (b.epoch === this.epoch && b.height > this.tree.committed.height) byId.set(hashKey(blockId(b)), b)
    this.fetched.clear()
    const wanted = [...new Set([hashKey(this.highQC.block), ...this.waiting.keys()])]
    let bottom: Block | undefined
    let held = 0
    for (const top of wanted) {
      const chain = this.chainDown(byId, top)
      const last = chain.at(-1)
      if (last === undefined) continue
      if (this.tree.has(last.parent)) {
        this.connect(chain)
        continue
      }
      const bytes = chain.reduce((sum, blk) => sum + syncBytes(blk), 0)
      if (held + bytes > MAX_FETCHED_SYNCS * this.opts.maxSyncBytes) continue // too far behind for block sync
      held += bytes
      for (const blk of chain) this.fetched.set(hashKey(blockId(blk)), blk)
      bottom ??= last
    }
    if (bottom !== undefined && from !== this.index) this.continueFetch(bottom.parent, from)
  }

  /** Asks `peer` for `id` and what lies below it, unless that very request is already in flight. */
  private continueFetch(id: Hash, peer: ValidatorIndex): void {
    const key = hashKey(id)
    const c = this.continuation
    if (c !== null && c.key === key && this.nowMs - c.at < this.opts.baseTimeoutMs) return
    this.continuation = { key, peer, at: this.nowMs }
    this.emit({ type: 'send', to: peer, message: { kind: 'block-request', ids: [id], knownHeight: this.tree.committed.height } satisfies BlockRequest })
  }

  /**
   * At most one reply per peer per base timeout: replayed or repeated requests
   * cannot amplify traffic, yet a lagging peer that keeps asking is answered.
   */
  private mayAnswer(last: Map<ValidatorIndex, number>, peer: ValidatorIndex): boolean {
    const prev = last.get(peer)
    if (prev !== undefined && this.nowMs - prev < this.opts.baseTimeoutMs) return false
    last.set(peer, this.nowMs)
    return true
  }

  /** Helps a replica that is behind (it may be the only one with work left, so nobody else would time out). */
  private sendSync(to: ValidatorIndex, knownHeight: number): void {
    const { blocks } = collectDown((id) => this.tree.get(id), [this.highQC.block], knownHeight, this.opts.maxSyncBytes)
    this.emit({ type: 'send', to, message: { kind: 'sync', highQC: this.highQC, blocks } satisfies SyncInfo })
  }

  private onSync(m: SyncInfo, from: ValidatorIndex): void {
    this.addChain(m.blocks, hashKey(m.highQC.block))
    this.processQC(m.highQC)
    // the blocks did not reach ours (we are far behind): keep them and ask the sender for the rest
    if (this.endProof === null && !this.tree.has(m.highQC.block) && from !== this.index) {
      if (m.blocks.length > 0) this.takeFetched(m.blocks, from)
      else this.emit({ type: 'send', to: from, message: { kind: 'block-request', ids: [m.highQC.block], knownHeight: this.tree.committed.height } satisfies BlockRequest })
    }
  }

  // ---- the end of the epoch ------------------------------------------------

  /** The last block committed through `qc`: keep the proof, stop timers, and say so. */
  private endEpoch(qc: QuorumCertificate): void {
    const blocks: Block[] = []
    let b = this.tree.get(qc.block)
    while (b !== undefined && b.height >= this.lastHeight) {
      blocks.push(b)
      b = this.tree.get(b.parent)
    }
    this.endProof = { kind: 'sync', highQC: qc, blocks }
    this.waiting.clear()
    this.fetched.clear()
    this.continuation = null
    this.pacemaker.stop()
    // pushed directly: from here on emit() drops whatever the rest of this step would send
    this.out.push({ type: 'epoch-end', block: blocks.at(-1)!, proof: this.endProof })
  }

  /** The proof that this epoch ended: a sync whose QC commits the last block (null while it runs). */
  get epochEndProof(): SyncInfo | null {
    return this.endProof
  }

  /** After the end: help peers still in the epoch (or asking about it) to the proof; answer block requests. */
  private afterEnd(m: ConsensusMessage, from: ValidatorIndex): void {
    this.serving = true
    if (m.kind === 'block-request') this.onBlockRequest(m, from)
    else if (m.kind !== 'block-response' && m.kind !== 'sync' && (m.kind !== 'epoch-request' || m.epoch === this.epoch)) {
      if (from !== this.index && this.mayAnswer(this.syncSent, from)) this.emit({ type: 'send', to: from, message: this.endProof! })
    }
    this.serving = false
  }

  /**
   * Adds the blocks that lead down, by parent hash, from `top` to a block already
   * known: a block's id is its hash, so nothing else can be slipped in.
   */
  private addChain(blocks: readonly Block[], top: string): void {
    const chain = this.chainDown(new Map(blocks.filter((b) => b.epoch === this.epoch).map((b) => [hashKey(blockId(b)), b])), top)
    const last = chain.at(-1)
    if (last !== undefined && this.tree.has(last.parent)) this.connect(chain)
  }

  /** The blocks of `byId` from `top` down, by parent hash, until one whose parent we hold (newest first). */
  private chainDown(byId: ReadonlyMap<string, Block>, top: string): Block[] {
    const chain: Block[] = []
    let b = byId.get(top)
    while (b !== undefined && !this.tree.has(blockId(b))) {
      chain.push(b)
      b = this.tree.has(b.parent) ? undefined : byId.get(hashKey(b.parent))
    }
    return chain
  }

  /** Adds a chain whose lowest block's parent we hold (newest first), oldest first, applying each block's QC. */
  private connect(chain: readonly Block[]): void {
    for (const blk of [...chain].reverse()) {
      this.processQC(blk.justify)
      if (this.tree.add(blk)) this.releaseWaiting(blk)
    }
  }

  /** Re-handles a proposal that was waiting for `parent`. */
  private releaseWaiting(parent: Block): void {
    const key = hashKey(blockId(parent))
    const w = this.waiting.get(key)
    if (w === undefined) return
    this.waiting.delete(key)
    this.onProposal(w.proposal, w.from)
  }

  /** An output that carries no signature of ours. */
  private emit(o: PlainOutput): void {
    this.push(o)
  }

  /**
   * The only way a vote, timeout or proposal of ours leaves: the safety record the
   * signature was made under goes out first (persist-safety, with the uncommitted
   * blocks), then what `outputs` makes of the signed message.
   */
  private emitSigned<M extends Vote | Timeout>(signed: Signed<M>, outputs: (message: M) => Output[]): void {
    const message = release(signed, (record: SafetyState) => this.push({ type: 'persist-safety', state: record, blocks: this.tree.uncommitted() }))
    for (const o of outputs(message)) this.push(o)
  }

  private push(o: Output): void {
    if (this.endProof !== null && !this.serving) return // the epoch is over: no more votes, proposals or timers
    this.out.push(o)
  }
}

function sameKey(id: Uint8Array, block: Block): boolean {
  return hashKey(id) === hashKey(blockId(block))
}

