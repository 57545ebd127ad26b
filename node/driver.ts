/**
 * The consensus driver: runs the deterministic core (Epochs around the Replica)
 * against the real world. Every input — a gossip or direct message, a timer, word
 * of new commands — goes through one queue, so the core sees one input at a time,
 * and its outputs are carried out in order:
 *  - persist-safety is awaited (a synced level write) before anything after it
 *    leaves the node, so no vote or timeout is sent that a crash could forget;
 *  - broadcasts go out on the consensus gossip topic, sends on a direct protocol;
 *  - committed blocks are recorded (consensus store) where the core emits them, and
 *    executed by the app in height order once the other outputs of the same input
 *    (its vote, its proposal) have left, before the next input (see `run`);
 *  - at an epoch's end the next validator set is read from the app (the ledger
 *    state after the last block) and the next epoch starts.
 * Message verification happens in Epochs.receive; its verdict becomes the gossip
 * accept / ignore / reject, and a peer that sends invalid data directly is penalised.
 */
import {
  blockId, decodeMessage, ed25519Scheme, encodeMessage, nextEpochGenesis, WireError,
  type Block, type ConsensusMessage, type EpochOutput, type EpochSetup, type Epochs, type SyncInfo, type Verdict,
} from '../consensus/index.ts'
import type { NodeMetrics } from './api/index.ts'
import type { App, ValidatorInfo } from './app.ts'
import type { Certification } from './certification.ts'
import type { ConsensusStore, EpochChange, EpochRecord } from './consensus-store.ts'
import type { P2PHost, ValidationResult } from './p2p/index.ts'
import type { Logger } from './logger.ts'
import type { TxGossip } from './tx-gossip.ts'

export interface DriverComponents {
  epochs: Epochs
  store: ConsensusStore
  app: App
  host: P2PHost
  /** transaction gossip (ledger app only; a noop app's commands stay where they were submitted) */
  txs?: TxGossip
  /** ledger validator info → the stable id consensus uses (the libp2p peer id of its key) */
  peerIdOf(validator: ValidatorInfo): string
  metrics?: NodeMetrics
  logger: Logger
  now(): number
  /** testnets only: rewrites what the core asks to send (node/byzantine.ts) */
  misbehave?: (outputs: readonly EpochOutput[]) => EpochOutput[]
  /** commit certificates: told of each executed height and of each epoch */
  certification?: Pick<Certification, 'executed' | 'addEpoch'>
  /** called with blocks once they are executed (benchmarks, tools) */
  onCommitted?: (blocks: readonly Block[]) => void
  /** a broken internal invariant (e.g. the ledger refused a committed block): the node must stop */
  onFatal(error: unknown): void
}

export interface DriverOptions {
  chainId: string
  /** the core's emptyBlockIntervalMs: the driver then nudges it (commands-available) twice per interval */
  emptyBlockIntervalMs?: number
}

const MAX_QUEUED = 10_000
/** what the core broadcasts; votes, block responses and syncs go to one peer (and are large or targeted) */
const GOSSIPED_KINDS: ReadonlySet<ConsensusMessage['kind']> = new Set(['proposal', 'timeout', 'block-request', 'epoch-request'])

export function consensusTopic(chainId: string): string {
  return `/fedledger/${chainId}/consensus/1`
}
export function consensusProtocol(chainId: string): string {
  return `/fedledger/${chainId}/consensus/direct/1`
}

/** Builds an epoch's setup from ledger validators (the scheme checks their ed25519 keys). */
export function epochSetup(record: EpochRecord, peerIdOf: (v: ValidatorInfo) => string): EpochSetup {
  return {
    epoch: record.epoch,
    validators: record.validators.map(peerIdOf),
    scheme: ed25519Scheme(record.validators.map((v) => v.publicKey)),
    genesis: record.genesis,
    lastHeight: record.lastHeight < 0 ? Number.POSITIVE_INFINITY : record.lastHeight,
  }
}

