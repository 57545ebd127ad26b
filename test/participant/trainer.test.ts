// Trainers: DP-SGD with exactly the round's config and a clipped update; updates produced elsewhere, checked and clipped.
import { describe, expect, it } from 'vitest'
import { encodeUpdate, l2Norm } from '../../enclave/index.ts'
import { stepsPerRound } from '../../ledger/index.ts'
import { DpSgdTrainer, FileUpdateTrainer, gaussianFrom, localUpdate, logisticRegression, seededRng } from '../../participant/index.ts'
import { asyncCodeOf, blobs, codeOf } from './helpers.ts'

const F = 5
const K = 3
const config = { clipNorm: 0.2, noiseMultiplier: 0.8, samplingRate: 0.3, localEpochs: 2 }

describe('DpSgdTrainer', () => {
  const model = logisticRegression(F, K)
  const data = blobs(60, F, K, 4)

  it('runs ⌈E/q⌉ steps of the round config and returns the clipped delta localUpdate gives', async () => {
    const trainer = new DpSgdTrainer(model, data, { learningRate: 0.5, noise: gaussianFrom(seededRng('n')), yieldEvery: 2 })
    const base = model.init(seededRng(1))
    const r = await trainer.train(base, config, seededRng('s'))
    expect(r.steps).toBe(stepsPerRound(config))
    expect(r.steps).toBe(7)
    expect(r.examples).toBe(60)
    expect(l2Norm(r.update)).toBeLessThanOrEqual(config.clipNorm)
    const want = localUpdate(model, base, data, { ...config, steps: 7, learningRate: 0.5, rng: seededRng('s'), noise: gaussianFrom(seededRng('n')) })
    expect(Array.from(r.update)).toEqual(Array.from(want.update))
    expect(r.norm).toBeCloseTo(want.norm, 9)
    expect(trainer.dimension).toBe(model.dimension)
  })

  it('stops with ABORTED when its signal fires', async () => {
    const trainer = new DpSgdTrainer(model, data, { learningRate: 0.5, yieldEvery: 1 })
    const base = model.init(seededRng(1))
    const long = { ...config, samplingRate: 0.01, localEpochs: 1_000 } // 100,000 steps
    const ac = new AbortController()
    const p = trainer.train(base, long, seededRng(1), { signal: ac.signal })
    setTimeout(() => ac.abort(), 20)
    const t0 = performance.now()
    expect(await asyncCodeOf(p)).toBe('ABORTED')
    expect(performance.now() - t0).toBeLessThan(5_000)
    expect(await asyncCodeOf(trainer.train(base, config, seededRng(1), { signal: AbortSignal.abort() }))).toBe('ABORTED')
  })

  it('refuses a base model of the wrong size and a dataset of another width', async () => {
    const trainer = new DpSgdTrainer(model, data, { learningRate: 0.5 })
    expect(await asyncCodeOf(trainer.train(new Float32Array(3), config, seededRng(1)))).toBe('WRONG_LENGTH')
    expect(codeOf(() => new DpSgdTrainer(model, blobs(5, F + 2, K, 1), { learningRate: 0.5 }))).toBe('BAD_DATASET')
    expect(codeOf(() => new DpSgdTrainer(model, data, { learningRate: 0 }))).toBe('BAD_ARGUMENT')
  })
})

describe('FileUpdateTrainer', () => {
  const d = 4

  it('returns the file’s values when within the clip bound, clipped when above', async () => {
    const small = new Float32Array([0.1, -0.05, 0, 0.02])
    const t = new FileUpdateTrainer(encodeUpdate(small), { dimension: d, examples: 1234, steps: 50 })
    const r = await t.train(new Float32Array(d), config, seededRng(1))
    expect(Array.from(r.update)).toEqual(Array.from(small))
    expect(r).toMatchObject({ examples: 1234, steps: 50 })
    const big = new Float32Array([3, 4, 0, 0])
    const rb = await new FileUpdateTrainer(encodeUpdate(big), { dimension: d }).train(new Float32Array(d), config, seededRng(1))
    expect(rb.norm).toBeCloseTo(5, 6)
    expect(l2Norm(rb.update)).toBeLessThanOrEqual(config.clipNorm)
    expect(rb.update[0]! / rb.update[1]!).toBeCloseTo(0.75, 5)
  })

  it('checks the length and finiteness of the bytes and the base model size', async () => {
    expect(codeOf(() => new FileUpdateTrainer(new Uint8Array(4 * d - 1), { dimension: d }))).toBe('WRONG_LENGTH')
    expect(codeOf(() => new FileUpdateTrainer(new Uint8Array(4 * (d + 1)), { dimension: d }))).toBe('WRONG_LENGTH')
    const nan = new Uint8Array(4 * d)
    new DataView(nan.buffer).setFloat32(8, Number.NaN, true)
    expect(codeOf(() => new FileUpdateTrainer(nan, { dimension: d }))).toBe('NOT_FINITE')
    const t = new FileUpdateTrainer(new Uint8Array(4 * d), { dimension: d })
    expect(await asyncCodeOf(t.train(new Float32Array(d + 1), config, seededRng(1)))).toBe('WRONG_LENGTH')
  })
})
