/**
 * The validator's Prometheus metrics, registered in a Registry the node owns
 * (never prom-client's global default). The driver and the API call the methods
 * below and never touch prom-client themselves, so metric names, labels and
 * buckets live in this one file. Label values are bounded: message kinds come
 * from the node's own list of message types, API routes are route templates.
 */
import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client'

export type MessageVerdict = 'accept' | 'ignore' | 'reject'

export interface NodeMetricsComponents {
  registry: Registry
}

export interface NodeMetricsOptions {
  /** metric name prefix, default 'fedledger_' */
  prefix?: string
  /** also register prom-client's process metrics (CPU, memory, event loop lag, GC) */
  processMetrics?: boolean
}

/** What the API server records per request. */
export interface ApiRequestObserver {
  onApiRequest(route: string, method: string, status: number, durationMs: number): void
}

export class NodeMetrics implements ApiRequestObserver {
  readonly registry: Registry
  private readonly committedHeight: Gauge
  private readonly certifiedHeight: Gauge
  private readonly view: Gauge
  private readonly epoch: Gauge
  private readonly leaderChanges: Counter
  private readonly viewTimeouts: Counter
  private readonly blocksCommitted: Counter
  private readonly txsCommitted: Counter
  private readonly commitLatency: Histogram
  private readonly mempoolSize: Gauge
  private readonly peers: Gauge
  private readonly syncing: Gauge
  private readonly messages: Counter<'kind' | 'verdict'>
  private readonly safetyWrites: Counter
  private readonly apiRequests: Counter<'route' | 'method' | 'status'>
  private readonly apiDuration: Histogram<'route'>

  constructor(components: NodeMetricsComponents, options: NodeMetricsOptions = {}) {
    const registers = [components.registry]
    const p = options.prefix ?? 'fedledger_'
    this.registry = components.registry
    this.committedHeight = new Gauge({ name: `${p}committed_height`, help: 'Height of the last committed block', registers })
    this.certifiedHeight = new Gauge({ name: `${p}certified_height`, help: 'Highest height with a commit certificate (a quorum signed its state root)', registers })
    this.view = new Gauge({ name: `${p}consensus_view`, help: 'Current HotStuff view', registers })
    this.epoch = new Gauge({ name: `${p}consensus_epoch`, help: 'Current validator-set epoch', registers })
    this.leaderChanges = new Counter({ name: `${p}leader_changes_total`, help: 'Times the leader of the current view changed', registers })
    this.viewTimeouts = new Counter({ name: `${p}view_timeouts_total`, help: 'Views that ended in a local timeout', registers })
    this.blocksCommitted = new Counter({ name: `${p}blocks_committed_total`, help: 'Blocks committed', registers })
    this.txsCommitted = new Counter({ name: `${p}txs_committed_total`, help: 'Transactions committed (including those refused with a receipt)', registers })
    this.commitLatency = new Histogram({
      name: `${p}commit_latency_seconds`,
      help: 'Time from proposing (or first seeing) a block to committing it',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    })
    this.mempoolSize = new Gauge({ name: `${p}mempool_size`, help: 'Transactions waiting in the mempool', registers })
    this.peers = new Gauge({ name: `${p}peers`, help: 'Connected peers', registers })
    this.syncing = new Gauge({ name: `${p}syncing`, help: '1 while the node is catching up with the network', registers })
    this.messages = new Counter({ name: `${p}messages_received_total`, help: 'Network messages received, by kind and validation verdict', labelNames: ['kind', 'verdict'], registers })
    this.safetyWrites = new Counter({ name: `${p}safety_state_writes_total`, help: 'Persisted writes of the safety state (votes, locks)', registers })
    this.apiRequests = new Counter({ name: `${p}api_requests_total`, help: 'HTTP API requests, by route template, method and status', labelNames: ['route', 'method', 'status'], registers })
    this.apiDuration = new Histogram({
      name: `${p}api_request_duration_seconds`,
      help: 'HTTP API request handling time, by route template',
      labelNames: ['route'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    })
    if (options.processMetrics === true) collectDefaultMetrics({ register: components.registry, prefix: p })
  }

  /** `blocks` blocks holding `txs` transactions were committed; `latencyMs` is the newest one's commit latency. */
  onCommit(blocks: number, txs: number, latencyMs: number, height?: number): void {
    this.blocksCommitted.inc(nonNegative(blocks))
    this.txsCommitted.inc(nonNegative(txs))
    if (Number.isFinite(latencyMs) && latencyMs >= 0) this.commitLatency.observe(latencyMs / 1000)
    if (height !== undefined) this.setCommittedHeight(height)
  }

  setCertifiedHeight(height: number): void {
    this.certifiedHeight.set(height)
  }

  setCommittedHeight(height: number): void {
    this.committedHeight.set(height)
  }

  setView(view: number): void {
    this.view.set(view)
  }

  setEpoch(epoch: number): void {
    this.epoch.set(epoch)
  }

  onLeaderChange(): void {
    this.leaderChanges.inc()
  }

  onViewTimeout(): void {
    this.viewTimeouts.inc()
  }

  setMempoolSize(size: number): void {
    this.mempoolSize.set(size)
  }

  setPeers(count: number): void {
    this.peers.set(count)
  }

  setSyncing(syncing: boolean): void {
    this.syncing.set(syncing ? 1 : 0)
  }

  /** A message of `kind` (e.g. 'proposal', 'vote', 'timeout', 'tx') got `verdict` at the verification edge. */
  onMessage(kind: string, verdict: MessageVerdict): void {
    this.messages.inc({ kind, verdict })
  }

  onSafetyWrite(): void {
    this.safetyWrites.inc()
  }

  onApiRequest(route: string, method: string, status: number, durationMs: number): void {
    this.apiRequests.inc({ route, method, status: String(status) })
    if (Number.isFinite(durationMs) && durationMs >= 0) this.apiDuration.observe({ route }, durationMs / 1000)
  }
}

function nonNegative(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0
}
