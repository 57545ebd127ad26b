/**
 * RDP → (ε, δ) conversion and the one-call accountant against the values
 * published in Opacus', TF Privacy's and Google dp_accounting's test suites.
 * Each expected value names its source file and test.
 */
import { describe, expect, it } from 'vitest'
import { relErr, expectBadArgument } from './privacy-helpers.ts'
import { composeRdp, computeEpsilon, epsilonFromRdp, rdpCurve } from '../../ledger/privacy/index.ts'



const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k)

// orders of TF Privacy's compute_dp_sgd_privacy_lib.compute_dp_sgd_privacy
const TF_ORDERS = [1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5, ...range(5, 64), 128, 256, 512]

describe('Opacus', () => {
  it('RDPAccountant: sigma 1.5, q 0.04, 2250 steps, delta 1e-5 (opacus/tests/accountants_test.py, test_rdp_accountant)', () => {
    // assertAlmostEqual(epsilon, 7.32911117143); default alphas, improved conversion
    const { epsilon, order } = computeEpsilon({ q: 0.04, sigma: 1.5, steps: Math.trunc(90 / 0.04), delta: 1e-5 })
    expect(relErr(epsilon, 7.32911117143)).toBeLessThan(1e-10)
    expect(order).toBe(3.9)
  })

  it('heterogeneous composition, orders 2..32 (opacus/accountants/analysis/rdp.py module docstring example)', () => {
    // parameters [(1e-5, 1.0, 10), (1e-4, 3.0, 4)], delta 1e-5 -> (0.336, 23)  (doctest +NUMBER: 3 decimals)
    const orders = range(2, 33)
    const rdp = composeRdp(rdpCurve({ q: 1e-5, sigma: 1.0, steps: 10, orders }), rdpCurve({ q: 1e-4, sigma: 3.0, steps: 4, orders }))
    const { epsilon, order } = epsilonFromRdp(orders, rdp, 1e-5)
    expect(epsilon).toBeCloseTo(0.336, 3)
    expect(order).toBe(23)
  })
})

describe('TF Privacy / dp_accounting', () => {
  it('constant RDP 1.1 over orders 2..32 (rdp_accountant_test.py test_get_privacy_spent_check_target_delta; dp_accounting test_compute_epsilon_delta_pure_dp)', () => {
    // assertAlmostEqual(eps, 1.32783806176); opt_order == 32
    const orders = range(2, 33)
    const { epsilon, order } = epsilonFromRdp(
      orders,
      orders.map(() => 1.1),
      1e-5,
    )
    expect(relErr(epsilon, 1.32783806176)).toBeLessThan(1e-11)
    expect(order).toBe(32)
  })

  it('unsampled Gaussian with sigma 4.530877117 is (1, 1e-6)-DP over a fine grid of orders (same tests, second half)', () => {
    // orders = [0.001*i for i in range(1000, 100000)] (order 1.0 dropped: not > 1, and unused by the bound),
    // rdp = compute_rdp(1, 4.530877117, 1, orders); assertAlmostEqual(eps, 1)   (7 places)
    const orders = Array.from({ length: 99999 - 1001 + 1 }, (_, k) => 0.001 * (k + 1001))
    const { epsilon } = computeEpsilon({ q: 1, sigma: 4.530877117, steps: 1, delta: 1e-6, orders })
    expect(epsilon).toBeCloseTo(1, 7)
  })

  it('two composed sampled Gaussians (rdp_accountant_test.py, test_check_composition)', () => {
    // "These tests use the old RDP -> approx DP conversion": assertAlmostEqual(eps, 8.509656, places=5),
    // assertEqual(opt_order, 2.5); and with the improved conversion assertLessEqual(eps, 8.509656)
    const orders = [1.25, 1.5, 1.75, 2, 2.5, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 64, 256]
    const rdp = composeRdp(rdpCurve({ q: 1e-4, sigma: 0.4, steps: 40000, orders }), rdpCurve({ q: 0.1, sigma: 2, steps: 100, orders }))
    const classic = epsilonFromRdp(orders, rdp, 1e-5, 'classic')
    expect(classic.epsilon).toBeCloseTo(8.509656, 5)
    expect(classic.order).toBe(2.5)
    expect(epsilonFromRdp(orders, rdp, 1e-5).epsilon).toBeLessThanOrEqual(8.509656)
  })

  // TF Privacy tensorflow_privacy/privacy/analysis/compute_dp_sgd_privacy_test.py, test_compute_dp_sgd_privacy:
  // (n, batch_size, noise_multiplier, epochs, delta, expected_eps, expected_order); q = batch/n,
  // steps = ceil(epochs * n / batch), orders TF_ORDERS. Current revision (dp_accounting, improved
  // conversion): 0.7242234026109595, 1.4154988495444845 (another revision ...842), 5907982.31138195
  // (another revision 5907982.3113978775). The revision before dp_accounting (rdp_accountant's
  // get_privacy_spent, classic conversion): 0.941870567, 1.70928734, 5907984.81339406.
  const dpSgd: [n: number, batch: number, sigma: number, epochs: number, delta: number, improved: number, classic: number, order: number][] = [
    [60000, 150, 1.3, 15, 1e-5, 0.7242234026109595, 0.941870567, 19],
    [100000, 100, 1.0, 30, 1e-7, 1.4154988495444845, 1.70928734, 13],
    [100000000, 1024, 0.1, 10, 1e-7, 5907982.31138195, 5907984.81339406, 1.25],
  ]
  it.each(dpSgd)('compute_dp_sgd_privacy(n=%s, batch=%s, sigma=%s, epochs=%s, delta=%s)', (n, batch, sigma, epochs, delta, improved, classic, order) => {
    const params = { q: batch / n, sigma, steps: Math.ceil((epochs * n) / batch), delta, orders: TF_ORDERS }
    const a = computeEpsilon(params)
    expect(relErr(a.epsilon, improved)).toBeLessThan(1e-12)
    expect(a.order).toBe(order)
    const b = computeEpsilon({ ...params, conversion: 'classic' })
    expect(relErr(b.epsilon, classic)).toBeLessThan(1e-8) // the classic values were printed with 9 digits
    expect(b.order).toBe(order)
  })

  it('q = 0 (with sigma 1 or 0) gives epsilon 0 (dp_accounting rdp_privacy_accountant_test.py, test_zero_poisson_sample)', () => {
    // orders [3.14159], get_epsilon(1e-10) == 0
    expect(computeEpsilon({ q: 0, sigma: 1, steps: 1, delta: 1e-10, orders: [3.14159] }).epsilon).toBe(0)
    expect(computeEpsilon({ q: 0, sigma: 0, steps: 1, delta: 1e-10, orders: [3.14159] }).epsilon).toBe(0)
  })

  it('sigma 0 gives epsilon Infinity (dp_accounting rdp_privacy_accountant_test.py, test_epsilon_non_private_gaussian)', () => {
    // GaussianDpEvent(0), orders [3.14159]: get_epsilon(1e-1) == inf
    expect(computeEpsilon({ q: 1, sigma: 0, steps: 1, delta: 0.1, orders: [3.14159] })).toEqual({ epsilon: Infinity, order: 3.14159 })
  })
})

