// DP-SGD: plain SGD when σ = 0 and C = ∞, Poisson sampling, per-example clipping bounds, the noise scale, the clipped delta.
import { describe, expect, it } from 'vitest'
import { l2Norm } from '../../enclave/index.ts'
import { dpSgd, gaussianFrom, localUpdate, logisticRegression, makeDataset, mlp, poissonSample, seededRng, type Model } from '../../participant/index.ts'
import { blobs, codeOf, meanStd } from './helpers.ts'

const F = 8
const K = 3

/** Plain minibatch SGD on the batches poissonSample draws from the same seed: params −= lr/(qN)·Σ∇ℓ. */
function referenceSgd(model: Model, start: Float32Array, data: ReturnType<typeof blobs>, q: number, steps: number, lr: number, seed: number): Float32Array {
  const rng = seededRng(seed)
  const p = start.slice()
  const batch = new Int32Array(data.n)
  const grad = new Float64Array(model.dimension)
  for (let s = 0; s < steps; s++) {
    const size = poissonSample(data.n, q, rng, batch)
    const sum = new Float64Array(model.dimension)
    for (let b = 0; b < size; b++) {
      const i = batch[b]!
      model.lossAndGradient(p, data.x, i * F, data.y[i]!, grad)
      for (let k = 0; k < sum.length; k++) sum[k] = sum[k]! + grad[k]!
    }
    for (let k = 0; k < p.length; k++) p[k] = p[k]! - (lr / (q * data.n)) * sum[k]!
  }
  return p
}

describe('dpSgd', () => {
  const data = blobs(200, F, K, 7)

  it.each([
    ['logistic regression', logisticRegression(F, K)],
    ['mlp', mlp(F, 6, K)],
  ])('with σ = 0 and C = ∞ is plain SGD on the sampled batches (%s)', (_name, model) => {
    const start = model.init(seededRng(1))
    const got = dpSgd(model, start, data, { clipNorm: Infinity, noiseMultiplier: 0, samplingRate: 0.1, steps: 30, learningRate: 0.3, rng: seededRng(42) })
    const want = referenceSgd(model, start, data, 0.1, 30, 0.3, 42)
    let moved = 0
    for (let k = 0; k < want.length; k++) {
      expect(got.params[k]).toBeCloseTo(want[k]!, 5)
      moved = Math.max(moved, Math.abs(want[k]! - start[k]!))
    }
    expect(moved).toBeGreaterThan(0.05) // it trained
    expect(got.steps).toBe(30)
    expect(got.meanBatch).toBeGreaterThan(10)
    expect(got.meanBatch).toBeLessThan(30)
    expect(model.accuracy(got.params, data)).toBeGreaterThan(model.accuracy(start, data))
  })

  it('does not modify the starting parameters', () => {
    const model = logisticRegression(F, K)
    const start = new Float32Array(model.dimension).fill(0.1)
    dpSgd(model, start, data, { clipNorm: 1, noiseMultiplier: 0, samplingRate: 0.5, steps: 3, learningRate: 1, rng: seededRng(1) })
    expect(start.every((v) => Math.abs(v - 0.1) < 1e-7)).toBe(true)
  })

  it('bounds a planted huge example to a move of C·lr/(qN)', () => {
    const model = logisticRegression(F, K)
    const n = 50
    const x = new Float32Array(n * F)
    const y = new Uint8Array(n)
    for (let j = 0; j < F; j++) x[j] = 1e4 // example 0 is huge; the others are all-zero rows
    y[0] = 2
    const planted = makeDataset(x, y, F, K)
    const start = model.init(seededRng(1))
    const C = 0.5
    const lr = 0.2
    const q = 1 // the planted example is in the (only) batch
    const run = (clipNorm: number) => dpSgd(model, start, planted, { clipNorm, noiseMultiplier: 0, samplingRate: q, steps: 1, learningRate: lr, rng: seededRng(3) }).params
    // All-zero rows have gradients only on the bias, so the weight block W (the first F·K
    // parameters) moves by the planted example's contribution alone.
    const weightMove = (p: Float32Array) => l2Norm(p.subarray(0, F * K).map((v, k) => v - start[k]!))
    const bound = (C * lr) / (q * n)
    const clipped = weightMove(run(C))
    expect(clipped).toBeLessThanOrEqual(bound * (1 + 1e-6))
    expect(clipped).toBeGreaterThan(0.99 * bound) // nearly all of its clipped norm is on the weights
    // without clipping the same example moves the parameters by orders of magnitude more
    expect(weightMove(run(Infinity))).toBeGreaterThan(1000 * bound)
  })

  it('clips every per-example gradient: one step moves at most C·lr·|B|/(qN)', () => {
    const model = mlp(F, 6, K)
    const start = model.init(seededRng(5))
    const C = 0.01 // far below the gradient norms, so every example is clipped
    const r = dpSgd(model, start, data, { clipNorm: C, noiseMultiplier: 0, samplingRate: 1, steps: 1, learningRate: 1, rng: seededRng(3) })
    const moved = l2Norm(r.params.map((v, k) => v - start[k]!))
    expect(moved).toBeLessThanOrEqual((C * data.n) / data.n * (1 + 1e-5))
    expect(moved).toBeGreaterThan(0.2 * C) // the clipped gradients are partly aligned: a real step
  })

  it('adds noise of standard deviation lr·σC/(qN) per coordinate', () => {
    const model = logisticRegression(30, 10) // 310 coordinates
    const start = model.init(seededRng(1))
    const d = blobs(40, 30, 10, 3)
    const sigma = 1.3
    const C = 2
    const q = 0.25
    const lr = 0.5
    const opts = { clipNorm: C, samplingRate: q, steps: 1, learningRate: lr }
    const expected = (lr * sigma * C) / (q * d.n)
    const diffs: number[] = []
    for (let rep = 0; rep < 40; rep++) {
      const quiet = dpSgd(model, start, d, { ...opts, noiseMultiplier: 0, rng: seededRng(rep) }).params
      const noisy = dpSgd(model, start, d, { ...opts, noiseMultiplier: sigma, rng: seededRng(rep), noise: gaussianFrom(seededRng('noise', rep)) }).params
      for (let k = 0; k < quiet.length; k++) diffs.push(noisy[k]! - quiet[k]!)
    }
    const { mean, std } = meanStd(diffs) // 12,400 draws: std within ~2 %
    expect(Math.abs(std / expected - 1)).toBeLessThan(0.04)
    expect(Math.abs(mean)).toBeLessThan(4 * expected / Math.sqrt(diffs.length))
  })

  it('uses node:crypto noise by default (runs differ) and seeded noise reproducibly', () => {
    const model = logisticRegression(F, K)
    const start = model.init(seededRng(1))
    const opts = { clipNorm: 1, noiseMultiplier: 1, samplingRate: 0.2, steps: 2, learningRate: 0.1 }
    const a = dpSgd(model, start, data, { ...opts, rng: seededRng(1) }).params
    const b = dpSgd(model, start, data, { ...opts, rng: seededRng(1) }).params
    expect(Array.from(a)).not.toEqual(Array.from(b))
    const c = dpSgd(model, start, data, { ...opts, rng: seededRng(1), noise: gaussianFrom(seededRng(2)) }).params
    const e = dpSgd(model, start, data, { ...opts, rng: seededRng(1), noise: gaussianFrom(seededRng(2)) }).params
    expect(Array.from(c)).toEqual(Array.from(e))
  })

  it('refuses bad options with typed errors', () => {
    const model = logisticRegression(F, K)
    const p = model.init(seededRng(1))
    const ok = { clipNorm: 1, noiseMultiplier: 1, samplingRate: 0.1, steps: 1, learningRate: 0.1, rng: seededRng(1) }
    expect(codeOf(() => dpSgd(model, p, data, { ...ok, clipNorm: Infinity }))).toBe('BAD_ARGUMENT') // noise needs a finite C
    expect(codeOf(() => dpSgd(model, p, data, { ...ok, clipNorm: 0 }))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => dpSgd(model, p, data, { ...ok, noiseMultiplier: -1 }))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => dpSgd(model, p, data, { ...ok, samplingRate: 0 }))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => dpSgd(model, p, data, { ...ok, steps: 1.5 }))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => dpSgd(model, p.subarray(1), data, ok))).toBe('WRONG_LENGTH')
    expect(codeOf(() => dpSgd(model, p, blobs(5, F + 1, K, 1), ok))).toBe('BAD_DATASET')
    expect(codeOf(() => dpSgd(model, p, data, { ...ok, noiseMultiplier: 0, clipNorm: Infinity, learningRate: 1e300 }))).toBe('NOT_FINITE')
  })
})

