/**
 * Test helpers for node/p2p: deterministic keys, hosts on 127.0.0.1 port 0 that
 * are always stopped after each test, and bounded polling.
 */
import type { Logger } from '../../../node/index.ts'
import { P2PHost, peerIdOf, peerKeyFromSeed, type P2PHostOptions } from '../../../node/p2p/index.ts'
import type { PrivateKey } from '@libp2p/interface'
import { sleep, waitFor } from '../../helpers/wait.ts'

export const LISTEN = '/ip4/127.0.0.1/tcp/0'

/** Fast settings for tests: quick heartbeats and redials, short deadlines. */
export const FAST: Partial<P2PHostOptions> = {
  gossipHeartbeatMs: 100,
  redialMinMs: 100,
  redialMaxMs: 400,
  dialTimeoutMs: 2000,
  requestTimeoutMs: 3000,
}

export async function keyOf(n: number): Promise<PrivateKey> {
  return peerKeyFromSeed(new Uint8Array(32).fill(n))
}

export async function idOf(n: number): Promise<string> {
  return peerIdOf(await keyOf(n))
}

/** Tracks hosts so `stopAll` (afterEach) stops every one of them. */
export class Hosts {
  readonly all: P2PHost[] = []

  async make(n: number, options: Partial<P2PHostOptions> = {}, logger?: Logger): Promise<P2PHost> {
    const components = logger === undefined ? { privateKey: await keyOf(n) } : { privateKey: await keyOf(n), logger }
    const host = new P2PHost(components, { listen: LISTEN, ...FAST, ...options })
    this.all.push(host)
    return host
  }

  async started(n: number, options: Partial<P2PHostOptions> = {}, logger?: Logger): Promise<P2PHost> {
    const host = await this.make(n, options, logger)
    await host.start()
    return host
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.all.splice(0).map((h) => h.stop()))
  }
}

export { sleep, waitFor }

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)
export const text = (data: Uint8Array): string => new TextDecoder().decode(data)

/** Connect `hosts` as a full mesh through static peers: returns hosts started with each other's addresses. */
export async function connected(hosts: P2PHost[]): Promise<void> {
  await waitFor(
    'full mesh',
    () => hosts.every((h) => hosts.every((o) => o === h || h.connectedPeers().includes(o.peerId))),
    8000,
  )
}

export { recordingLogger } from '../../helpers/logger.ts'
