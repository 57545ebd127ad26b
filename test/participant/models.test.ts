// Models: analytic gradients against finite differences, the factored per-example path against the dense one, shapes and errors.
import { describe, expect, it } from 'vitest'
import { denseExampleGradient, logisticRegression, mlp, seededRng, type Model } from '../../participant/index.ts'
import { blobs, codeOf } from './helpers.ts'

const F = 6
const K = 4

function randomParams(model: Model, seed: number, scale: number): Float32Array {
  const rng = seededRng(seed, 'params')
  const p = new Float32Array(model.dimension)
  for (let i = 0; i < p.length; i++) p[i] = scale * (2 * rng.next() - 1)
  return p
}

/** Central differences of the loss of example i, taking the float32-rounded step actually made. */
function numericGradient(model: Model, params: Float32Array, x: Float32Array, offset: number, y: number): Float64Array {
  const g = new Float64Array(model.dimension)
  const scratch = new Float64Array(model.dimension)
  const p = params.slice()
  for (let k = 0; k < p.length; k++) {
    const orig = p[k]!
    p[k] = orig + 1e-2
    const up = p[k]!
    const lu = model.lossAndGradient(p, x, offset, y, scratch)
    p[k] = orig - 1e-2
    const down = p[k]!
    const ld = model.lossAndGradient(p, x, offset, y, scratch)
    p[k] = orig
    g[k] = (lu - ld) / (up - down)
  }
  return g
}

describe.each([
  ['logistic regression', () => logisticRegression(F, K), (F + 1) * K],
  ['mlp', () => mlp(F, 5, K), F * 5 + 5 + 5 * K + K],
])('%s', (_name, make, dimension) => {
  const data = blobs(12, F, K, 1)

  it('has the documented dimension', () => {
    expect(make().dimension).toBe(dimension)
  })

  it('matches finite differences on every parameter', () => {
    const model = make()
    const params = randomParams(model, 2, 0.8)
    const grad = new Float64Array(model.dimension)
    for (let i = 0; i < 4; i++) {
      model.lossAndGradient(params, data.x, i * F, data.y[i]!, grad)
      const num = numericGradient(model, params, data.x, i * F, data.y[i]!)
      let nonzero = 0
      for (let k = 0; k < grad.length; k++) {
        expect(Math.abs(grad[k]! - num[k]!)).toBeLessThan(2e-3 * Math.max(1, Math.abs(num[k]!)))
        if (grad[k] !== 0) nonzero++
      }
      expect(nonzero).toBeGreaterThan(model.dimension / 3) // not a trivially zero gradient
    }
  })

  it('factored per-example norm and add agree with the dense gradient', () => {
    const model = make()
    const params = randomParams(model, 3, 0.5)
    const ws = model.workspace()
    const dense = denseExampleGradient(model)
    for (let i = 0; i < data.n; i++) {
      const l1 = ws.compute(params, data.x, i * F, data.y[i]!)
      const l2 = dense.compute(params, data.x, i * F, data.y[i]!)
      expect(l1).toBeCloseTo(l2, 12)
      expect(ws.normSquared()).toBeCloseTo(dense.normSquared(), 9)
      const a = new Float64Array(model.dimension).fill(0.25)
      const b = a.slice()
      ws.addTo(a, -0.7)
      dense.addTo(b, -0.7)
      for (let k = 0; k < a.length; k++) expect(a[k]).toBeCloseTo(b[k]!, 12)
    }
  })

  it('predicts the argmax class and measures accuracy and loss', () => {
    const model = make()
    const params = model.init(seededRng(4))
    let correct = 0
    for (let i = 0; i < data.n; i++) if (model.predict(params, data.x, i * F) === data.y[i]) correct++
    expect(model.accuracy(params, data)).toBeCloseTo(correct / data.n, 12)
    expect(model.loss(params, data)).toBeGreaterThan(0)
  })

  it('initialises deterministically from the rng', () => {
    const model = make()
    expect(Array.from(model.init(seededRng(9)))).toEqual(Array.from(model.init(seededRng(9))))
  })

  it('refuses parameters of the wrong length and datasets of another width', () => {
    const model = make()
    expect(codeOf(() => model.predict(new Float32Array(model.dimension - 1), data.x))).toBe('WRONG_LENGTH')
    expect(codeOf(() => model.accuracy(model.init(seededRng(1)), blobs(3, F + 1, K, 2)))).toBe('BAD_DATASET')
    expect(codeOf(() => model.lossAndGradient(model.init(seededRng(1)), data.x, 0, K, new Float64Array(model.dimension)))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => model.predict(model.init(seededRng(1)), data.x, data.x.length - 2))).toBe('BAD_ARGUMENT')
  })
})

describe('mlp initialisation', () => {
  it('is random (He-normal), not zeros, and differs across seeds', () => {
    const m = mlp(20, 8, 3)
    const a = m.init(seededRng(1))
    const b = m.init(seededRng(2))
    expect(a.some((v) => v !== 0)).toBe(true)
    expect(Array.from(a)).not.toEqual(Array.from(b))
  })
})
