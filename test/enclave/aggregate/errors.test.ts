// Bad input to every aggregation rule raises an AggregationError with the right code.
import { describe, expect, it } from 'vitest'
import { AggregationError, isAggregationError, krum, multiKrum, type Update } from '../../../enclave/aggregate/index.ts'
import { expectCode, f64 } from './helpers.ts'

const five = [f64(0, 0), f64(1, 0), f64(0, 1), f64(1, 1), f64(5, 5)]
const rules: Record<string, (u: readonly Update[]) => unknown> = {
  multiKrum: (u) => multiKrum(u, { f: 0, m: 1 }),
  krum: (u) => krum(u, { f: 0 }),
}

describe('AggregationError codes', () => {
  for (const [name, rule] of Object.entries(rules)) {
    it(`${name}: empty, malformed, ragged and non-finite input`, () => {
      expectCode(() => rule([]), 'EMPTY')
      expectCode(() => rule([new Float64Array(0), new Float64Array(0), new Float64Array(0)]), 'EMPTY')
      expectCode(() => rule('nope' as unknown as Update[]), 'BAD_INPUT')
      expectCode(() => rule([f64(1), [2] as unknown as Update, f64(3)]), 'BAD_INPUT')
      expectCode(() => rule([f64(1), Int32Array.of(2) as unknown as Update, f64(3)]), 'BAD_INPUT')
      expectCode(() => rule([f64(1, 2), f64(1, 2), f64(1)]), 'LENGTH_MISMATCH')
      expectCode(() => rule([f64(1, 2), f64(1, NaN), f64(0, 0)]), 'NOT_FINITE')
      expectCode(() => rule([f64(1, 2), Float32Array.of(Infinity, 0), f64(0, 0)]), 'NOT_FINITE')
      expectCode(() => rule([f64(1, 2), f64(0, 0), f64(-Infinity, 0)]), 'NOT_FINITE')
    })
  }

  it('multiKrum/krum: f must be an integer ≥ 0 with n > 2f + 2; m in 1..n − f', () => {
    for (const f of [-1, 0.5, NaN, '1', undefined]) expectCode(() => multiKrum(five, { f, m: 1 } as never), 'BAD_PARAMS')
    expectCode(() => krum(five, { f: -1 }), 'BAD_PARAMS')
    expectCode(() => multiKrum(five, null as never), 'BAD_PARAMS')
    expectCode(() => krum(five, undefined as never), 'BAD_PARAMS')
    // n = 5: f = 1 is the largest allowed (5 > 4); f = 2 needs n > 6
    expect(multiKrum(five, { f: 1, m: 4 }).selected).toHaveLength(4)
    expectCode(() => multiKrum(five, { f: 2, m: 1 }), 'TOO_FEW')
    expectCode(() => krum(five, { f: 2 }), 'TOO_FEW')
    expectCode(() => krum([f64(1), f64(2)], { f: 0 }), 'TOO_FEW') // n = 2 ≤ 2
    expect(krum([f64(0), f64(2), f64(3)], { f: 0 }).selected).toEqual([1]) // n = 3 > 2; scores 4, 1, 1
    expectCode(() => multiKrum(five, { f: 1, m: 5 }), 'BAD_PARAMS') // m > n − f
    expectCode(() => multiKrum(five, { f: 1, m: 0 }), 'BAD_PARAMS')
    expectCode(() => multiKrum(five, { f: 1, m: 2.5 }), 'BAD_PARAMS')
    expect(multiKrum(five, { f: 0, m: 5 }).selected).toEqual([0, 1, 2, 3, 4]) // f = 0, m = n
  })

  it('errors are AggregationError instances with a name and a message for people', () => {
    try {
      multiKrum([f64(1), f64(1, 2)], { f: 0, m: 1 })
      expect.fail('no error')
    } catch (e) {
      expect(isAggregationError(e)).toBe(true)
      expect(e).toBeInstanceOf(AggregationError)
      expect((e as Error).name).toBe('AggregationError')
      expect((e as Error).message).toMatch(/update 1 has 2 coordinates, update 0 has 1/)
    }
    expect(isAggregationError(new Error('x'))).toBe(false)
  })
})
