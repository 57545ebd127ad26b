/**
 * A seeded, deterministic network simulator for the consensus core. Replicas are
 * real `Replica`s; the simulator plays the network and the clock: message delay,
 * drop, duplication and reordering, partitions that heal, crashes and restarts
 * (with the persisted safety state), and a global stabilisation time (GST) after
 * which messages between live replicas arrive within a bounded delay.
 *
 * Every run checks:
 *  - safety: no two honest replicas commit different blocks at one height;
 *  - no honest replica signs votes for two blocks in one view;
 *  - liveness (when asked): every command is committed by every live honest
 *    replica by the end of the run, which lies a bounded time after GST.
 *
 * Replicas run inside `Epochs`, which verifies messages and routes them by epoch;
 * with `epochs` set, the validator set changes at the given heights (nodes leave,
 * nodes join from a pool larger than the first set), as the ledger would order it.
 */
import {
  blockId,
  Epochs,
  FifoMempool,
  hashKey,
  makeGenesis,
  nextEpochGenesis,
  type Block,
  type ConsensusMessage,
  type EpochOutput,
  type EpochSetup,
  type QuorumScheme,
  type QuorumSigner,
  type SafetyState,
  type SyncInfo,
  type ValidatorIndex,
} from '../../../consensus/index.ts'
import { Rng } from './rng.ts'
import { simScheme, simSecrets, simSigner } from './sim-scheme.ts'

export interface Partition {
  from: number
  to: number
  /** replicas in different groups cannot reach each other while the partition lasts */
  groups: ValidatorIndex[][]
}

export interface Crash {
  replica: ValidatorIndex
  at: number
  /** restart time, or undefined to stay down */
  restartAt?: number
}

/** Turns a replica's outputs into what a Byzantine one would send instead (test-only decorators, byzantine.ts). */
export type Behaviour = (ctx: ByzantineContext, outputs: EpochOutput[]) => EpochOutput[]

export interface ByzantineContext {
  /** the node's id, and the ids of the current epoch's validators */
  self: string
  peers: readonly string[]
  rng: Rng
  sign(message: Uint8Array): Uint8Array
}

/** Validator-set changes: epoch e ends at lastHeights[e]; validators[e] lists its members (pool indices). */
export interface EpochSchedule {
  lastHeights: number[]
  validators: ValidatorIndex[][]
}

/** A node's id in the simulator (validators are named by id, not by their per-epoch index). */
export const nodeId = (i: ValidatorIndex): string => `v${i}`

export interface SimConfig {
  n: number
  seed: number
  /** when to stop, ms */
  duration: number
  /** global stabilisation time, ms */
  gst: number
  /** message delay after GST, ms */
  delay: [number, number]
  /** before GST: extra delay range, drop and duplication probabilities */
  preGst?: { delay: [number, number]; drop: number; duplicate: number }
  commands: number
  /** when commands are injected (evenly spread), ms */
  injectUntil?: number
  partitions?: Partition[]
  crashes?: Crash[]
  byzantine?: Record<number, Behaviour>
  /** indices played by two replicas at once, each in one of two partition groups (Twins) */
  twins?: ValidatorIndex[]
  baseTimeoutMs?: number
  maxBatch?: number
  /** pad each command to this many bytes (default: its short text) */
  commandBytes?: number
  /** the replicas' cap on one block response or sync (ReplicaOptions.maxSyncBytes) */
  maxSyncBytes?: number
  /** ReplicaOptions.emptyBlockIntervalMs; the simulator then ticks every node (commands-available) twice per interval, as the node driver does */
  emptyBlockIntervalMs?: number
  /** validator-set changes; without it there is one endless epoch of validators 0..n-1 */
  epochs?: EpochSchedule
  leaderElection?: 'reputation' | 'round-robin'
  /** require every command committed by every live honest replica at the end */
  expectLiveness: boolean
  /** debugging: called with a line per delivered input and output */
  trace?: (line: string) => void
  /** real signatures instead of the fast test stand-in (benchmarks) */
  crypto?: { scheme: QuorumScheme; signer: (index: ValidatorIndex) => QuorumSigner }
}

