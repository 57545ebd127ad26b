/**
 * node/p2p/: the validator node's networking layer, a small typed wrapper over
 * libp2p 3 (TCP, noise, yamux, identify, gossipsub 17).
 *
 * It gives a `P2PHost` with a start()/stop() lifecycle that keeps a full mesh of
 * static peers connected (redialling with capped backoff), gossip topics whose
 * validators map onto gossipsub accept / ignore / reject, one-way and
 * request/response direct protocols with length-prefixed, size-limited frames,
 * a penalty book that bans misbehaving peers for a cool-down, a peer-id connection
 * gater (allowed peers, bans, and block/unblock for testnet partitions), and typed
 * `P2PError`s. It moves opaque bytes only: it does not encode, sign or verify
 * consensus messages (the caller's validators do), does no peer discovery beyond
 * its static list, and keeps no state on disk.
 */
export * from './errors.ts'
export { peerKeyFromSeed, peerIdOf, peerIdOfPublicKey } from './keys.ts'
export { P2PHost, DEFAULT_MAX_MESSAGE_BYTES, type P2PHostComponents, type P2PHostOptions, type PeerListener } from './host.ts'
export type { GossipValidator, GossipHandler, GossipInfo, ValidationResult } from './gossip.ts'
export type { DirectHandler, SendOptions, RequestOptions, SendResult } from './direct.ts'
export { DEFAULT_PENALTY_POLICY, type PenaltyPolicy, type PenaltyRecord, type OffenceSeverity } from './penalties.ts'
