// End to end on real data: logistic regression on 5,000 MNIST examples reaches > 85 % on 2,000 test examples.
import { describe, expect, it } from 'vitest'
import { loadMnist } from '../../node/data/index.ts'
import { dpSgd, gaussianFrom, logisticRegression, seededRng } from '../../participant/index.ts'

describe('MNIST', () => {
  it('logistic regression trained for 3 epochs on 5,000 examples gets > 85 % test accuracy', async () => {
    const { train, test } = await loadMnist({ limitTrain: 5_000, limitTest: 2_000 })
    const model = logisticRegression(784, 10)
    const start = model.init(seededRng(1))
    expect(model.accuracy(start, test)).toBeLessThan(0.2)
    const t0 = performance.now()
    const q = 0.01 // batches of ~50
    const r = dpSgd(model, start, train, { clipNorm: Infinity, noiseMultiplier: 0, samplingRate: q, steps: 3 / q, learningRate: 0.5, rng: seededRng(2) })
    expect(performance.now() - t0).toBeLessThan(10_000)
    expect(model.accuracy(r.params, test)).toBeGreaterThan(0.85)
  }, 20_000)

  it('with DP-SGD (C = 3, σ = 1) it still learns, less well', async () => {
    const { train, test } = await loadMnist({ limitTrain: 5_000, limitTest: 2_000 })
    const model = logisticRegression(784, 10)
    const r = dpSgd(model, model.init(seededRng(1)), train, { clipNorm: 3, noiseMultiplier: 1, samplingRate: 0.02, steps: 150, learningRate: 0.5, rng: seededRng(2), noise: gaussianFrom(seededRng(3)) })
    expect(model.accuracy(r.params, test)).toBeGreaterThan(0.7)
  }, 20_000)
})