describe('conversion formulas', () => {
  it('classic: eps = rdp - log(delta)/(alpha-1); improved: rdp + log1p(-1/alpha) - (log(delta) + log(alpha))/(alpha-1)', () => {
    const r = 0.7
    const a = 7.5
    const d = 1e-6
    expect(epsilonFromRdp([a], [r], d, 'classic').epsilon).toBe(r - Math.log(d) / (a - 1))
    expect(epsilonFromRdp([a], [r], d, 'improved').epsilon).toBe(r + Math.log1p(-1 / a) - (Math.log(d) + Math.log(a)) / (a - 1))
  })

  it('returns the best order, the first one on ties, and Infinity with the first order when nothing is finite', () => {
    expect(epsilonFromRdp([2, 3, 4], [5, 0.5, 9], 1e-5, 'classic').order).toBe(3)
    expect(epsilonFromRdp([2, 2], [1, 1], 1e-5).order).toBe(2)
    expect(epsilonFromRdp([2, 3], [Infinity, Infinity], 1e-5)).toEqual({ epsilon: Infinity, order: 2 })
  })

  it('at order Infinity the bound is the RDP value itself', () => {
    expect(epsilonFromRdp([Infinity], [0.25], 1e-5)).toEqual({ epsilon: 0.25, order: Infinity })
    expect(epsilonFromRdp([Infinity], [0.25], 1e-5, 'classic')).toEqual({ epsilon: 0.25, order: Infinity })
  })

  it('never reports a negative epsilon', () => {
    // improved bound at alpha 2, rdp 0.3, delta 0.5: 0.3 + log(1/2) - 0 < 0
    expect(0.3 + Math.log1p(-1 / 2) - (Math.log(0.5) + Math.log(2)) / 1).toBeLessThan(0)
    expect(epsilonFromRdp([2], [0.3], 0.5)).toEqual({ epsilon: 0, order: 2 })
  })

  it('improved: an RDP below the KL threshold (delta^2 + expm1(-rdp) > 0) gives epsilon 0, as dp_accounting compute_epsilon', () => {
    expect(epsilonFromRdp([64], [1e-3], 0.5).epsilon).toBe(0)
    expect(epsilonFromRdp([64], [1e-3], 0.5, 'classic').epsilon).toBeGreaterThan(0)
  })
})

describe('bad input', () => {
  it.each([
    [() => epsilonFromRdp([2, 3], [0.1], 1e-5), /1 values but there are 2 orders/],
    [() => epsilonFromRdp([2], [-0.1], 1e-5), /rdp\[0\] must be a Rényi divergence >= 0/],
    [() => epsilonFromRdp([2], [Number.NaN], 1e-5), /rdp\[0\]/],
    [() => epsilonFromRdp([1], [0.1], 1e-5), /orders\[0\] must be a Rényi order > 1/],
    [() => epsilonFromRdp([2], [0.1], 0), /delta must be a number in \(0, 1\)/],
    [() => epsilonFromRdp([2], [0.1], 1), /delta must be a number in \(0, 1\)/],
    [() => epsilonFromRdp([2], [0.1], Number.NaN), /delta/],
    [() => epsilonFromRdp([2], [0.1], 1e-5, 'tight' as never), /conversion must be 'improved' or 'classic'/],
    [() => computeEpsilon({ q: 0.1, sigma: 1, steps: 10, delta: 2 }), /delta must be a number in \(0, 1\)/],
    [() => computeEpsilon({ q: 2, sigma: 1, steps: 10, delta: 1e-5 }), /q \(sampling rate\)/],
  ])('case %#', (fn, pattern) => {
    expectBadArgument(fn, pattern)
  })
})