export class ConsensusDriver {
  private readonly components: DriverComponents
  private readonly chainId: string
  private readonly emptyBlockIntervalMs: number
  private idleTicker: ReturnType<typeof setInterval> | undefined
  private queue: Promise<unknown> = Promise.resolve()
  private readonly timers = new Map<number, ReturnType<typeof setTimeout>>()
  private commandsPending = false
  private stopped = true
  private unsubscribe: Array<() => void> = []
  /** messages waiting for the queue; past MAX_QUEUED new ones are dropped (ignored), not buffered */
  private queued = 0
  /** when this node last committed a block (local ms) */
  lastCommitAt: number | undefined

  constructor(components: DriverComponents, options: DriverOptions) {
    this.components = components
    this.chainId = options.chainId
    this.emptyBlockIntervalMs = options.emptyBlockIntervalMs ?? 0
  }

  async start(): Promise<void> {
    this.stopped = false
    const { host } = this.components
    this.unsubscribe.push(
      host.subscribe(consensusTopic(this.chainId), (from, data, info) => this.onGossip(info.origin ?? from, data), () => {}),
      host.handle(consensusProtocol(this.chainId), async (from, data) => {
        const verdict = await this.onDirect(from, data)
        if (!verdict.ok && verdict.action === 'reject') host.penalise(from, `consensus: ${verdict.reason} (${verdict.detail})`)
        return undefined
      }),
    )
    this.components.txs?.start()
    await this.enqueue(() => this.run(this.components.epochs.handle({ type: 'start', nowMs: this.components.now() })))
    if (this.emptyBlockIntervalMs > 0) this.idleTicker = setInterval(() => this.commandsAvailable(), Math.max(50, this.emptyBlockIntervalMs / 2))
  }

  /** Stops taking inputs and timers; waits for the input being handled (its writes) to finish. */
  async stop(): Promise<void> {
    this.quiesce()
    await this.queue.catch(() => {})
  }

  /**
   * Stops voting at once and reports `error` as fatal: a broken invariant found
   * outside the input queue (a quorum certified a state this node did not compute).
   */
  halt(error: unknown): void {
    if (this.stopped) return
    this.quiesce()
    this.components.onFatal(error)
  }

  private quiesce(): void {
    this.stopped = true
    clearInterval(this.idleTicker)
    this.components.txs?.stop()
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
    for (const u of this.unsubscribe) u()
    this.unsubscribe = []
  }

  /** A transaction or command from a local client: admitted to the mempool, gossiped, proposed. */
  async submit(bytes: Uint8Array): Promise<ReturnType<App['submit']>> {
    const r = this.components.app.submit(bytes, 'local')
    if (r.ok) {
      this.components.txs?.send(bytes)
      this.commandsAvailable()
    }
    return r
  }

  /** New commands are in the mempool: tell the core once per turn of the event loop. */
  commandsAvailable(): void {
    if (this.commandsPending || this.stopped) return
    this.commandsPending = true
    setImmediate(() => {
      this.commandsPending = false
      if (this.stopped) return
      void this.enqueue(() => this.run(this.components.epochs.handle({ type: 'commands-available', nowMs: this.components.now() })))
    })
  }

  private async onGossip(from: string, data: Uint8Array): Promise<ValidationResult> {
    const verdict = await this.onDirect(from, data, 'gossip')
    return verdict.ok ? 'accept' : verdict.action
  }

