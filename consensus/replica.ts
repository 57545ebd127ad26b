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
 */
import type { QuorumScheme, QuorumSigner } from './crypto.ts'
import { BlockTree } from './blocktree.ts'
import { collectDown, MAX_FETCHED_SYNCS, ServeAllowance, syncBytes } from './block-sync.ts'
import type { Mempool } from './mempool.ts'
import { SafetyRules } from './safety.ts'
import { blockId, hashKey, proposalMessage } from './signing.ts'
import type { Block, BlockRequest, Hash, BlockResponse, ConsensusMessage, Input, Output, Proposal, QuorumCertificate, SafetyState, SyncInfo, Timeout, TimeoutCertificate, ValidatorIndex, Vote } from './types.ts'
import { commandKey, genesisQC, quorumSize } from './genesis.ts'
import { LeaderReputation, RoundRobin, type LeaderElection, type ReputationOptions } from './leader.ts'

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
  private consecutiveTimeouts = 0
  private timerView = 0
  /** votes collected as next leader: view → block key → voter → vote */
  private readonly votes = new Map<number, Map<string, Map<ValidatorIndex, Vote>>>()
  private readonly timeouts = new Map<number, Map<ValidatorIndex, Timeout>>()
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
  private now = 0
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
    this.now = input.now
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
        if (input.view === this.view && input.view === this.timerView) this.localTimeout()
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
    const b = p.block
    if (b.epoch !== this.epoch || b.proposer !== this.leaderOf(b.view)) return
    const enteredBy = p.tc !== null ? p.tc.view : b.justify.view
    if (b.view !== enteredBy + 1 || (p.tc !== null && p.tc.view < b.justify.view)) return
    if (b.height > this.lastHeight && b.payload.length > 0) return // past the epoch's end only empty blocks
    if (p.tc !== null) this.processTC(p.tc)
    this.processQC(b.justify)
    if (!this.tree.has(b.parent)) {
      if (b.height > this.tree.committed.height) this.requestBlocks(p, from)
      return
    }
    if (!this.tree.add(b)) return
    this.releaseWaiting(b)
    if (b.view !== this.view) return
    if (b.time * 1000 > this.now + MAX_FUTURE_BLOCK_MS) return // a block time from the future is not voted for
    const decision = this.safety.voteFor(b, this.tree.extends(b, this.safety.lockedQC.block))
    if (!decision.ok) return
    if (decision.fresh) this.emit({ type: 'persist-safety', state: this.safety.state, blocks: this.tree.uncommitted() })
    const next = this.leaderOf(b.view + 1)
    if (next === this.index) this.onVote(decision.vote)
    else this.emit({ type: 'send', to: next, message: decision.vote })
  }

  private onVote(v: Vote): void {
    if (v.epoch !== this.epoch || this.leaderOf(v.view + 1) !== this.index || v.view + 1 < this.view) return
    let byBlock = this.votes.get(v.view)
    if (byBlock === undefined) this.votes.set(v.view, (byBlock = new Map()))
    const key = hashKey(v.block)
    let voters = byBlock.get(key)
    if (voters === undefined) byBlock.set(key, (voters = new Map()))
    if (voters.has(v.voter) || voters.size >= this.quorum) return
    voters.set(v.voter, v)
    if (voters.size < this.quorum) return
    const parts = [...voters.values()].map((x) => ({ signer: x.voter, signature: x.signature }))
    const qc: QuorumCertificate = { epoch: this.epoch, view: v.view, block: v.block, height: v.height, votes: this.scheme.aggregate(parts) }
    this.processQC(qc)
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
      this.consecutiveTimeouts = 0
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
    for (const v of this.votes.keys()) if (v + 1 < view) this.votes.delete(v)
    for (const v of this.timeouts.keys()) if (v < view) this.timeouts.delete(v)
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
    const branch = this.tree.pathFromCommitted(parent) ?? []
    const inFlight = new Set<string>(this.committedThisStep)
    for (const blk of branch) for (const c of blk.payload) inFlight.add(commandKey(c))
    const payload = parent.height >= this.lastHeight ? [] : this.mempool.take(this.opts.maxBatch, this.opts.maxBatchBytes, inFlight)
    const unfinished = branch.some((blk) => blk.payload.length > 0 || blk.height >= this.lastHeight)
    if (payload.length === 0 && !unfinished && !this.emptyBlockDue(parent)) return // idle: nothing to order, nothing to finish
    const block: Block = {
      epoch: this.epoch,
      view,
      height: parent.height + 1,
      parent: blockId(parent),
      justify: this.highQC,
      proposer: this.index,
      time: Math.max(parent.time, Math.floor(this.now / 1000)),
      payload,
    }
    const proposal: Proposal = { kind: 'proposal', block, tc: byQC ? null : tc, signature: this.signer.sign(proposalMessage(this.epoch, blockId(block))) }
    this.proposedView = view
    // Vote first, broadcast after the vote's safety write: a leader that crashes in between
    // restarts with lastVotedView = view and never proposes a second block in this view.
    const start = this.out.length
    this.onProposal(proposal, this.index)
    const persisted = this.out.findIndex((o, i) => i >= start && o.type === 'persist-safety')
    this.out.splice(persisted < 0 ? start : persisted + 1, 0, { type: 'broadcast', message: proposal })
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
    return interval > 0 && parent.height < this.lastHeight && this.now - parent.time * 1000 >= intervals * interval
  }

  private armTimer(): void {
    if (this.timerView === this.view || !this.hasWork()) return
    const ms = Math.min(this.opts.maxTimeoutMs, this.opts.baseTimeoutMs * 2 ** Math.min(this.consecutiveTimeouts, 20))
    this.timerView = this.view
    this.emit({ type: 'set-timer', view: this.view, at: this.now + ms })
  }

  private localTimeout(): void {
    this.consecutiveTimeouts++
    this.timerView = 0
    this.retrySync()
    this.signTimeout(this.view)
    this.armTimer() // back-off timer in case the TC does not form
  }

  private signTimeout(view: number): void {
    const signed = this.safety.timeoutFor(this.epoch, view, this.highQC)
    if (!signed.ok) return
    if (signed.fresh) this.emit({ type: 'persist-safety', state: this.safety.state, blocks: this.tree.uncommitted() })
    // attach (unsigned, and so refreshable on every re-send) our highest QC and the TC that got us
    // here, so replicas still in an earlier view catch up
    const tc = this.lastTC !== null && this.lastTC.view === view - 1 ? this.lastTC : null
    const timeout: Timeout = { ...signed.timeout, highQC: this.highQC, tc }
    this.emit({ type: 'broadcast', message: timeout })
    this.onTimeout(timeout)
  }

  private onTimeout(t: Timeout): void {
    if (t.epoch !== this.epoch) return
    if (t.tc !== null) this.processTC(t.tc)
    this.processQC(t.highQC)
    if (t.voter !== this.index && t.highQC.view < this.highQC.view && this.mayAnswer(this.syncSent, t.voter)) this.sendSync(t.voter, t.highQC.height)
    if (t.view < this.view) return
    let byVoter = this.timeouts.get(t.view)
    if (byVoter === undefined) this.timeouts.set(t.view, (byVoter = new Map()))
    if (byVoter.has(t.voter)) return
    byVoter.set(t.voter, t)
    const f = this.n - this.quorum
    // f+1 replicas gave up on this view: at least one honest one did, so join them.
    if (byVoter.size >= f + 1 && this.safety.state.lastTimeoutView < t.view) this.signTimeout(t.view)
    if (byVoter.size === this.quorum) {
      const parts = [...byVoter.values()].map((x) => ({ signer: x.voter, signature: x.signature }))
      this.processTC({ epoch: this.epoch, view: t.view, timeouts: this.scheme.aggregate(parts) })
    }
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
    const budget = this.served.take(from, this.now)
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
    if (c !== null && c.key === key && this.now - c.at < this.opts.baseTimeoutMs) return
    this.continuation = { key, peer, at: this.now }
    this.emit({ type: 'send', to: peer, message: { kind: 'block-request', ids: [id], knownHeight: this.tree.committed.height } satisfies BlockRequest })
  }

  /**
   * At most one reply per peer per base timeout: replayed or repeated requests
   * cannot amplify traffic, yet a lagging peer that keeps asking is answered.
   */
  private mayAnswer(last: Map<ValidatorIndex, number>, peer: ValidatorIndex): boolean {
    const prev = last.get(peer)
    if (prev !== undefined && this.now - prev < this.opts.baseTimeoutMs) return false
    last.set(peer, this.now)
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
    this.timerView = 0
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

  private emit(o: Output): void {
    if (this.endProof !== null && !this.serving) return // the epoch is over: no more votes, proposals or timers
    this.out.push(o)
  }
}

function sameKey(id: Uint8Array, block: Block): boolean {
  return hashKey(id) === hashKey(blockId(block))
}

