// aggregateRound: checks, Multi-Krum, central DP and the transcript, on real sealed envelopes.
import { describe, expect, it } from 'vitest'
import { aggregateRound, aggregateRoundOn, noisedMeanStd, RoundError, type AggregateRoundInput, type AggregatedRound, type RoundOutcome } from '../../../enclave/round/index.ts'
import { DistanceWorkers, multiKrum } from '../../../enclave/aggregate/index.ts'
import { ciphertextCid, encodeUpdate, seededRandom } from '../../../enclave/index.ts'
import { encode, sha256 } from '../../../primitives/index.ts'
import { keysFor } from '../../ledger/harness.ts'
import { CHAIN, CLIP, DIM, commitOf, expectPartition, farAway, honest, memberId, newRoundKey, seal, sealLiar, type Submission } from './fixtures.ts'

const SCALE = 2 ** 16
const roundKey = newRoundKey()
const spec = (f: number, m: number, noiseMultiplier = 0.01) => ({
  id: 'r1',
  aggregation: { f, m },
  training: { clipNorm: CLIP, noiseMultiplier, samplingRate: 0.01, localEpochs: 1 },
  steps: 100,
})

function inputOf(subs: Submission[], f: number, m: number, over: Partial<AggregateRoundInput> = {}): AggregateRoundInput {
  return {
    chain: CHAIN,
    round: spec(f, m),
    dimension: DIM,
    commits: subs.map((s, i) => commitOf(s, i)),
    envelopes: new Map(subs.map((s) => [s.member, s.envelope])),
    memberKeys: new Map(subs.map((s) => [s.member, keysFor(s.member).publicKey])),
    roundSecretKey: roundKey.secretKey,
    scale: SCALE,
    ...over,
  }
}

function aggregated(o: RoundOutcome): AggregatedRound {
  expect(o.kind).toBe('aggregated')
  return o as AggregatedRound
}

const honestSubs = (count: number, from = 0) => Array.from({ length: count }, (_, i) => seal(roundKey, 'r1', memberId(from + i), honest(from + i + 1)))
const reasons = (o: RoundOutcome) => Object.fromEntries(o.excluded.map((e) => [e.member, e.reason]))

function meanOf(updates: Float32Array[]): Float64Array {
  const out = new Float64Array(DIM)
  for (const u of updates) for (let k = 0; k < DIM; k++) out[k] = out[k]! + u[k]!
  return out.map((x) => x / updates.length)
}

