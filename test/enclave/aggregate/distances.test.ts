// Pairwise squared distances: hand values, the canonical two-lane summation
// order, WASM SIMD ≡ scalar JS bit for bit, exactness where the Gram trick fails.
import { describe, expect, it } from 'vitest'
import { pairwiseSquaredDistances, type Update } from '../../../enclave/aggregate/index.ts'
import { expectBitIdentical, expectCode, f64, gaussian, prng } from './helpers.ts'

describe('pairwiseSquaredDistances', () => {
  it('matches hand-computed squared distances, symmetric with a zero diagonal', () => {
    // (0,0), (3,4), (−1,1): 9+16 = 25, 1+1 = 2, 16+9 = 25
    const D = pairwiseSquaredDistances([f64(0, 0), f64(3, 4), Float32Array.of(-1, 1)])
    expect(Array.from(D)).toEqual([0, 25, 2, 25, 0, 25, 2, 25, 0])
  })

  it('follows the canonical order (even and odd coordinates summed apart, then added), across block boundaries', () => {
    const rand = prng(7)
    const d = 2501 // odd, and not a multiple of any block size
    const updates: Update[] = Array.from({ length: 11 }, (_, i) => {
      const v = Array.from({ length: d }, () => gaussian(rand) * (i + 1) * 1e-3)
      return i % 2 === 0 ? Float32Array.from(v) : Float64Array.from(v)
    })
    const n = updates.length
    const canonical = new Float64Array(n * n)
    const sequential = new Float64Array(n * n)
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const a = updates[i] as Update
        const b = updates[j] as Update
        let s0 = 0
        let s1 = 0
        let s = 0
        for (let k = 0; k < d; k++) {
          const t = ((a[k] as number) - (b[k] as number)) ** 2
          if (k % 2 === 0) s0 += t
          else s1 += t
          s += t
        }
        canonical[i * n + j] = s0 + s1
        sequential[i * n + j] = s
      }
    }
    // the order is observable: some entries differ in the last bits from one sequential sum
    expect(canonical.some((x, k) => x !== sequential[k])).toBe(true)
    expectBitIdentical(pairwiseSquaredDistances(updates), canonical)
    expectBitIdentical(pairwiseSquaredDistances(updates, 'js'), canonical)
  })

  it('WASM SIMD and scalar JS kernels agree bit for bit on random inputs of every shape', () => {
    const rand = prng(99)
    // odd lengths, lengths around SIMD width and block sizes, n around the kernel's group of 8
    const shapes: Array<[number, number]> = [[2, 1], [3, 2], [3, 3], [5, 7], [8, 9], [9, 31], [10, 4097], [17, 1025], [24, 6001], [33, 65], [120, 5]]
    for (const [n, d] of shapes) {
      const scale = 10 ** Math.floor(rand() * 12 - 6)
      const updates: Update[] = Array.from({ length: n }, () => {
        const v = Array.from({ length: d }, () => gaussian(rand) * scale)
        return rand() < 0.5 ? Float32Array.from(v) : Float64Array.from(v)
      })
      const js = pairwiseSquaredDistances(updates, 'js')
      expect(js.some((x) => x > 0)).toBe(true)
      expectBitIdentical(pairwiseSquaredDistances(updates, 'wasm'), js)
    }
  })

  it('stays exact for close vectors far from the origin, where ‖a‖² + ‖b‖² − 2a·b cancels', () => {
    const a = f64(1e8, 1e8, 3)
    const b = f64(1e8 + 1, 1e8, 3)
    const gram = (1e8 ** 2 * 2 + 9) + ((1e8 + 1) ** 2 + 1e8 ** 2 + 9) - 2 * ((1e8 + 1) * 1e8 + 1e8 * 1e8 + 9)
    expect(gram).not.toBe(1) // the Gram identity loses the answer in float64
    expect(pairwiseSquaredDistances([a, b])[1]).toBe(1)
  })

  it('gives +Infinity, not NaN, when a finite distance overflows float64 (both kernels)', () => {
    for (const kernel of ['wasm', 'js'] as const) {
      const D = pairwiseSquaredDistances([f64(1e300, 1), f64(-1e300, 1), f64(0, 1.7e308), f64(0, -1.7e308)], kernel)
      expect(D[1]).toBe(Infinity) // even lane overflows
      expect(D[2]).toBe(Infinity)
      expect(D[2 * 4 + 3]).toBe(Infinity) // odd lane: the difference itself overflows
      expect(D[0 * 4 + 0]).toBe(0)
      expect(D.some(Number.isNaN)).toBe(false)
    }
  })

  it('handles one update (a 1×1 zero matrix) and identical updates (all zeros)', () => {
    expect(Array.from(pairwiseSquaredDistances([f64(1, 2, 3)]))).toEqual([0])
    const same = Array.from({ length: 10 }, () => Float32Array.of(0.5, -2, 3))
    expect(pairwiseSquaredDistances(same).every((x) => Object.is(x, 0))).toBe(true)
  })

  it('rejects bad input with a code', () => {
    expectCode(() => pairwiseSquaredDistances([]), 'EMPTY')
    expectCode(() => pairwiseSquaredDistances([f64(1), f64(1, 2)]), 'LENGTH_MISMATCH')
    expectCode(() => pairwiseSquaredDistances([f64(1), f64(NaN)]), 'NOT_FINITE')
  })
})
