/**
 * How the host's libp2p 3 node is assembled: TCP, noise, yamux, identify and
 * gossipsub with the settings a small permissioned validator mesh needs, plus
 * the peer-id connection gater. The host decides when to create and start it.
 */
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import type { TopicScoreParams } from '@libp2p/gossipsub/score'
import type { ConnectionGater, Libp2p, PeerId, PrivateKey } from '@libp2p/interface'

export type HostServices = { identify: unknown; pubsub: GossipSub }

export interface HostNodeInit {
  privateKey: PrivateKey
  listen: string[]
  gater: ConnectionGater
  dialTimeoutMs: number
  gossipHeartbeatMs: number
  maxMessageBytes: number
  /** topic score params for the topics known at creation (later ones are added by GossipTopics) */
  scoredTopics: Record<string, TopicScoreParams>
}

/**
 * A gater that refuses denied peer ids at every stage where the id is known:
 * before dialling, and after the noise handshake / upgrade both ways.
 */
export function peerIdGater(isDenied: (peer: string) => boolean): ConnectionGater {
  const denied = (peer: PeerId): boolean => isDenied(peer.toString())
  return {
    denyDialPeer: denied,
    denyInboundEncryptedConnection: denied,
    denyOutboundEncryptedConnection: denied,
    denyInboundUpgradedConnection: denied,
    denyOutboundUpgradedConnection: denied,
  }
}

/** A configured, not yet started, libp2p node. */
export function createHostNode(init: HostNodeInit): Promise<Libp2p<HostServices>> {
  return createLibp2p({
    start: false,
    privateKey: init.privateKey,
    addresses: { listen: init.listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: init.gater,
    connectionManager: {
      dialTimeout: init.dialTimeoutMs,
      // testnets put every validator on one IP; the default (5/s per host) refuses restarts
      inboundConnectionThreshold: 64,
    },
    services: {
      identify: identify(),
      pubsub: gossipsub({
        // messages are signed by the publishing host's key and checked on receipt;
        // message ids are origin + sequence number, so republishing the same bytes
        // (e.g. a retransmitted vote) is a new message
        globalSignaturePolicy: 'StrictSign',
        allowPublishToZeroTopicPeers: true,
        ignoreDuplicatePublishError: true,
        // a copy of a message already seen is dropped on (origin, seqno) before its
        // signature is checked again: in a full mesh each message arrives once per peer.
        // Only a message whose signature verified enters this cache, so a forged copy
        // cannot make the real one look seen.
        fastMsgIdFn: (msg) => (msg.from === undefined || msg.seqno === undefined ? '' : `${Buffer.from(msg.from).toString('base64')}/${Buffer.from(msg.seqno).toString('base64')}`),
        emitSelf: false,
        fallbackToFloodsub: false,
        heartbeatInterval: init.gossipHeartbeatMs,
        // the RPC carrying one message: payload plus signature, key and framing
        maxInboundDataLength: init.maxMessageBytes + 64 * 1024,
        scoreParams: {
          // validators are few, known, and often share an IP in testnets
          IPColocationFactorWeight: 0,
          topics: init.scoredTopics,
        },
      }),
    },
  })
}
