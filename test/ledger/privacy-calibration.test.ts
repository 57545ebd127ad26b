/**
 * erfc / normal CDF accuracy, and Gaussian-mechanism calibration (classic and
 * analytic). Reference values: the published pfl-research example, and exact
 * values we computed with mpmath 1.3.0 at 50-60 significant digits (erfc and
 * log Φ directly; σ by bisecting Balle and Wang's exact δ(ε, σ) to 400 steps).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { relErr, expectBadArgument } from './privacy-helpers.ts'
import {
  analyticGaussianSigma,
  classicGaussianSigma,
  erf,
  erfc,
  gaussianDelta,
  gaussianSigma,
  logErfc,
  logNormalCdf,
  normalCdf,
} from '../../ledger/privacy/index.ts'



describe('erfc and the normal CDF (Cody 1969), against mpmath', () => {
  it.each([
    [0.3, 0.671373240540872583810382],
    [0.5, 0.4795001221869534623172533],
    [1, 0.1572992070502851306587794],
    [-2, 1.995322265018952734162069],
    [5, 1.537459794428034850188343e-12],
    [10, 2.088487583762544757000786e-45],
    [26, 5.663192408856142846475728e-296],
  ])('erfc(%s)', (x, expected) => {
    expect(relErr(erfc(x), expected)).toBeLessThan(1e-15)
    expect(Math.abs(logErfc(x) - Math.log(expected))).toBeLessThan(2e-15 * Math.max(1, Math.abs(Math.log(expected))))
  })

  it('logErfc stays finite where erfc underflows', () => {
    expect(erfc(30)).toBe(0)
    expect(relErr(logErfc(30), -903.9741171106438780796002)).toBeLessThan(1e-15)
    expect(relErr(logErfc(100), -10005.17758512266433257047)).toBeLessThan(1e-15)
    expect(logErfc(Infinity)).toBe(-Infinity)
    expect(logErfc(-Infinity)).toBe(Math.LN2)
    expect([erfc(Infinity), erfc(-Infinity), normalCdf(-Infinity), normalCdf(Infinity)]).toEqual([0, 2, 0, 1])
    expect(logNormalCdf(Infinity) === 0).toBe(true)
    expect(Number.isNaN(erfc(Number.NaN)) && Number.isNaN(logErfc(Number.NaN))).toBe(true)
  })

  it('normal CDF and its log in both tails', () => {
    expect(normalCdf(0)).toBe(0.5)
    expect(relErr(normalCdf(-8), 6.220960574271784123515995e-16)).toBeLessThan(1e-14)
    expect(relErr(logNormalCdf(-40), -804.6084420137537881666068)).toBeLessThan(1e-15)
    expect(relErr(logNormalCdf(6), -9.865876455243757316914797e-10)).toBeLessThan(1e-12)
    expect(relErr(erf(0.1), 0.1124629160182848984047123)).toBeLessThan(1e-15)
  })

  it('erf and erfc are complementary and odd/even as they should be', () => {
    fc.assert(
      fc.property(fc.double({ min: -6, max: 6, noNaN: true }), (x) => {
        expect(Math.abs(erf(x) + erfc(x) - 1)).toBeLessThan(4e-16)
        expect(erf(-x)).toBe(-erf(x))
        expect(Math.abs(erfc(-x) - (2 - erfc(x)))).toBeLessThan(4e-16)
      }),
    )
  })
})

describe('classic calibration (Dwork and Roth 2014, Thm. A.1)', () => {
  it('is sensitivity * sqrt(2 ln(1.25/delta)) / epsilon', () => {
    expect(classicGaussianSigma(0.5, 1e-5, 2)).toBe((2 * Math.sqrt(2 * Math.log(1.25 / 1e-5))) / 0.5)
    expect(gaussianSigma({ epsilon: 0.5, delta: 1e-5, method: 'classic' })).toBe(Math.sqrt(2 * Math.log(1.25 / 1e-5)) / 0.5)
  })

  it('is refused for epsilon >= 1, where the theorem does not hold', () => {
    expectBadArgument(() => classicGaussianSigma(1, 1e-5), /proved only for epsilon < 1/)
    expectBadArgument(() => gaussianSigma({ epsilon: 3, delta: 1e-5, method: 'classic' }), /use the analytic calibration/)
  })
})

describe('analytic calibration (Balle and Wang 2018, Algorithm 1)', () => {
  it('AnalyticGM(2.25, 0.00040834087) = sqrt(2) (apple/pfl-research tests/privacy/test_compute_parameters.py, TestAnalyticGM.test_specific)', () => {
    // assert sigma == pytest.approx(math.sqrt(2))  -- "from an implementation entirely independent of the paper"
    expect(relErr(analyticGaussianSigma(2.25, 0.00040834087), Math.SQRT2)).toBeLessThan(1e-6)
  })

  // [epsilon, delta, exact sigma (sensitivity 1)]: both branches of Algorithm 1 (delta below and above delta0)
  const exact: [number, number, number][] = [
    [0.1, 1e-5, 30.74956613197744847203],
    [0.5, 1e-5, 7.031826675582491404448],
    [1, 1e-5, 3.73063163481594181387],
    [1, 1e-6, 4.224678889326835292283],
    [2, 1e-5, 1.993812445643536677366],
    [5, 1e-10, 1.280777977893222184946],
    [10, 1e-10, 0.6830439672274811820489],
    [0.1, 1e-10, 54.20629583690126558609],
    [1, 0.5, 0.5070650314763313597306],
    [0.5, 0.9, 0.2841201552894771196352],
    [50, 0.1, 0.1124582414127738487329],
  ]
  it.each(exact)('epsilon %s, delta %s: sigma = %s', (epsilon, delta, sigma) => {
    const ours = analyticGaussianSigma(epsilon, delta)
    expect(relErr(ours, sigma)).toBeLessThan(1e-13)
    expect(gaussianDelta(epsilon, ours)).toBeLessThanOrEqual(delta * (1 + 1e-13))
    // sensitivity scales sigma linearly
    expect(relErr(analyticGaussianSigma(epsilon, delta, 3.5), 3.5 * sigma)).toBeLessThan(1e-13)
  })

  it('round trip: the exact delta(epsilon, sigma) at the calibrated sigma is the target delta to 1e-12', () => {
    fc.assert(
      fc.property(fc.double({ min: -4, max: 2, noNaN: true }), fc.double({ min: -15, max: -0.05, noNaN: true }), (logEps, logDelta) => {
        const epsilon = 10 ** logEps
        const delta = 10 ** logDelta
        const sigma = analyticGaussianSigma(epsilon, delta)
        expect(relErr(gaussianDelta(epsilon, sigma), delta)).toBeLessThan(1e-12)
      }),
      { numRuns: 200 },
    )
  })

  it('is never noisier than the classic calibration where both apply', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-3, max: 0.999, noNaN: true }), fc.double({ min: -15, max: -1, noNaN: true }), (epsilon, logDelta) => {
        const delta = 10 ** logDelta
        expect(analyticGaussianSigma(epsilon, delta)).toBeLessThan(classicGaussianSigma(epsilon, delta))
      }),
      { numRuns: 100 },
    )
  })

  it('rejects bad input', () => {
    expectBadArgument(() => analyticGaussianSigma(0, 1e-5), /epsilon must be a finite number > 0/)
    expectBadArgument(() => analyticGaussianSigma(-1, 1e-5), /epsilon/)
    expectBadArgument(() => analyticGaussianSigma(Number.NaN, 1e-5), /epsilon/)
    expectBadArgument(() => analyticGaussianSigma(1, 0), /delta must be a number in \(0, 1\)/)
    expectBadArgument(() => analyticGaussianSigma(1, 1), /delta/)
    expectBadArgument(() => analyticGaussianSigma(1, 1e-5, 0), /sensitivity must be a finite number > 0/)
    expectBadArgument(() => gaussianSigma({ epsilon: 1, delta: 1e-5, method: 'laplace' as never }), /method must be 'analytic' or 'classic'/)
    expectBadArgument(() => gaussianDelta(-1, 1), /epsilon must be a finite number >= 0/)
    expectBadArgument(() => gaussianDelta(1, 0), /sigma must be a finite number > 0/)
  })

  it('never returns sigma = 0 or Infinity: tiny sensitivities scale, what a double cannot hold is BAD_ARGUMENT', () => {
    // alpha·sensitivity underflowed to 0 before the division; sigma scales linearly with the sensitivity
    const tiny = analyticGaussianSigma(1e-100, 0.1, 1e-300)
    expect(tiny).toBeGreaterThan(0)
    expect(relErr(tiny, 1e-300 * analyticGaussianSigma(1e-100, 0.1))).toBeLessThan(1e-12)
    expectBadArgument(() => analyticGaussianSigma(1e-100, 0.1, 1e300), /gives sigma = Infinity/)
    expectBadArgument(() => analyticGaussianSigma(1e10, 0.1, 5e-324), /gives sigma = 0/)
    expectBadArgument(() => classicGaussianSigma(1e-300, 1e-5, 1e300), /classic calibration .* gives sigma = Infinity/)
    expectBadArgument(() => gaussianSigma({ epsilon: 1e-300, delta: 1e-5, sensitivity: 1e300, method: 'classic' }), /Infinity/)
    expect(classicGaussianSigma(0.5, 1e-5, 5e-324)).toBeGreaterThan(0)
  })
})
