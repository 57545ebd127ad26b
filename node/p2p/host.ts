/**
 * P2PHost: the validator node's libp2p 3 host (TCP + noise + yamux + identify +
 * gossipsub) with static-peer redialling, a peer-id connection gater
 * (allowed peers, fault-injection blocks, penalty bans), gossip topics with
 * validators, and one-stream-per-message direct protocols.
 *
 * Lifecycle: construct, register `subscribe`/`handle` (before or after start),
 * `start()`, …, `stop()`. A stopped host can be started again (a new libp2p node
 * is created on every start). Subscriptions, handlers, blocks, the delay and
 * offence counts survive a restart; bans are lifted by `stop()`.
 */
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { P2PError } from './errors.ts'
import { parsePeerId, peerIdOf } from './keys.ts'
import { silentLogger, type Logger } from '../logger.ts'
import { PenaltyBook, type OffenceSeverity, type PenaltyPolicy, type PenaltyRecord } from './penalties.ts'
import { GossipTopics, type GossipHandler, type GossipValidator } from './gossip.ts'
import {
  DirectProtocols,
  type DirectHandler,
  type RequestOptions,
  type SendOptions,
  type SendResult,
} from './direct.ts'
import { parseStaticPeers, StaticPeers } from './static-peers.ts'
import { createHostNode, peerIdGater, type HostServices } from './libp2p-node.ts'
import { OutboundDelay } from './delay.ts'

export interface P2PHostComponents {
  /** the host's libp2p identity (see `peerKeyFromSeed`) */
  privateKey: PrivateKey
  /** pino or anything with the same debug/info/warn/error(obj, msg) methods */
  logger?: Logger
}

export interface P2PHostOptions {
  /** listen multiaddr(s), e.g. `/ip4/127.0.0.1/tcp/0` */
  listen: string | readonly string[]
  /** static peers `/ip4/…/tcp/…/p2p/<peerId>`, kept connected while started */
  peers?: readonly string[]
  /** when set, connections to or from any other peer id are refused */
  allowedPeers?: readonly string[]
  /** largest gossip message / direct payload, both ways (default 4 MiB) */
  maxMessageBytes?: number
  /** default deadline of `request` and `send`, and of serving one inbound stream (default 10 s) */
  requestTimeoutMs?: number
  /** deadline of one static-peer dial (default 5 s) */
  dialTimeoutMs?: number
  /** static-peer redial backoff: first retry and cap (default 500 ms, 10 s) */
  redialMinMs?: number
  redialMaxMs?: number
  /** ban policy (default: cool-down 30 s, 5 minor offences) */
  penalty?: Partial<PenaltyPolicy>
  /** gossipsub heartbeat (default 1000 ms; tests use less to form meshes faster) */
  gossipHeartbeatMs?: number
  /** concurrent streams per protocol and connection, each way (default 256) */
  maxStreamsPerProtocol?: number
}

export type PeerListener = (peer: string, connected: boolean) => void

type State = 'stopped' | 'starting' | 'started' | 'stopping'

export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024

export class P2PHost {
  readonly peerId: string
  readonly #privateKey: PrivateKey
  readonly #log: Logger
  readonly #listen: string[]
  readonly #allowed: ReadonlySet<string> | undefined
  readonly #maxMessageBytes: number
  readonly #heartbeatMs: number
  readonly #dialTimeoutMs: number
  readonly #blocked = new Set<string>()
  /** connections (dials, inbound or outbound upgrades) the gater refused, by peer id, since start */
  readonly #refused = new Map<string, number>()
  readonly #peerListeners = new Set<PeerListener>()
  readonly #penalties: PenaltyBook
  readonly #gossip: GossipTopics
  readonly #direct: DirectProtocols
  readonly #static: StaticPeers
  readonly #delay = new OutboundDelay()
  #node: Libp2p<HostServices> | undefined
  #stopController = new AbortController()
  #state: State = 'stopped'
  #transition: Promise<void> = Promise.resolve()

