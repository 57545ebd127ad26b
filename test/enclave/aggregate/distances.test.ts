// Pairwise squared distances: hand values, bit-identity with the plain
// sequential loop across block boundaries, exactness where the Gram trick fails.
import { describe, expect, it } from 'vitest'
import { pairwiseSquaredDistances, type Update } from '../../../enclave/aggregate/index.ts'
import { expectBitIdentical, expectCode, f64, gaussian, prng } from './helpers.ts'

describe('pairwiseSquaredDistances', () => {
  it('matches hand-computed squared distances, symmetric with a zero diagonal', () => {
    // (0,0), (3,4), (−1,1): 9+16 = 25, 1+1 = 2, 16+9 = 25
    const D = pairwiseSquaredDistances([f64(0, 0), f64(3, 4), Float32Array.of(-1, 1)])
    expect(Array.from(D)).toEqual([0, 25, 2, 25, 0, 25, 2, 25, 0])
  })

  it('is bit-identical to the plain per-pair sequential float64 loop, across block boundaries', () => {
    const rand = prng(7)
    const d = 2500 // not a multiple of the block size
    const updates: Update[] = Array.from({ length: 6 }, (_, i) => {
      const v = Array.from({ length: d }, () => gaussian(rand) * (i + 1) * 1e-3)
      return i % 2 === 0 ? Float32Array.from(v) : Float64Array.from(v)
    })
    const n = updates.length
    const naive = new Float64Array(n * n)
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0
        const a = updates[i] as Update
        const b = updates[j] as Update
        for (let k = 0; k < d; k++) s += ((a[k] as number) - (b[k] as number)) ** 2
        naive[i * n + j] = s
      }
    }
    expectBitIdentical(pairwiseSquaredDistances(updates), naive)
  })

  it('stays exact for close vectors far from the origin, where ‖a‖² + ‖b‖² − 2a·b cancels', () => {
    const a = f64(1e8, 1e8, 3)
    const b = f64(1e8 + 1, 1e8, 3)
    const gram = (1e8 ** 2 * 2 + 9) + ((1e8 + 1) ** 2 + 1e8 ** 2 + 9) - 2 * ((1e8 + 1) * 1e8 + 1e8 * 1e8 + 9)
    expect(gram).not.toBe(1) // the Gram identity loses the answer in float64
    expect(pairwiseSquaredDistances([a, b])[1]).toBe(1)
  })

  it('gives +Infinity, not NaN, when a finite distance overflows float64', () => {
    const D = pairwiseSquaredDistances([f64(1e300), f64(-1e300), f64(0)])
    expect(D[1]).toBe(Infinity)
    expect(D[2]).toBe(Infinity)
    expect(D.some(Number.isNaN)).toBe(false)
  })

  it('rejects bad input with a code', () => {
    expectCode(() => pairwiseSquaredDistances([]), 'EMPTY')
    expectCode(() => pairwiseSquaredDistances([f64(1), f64(1, 2)]), 'LENGTH_MISMATCH')
    expectCode(() => pairwiseSquaredDistances([f64(1), f64(NaN)]), 'NOT_FINITE')
  })
})
