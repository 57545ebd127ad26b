// Byzantine attacks do what they say: sign flip, scaling, Gaussian noise, label flip, "a little is enough".
import { describe, expect, it } from 'vitest'
import { l2Norm } from '../../enclave/index.ts'
import { gaussianFrom, labelFlip, littleIsEnough, littleIsEnoughZ, poison, seededRng } from '../../participant/index.ts'
import { blobs, codeOf, meanStd } from './helpers.ts'

const update = Float32Array.from({ length: 2_000 }, (_, i) => Math.sin(i) * 0.01)

describe('poison', () => {
  it('sign-flip negates the update', () => {
    const out = poison(update, 'sign-flip')
    for (let i = 0; i < update.length; i++) expect(out[i]).toBe(-update[i]!)
    expect(update[1]).toBeGreaterThan(0) // the input is untouched
  })

  it('scale multiplies by k (10 by default)', () => {
    const ten = poison(update, 'scale')
    const three = poison(update, 'scale', { factor: 3 })
    for (let i = 0; i < update.length; i++) {
      expect(ten[i]).toBeCloseTo(10 * update[i]!, 7)
      expect(three[i]).toBeCloseTo(3 * update[i]!, 7)
    }
  })

  it('gaussian replaces the update with N(0, std²) noise, by default of about the update’s norm', () => {
    const out = poison(update, 'gaussian', { std: 0.5, noise: gaussianFrom(seededRng(1)) })
    const { mean, std } = meanStd(out)
    expect(std).toBeGreaterThan(0.47)
    expect(std).toBeLessThan(0.53)
    expect(Math.abs(mean)).toBeLessThan(0.05)
    const matched = poison(update, 'gaussian', { noise: gaussianFrom(seededRng(2)) })
    expect(l2Norm(matched) / l2Norm(update)).toBeGreaterThan(0.9)
    expect(l2Norm(matched) / l2Norm(update)).toBeLessThan(1.1)
    // independent of the update's direction
    let dot = 0
    for (let i = 0; i < update.length; i++) dot += matched[i]! * update[i]!
    expect(Math.abs(dot) / (l2Norm(matched) * l2Norm(update))).toBeLessThan(0.1)
  })

  it('refuses unknown kinds and bad factors', () => {
    expect(codeOf(() => poison(update, 'boost' as never))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => poison(update, 'scale', { factor: -1 }))).toBe('BAD_ARGUMENT')
  })
})

describe('labelFlip', () => {
  it('maps y to classes − 1 − y and leaves the features and the input alone', () => {
    const ds = blobs(50, 4, 10, 1)
    const before = Array.from(ds.y)
    const flipped = labelFlip(ds)
    expect(Array.from(flipped.y)).toEqual(before.map((y) => 9 - y))
    expect(Array.from(ds.y)).toEqual(before)
    expect(flipped.x).toBe(ds.x)
    expect(flipped.n).toBe(50)
  })
})

describe('littleIsEnough', () => {
  it('sends mean − z·std per coordinate of the honest updates', () => {
    const honest = [new Float32Array([1, 0, -2]), new Float32Array([3, 0, 2]), new Float32Array([2, 0, 0])]
    // means 2, 0, 0; population stds √(2/3), 0, √(8/3)
    const out = littleIsEnough(honest, 1.5)
    expect(out[0]).toBeCloseTo(2 - 1.5 * Math.sqrt(2 / 3), 6)
    expect(out[1]).toBe(0)
    expect(out[2]).toBeCloseTo(-1.5 * Math.sqrt(8 / 3), 6)
  })

  it('z_max follows Baruch et al.: n = 50, f = 12 gives Φ⁻¹(0.72); n = 10 gives 0 and Φ⁻¹(0.6)', () => {
    expect(littleIsEnoughZ(50, 12)).toBeCloseTo(0.5828, 3)
    expect(littleIsEnoughZ(10, 1)).toBeCloseTo(0, 9)
    expect(littleIsEnoughZ(10, 2)).toBeCloseTo(0.2533, 3)
  })

  it('refuses empty or ragged inputs', () => {
    expect(codeOf(() => littleIsEnough([], 1))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => littleIsEnough([new Float32Array(2), new Float32Array(3)], 1))).toBe('WRONG_LENGTH')
  })
})