  private onDirect(from: string, data: Uint8Array, via: 'gossip' | 'direct' = 'direct'): Promise<Verdict> {
    let message: ConsensusMessage
    try {
      message = decodeMessage(data)
    } catch (e) {
      const detail = e instanceof WireError ? e.message : String(e)
      this.components.metrics?.onMessage('malformed', 'reject')
      return Promise.resolve({ ok: false, action: 'reject', reason: 'malformed', detail })
    }
    // honest nodes broadcast proposals, timeouts and requests only; the rest goes to one peer
    if (via === 'gossip' && !GOSSIPED_KINDS.has(message.kind)) {
      const verdict: Verdict = { ok: false, action: 'reject', reason: 'malformed', detail: `a ${message.kind} is sent to one peer, never gossiped` }
      this.components.metrics?.onMessage(message.kind, 'reject')
      this.components.logger.warn({ from, kind: message.kind, reason: verdict.reason, detail: verdict.detail }, 'rejected consensus message')
      return Promise.resolve(verdict)
    }
    if (this.queued >= MAX_QUEUED) {
      this.components.metrics?.onMessage(message.kind, 'ignore')
      return Promise.resolve({ ok: false, action: 'ignore', reason: 'oversized', detail: `${this.queued} messages already waiting` })
    }
    this.queued++
    return this.enqueue(async () => {
      this.queued--
      if (this.stopped) return { ok: false, action: 'ignore', reason: 'wrong-epoch', detail: 'node stopping' } satisfies Verdict
      const { verdict, outputs } = this.components.epochs.receive(from, message, this.components.now())
      this.components.metrics?.onMessage(message.kind, verdict.ok ? 'accept' : verdict.action)
      if (!verdict.ok && verdict.action === 'reject') this.components.logger.warn({ from, kind: message.kind, reason: verdict.reason, detail: verdict.detail }, 'rejected consensus message')
      await this.run(outputs)
      return verdict
    })
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const next = this.queue.then(job, job)
    this.queue = next.catch((e: unknown) => {
      // an internal invariant broke (e.g. the ledger refused a committed block): fatal
      this.components.logger.error({ err: e instanceof Error ? e.stack : String(e) }, 'consensus driver failed; stopping')
      this.stopped = true
      this.components.onFatal(e)
    })
    return next
  }

  /**
   * Carries out the core's outputs in order, with one exception: a committed block is
   * recorded (consensus store) where the core emitted it, but executed by the app only
   * after the other outputs of the same input (the vote or proposal it came with) have
   * left, and before the next input. Under load, executing a block of hundreds of
   * transactions ahead of the vote put two executions on every view's critical path and
   * made views outlast their timeouts. Recording first keeps crash recovery as it was: a
   * recorded block the ledger has not reached is executed at the next start. The core
   * leaves blocks committed in this step out of the next proposal (`committedThisStep`),
   * so the mempool need not have seen them executed. An epoch-end executes what is
   * pending first (the next validator set is read from the executed state).
   */
  private async run(outputs: EpochOutput[]): Promise<void> {
    const toExecute: Block[][] = []
    for (const o of this.components.misbehave?.(outputs) ?? outputs) {
      switch (o.type) {
        case 'persist-safety':
          await this.components.store.saveSafety(o.state, o.blocks)
          this.components.metrics?.onSafetyWrite()
          break
        case 'broadcast':
          if (o.message.kind === 'timeout') this.components.metrics?.onViewTimeout()
          this.components.host.publish(consensusTopic(this.chainId), encodeMessage(o.message)).catch((e: Error) => this.components.logger.debug({ err: e.message }, 'publish failed'))
          break
        case 'send':
          void this.components.host.send(o.to, consensusProtocol(this.chainId), encodeMessage(o.message))
          break
        case 'set-timer':
          this.setTimer(o.epoch, o.view, o.atMs)
          break
        case 'commit':
          toExecute.push(await this.record(o.blocks))
          break
        case 'epoch-end':
          for (const blocks of toExecute.splice(0)) await this.execute(blocks)
          await this.nextEpoch(o.epoch, o.block, o.proof)
          break
      }
    }
    for (const blocks of toExecute) await this.execute(blocks)
    const r = this.components.epochs.replica
    if (r !== null) this.components.metrics?.setView(r.view)
  }

