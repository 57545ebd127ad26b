/**
 * Keeps the host connected to its static peers (validators form a full mesh).
 *
 * Each static peer has its own timer: while the host is started and the peer is
 * neither connected nor denied (blocked, banned, not allowed), it is dialled; a
 * failed dial is retried after a backoff that doubles from `minBackoffMs` up to
 * `maxBackoffMs` (±20 % jitter). A disconnect, an unblock or a ban expiry calls
 * `poke`, which dials again after the peer's current backoff (0 for unblocks).
 */
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { P2PError } from './errors.ts'
import type { Logger } from '../logger.ts'

export interface StaticPeer {
  peerId: string
  addr: Multiaddr
}

/** Parse `/ip4/…/tcp/…/p2p/<peerId>` strings; every entry must name its peer. */
export function parseStaticPeers(addrs: readonly string[]): StaticPeer[] {
  const out = new Map<string, StaticPeer>()
  for (const text of addrs) {
    let addr: Multiaddr
    try {
      addr = multiaddr(text)
    } catch (err) {
      throw new P2PError('INVALID_ARGUMENT', `static peer is not a multiaddr: ${JSON.stringify(text)}`, { cause: err })
    }
    const peerId = addr.getComponents().findLast((c) => c.name === 'p2p')?.value
    if (peerId === undefined) {
      throw new P2PError('INVALID_ARGUMENT', `static peer ${text} has no /p2p/<peerId> component`)
    }
    out.set(peerId, { peerId, addr })
  }
  return [...out.values()]
}

export interface StaticPeersComponents {
  dial(addr: Multiaddr, signal: AbortSignal): Promise<void>
  isConnected(peer: string): boolean
  isDenied(peer: string): boolean
  log: Logger
}

export interface StaticPeersOptions {
  minBackoffMs: number
  maxBackoffMs: number
  dialTimeoutMs: number
}

interface PeerState {
  peer: StaticPeer
  backoffMs: number
  timer?: ReturnType<typeof setTimeout>
  dialing: boolean
}

export class StaticPeers {
  readonly #components: StaticPeersComponents
  readonly #opts: StaticPeersOptions
  readonly #peers = new Map<string, PeerState>()
  #controller: AbortController | undefined

  constructor(components: StaticPeersComponents, peers: readonly StaticPeer[], options: StaticPeersOptions) {
    this.#components = components
    this.#opts = options
    for (const peer of peers) this.#peers.set(peer.peerId, { peer, backoffMs: options.minBackoffMs, dialing: false })
  }

  has(peer: string): boolean {
    return this.#peers.has(peer)
  }

  start(): void {
    if (this.#controller !== undefined) return
    this.#controller = new AbortController()
    for (const state of this.#peers.values()) this.#schedule(state, 0)
  }

  stop(): void {
    this.#controller?.abort(new P2PError('NOT_STARTED', 'host stopped'))
    this.#controller = undefined
    for (const state of this.#peers.values()) {
      if (state.timer !== undefined) clearTimeout(state.timer)
      state.timer = undefined
      state.backoffMs = this.#opts.minBackoffMs
    }
  }

  /** Dial the peer again soon: after its backoff, or at once when `immediately`. */
  poke(peer: string, immediately = false): void {
    const state = this.#peers.get(peer)
    if (state === undefined || this.#controller === undefined) return
    if (immediately) state.backoffMs = this.#opts.minBackoffMs
    this.#schedule(state, immediately ? 0 : state.backoffMs)
  }

  #schedule(state: PeerState, delayMs: number): void {
    if (state.timer !== undefined) clearTimeout(state.timer)
    const jittered = delayMs === 0 ? 0 : Math.round(delayMs * (0.8 + 0.4 * Math.random()))
    state.timer = setTimeout(() => {
      state.timer = undefined
      void this.#tick(state)
    }, jittered)
  }

  async #tick(state: PeerState): Promise<void> {
    const controller = this.#controller
    const { peerId, addr } = state.peer
    if (controller === undefined || state.dialing) return
    // connected: the disconnect event pokes us; denied: unblock / ban expiry pokes us
    if (this.#components.isConnected(peerId) || this.#components.isDenied(peerId)) return
    state.dialing = true
    try {
      const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(this.#opts.dialTimeoutMs)])
      await this.#components.dial(addr, signal)
      state.backoffMs = this.#opts.minBackoffMs
    } catch (err) {
      if (controller.signal.aborted) return
      this.#components.log.debug({ peer: peerId, err: (err as Error).message, retryInMs: state.backoffMs }, 'static peer dial failed')
      this.#schedule(state, state.backoffMs)
      state.backoffMs = Math.min(state.backoffMs * 2, this.#opts.maxBackoffMs)
    } finally {
      state.dialing = false
    }
  }
}