export interface SimResult {
  seed: number
  safe: boolean
  violations: string[]
  committedHeight: number[]
  commandsCommitted: number
  messages: number
  /** transmissions (one per recipient), by message kind */
  messagesByKind: Record<string, number>
  /** distinct views in which some replica signed a timeout */
  timedOutViews: number
  views: number[]
  /** the epoch each node ended in (-1: crashed) */
  epochs: number[]
}

interface Node {
  /** the pool index (validators of the first epoch are 0..n-1) */
  index: ValidatorIndex
  /** twin copies of one index get distinct node numbers */
  id: number
  epochs: Epochs | null
  mempool: FifoMempool
  /** what survives a crash: the epoch, its safety state, the committed chain's tip and recent blocks, end proofs */
  setup: EpochSetup
  safety: SafetyState | undefined
  committed: Block
  recent: Block[]
  /** uncommitted blocks persisted with the safety state */
  pending: Block[]
  proofs: Map<number, SyncInfo>
  timer: { epoch: number; view: number; at: number } | null
}

type Event = { at: number; seq: number; kind: 'deliver'; to: number; from: string; message: ConsensusMessage } | { at: number; seq: number; kind: 'timer'; to: number; epoch: number; view: number } | { at: number; seq: number; kind: 'crash' | 'restart'; to: number } | { at: number; seq: number; kind: 'inject'; command: Uint8Array } | { at: number; seq: number; kind: 'tick' }

/** A run that needs more events than this is a message storm (amplification), reported as a violation. */
export const MAX_EVENTS = 500_000

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

