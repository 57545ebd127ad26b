/**
 * Test helpers for node/federation: libp2p hosts on 127.0.0.1 port 0 keyed by
 * ed25519 seeds (a member's seed is also its libp2p identity), a tracker that
 * stops everything a test started, bounded polling, and deterministic seeds.
 */
import { keyPairFromSeed, type Ed25519KeyPair } from '../../../primitives/index.ts'
import { isP2PError, P2PHost, peerKeyFromSeed, type P2PHostOptions } from '../../../node/p2p/index.ts'
import { waitFor } from '../../helpers/wait.ts'

export const CHAIN = 'fed-test'
export const LISTEN = '/ip4/127.0.0.1/tcp/0'

/** A deterministic 32-byte seed per name. */
export function seedOf(name: string): Uint8Array {
  const seed = new Uint8Array(32)
  const bytes = new TextEncoder().encode(name)
  for (let i = 0; i < bytes.length; i++) seed[i % 32] = (seed[i % 32]! * 31 + bytes[i]!) & 0xff
  seed[31] = bytes.length
  return seed
}

export function keysOf(name: string): Ed25519KeyPair {
  return keyPairFromSeed(seedOf(name))
}

/** Tracks everything a test starts, so `stopAll` (afterEach) closes it. */
export class Running {
  private readonly stops: Array<() => Promise<void>> = []

  /** A started libp2p host whose identity is `seed`, kept connected to `peers` (multiaddrs). */
  async host(seed: Uint8Array, peers: readonly string[] = [], options: Partial<P2PHostOptions> = {}): Promise<P2PHost> {
    const host = new P2PHost({ privateKey: await peerKeyFromSeed(seed) }, {
      listen: LISTEN, peers, redialMinMs: 100, redialMaxMs: 400, dialTimeoutMs: 2000, requestTimeoutMs: 4000, ...options,
    })
    this.stops.push(() => host.stop())
    await host.start()
    return host
  }

  /** Registers a stop function (servers, enclave hosts, peers). */
  track(stop: () => Promise<void>): void {
    this.stops.push(stop)
  }

  async stopAll(): Promise<void> {
    // reverse order: what was started last (actors using hosts) stops first
    for (const stop of this.stops.splice(0).reverse()) await stop().catch(() => {})
  }
}

/** Waits until `host` is connected to each of `peers`. */
export async function connectedTo(host: P2PHost, peers: readonly P2PHost[]): Promise<void> {
  await waitFor(`${host.peerId.slice(-6)} connected to its peers`, () => peers.every((p) => host.connectedPeers().includes(p.peerId)), 8000)
}

export { waitFor }

/** What a request refused by the remote handler rejects with: the handler's message, as REMOTE_ERROR. */
export async function remoteRefusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (err === undefined) throw new Error('expected the request to be refused, it was answered')
  if (!isP2PError(err, 'REMOTE_ERROR')) throw err
  return (err as Error).message
}
