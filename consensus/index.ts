/**
 * consensus/: chained HotStuff as a deterministic state machine. A `Replica`
 * takes inputs (verified messages, timer firings, the start signal, word of new
 * commands) and returns outputs (messages to send, timers to set, safety state to
 * persist before anything leaves, committed blocks). It does no I/O, reads no
 * clock and draws no randomness, so a simulator can replay any run from its seed.
 * `MessageVerifier` is the edge every network message passes first. The network,
 * storage and the ledger are wired to it in node/.
 */
export * from './types.ts'
export * from './crypto.ts'
export { blockId, hashKey, proposalMessage, voteMessage, timeoutMessage } from './signing.ts'
export { makeGenesis, nextEpochGenesis, genesisQC, quorumSize, commandKey } from './genesis.ts'
export { LeaderReputation, RoundRobin, type LeaderElection, type ReputationOptions } from './leader.ts'
export { BlockTree } from './blocktree.ts'
export { isFresh, release, SafetyError, SafetyRules, type SafetyErrorCode, type Signed, type TimeoutDecision, type VoteDecision } from './safety.ts'
export { FifoMempool, type KeySet, type Mempool } from './mempool.ts'
export { Replica, type ReplicaComponents, type ReplicaOptions } from './replica.ts'
export { MessageVerifier, type Verdict, type RejectReason, type VerifierOptions } from './verify.ts'
export * from './crypto/index.ts'
export { encodeMessage, decodeMessage, encodeCommitMessage, decodeCommitMessage, decodeCertificate, MAX_COMMIT_BATCH, WireError, DEFAULT_WIRE_LIMITS, HASH_BYTES, type WireErrorCode, type WireLimits } from './wire.ts'
export { Epochs, epochOf, verifyEpochEnd, type EpochInput, type EpochOutput, type EpochSetup, type EpochsComponents, type EpochsOptions } from './epochs.ts'
export {
  checkCertificate, commitMessage, CommitCertifier, describeHeader, foreignHeader, headerKey, headersEqual, StateDivergenceError,
  type CertificateCheck, type CertifierEvent, type CertifierOptions, type CommitCertificate, type CommitHeader, type CommitMessage,
  type CommitRequest, type CommitResponse, type CommitVote, type CommitVotes, type EpochKeys, type NetworkId, type VoteVerdict,
} from './commits.ts'
