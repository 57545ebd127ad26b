/**
 * RDP of the Poisson-subsampled Gaussian mechanism against the values
 * published in TF Privacy's, Google dp_accounting's and Opacus' test suites.
 * Each expected value names its source file and test.
 */
import { describe, expect, it } from 'vitest'
import { relErr, expectBadArgument } from './privacy-helpers.ts'
import { DEFAULT_ORDERS, MAX_FINITE_ORDER, composeRdp, rdpCurve, sampledGaussianRdp } from '../../ledger/privacy/index.ts'



describe('DEFAULT_ORDERS', () => {
  it("is Opacus' RDPAccountant.DEFAULT_ALPHAS: [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))", () => {
    // opacus/accountants/rdp.py, RDPAccountant.DEFAULT_ALPHAS
    const expected: number[] = []
    for (let x = 1; x < 100; x++) expected.push(1 + x / 10.0)
    for (let a = 12; a < 64; a++) expected.push(a)
    expect(DEFAULT_ORDERS).toEqual(expected)
    expect(DEFAULT_ORDERS.length).toBe(151)
    expect(DEFAULT_ORDERS[0]).toBe(1.1)
    expect(DEFAULT_ORDERS[98]).toBe(10.9)
    expect(DEFAULT_ORDERS[99]).toBe(12)
    expect(DEFAULT_ORDERS[150]).toBe(63)
    expect(Object.isFrozen(DEFAULT_ORDERS)).toBe(true)
  })
})

describe('special cases (as Opacus / TF Privacy / dp_accounting)', () => {
  it('q = 0 gives 0 (TF Privacy rdp_accountant_test.py, test_compute_rdp_no_data)', () => {
    // compute_rdp(0, 10, 1, 20) == 0
    expect(rdpCurve({ q: 0, sigma: 10, steps: 1, orders: [20] })[0]).toBe(0)
  })

  it('q = 1 gives alpha / (2 sigma^2) (TF Privacy rdp_accountant_test.py, test_compute_rdp_no_sampling)', () => {
    // compute_rdp(1, 10, 1, 20) == 0.1, compared with assertEqual
    expect(rdpCurve({ q: 1, sigma: 10, steps: 1, orders: [20] })[0]).toBe(0.1)
  })

  it('q = 1 at a fractional order (dp_accounting rdp_privacy_accountant_test.py, test_compute_rdp_gaussian)', () => {
    // alpha = 3.14159, sigma = 2.71828: rdp == alpha / (2 * sigma**2)
    expect(sampledGaussianRdp(1, 2.71828, 3.14159)).toBeCloseTo(3.14159 / (2 * 2.71828 ** 2), 15)
  })

  it('heterogeneous composition q = 0 then q = 1 (TF Privacy rdp_accountant_test.py, test_compute_heterogeneous_rdp_different_sampling_probabilities)', () => {
    // compute_heterogenous_rdp([0, 1], [10, 10], [1, 1], 20) == 0.1
    const a = rdpCurve({ q: 0, sigma: 10, steps: 1, orders: [20] })
    const b = rdpCurve({ q: 1, sigma: 10, steps: 1, orders: [20] })
    expect(composeRdp(a, b)[0]).toBe(0.1)
  })

  it('sigma = 0 is infinite unless q = 0; order Infinity is infinite unless q = 0', () => {
    // opacus/accountants/analysis/rdp.py _compute_rdp: q == 0 -> 0; sigma == 0 -> inf; isinf(alpha) -> inf
    expect(rdpCurve({ q: 0.5, sigma: 0, steps: 3, orders: [2, 2.5] })).toEqual(new Float64Array([Infinity, Infinity]))
    expect(rdpCurve({ q: 1, sigma: 0, steps: 1, orders: [2] })[0]).toBe(Infinity)
    expect(rdpCurve({ q: 0, sigma: 0, steps: 1, orders: [2] })[0]).toBe(0)
    expect(rdpCurve({ q: 0.1, sigma: 1, steps: 1, orders: [Infinity] })[0]).toBe(Infinity)
    expect(rdpCurve({ q: 1, sigma: 1, steps: 1, orders: [Infinity] })[0]).toBe(Infinity)
    expect(rdpCurve({ q: 0, sigma: 1, steps: 1, orders: [Infinity] })[0]).toBe(0)
  })

  it('steps = 0 gives a curve of zeros, even where one step is infinite', () => {
    expect(rdpCurve({ q: 0.5, sigma: 0, steps: 0, orders: [2, Infinity] })).toEqual(new Float64Array([0, 0]))
  })
})