describe('aggregateRound', () => {
  const subs = honestSubs(10)
  const all = subs.map((s) => s.member)

  it('includes exactly the Multi-Krum selection and echoes the DP parameters', () => {
    const o = aggregated(aggregateRound(inputOf(subs, 2, 5), seededRandom('round-1')))
    const expected = multiKrum(subs.map((s) => s.update), { f: 2, m: 5 }).selected.map((i) => subs[i]!.member)
    expect(o.included).toEqual([...expected].sort())
    expect(o.included).toHaveLength(5)
    expect(o.m).toBe(5)
    expect(o.excluded).toEqual(all.filter((m) => !expected.includes(m)).map((member) => ({ member, reason: 'MULTI_KRUM' })))
    expect(o.dp).toEqual({ clipNorm: CLIP, noiseMultiplier: 0.01, samplingRate: 0.01, steps: 100 })
    expect(o.transcriptHash).toHaveLength(32)
    expectPartition(o, all)
  })

  it('caps m at n − f so the ledger never sees more than the honest-guaranteed count', () => {
    const o = aggregated(aggregateRound(inputOf(subs, 2, 9), seededRandom('cap')))
    expect(o.m).toBe(8)
    expect(o.included).toEqual([...multiKrum(subs.map((s) => s.update), { f: 2, m: 8 }).selected.map((i) => subs[i]!.member)].sort())
    expect(o.excluded.map((e) => e.reason)).toEqual(['MULTI_KRUM', 'MULTI_KRUM'])
  })

  it('publishes the mean of the selected updates plus noise of the calibrated size', () => {
    const o = aggregated(aggregateRound(inputOf(subs, 2, 5), seededRandom('round-1')))
    const mean = meanOf(subs.filter((s) => o.included.includes(s.member)).map((s) => s.update))
    const std = noisedMeanStd({ clipNorm: CLIP, noiseMultiplier: 0.01, scale: SCALE }, DIM, 5)
    expect(std).toBeCloseTo(0.002, 6) // σ·(C + √d/(2·scale))/|selected|
    const resid = Array.from(o.update, (v, k) => v - mean[k]!)
    // quantization moves the mean by ≤ 1/(2·scale); float32 output adds ~1e-8
    for (const r of resid) expect(Math.abs(r)).toBeLessThan(6 * std + 1 / SCALE)
    const rms = Math.sqrt(resid.reduce((a, r) => a + r * r, 0) / DIM)
    expect(rms).toBeGreaterThan(0.3 * std) // noise was added …
    expect(rms).toBeLessThan(2 * std) // … of the calibrated size
  })

  it('is deterministic given the randomness, and the transcript binds the noised update', () => {
    const a = aggregated(aggregateRound(inputOf(subs, 2, 5), seededRandom('seed-a')))
    const b = aggregated(aggregateRound(inputOf(subs, 2, 5), seededRandom('seed-a')))
    const c = aggregated(aggregateRound(inputOf(subs, 2, 5), seededRandom('seed-b')))
    expect(b.update).toEqual(a.update)
    expect(b.transcriptHash).toEqual(a.transcriptHash)
    expect(c.included).toEqual(a.included)
    expect(c.update).not.toEqual(a.update)
    expect(c.transcriptHash).not.toEqual(a.transcriptHash)
  })

  it('gives the same outcome with Multi-Krum distances from worker threads (aggregateRoundOn)', { timeout: 30_000 }, async () => {
    const mixed = [...honestSubs(8), seal(roundKey, 'r1', memberId(8), farAway(1)), seal(roundKey, 'r1', memberId(9), farAway(2))]
    const pool = new DistanceWorkers({ threads: 2 })
    await pool.start()
    let asked = 0
    try {
      const counting = { pairwiseSquaredDistances: (u: readonly Float32Array[]) => (asked++, pool.pairwiseSquaredDistances(u)) }
      const onThreads = aggregated(await aggregateRoundOn(inputOf(mixed, 2, 5), seededRandom('same'), counting))
      const inline = aggregated(aggregateRound(inputOf(mixed, 2, 5), seededRandom('same')))
      expect(asked).toBe(1)
      expect(onThreads.included).toEqual(inline.included)
      expect(onThreads.excluded).toEqual(inline.excluded)
      expect(onThreads.update).toEqual(inline.update)
      expect(onThreads.transcriptHash).toEqual(inline.transcriptHash)
      expect(onThreads.included).not.toContain(memberId(9))
    } finally {
      await pool.stop()
    }
  })

  it('hashes the documented transcript', () => {
    const o = aggregated(aggregateRound(inputOf(subs, 2, 5), seededRandom('round-1')))
    const byMember = [...o.excluded].sort((x, y) => (x.member < y.member ? -1 : 1))
    const transcript = {
      v: 1,
      chain: CHAIN,
      round: 'r1',
      commits: subs.map((s) => [s.member, s.ciphertext]),
      included: o.included,
      excluded: byMember.map((e) => [e.member, e.reason]),
      aggregation: { rule: 'multi-krum', f: 2, m: 5 },
      dp: o.dp,
      dimension: DIM,
      scale: SCALE,
      updateHash: sha256(encodeUpdate(o.update)),
    }
    expect(o.transcriptHash).toEqual(sha256(encode(transcript)))
  })

  it('rejects out-of-bound updates in checkUpdate and leaves far-away in-bound ones to Multi-Krum', () => {
    const good = honestSubs(8)
    const declaredHuge = seal(roundKey, 'r1', 'huge-declared', honest(99).map((x) => x * 10)) // declares its norm (5 > C)
    const liar = sealLiar(roundKey, 'r1', 'liar', honest(98).map((x) => x * 10), 0.9) // declares 0.9, is 5
    const far = [seal(roundKey, 'r1', 'far-1', farAway(1)), seal(roundKey, 'r1', 'far-2', farAway(2))]
    const list = [good[0]!, declaredHuge, ...good.slice(1, 4), far[0]!, liar, ...good.slice(4), far[1]!]
    const o = aggregated(aggregateRound(inputOf(list, 2, 6), seededRandom('attack')))
    expect(reasons(o)['huge-declared']).toBe('NORM_ABOVE_BOUND')
    expect(reasons(o)['liar']).toBe('NORM_ABOVE_BOUND')
    expect(reasons(o)['far-1']).toBe('MULTI_KRUM')
    expect(reasons(o)['far-2']).toBe('MULTI_KRUM')
    expect(o.m).toBe(6) // min(6, 10 valid − f)
    expect(o.included).toHaveLength(6)
    for (const id of o.included) expect(id).toMatch(/^bank-/)
    expectPartition(o, list.map((s) => s.member))
    // the aggregate stays with the honest cluster
    const mean = meanOf(good.filter((s) => o.included.includes(s.member)).map((s) => s.update))
    for (let k = 0; k < DIM; k++) expect(Math.abs(o.update[k]! - mean[k]!)).toBeLessThan(0.02)
  })

  it('excludes tampered, swapped and missing envelopes with their reasons; ignores uncommitted ones', () => {
    const list = honestSubs(10)
    const input = inputOf(list, 1, 5)
    const envelopes = new Map(input.envelopes)
    const flip = (e: Uint8Array) => { const t = e.slice(); t[t.length - 1]! ^= 1; return t }
    envelopes.set(memberId(0), flip(list[0]!.envelope)) // committed CID no longer matches
    envelopes.set(memberId(2), list[3]!.envelope) // another member's envelope
    envelopes.delete(memberId(4))
    envelopes.set('bank-99', seal(roundKey, 'r1', 'bank-99', honest(5)).envelope) // never committed
    // a member who committed to tampered bytes: the CID matches, AES-GCM refuses them
    const tampered = flip(list[1]!.envelope)
    envelopes.set(memberId(1), tampered)
    const commits = input.commits.map((c) => (c.member === memberId(1) ? { ...c, ciphertext: ciphertextCid(tampered) } : c))
    const o = aggregated(aggregateRound({ ...input, envelopes, commits }, seededRandom('tamper')))
    expect(reasons(o)[memberId(0)]).toBe('NOT_COMMITTED')
    expect(reasons(o)[memberId(1)]).toBe('DECRYPT_FAILED')
    expect(reasons(o)[memberId(2)]).toBe('NOT_COMMITTED')
    expect(reasons(o)[memberId(4)]).toBe('NO_UPDATE')
    expect(o.excluded.filter((e) => e.reason === 'MULTI_KRUM')).toHaveLength(1) // 6 valid, m' = min(5, 6 − f) = 5
    expect(o.included).toHaveLength(5)
    expect([...o.included, ...o.excluded.map((e) => e.member)]).not.toContain('bank-99')
    expectPartition(o, list.map((s) => s.member))
  })

  it('returns insufficient when n valid ≤ 2f + 2, with the exclusions so far', () => {
    const list = honestSubs(10)
    const input = inputOf(list, 3, 5)
    const envelopes = new Map(input.envelopes)
    envelopes.delete(memberId(3))
    envelopes.delete(memberId(7))
    const o = aggregateRound({ ...input, envelopes }, seededRandom('few'))
    expect(o).toMatchObject({ kind: 'insufficient', valid: 8, needed: 9, excluded: [{ member: memberId(3), reason: 'NO_UPDATE' }, { member: memberId(7), reason: 'NO_UPDATE' }] })
    expectPartition(o, [memberId(3), memberId(7)])
    // with one more valid update the same round aggregates
    envelopes.set(memberId(7), list[7]!.envelope)
    expect(aggregateRound({ ...input, envelopes }, seededRandom('few')).kind).toBe('aggregated')
  })

  it('throws RoundError BAD_ARGUMENT on malformed caller input', () => {
    const input = inputOf(subs, 2, 5)
    const bad: Array<Partial<AggregateRoundInput>> = [
      { commits: [...input.commits].reverse() }, // not in ledger order
      { commits: input.commits.slice(1) }, // a commit missing
      { memberKeys: new Map([...input.memberKeys].slice(1)) },
      { scale: 3 * 2 ** 14 },
      { roundSecretKey: new Uint8Array(31) },
      { round: { ...spec(2, 5), aggregation: { f: -1, m: 5 } } },
      { chain: 'not an id' },
    ]
    for (const over of bad) {
      let err: unknown
      try {
        aggregateRound({ ...input, ...over }, seededRandom('x'))
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(RoundError)
      expect((err as RoundError).code).toBe('BAD_ARGUMENT')
    }
  })
})