  private setTimer(epoch: number, view: number, at: number): void {
    clearTimeout(this.timers.get(epoch))
    if (this.stopped) return
    const t = setTimeout(() => {
      this.timers.delete(epoch)
      void this.enqueue(() => this.run(this.components.epochs.handle({ type: 'timer', epoch, view, nowMs: this.components.now() })))
    }, Math.max(0, at - this.components.now()))
    this.timers.set(epoch, t)
  }

  /** Records committed blocks the app has not executed yet; returns them, for `execute`. */
  private async record(blocks: Block[]): Promise<Block[]> {
    const fresh = blocks.filter((b) => b.height > this.components.app.height())
    if (fresh.length > 0) await this.components.store.saveBlocks(fresh)
    return fresh
  }

  /** Executes recorded committed blocks, in height order. */
  private async execute(blocks: Block[]): Promise<void> {
    const fresh = blocks.filter((b) => b.height > this.components.app.height())
    if (fresh.length === 0) return
    let txs = 0
    for (const b of fresh) {
      const r = await this.components.app.commit(b)
      txs += r.txs
      this.components.certification?.executed({ epoch: b.epoch, height: b.height, block: blockId(b), ledgerBlock: r.ledgerBlock, stateRoot: r.stateRoot })
      if (this.stopped) return
    }
    const last = fresh.at(-1)!
    const now = this.components.now()
    this.components.metrics?.onCommit(fresh.length, txs, Math.max(0, now - last.timeSec * 1000), last.height)
    this.components.metrics?.setMempoolSize(this.components.app.mempoolSize())
    this.lastCommitAt = now
    this.components.onCommitted?.(fresh)
    // the ledger keeps its own blocks; a noop app has only these records, so they stay
    if (this.components.app.kind === 'ledger' && last.height % 1000 === 0) await this.components.store.pruneBelow(last.height - 5000)
    this.components.logger.debug({ height: last.height, blocks: fresh.length, txs }, 'committed')
    if (this.components.app.mempoolSize() > 0) this.commandsAvailable()
  }

  private async nextEpoch(epoch: number, last: Block, proof: SyncInfo): Promise<void> {
    if (this.components.app.height() < last.height) {
      // We followed this epoch without its blocks (we were not one of its validators): the next
      // validator set is in a ledger state we do not have. Catching up needs state sync.
      this.components.logger.error({ epoch, lastHeight: last.height, height: this.components.app.height() }, 'epoch ended, but this node lacks its blocks and cannot read the next validator set (state sync is not implemented yet)')
      return
    }
    const record = nextEpochRecord(this.components.app, epoch, last)
    await this.components.store.saveEpoch(record, { epoch, proof }, epochChange(this.components.app, record.epoch, last.height))
    this.components.metrics?.setEpoch(epoch + 1)
    this.components.logger.info({ epoch: epoch + 1, validators: record.validators.map((v) => v.id), from: last.height + 1 }, 'epoch started')
    const setup = epochSetup(record, this.components.peerIdOf)
    this.components.certification?.addEpoch(setup)
    await this.run(this.components.epochs.handle({ type: 'next-epoch', setup, nowMs: this.components.now() }))
  }
}

/** The epoch after `epoch`, whose last block `last` the app has executed: its validators come from the app's state. */
export function nextEpochRecord(app: App, epoch: number, last: Block): EpochRecord {
  const validators = app.validators()
  return { epoch: epoch + 1, validators, genesis: nextEpochGenesis(epoch + 1, validators.length, last), lastHeight: finiteOr(app.lastHeight(epoch + 1)) }
}

/** How `epoch` got its validators (the app's proof after `height`, the last height before it), if the app can prove it. */
export function epochChange(app: App, epoch: number, height: number): EpochChange | undefined {
  const proof = app.proveValidators()
  return proof === undefined ? undefined : { epoch, height, proof }
}

export function finiteOr(height: number): number {
  return Number.isFinite(height) ? height : -1
}