describe('published RDP values', () => {
  it('q = 0.1, sigma = 2, 10 steps, order 5 (TF Privacy rdp_accountant_test.py, test_compute_rdp_scalar)', () => {
    // assertAlmostEqual(rdp_scalar, 0.07737, places=5)
    expect(rdpCurve({ q: 0.1, sigma: 2, steps: 10, orders: [5] })[0]).toBeCloseTo(0.07737, 5)
  })

  const orders = [1.5, 2.5, 5, 50, 100, Infinity]
  const rdp = rdpCurve({ q: 0.01, sigma: 2.5, steps: 50, orders })

  it('q = 0.01, sigma = 2.5, 50 steps (TF Privacy rdp_accountant_test.py, test_compute_rdp_sequence)', () => {
    // assertAllClose(rdp_vec, [6.5007e-04, 1.0854e-03, 2.1808e-03, 2.3846e-02, 1.6742e+02, np.inf], rtol=1e-4)
    const expected = [6.5007e-4, 1.0854e-3, 2.1808e-3, 2.3846e-2, 1.6742e2]
    expected.forEach((v, k) => expect(relErr(rdp[k]!, v)).toBeLessThan(1e-4))
    expect(rdp[5]).toBe(Infinity)
    // the older revision of the same test: [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307, inf], delta=1e-5
    expect(Math.abs(rdp[4]! - 167.416307)).toBeLessThan(1e-5)
  })

  it('the integer orders of the same setting to 9 digits (dp_accounting rdp_privacy_accountant_test.py, test_compute_rdp_poisson_sampled_gaussian)', () => {
    // [6.70579741e-04, 1.08548710e-03, 2.18075656e-03, 2.38460375e-02, 1.67416308e02, np.inf]
    // integer orders use the finite binomial sum in every library: agree to the 9 printed digits
    expect(relErr(rdp[2]!, 2.18075656e-3)).toBeLessThan(5e-9)
    expect(relErr(rdp[3]!, 2.38460375e-2)).toBeLessThan(5e-9)
    expect(relErr(rdp[4]!, 1.67416308e2)).toBeLessThan(5e-9)
    // current dp_accounting adds the fractional-order series terms by absolute value (an upper
    // bound); TF Privacy and Opacus, which we follow, subtract the negative ones: ours is below
    expect(rdp[0]).toBeLessThan(6.70579741e-4)
    expect(rdp[1]).toBeLessThan(1.0854871e-3)
    expect(relErr(rdp[1]!, 1.0854871e-3)).toBeLessThan(1e-4)
  })

  // log A_alpha = rdp * (alpha - 1) for one step, against mpmath quadrature of
  // E_{z~N(0,s^2)}[((1-q) + q exp((2z-1)/(2s^2)))^alpha] at 60 digits, computed by us for the
  // parameter list of TF Privacy rdp_accountant_test.py / dp_accounting
  // rdp_privacy_accountant_test.py, test_compute_log_a_equals_mp (which uses rtol=1e-4, atol=1e-8).
  const mpCases: [q: number, sigma: number, order: number, logA: number][] = [
    [1e-7, 0.1, 1.01, 4.003412322526398584776733e-8],
    [1e-6, 0.1, 256, 3260463.229297160783440969],
    [1e-5, 0.1, 256.1, 3263607.039788421342767393],
    [1e-6, 1, 27, 8.769511304848497880255207e-10],
    [1e-4, 1, 1.5, 6.44268695383664972549861e-9],
    [1e-3, 1, 2, 0.000001718280352214515369809429],
    [0.01, 10, 20, 0.000191296999128429626374556],
    [0.1, 100, 20.5, 0.0001999181845806829614028835],
    [0.99, 0.1, 256, 3263997.427114021141251965],
    [0.999, 100, 256.1, 3.260108037973112688891843],
  ]
  it.each(mpCases)('log A for q=%s sigma=%s order=%s matches multi-precision quadrature', (q, sigma, order, logA) => {
    const ours = sampledGaussianRdp(q, sigma, order) * (order - 1)
    expect(Math.abs(ours - logA)).toBeLessThanOrEqual(1e-8 + 1e-4 * Math.abs(logA))
    // tighter where the value is not tiny (the e^-30 stopping rule bounds tiny ones)
    if (logA > 1e-6) expect(relErr(ours, logA)).toBeLessThan(1e-11)
  })
})

describe('composition', () => {
  it('adds curves element-wise and refuses mismatched lengths', () => {
    const a = rdpCurve({ q: 0.01, sigma: 1, steps: 10, orders: [2, 3.5] })
    const b = rdpCurve({ q: 0.02, sigma: 2, steps: 5, orders: [2, 3.5] })
    const c = composeRdp(a, b)
    expect(Array.from(c)).toEqual([a[0]! + b[0]!, a[1]! + b[1]!])
    expect(composeRdp(a)).not.toBe(a)
    expectBadArgument(() => composeRdp(a, new Float64Array(3)), /3 values but there are 2 orders/)
    expectBadArgument(() => composeRdp(a, [0, Number.NaN]), /rdp\[1\]\[1\]/)
  })
})

describe('bad input', () => {
  const ok = { q: 0.01, sigma: 1, steps: 10, orders: [2, 3] }
  it.each([
    [{ ...ok, q: -0.1 }, /q \(sampling rate\) must be a number in \[0, 1\]/],
    [{ ...ok, q: 1.5 }, /q \(sampling rate\)/],
    [{ ...ok, q: Number.NaN }, /q \(sampling rate\)/],
    [{ ...ok, sigma: -1 }, /sigma \(noise multiplier\) must be a finite number >= 0/],
    [{ ...ok, sigma: Number.NaN }, /sigma/],
    [{ ...ok, sigma: Infinity }, /sigma/],
    [{ ...ok, steps: 1.5 }, /steps must be a non-negative integer/],
    [{ ...ok, steps: -1 }, /steps must be a non-negative integer/],
    [{ ...ok, orders: [] }, /non-empty array/],
    [{ ...ok, orders: [2, 1] }, /orders\[1\] must be a Rényi order > 1, got 1/],
    [{ ...ok, orders: [0.5] }, /orders\[0\]/],
    [{ ...ok, orders: [Number.NaN] }, /orders\[0\]/],
    [{ ...ok, orders: [-Infinity] }, /orders\[0\]/],
    [{ ...ok, orders: [MAX_FINITE_ORDER + 1] }, /at most 10000 or Infinity/],
  ])('rdpCurve(%o) throws BAD_ARGUMENT', (params, pattern) => {
    expectBadArgument(() => rdpCurve(params), pattern)
  })

  it('sampledGaussianRdp checks its order', () => {
    expectBadArgument(() => sampledGaussianRdp(0.1, 1, 1), /order\[0\] must be a Rényi order > 1/)
  })
})
