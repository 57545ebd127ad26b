/**
 * Rogue peers for e2e runs, each with a fresh libp2p key (not a validator):
 *  - `rogueHost`: a P2PHost dialling every validator (static peers), to publish on
 *    the consensus gossip topic and to send well-framed bytes on the direct protocol;
 *  - `RawPeer`: a bare libp2p node (TCP, noise, yamux) that writes arbitrary bytes
 *    on a protocol stream, for frames P2PHost would never produce (bad length prefixes);
 *  - forged consensus messages: well-encoded, but signed by nobody.
 */
import { randomBytes } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { encodeMessage } from '../../consensus/index.ts'
import { P2PHost, peerKeyFromSeed, type P2PHostOptions } from '../../node/p2p/index.ts'
import type { Net } from './net.ts'

export async function rogueHost(net: Net, options: Partial<P2PHostOptions> = {}): Promise<P2PHost> {
  const host = new P2PHost(
    { privateKey: await peerKeyFromSeed(randomBytes(32)) },
    { listen: '/ip4/127.0.0.1/tcp/0', peers: net.file.validators.map((v) => v.p2p), gossipHeartbeatMs: 200, redialMinMs: 200, redialMaxMs: 1_000, dialTimeoutMs: 2_000, requestTimeoutMs: 3_000, ...options },
  )
  await host.start()
  return host
}

/** A vote for a random block, claiming to be validator `voter`'s, with a random signature. */
export function forgedVote(voter: number, view: number, height: number): Uint8Array {
  return encodeMessage({ kind: 'vote', epoch: 0, view, block: randomBytes(32), height, voter, signature: randomBytes(64) })
}

/** A timeout claiming to be validator `voter`'s, carrying a high QC whose "signatures" are random. */
export function forgedTimeout(voter: number, view: number, height: number): Uint8Array {
  return encodeMessage({
    kind: 'timeout',
    epoch: 0,
    view,
    highQC: { epoch: 0, view: view - 1, block: randomBytes(32), height, votes: { signers: Uint8Array.of(0b0111), signature: randomBytes(3 * 64) } },
    tc: null,
    voter,
    signature: randomBytes(64),
  })
}

export class RawPeer {
  readonly node: Libp2p
  readonly peerId: string

  private constructor(node: Libp2p) {
    this.node = node
    this.peerId = node.peerId.toString()
  }

  static async start(): Promise<RawPeer> {
    const node = await createLibp2p({
      privateKey: await peerKeyFromSeed(randomBytes(32)),
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
    })
    await node.start()
    return new RawPeer(node)
  }

  /** Opens a `protocol` stream to the peer at `addr` and writes `bytes` as they are (no framing). */
  async write(addr: string, protocol: string, bytes: Uint8Array): Promise<void> {
    const stream = await this.node.dialProtocol(multiaddr(addr), protocol, { signal: AbortSignal.timeout(5_000) })
    if (!stream.send(bytes)) await stream.onDrain({ signal: AbortSignal.timeout(5_000) })
  }

  connectedTo(peer: string): boolean {
    return this.node.getConnections(peerIdFromString(peer)).some((c) => c.status === 'open')
  }

  async stop(): Promise<void> {
    await this.node.stop()
  }
}
