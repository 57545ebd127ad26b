// Round material for the enclave contract: ten members with honest, poisoned,
// lying, tampered and missing updates sealed to a round key from the enclave,
// rounds on a certified SimChain, and the integer arithmetic the tests check
// releases with.
import { expect } from 'vitest'
import { roundHalfEven } from '../../../enclave/noise/index.ts'
import type { AggregateRequest, AggregatedResponse, AggregateResponse, EnclaveClient } from '../../../enclave/service/index.ts'
import { ciphertextCid, decodeUpdate, encodeUpdate, encryptUpdate, hashUpdate, sealUpdate } from '../../../enclave/updates/index.ts'
import { addModel, CasBlockstore, float32ToLeBytes, MemoryKeyValueStore, type UpdateStatement } from '../../../ledger/index.ts'
import { DomainTag, signPayload, type CID } from '../../../primitives/index.ts'
import { keysFor } from '../../ledger/harness.ts'
import { CHAIN, CLIP, DIM, farAway, honest, memberId, type Submission } from '../round/fixtures.ts'
import type { SimChain } from './sim-chain.ts'

export { CHAIN, DIM, memberId }
export const SCALE = 2 ** 16
export const MEMBERS = Array.from({ length: 10 }, (_, i) => memberId(i))
export const TRAINING = { clipNorm: CLIP, noiseMultiplier: 1.1, samplingRate: 0.01, localEpochs: 1 }
export const LIAR = memberId(3)
export const POISONED = memberId(6)
export const MISSING = memberId(8)
export const TAMPERED = memberId(9)

export const BASE = Float32Array.from({ length: DIM }, (_, k) => 0.25 - 0.03 * k)
export const BASE_BYTES = float32ToLeBytes(BASE)

/** A member's sealed update for `chain`; `declaredNorm` makes it lie about its norm. */
function sealOn(chain: string, roundPublicKey: Uint8Array, round: string, member: string, update: Float32Array, declaredNorm?: number): Submission {
  const memberSecretKey = keysFor(member).secretKey
  if (declaredNorm === undefined) return { member, ...sealUpdate({ chain, round, member, memberSecretKey, roundPublicKey, update }), update }
  const plaintext = encodeUpdate(update)
  const statement: UpdateStatement = { chain, round, member, plaintextHash: hashUpdate(plaintext), declaredNorm }
  const envelope = encryptUpdate({ chain, round, member, roundPublicKey, plaintext })
  return { member, envelope, ciphertext: ciphertextCid(envelope), statement, statementSig: signPayload(memberSecretKey, DomainTag.UPDATE_STATEMENT, statement), update }
}

/** 6 honest members, a liar about its norm, a far-away (poisoned) in-bound update, a missing and a tampered envelope. */
export function submissions(roundPublicKey: Uint8Array, round: string, chain = CHAIN): Submission[] {
  return MEMBERS.map((id, i) => {
    if (id === LIAR) return sealOn(chain, roundPublicKey, round, id, honest(i).map((x) => x * 10), 0.9)
    if (id === POISONED) return sealOn(chain, roundPublicKey, round, id, farAway(i))
    return sealOn(chain, roundPublicKey, round, id, honest(i + 1))
  })
}

/** What the host forwards: every envelope but MISSING's, TAMPERED's with its last byte flipped. */
export function envelopesOf(subs: readonly Submission[]): Array<[string, Uint8Array]> {
  return subs
    .filter((s) => s.member !== MISSING)
    .map((s) => {
      if (s.member !== TAMPERED) return [s.member, s.envelope]
      const t = s.envelope.slice()
      t[t.length - 1]! ^= 1
      return [s.member, t]
    })
}

/** The base model's CID, as the coordinator adds it (addModel). */
export const baseModelCid = (): Promise<CID> => addModel(new CasBlockstore({ kv: new MemoryKeyValueStore() }), BASE)

export interface LedgerRound {
  subs: Submission[]
  /** the aggregate request an honest host makes once the round is final */
  request: AggregateRequest
}

/**
 * A round on `chain` for the enclave behind `client`: opened (every unrevoked member
 * eligible), keyed, and committed to by every eligible member (or `committers`), so that
 * by default its committed set is final at once; `request` is the honest host's
 * aggregate request at that height.
 */
export async function ledgerRound(chain: SimChain, client: EnclaveClient, round: string, opts: { f?: number; m?: number; central?: number; deadlineIn?: number; committers?: readonly string[] } = {}): Promise<LedgerRound> {
  const aggregation = { rule: 'multi-krum' as const, f: opts.f ?? 2, m: opts.m ?? 5, ...(opts.central === undefined ? {} : { centralNoiseMultiplier: opts.central }) }
  // members revoked earlier on this chain are no longer eligible
  const eligible = MEMBERS.filter((m) => chain.get<{ revokedAt: number | null }>(`member/${m}`)?.revokedAt === null)
  const committers = new Set((opts.committers ?? MEMBERS).filter((m) => eligible.includes(m)))
  const subs = await chain.keyedRound(client, round, { baseModel: await baseModelCid(), training: TRAINING, aggregation, eligible, ...(opts.deadlineIn === undefined ? {} : { deadlineIn: opts.deadlineIn }) }, (roundPublicKey) => {
    const all = submissions(roundPublicKey, round)
    return { value: all, txs: all.filter((s) => committers.has(s.member)).map((s) => chain.tx(s.member, 'round.commit', { round, ciphertext: s.ciphertext, statement: s.statement, statementSig: s.statementSig })) }
  })
  return { subs, request: chain.aggregateRequest(round, envelopesOf(subs), BASE_BYTES) }
}

export function aggregated(r: AggregateResponse): AggregatedResponse {
  expect(r.kind).toBe('aggregated')
  return r as AggregatedResponse
}

export async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toMatchObject({ name: 'EnclaveServiceError', code })
}

/** Σ_i round_half_even(u_i · scale) per coordinate, exactly. */
export function quantizedSum(updates: readonly Float32Array[]): bigint[] {
  return Array.from({ length: DIM }, (_, k) => updates.reduce((acc, u) => acc + BigInt(roundHalfEven(u[k]! * SCALE)), 0n))
}

/** The integer noise of a published update over `count` members whose quantized sum is `sum`. */
export function noiseOf(update: Uint8Array, sum: readonly bigint[], count: number): bigint[] {
  const u = decodeUpdate(update, DIM)
  // |sum + noise| < 2^20 here, so float32's 24 bits give the integer back exactly
  return Array.from({ length: DIM }, (_, k) => BigInt(Math.round(u[k]! * SCALE * count)) - sum[k]!)
}

/** (sum + noise) / scale / count, as the enclave publishes it. */
export function meanWith(sum: readonly bigint[], noise: readonly bigint[], count: number): Float32Array {
  return Float32Array.from({ length: DIM }, (_, k) => Number(sum[k]! + noise[k]!) / SCALE / count)
}