describe('poissonSample', () => {
  it('includes each index independently with probability q', () => {
    const n = 200
    const q = 0.1
    const rng = seededRng(11)
    const out = new Int32Array(n)
    const hits = new Float64Array(n)
    const sizes: number[] = []
    const trials = 2000
    for (let t = 0; t < trials; t++) {
      const size = poissonSample(n, q, rng, out)
      sizes.push(size)
      for (let b = 1; b < size; b++) expect(out[b]).toBeGreaterThan(out[b - 1]!)
      for (let b = 0; b < size; b++) hits[out[b]!]!++
    }
    const { mean, std } = meanStd(sizes)
    expect(mean).toBeGreaterThan(n * q * 0.97)
    expect(mean).toBeLessThan(n * q * 1.03)
    expect(std).toBeCloseTo(Math.sqrt(n * q * (1 - q)), 0) // binomial spread, not a fixed batch
    const rates = Array.from(hits, (h) => h / trials)
    expect(Math.min(...rates)).toBeGreaterThan(0.06)
    expect(Math.max(...rates)).toBeLessThan(0.14)
  })

  it('takes everything at q = 1', () => {
    const out = new Int32Array(5)
    expect(poissonSample(5, 1, seededRng(1), out)).toBe(5)
    expect(Array.from(out)).toEqual([0, 1, 2, 3, 4])
  })
})

describe('localUpdate', () => {
  it('returns w_local − w_base clipped to C, with the pre-clip norm', () => {
    const model = logisticRegression(F, K)
    const data = blobs(100, F, K, 2)
    const base = model.init(seededRng(1))
    const opts = { clipNorm: 0.05, noiseMultiplier: 0.5, samplingRate: 0.2, steps: 20, learningRate: 0.5, rng: seededRng(4), noise: gaussianFrom(seededRng(5)) }
    const u = localUpdate(model, base, data, opts)
    const full = dpSgd(model, base, data, { ...opts, rng: seededRng(4), noise: gaussianFrom(seededRng(5)) }).params
    const delta = full.map((v, k) => v - base[k]!)
    expect(u.norm).toBeCloseTo(l2Norm(delta), 5)
    expect(u.norm).toBeGreaterThan(0.05)
    expect(l2Norm(u.update)).toBeLessThanOrEqual(0.05)
    expect(l2Norm(u.update)).toBeGreaterThan(0.05 * (1 - 1e-5))
    // same direction as the delta
    let dot = 0
    for (let k = 0; k < delta.length; k++) dot += delta[k]! * u.update[k]!
    expect(dot / (u.norm * l2Norm(u.update))).toBeCloseTo(1, 5)
    expect(u.steps).toBe(20)
  })
})
