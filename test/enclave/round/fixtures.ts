// Shared fixtures for the round-pipeline tests: members with deterministic keys,
// honest and adversarial updates, sealed envelopes and the ledger's commit records.
import { expect } from 'vitest'
import { clipToNorm, encodeUpdate, encryptUpdate, hashUpdate, l2Norm, sealUpdate, ciphertextCid, generateRoundKey, type RoundKeyPair } from '../../../enclave/updates/index.ts'
import { type CommitRecord, type UpdateStatement } from '../../../ledger/index.ts'
import { DomainTag, signPayload, type CID } from '../../../primitives/index.ts'
import type { RoundOutcome } from '../../../enclave/round/index.ts'
import { CHAIN, keysFor } from '../../ledger/harness.ts'

export { CHAIN }
export const CLIP = 1
export const DIM = 16

/** mulberry32, for reproducible test vectors */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The honest direction: every honest update is 0.5 · BASE plus a little jitter. */
export const BASE = clipToNorm(Array.from({ length: DIM }, (_, i) => Math.cos(i * 0.7 + 0.3)).map((x, _, a) => x / l2Norm(a)), 1)

export function honest(seed: number): Float32Array {
  const r = prng(seed)
  return clipToNorm(Array.from({ length: DIM }, (_, i) => 0.5 * BASE[i]! + 0.03 * (r() - 0.5)), CLIP)
}

/** In bound (norm 1) but pointing away from the honest cluster. */
export function farAway(seed: number): Float32Array {
  const r = prng(seed)
  return clipToNorm(Array.from({ length: DIM }, (_, i) => -BASE[i]! + 0.05 * (r() - 0.5)), CLIP)
}

export interface Submission {
  member: string
  envelope: Uint8Array
  ciphertext: CID
  statement: UpdateStatement
  statementSig: Uint8Array
  /** the plaintext values, for the tests' own expectations */
  update: Float32Array
}

export function seal(roundKey: RoundKeyPair, round: string, member: string, update: Float32Array): Submission {
  const s = sealUpdate({ chain: CHAIN, round, member, memberSecretKey: keysFor(member).secretKey, roundPublicKey: roundKey.publicKey, update })
  return { member, ...s, update }
}

/** A member who signs a declared norm within the bound for an update whose actual norm exceeds it. */
export function sealLiar(roundKey: RoundKeyPair, round: string, member: string, update: Float32Array, declaredNorm: number): Submission {
  const plaintext = encodeUpdate(update)
  const statement: UpdateStatement = { chain: CHAIN, round, member, plaintextHash: hashUpdate(plaintext), declaredNorm }
  const envelope = encryptUpdate({ chain: CHAIN, round, member, roundPublicKey: roundKey.publicKey, plaintext })
  return { member, envelope, ciphertext: ciphertextCid(envelope), statement, statementSig: signPayload(keysFor(member).secretKey, DomainTag.UPDATE_STATEMENT, statement), update }
}

/** The commit record the ledger would store for the i-th commit. */
export function commitOf(s: Submission, seq: number, round = 'r1'): CommitRecord {
  return { round, member: s.member, seq, ciphertext: s.ciphertext, plaintextHash: s.statement.plaintextHash, declaredNorm: s.statement.declaredNorm, statementSig: s.statementSig, height: 1 + seq }
}

export const memberId = (i: number): string => `bank-${String(i).padStart(2, '0')}`

export function newRoundKey(): RoundKeyPair {
  return generateRoundKey()
}

/** included ∪ excluded is exactly the committed members, each once. */
export function expectPartition(outcome: RoundOutcome, committed: readonly string[]): void {
  const listed = [...(outcome.kind === 'aggregated' ? outcome.included : []), ...outcome.excluded.map((e) => e.member)]
  expect(listed.length).toBe(committed.length)
  expect(new Set(listed)).toEqual(new Set(committed))
}