  constructor(components: P2PHostComponents, options: P2PHostOptions) {
    this.#privateKey = components.privateKey
    this.peerId = peerIdOf(components.privateKey)
    this.#log = components.logger ?? silentLogger
    this.#listen = typeof options.listen === 'string' ? [options.listen] : [...options.listen]
    if (this.#listen.length === 0) throw new P2PError('INVALID_ARGUMENT', 'at least one listen multiaddr is required')
    this.#maxMessageBytes = positive('maxMessageBytes', options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES)
    this.#heartbeatMs = positive('gossipHeartbeatMs', options.gossipHeartbeatMs ?? 1000)
    this.#dialTimeoutMs = positive('dialTimeoutMs', options.dialTimeoutMs ?? 5000)
    if (options.allowedPeers !== undefined) {
      for (const p of options.allowedPeers) parsePeerId(p)
      this.#allowed = new Set(options.allowedPeers)
    }
    const log = this.#log
    const penalise = (peer: string, reason: string): void => this.penalise(peer, reason, 'severe')
    this.#penalties = new PenaltyBook(
      {
        onBan: (peer, reason, until) => {
          log.warn({ peer, reason, until: new Date(until).toISOString() }, 'peer banned')
          void this.#hangUp(peer)
        },
        onBanExpired: (peer) => {
          log.info({ peer }, 'peer ban expired')
          this.#static.poke(peer, true)
        },
      },
      options.penalty,
    )
    this.#gossip = new GossipTopics({ penalise, log }, { maxMessageBytes: this.#maxMessageBytes })
    this.#direct = new DirectProtocols(
      { penalise, log, isDenied: (peer) => this.#isDenied(peer) },
      {
        maxMessageBytes: this.#maxMessageBytes,
        requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs ?? 10_000),
        maxStreamsPerProtocol: positive('maxStreamsPerProtocol', options.maxStreamsPerProtocol ?? 256),
      },
    )
    const peers = parseStaticPeers(options.peers ?? []).filter((p) => p.peerId !== this.peerId)
    this.#static = new StaticPeers(
      {
        dial: async (addr, signal) => {
          const node = this.#node
          if (node === undefined) throw new P2PError('NOT_STARTED', 'host not started')
          await node.dial(addr, { signal })
        },
        isConnected: (peer) => this.#node?.getConnections(parsePeerId(peer)).some((c) => c.status === 'open') ?? false,
        isDenied: (peer) => this.#isDenied(peer),
        log,
      },
      peers,
      {
        minBackoffMs: positive('redialMinMs', options.redialMinMs ?? 500),
        maxBackoffMs: positive('redialMaxMs', options.redialMaxMs ?? 10_000),
        dialTimeoutMs: this.#dialTimeoutMs,
      },
    )
  }

  get started(): boolean {
    return this.#state === 'started'
  }

  /** Bind the listeners and start dialling static peers. A no-op when started; throws START_FAILED. */
  start(): Promise<void> {
    // transitions are chained synchronously, so concurrent start/stop calls serialise
    const next = this.#transition.catch(() => {}).then(() => (this.#state === 'started' ? undefined : this.#start()))
    this.#transition = next
    return next
  }

  /** Close every connection and listener. Idempotent; safe while starting. */
  stop(): Promise<void> {
    const next = this.#transition.catch(() => {}).then(() => (this.#state === 'stopped' ? undefined : this.#stop()))
    this.#transition = next
    return next
  }

  /** Listen addresses actually bound (port 0 resolved), each ending in /p2p/<peerId>. */
  addresses(): string[] {
    const node = this.#requireNode('addresses')
    return node.getMultiaddrs().map((ma) => {
      const text = ma.toString()
      return text.includes('/p2p/') ? text : `${text}/p2p/${this.peerId}`
    })
  }

  connectedPeers(): string[] {
    return this.#node?.getPeers().map((p) => p.toString()) ?? []
  }

  /** Called with (peer, true) on the first connection to a peer and (peer, false) when the last one closes. */
  onPeer(listener: PeerListener): () => void {
    this.#peerListeners.add(listener)
    return () => this.#peerListeners.delete(listener)
  }

  /** Calls `listener` when a peer announces a subscription to `topic`: from then on, publishing reaches it. */
  onTopicPeer(topic: string, listener: (peer: string) => void): () => void {
    return this.#gossip.onJoin((t, peer) => t === topic && listener(peer))
  }

  /**
   * Subscribe to a gossip topic. `validate` decides accept / ignore / reject before
   * the message is delivered or forwarded; `onMessage` gets accepted messages.
   * `from` is the propagation source (the neighbour that sent it to us).
   * Returns an unsubscribe function.
   */
  subscribe(topic: string, validate: GossipValidator, onMessage: GossipHandler): () => void {
    return this.#gossip.subscribe(topic, validate, onMessage)
  }

  /**
   * Publish to a topic (signed by this host's key). Resolves with the number of
   * peers it was sent to; 0 when nobody is subscribed (never throws for that).
   * Throws NOT_STARTED, OVERSIZED, or PROTOCOL.
   */
  publish(topic: string, data: Uint8Array): Promise<number> {
    return this.#later(() => this.#gossip.publish(topic, data))
  }

  /** gossipsub's own score of a peer (for status/metrics); undefined when not started. */
  gossipScore(peer: string): number | undefined {
    return this.#gossip.score(peer)
  }

  /** Serve a direct protocol; the returned bytes (or empty) answer a `request`. Returns an unhandle function. */
  handle(protocol: string, handler: DirectHandler): () => void {
    return this.#direct.handle(protocol, handler)
  }

  /** One-way message; resolves when written (or with the error), never rejects. */
  send(peer: string, protocol: string, data: Uint8Array, options?: SendOptions): Promise<SendResult> {
    return this.#later(() => this.#direct.send(peer, protocol, data, options)).catch((error: P2PError) => ({ ok: false, error }))
  }

  /** Request/response; rejects with a P2PError (TIMEOUT, REMOTE_ERROR, NO_CONNECTION, DENIED, …). */
  request(peer: string, protocol: string, data: Uint8Array, options?: RequestOptions): Promise<Uint8Array> {
    return this.#later(() => this.#direct.request(peer, protocol, data, options))
  }

  /** Record an offence (see penalties.ts for the policy); a ban disconnects and denies the peer. */
  penalise(peer: string, reason: string, severity: OffenceSeverity = 'severe'): void {
    parsePeerId(peer)
    if (peer === this.peerId) return
    this.#penalties.record(peer, reason, severity)
  }

  /** Offence records by peer id (a copy). */
  penalties(): Map<string, PenaltyRecord> {
    return this.#penalties.snapshot()
  }

  /** How many connection attempts (either way) the gater refused for `peer` since start: evidence that a denied peer kept trying. */
  refusedConnections(peer: string): number {
    return this.#refused.get(peer) ?? 0
  }

  /** Fault injection: refuse these peers both ways and close open connections to them. */
  async block(peers: readonly string[]): Promise<void> {
    for (const p of peers) parsePeerId(p)
    for (const p of peers) this.#blocked.add(p)
    await Promise.all(peers.map((p) => this.#hangUp(p)))
  }

  /** Undo `block`; static peers among them are redialled at once. */
  unblock(peers: readonly string[]): void {
    for (const p of peers) {
      this.#blocked.delete(p)
      this.#static.poke(p, true)
    }
  }

  blocked(): string[] {
    return [...this.#blocked]
  }

  /**
   * Fault injection: hold back this host's own outgoing traffic (publish, send and
   * request; not gossip it forwards nor responses it serves) by `ms`, an integer in
   * 0..10_000 (else INVALID_ARGUMENT); 0 turns it off. Order is kept: nothing
   * overtakes what was called before it. A call's timeout starts when it leaves.
   * `stop()` drops what still waits: publish and request reject, send resolves,
   * with NOT_STARTED. The delay itself survives a restart.
   */
  setDelay(ms: number): void {
    this.#delay.set(ms)
    this.#log.info({ delayMs: ms }, 'outgoing delay set')
  }

  delay(): number {
    return this.#delay.ms
  }

  /** Every outgoing call goes through here: at once when there is no delay (or the host is not started). */
  #later<T>(action: () => Promise<T>): Promise<T> {
    return this.#state === 'started' ? this.#delay.later(action) : action()
  }

  #gaterDenies(peer: string): boolean {
    const denied = this.#isDenied(peer)
    if (denied) this.#refused.set(peer, (this.#refused.get(peer) ?? 0) + 1)
    return denied
  }

  #isDenied(peer: string): boolean {
    if (peer === this.peerId) return false
    if (this.#allowed !== undefined && !this.#allowed.has(peer)) return true
    return this.#blocked.has(peer) || this.#penalties.isBanned(peer)
  }

  async #hangUp(peer: string): Promise<void> {
    const node = this.#node
    if (node === undefined) return
    try {
      await node.hangUp(parsePeerId(peer))
    } catch (err) {
      this.#log.debug({ peer, err: (err as Error).message }, 'hang up failed')
    }
  }

  #emitPeer(peer: string, connected: boolean): void {
    for (const listener of this.#peerListeners) {
      try {
        listener(peer, connected)
      } catch (err) {
        this.#log.error({ peer, connected, err: (err as Error).message }, 'peer listener threw')
      }
    }
  }

  #requireNode(what: string): Libp2p<HostServices> {
    if (this.#node === undefined || this.#state !== 'started') throw new P2PError('NOT_STARTED', `${what}: host not started`)
    return this.#node
  }

  async #start(): Promise<void> {
    this.#state = 'starting'
    this.#stopController = new AbortController()
    let node: Libp2p<HostServices> | undefined
    try {
      node = await createHostNode({
        privateKey: this.#privateKey,
        listen: this.#listen,
        gater: peerIdGater((peer) => this.#gaterDenies(peer)),
        dialTimeoutMs: this.#dialTimeoutMs,
        gossipHeartbeatMs: this.#heartbeatMs,
        maxMessageBytes: this.#maxMessageBytes,
        scoredTopics: this.#gossip.scoredTopics(),
      })
      node.addEventListener('peer:connect', (evt) => this.#emitPeer(evt.detail.toString(), true))
      node.addEventListener('peer:disconnect', (evt) => {
        const peer = evt.detail.toString()
        this.#emitPeer(peer, false)
        this.#static.poke(peer)
      })
      await node.start()
      this.#node = node
      this.#gossip.attach(node.services.pubsub)
      await this.#direct.attach(node, this.#stopController.signal)
    } catch (err) {
      this.#stopController.abort(err)
      this.#gossip.detach()
      this.#direct.detach()
      this.#node = undefined
      try {
        await node?.stop()
      } catch {
        // already failing; keep the first error
      }
      this.#state = 'stopped'
      throw new P2PError('START_FAILED', `p2p host failed to start: ${(err as Error).message}`, { cause: err })
    }
    this.#state = 'started'
    this.#static.start()
    this.#log.info({ peerId: this.peerId, addresses: this.addresses() }, 'p2p host started')
  }

  async #stop(): Promise<void> {
    this.#state = 'stopping'
    this.#stopController.abort(new P2PError('NOT_STARTED', 'host stopped'))
    this.#delay.drop(new P2PError('NOT_STARTED', 'host stopped before a delayed message left'))
    this.#static.stop()
    this.#gossip.detach()
    this.#direct.detach()
    this.#penalties.clearBans()
    const node = this.#node
    this.#node = undefined
    try {
      await node?.stop()
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'libp2p stop failed')
    } finally {
      this.#state = 'stopped'
      this.#log.info({ peerId: this.peerId }, 'p2p host stopped')
    }
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new P2PError('INVALID_ARGUMENT', `${name} must be a positive number, got ${value}`)
  return value
}