export function simulate(cfg: SimConfig): SimResult {
  const rng = new Rng(cfg.seed)
  const schedule: EpochSchedule = cfg.epochs ?? { lastHeights: [], validators: [Array.from({ length: cfg.n }, (_, i) => i)] }
  const pool = Math.max(cfg.n, ...schedule.validators.flat().map((i) => i + 1))
  const secrets = simSecrets(pool, cfg.seed)
  const schemeOf = (members: ValidatorIndex[]) => (cfg.crypto !== undefined && cfg.epochs === undefined ? cfg.crypto.scheme : simScheme(members.map((i) => secrets[i]!)))
  /** the signer of pool node `i` at index `k` of an epoch */
  const signerOf = (i: ValidatorIndex, k: ValidatorIndex) => (cfg.crypto !== undefined && cfg.epochs === undefined ? cfg.crypto.signer(k) : simSigner(k, secrets[i]!))
  const setupOf = (epoch: number, genesis: Block): EpochSetup => {
    const members = schedule.validators[epoch]!
    return { epoch, validators: members.map(nodeId), scheme: schemeOf(members), genesis, lastHeight: schedule.lastHeights[epoch] ?? Number.POSITIVE_INFINITY }
  }
  const firstSetup = setupOf(0, makeGenesis(0, schedule.validators[0]!.length))
  const messagesByKind: Record<string, number> = {}
  const timedOut = new Set<string>()
  const violations: string[] = []
  const byHeight = new Map<number, string>()
  const votesByView = new Map<string, string>()
  const honest = (i: ValidatorIndex) => cfg.byzantine?.[i] === undefined && !(cfg.twins ?? []).includes(i)
  const allCommands = new Set<string>()
  /** height of the committed block holding each command */
  const commandHeights = new Map<string, number>()
  const committedCommands: Array<Set<string>> = []
  let messages = 0
  let seq = 0
  const queue: Event[] = []
  const push = (e: DistributiveOmit<Event, 'seq'>) => heapPush(queue, { ...e, seq: seq++ } as Event)

  const nodes: Node[] = []
  const makeEpochs = (node: Node) =>
    new Epochs({ signer: (k) => signerOf(node.index, k), mempool: node.mempool }, {
      self: nodeId(node.index),
      setup: node.setup,
      safety: node.safety?.epoch === node.setup.epoch ? node.safety : undefined,
      committed: node.committed.epoch === node.setup.epoch ? node.committed : undefined,
      history: node.recent,
      pending: node.safety?.epoch === node.setup.epoch ? node.pending : [],
      proofs: node.proofs,
      replica: { leaderElection: cfg.leaderElection, baseTimeoutMs: cfg.baseTimeoutMs ?? 200, maxTimeoutMs: 5_000, maxBatch: cfg.maxBatch ?? 50, maxSyncBytes: cfg.maxSyncBytes, emptyBlockIntervalMs: cfg.emptyBlockIntervalMs },
    })
  for (let i = 0; i < pool; i++) {
    const copies = (cfg.twins ?? []).includes(i) ? 2 : 1
    for (let c = 0; c < copies; c++) {
      const node: Node = { index: i, id: nodes.length, epochs: null, mempool: new FifoMempool(), setup: firstSetup, safety: undefined, committed: firstSetup.genesis, recent: [], pending: [], proofs: new Map(), timer: null }
      node.epochs = makeEpochs(node)
      nodes.push(node)
      committedCommands.push(new Set())
    }
  }
  const twinGroup = (node: Node) => (cfg.twins?.includes(node.index) ? nodes.filter((m) => m.index === node.index).indexOf(node) : -1)

  const reachable = (a: Node, b: Node, at: number) => {
    for (const p of cfg.partitions ?? []) {
      if (at < p.from || at >= p.to) continue
      const ga = p.groups.findIndex((g) => g.includes(a.index) && (twinGroup(a) < 0 || p.groups.indexOf(g) === twinGroup(a)))
      const gb = p.groups.findIndex((g) => g.includes(b.index) && (twinGroup(b) < 0 || p.groups.indexOf(g) === twinGroup(b)))
      if (ga !== gb) return false
    }
    return true
  }

  const send = (from: Node, to: Node, message: ConsensusMessage, now: number) => {
    if (to === from || !reachable(from, to, now)) return
    const pre = now < cfg.gst ? cfg.preGst : undefined
    if (pre !== undefined && rng.chance(pre.drop)) return
    const [lo, hi] = pre?.delay ?? cfg.delay
    const copies = pre !== undefined && rng.chance(pre.duplicate) ? 2 : 1
    for (let k = 0; k < copies; k++) {
      let at = now + rng.int(lo, hi)
      if (now < cfg.gst) at = Math.max(at, Math.min(cfg.gst, now + rng.int(lo, hi)))
      push({ at, kind: 'deliver', to: to.id, from: nodeId(from.index), message })
    }
  }

  /** An honest replica's own vote, timeout or proposal must leave after the safety write that covers it (a crash then cannot make it sign again). */
  const unpersisted = (node: Node, m: ConsensusMessage) => {
    const self = node.epochs?.setup.validators.indexOf(nodeId(node.index)) ?? -1
    const s = node.safety
    let signed: { epoch: number; view: number; coveredUpTo: number } | undefined
    // a proposal is covered by the leader's vote for it or by its timeout of the view (either way a restart never proposes in that view again)
    if (m.kind === 'proposal' && m.block.proposer === self) signed = { epoch: m.block.epoch, view: m.block.view, coveredUpTo: Math.max(s?.lastVotedView ?? 0, s?.lastTimeoutView ?? 0) }
    else if (m.kind === 'vote' && m.voter === self) signed = { epoch: m.epoch, view: m.view, coveredUpTo: s?.lastVotedView ?? 0 }
    else if (m.kind === 'timeout' && m.voter === self) signed = { epoch: m.epoch, view: m.view, coveredUpTo: s?.lastTimeoutView ?? 0 }
    if (signed === undefined) return
    const covered = s !== undefined && s.epoch === signed.epoch && signed.coveredUpTo >= signed.view
    if (!covered) violations.push(`replica ${node.index} sent its ${m.kind} of epoch ${signed.epoch} view ${signed.view} before persisting the safety state that covers it`)
  }

  const run = (node: Node, outputs: EpochOutput[], now: number) => {
    const epochs = node.epochs
    if (epochs === null) return
    if (cfg.trace) for (const o of outputs) cfg.trace(`${now} n${node.id}(e${epochs.epoch} v${epochs.replica?.view}) → ${o.type} ${o.type === 'send' || o.type === 'broadcast' ? `${o.message.kind}${'view' in o.message ? ` v${o.message.view}` : ''}${o.type === 'send' ? ` to ${o.to}` : ''}` : o.type === 'set-timer' ? `v${o.view}@${o.atMs}` : ''}`)
    const behaviour = cfg.byzantine?.[node.index]
    if (behaviour !== undefined) {
      const k = epochs.setup.validators.indexOf(nodeId(node.index))
      outputs = behaviour({ self: nodeId(node.index), peers: epochs.setup.validators, rng, sign: (m) => signerOf(node.index, Math.max(0, k)).sign(m) }, outputs)
    }
    for (const o of outputs) {
      if (o.type === 'persist-safety') {
        node.safety = o.state
        node.pending = o.blocks
      }
      else if (o.type === 'set-timer') {
        node.timer = { epoch: o.epoch, view: o.view, at: o.atMs }
        push({ at: o.atMs, kind: 'timer', to: node.id, epoch: o.epoch, view: o.view })
      } else if (o.type === 'commit') onCommit(node, o.blocks)
      else if (o.type === 'epoch-end') {
        // the driver's part: the ledger says who validates next (here: the schedule)
        node.proofs.set(o.epoch, o.proof)
        if (o.block.height > node.committed.height) onCommit(node, [o.block]) // a follower learns the last block from the proof
        const next = schedule.validators[o.epoch + 1]
        if (next === undefined) continue
        node.setup = setupOf(o.epoch + 1, nextEpochGenesis(o.epoch + 1, next.length, o.block))
        node.safety = undefined
        node.recent = []
        run(node, epochs.handle({ type: 'next-epoch', setup: node.setup, nowMs: now }), now)
      } else {
        if (honest(node.index)) unpersisted(node, o.message)
        if (o.message.kind === 'vote' && honest(node.index)) recordVote(node.index, o.message.epoch, o.message.view, hashKey(o.message.block))
        messages++
        if (o.message.kind === 'timeout') timedOut.add(`${o.message.epoch}/${o.message.view}`)
        const targets = (o.type === 'broadcast' ? nodes : nodes.filter((m) => nodeId(m.index) === o.to)).filter((t) => t !== node)
        messagesByKind[o.message.kind] = (messagesByKind[o.message.kind] ?? 0) + targets.length
        for (const t of targets) send(node, t, o.message, now)
      }
    }
  }

  const recordVote = (i: ValidatorIndex, epoch: number, view: number, block: string) => {
    const key = `${i}/${epoch}/${view}`
    const prev = votesByView.get(key)
    if (prev !== undefined && prev !== block) violations.push(`replica ${i} voted for two blocks in epoch ${epoch} view ${view}`)
    votesByView.set(key, block)
  }

  const onCommit = (node: Node, blocks: Block[]) => {
    for (const b of blocks) {
      if (honest(node.index)) {
        const id = hashKey(blockId(b))
        const prev = byHeight.get(b.height)
        if (prev !== undefined && prev !== id) violations.push(`safety: two blocks committed at height ${b.height}`)
        byHeight.set(b.height, id)
        if (b.height === node.committed.height + 1 && b.timeSec < node.committed.timeSec) violations.push(`block time went backwards at height ${b.height}: ${b.timeSec} after ${node.committed.timeSec}`)
      }
      for (const c of b.payload) {
        committedCommands[node.id]!.add(hashKey(c))
        if (honest(node.index) && !commandHeights.has(hashKey(c))) commandHeights.set(hashKey(c), b.height) // where it first committed
      }
      node.committed = b
      node.recent.push(b)
    }
    if (node.recent.length > 200) node.recent.splice(0, node.recent.length - 100)
    node.mempool.removeCommitted(blocks)
  }

  // schedule commands, faults, and the start
  const injectUntil = cfg.injectUntil ?? Math.max(1, cfg.gst)
  for (let k = 0; k < cfg.commands; k++) {
    const text = new TextEncoder().encode(`cmd-${cfg.seed}-${k}`)
    const command = cfg.commandBytes === undefined ? text : new Uint8Array(Math.max(cfg.commandBytes, text.length))
    command.set(text)
    allCommands.add(hashKey(command))
    push({ at: Math.floor((k * injectUntil) / Math.max(1, cfg.commands)), kind: 'inject', command })
  }
  for (const c of cfg.crashes ?? []) {
    for (const node of nodes.filter((m) => m.index === c.replica)) {
      push({ at: c.at, kind: 'crash', to: node.id })
      if (c.restartAt !== undefined) push({ at: c.restartAt, kind: 'restart', to: node.id })
    }
  }
  for (const node of nodes) run(node, node.epochs!.handle({ type: 'start', nowMs: 0 }), 0)
  const tickMs = cfg.emptyBlockIntervalMs === undefined || cfg.emptyBlockIntervalMs <= 0 ? 0 : Math.max(1, Math.floor(cfg.emptyBlockIntervalMs / 2))
  if (tickMs > 0) push({ at: tickMs, kind: 'tick' })

  let events = 0
  while (queue.length > 0) {
    const e = heapPop(queue)!
    if (e.at > cfg.duration) break
    if (++events > MAX_EVENTS) {
      violations.push(`message storm: more than ${MAX_EVENTS} events by ${e.at} ms`)
      break
    }
    if (e.kind === 'tick') {
      for (const node of nodes) if (node.epochs !== null) run(node, node.epochs.handle({ type: 'commands-available', nowMs: e.at }), e.at)
      push({ at: e.at + tickMs, kind: 'tick' })
      continue
    }
    if (e.kind === 'inject') {
      for (const node of nodes) {
        if (!node.mempool.add(e.command) || node.epochs === null) continue
        run(node, node.epochs.handle({ type: 'commands-available', nowMs: e.at }), e.at)
      }
      continue
    }
    const node = nodes[e.to]!
    if (e.kind === 'crash') {
      node.epochs = null
      node.timer = null
    } else if (e.kind === 'restart') {
      node.epochs = makeEpochs(node)
      run(node, node.epochs.handle({ type: 'start', nowMs: e.at }), e.at)
    } else if (node.epochs === null) {
      continue
    } else if (e.kind === 'timer') {
      if (node.timer === null || node.timer.epoch !== e.epoch || node.timer.view !== e.view || node.timer.at !== e.at) continue
      node.timer = null
      run(node, node.epochs.handle({ type: 'timer', epoch: e.epoch, view: e.view, nowMs: e.at }), e.at)
    } else if (e.kind === 'deliver') {
      const { outputs } = node.epochs.receive(e.from, e.message, e.at)
      run(node, outputs, e.at)
    }
  }

  if (cfg.expectLiveness) {
    // every command is in the committed chain, and every live honest validator of the last
    // epoch reached has committed up to the last block holding one (joiners start at their epoch)
    const chainCommands = new Map<string, number>()
    for (const node of nodes) for (const c of committedCommands[node.id]!) if (honest(node.index)) chainCommands.set(c, 1)
    const never = [...allCommands].filter((c) => !chainCommands.has(c)).length
    if (never > 0) violations.push(`liveness: ${never} of ${allCommands.size} commands were never committed by ${cfg.duration} ms`)
    const lastCommandHeight = Math.max(0, ...[...commandHeights.values()])
    const finalEpoch = Math.max(...nodes.map((m) => m.epochs?.epoch ?? 0))
    for (const node of nodes) {
      if (!honest(node.index) || node.epochs === null || !schedule.validators[finalEpoch]!.includes(node.index)) continue
      if (node.committed.height < lastCommandHeight) violations.push(`liveness: replica ${node.index} (epoch ${node.epochs.epoch}) has committed up to height ${node.committed.height}, commands reach height ${lastCommandHeight}, by ${cfg.duration} ms`)
    }
  }
  const honestCommitted = nodes.filter((m) => honest(m.index)).map((m) => committedCommands[m.id]!.size)
  return {
    seed: cfg.seed,
    safe: !violations.some((v) => !v.startsWith('liveness')),
    violations,
    committedHeight: nodes.map((m) => m.committed.height),
    commandsCommitted: Math.min(...honestCommitted),
    messages,
    messagesByKind,
    timedOutViews: timedOut.size,
    views: nodes.map((m) => m.epochs?.replica?.view ?? -1),
    epochs: nodes.map((m) => m.epochs?.epoch ?? -1),
  }
}

// ---- a binary min-heap ordered by (at, seq): deterministic event order ----

function less(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}

function heapPush(h: Event[], e: Event): void {
  h.push(e)
  let i = h.length - 1
  while (i > 0) {
    const p = (i - 1) >> 1
    if (!less(h[i]!, h[p]!)) break
    ;[h[i], h[p]] = [h[p]!, h[i]!]
    i = p
  }
}

function heapPop(h: Event[]): Event | undefined {
  const top = h[0]
  const last = h.pop()
  if (h.length > 0 && last !== undefined) {
    h[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < h.length && less(h[l]!, h[m]!)) m = l
      if (r < h.length && less(h[r]!, h[m]!)) m = r
      if (m === i) break
      ;[h[i], h[m]] = [h[m]!, h[i]!]
      i = m
    }
  }
  return top
}
