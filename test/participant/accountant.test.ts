// The participant's RDP accountant agrees with the ledger's charge; calibrateNoise hits its target.
import { describe, expect, it } from 'vitest'
import { computeEpsilon, DEFAULT_RDP_ORDERS, stepsPerRound } from '../../ledger/index.ts'
import { calibrateNoise, PrivacyAccountant, roundRdp } from '../../participant/index.ts'
import { codeOf } from './helpers.ts'

const round = { clipNorm: 1, noiseMultiplier: 1.1, samplingRate: 0.01, localEpochs: 1 }

describe('PrivacyAccountant', () => {
  it('spends nothing at first', () => {
    const a = new PrivacyAccountant()
    expect(a.epsilon(1e-5)).toBe(0)
    expect(a.rounds).toBe(0)
  })

  it('composes rounds like the ledger: k rounds = k·⌈E/q⌉ steps of the sampled Gaussian', () => {
    const a = new PrivacyAccountant()
    const steps = stepsPerRound(round)
    expect(steps).toBe(100)
    for (let k = 1; k <= 5; k++) {
      a.spend(round)
      const want = computeEpsilon({ q: round.samplingRate, sigma: round.noiseMultiplier, steps: k * steps, delta: 1e-5 }).epsilon
      expect(a.epsilon(1e-5)).toBeCloseTo(want, 9)
    }
    expect(a.rounds).toBe(5)
    // Abadi et al. / Opacus: q = 0.01, σ = 1.1, 500 steps, δ = 1e-5 is ε ≈ 1.2
    expect(a.epsilon(1e-5)).toBeGreaterThan(1.0)
    expect(a.epsilon(1e-5)).toBeLessThan(1.4)
  })

  it('takes explicit steps too, and mixes rounds of different configs additively', () => {
    const a = new PrivacyAccountant()
    a.spend({ samplingRate: 0.02, noiseMultiplier: 1.5, steps: 120 })
    a.spend(round)
    const sum = roundRdp({ samplingRate: 0.02, noiseMultiplier: 1.5, steps: 120 }).map((v, k) => v + roundRdp(round)[k]!)
    expect(a.rdp).toEqual(Array.from(sum))
    expect(a.rdp.length).toBe(DEFAULT_RDP_ORDERS.length)
  })

  it('projects a round without recording it', () => {
    const a = new PrivacyAccountant()
    a.spend(round)
    const before = a.epsilon(1e-5)
    const after = a.epsilonAfter(round, 1e-5)
    expect(after).toBeGreaterThan(before)
    expect(a.epsilon(1e-5)).toBe(before)
    a.spend(round)
    expect(a.epsilon(1e-5)).toBe(after)
  })

  it('refuses malformed rounds', () => {
    const a = new PrivacyAccountant()
    expect(codeOf(() => a.spend({ samplingRate: 0, noiseMultiplier: 1, steps: 1 }))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => a.spend({ samplingRate: 0.1, noiseMultiplier: -1, steps: 1 }))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => a.spend({ samplingRate: 0.1, noiseMultiplier: 1, steps: -2 }))).toBe('BAD_ARGUMENT')
  })
})

describe('calibrateNoise', () => {
  it.each([
    [0.5, 0.01, 1_000],
    [1, 0.1, 100],
    [2, 0.05, 400],
    [8, 0.2, 50],
  ])('ε = %s (q %s, %s steps): the σ found gives ε within 1 % below the target', (target, q, steps) => {
    const sigma = calibrateNoise({ targetEpsilon: target, delta: 1e-5, samplingRate: q, steps })
    const eps = computeEpsilon({ q, sigma, steps, delta: 1e-5 }).epsilon
    expect(eps).toBeLessThanOrEqual(target)
    expect(eps).toBeGreaterThan(0.99 * target)
    // and a slightly smaller σ overshoots: it is the smallest
    expect(computeEpsilon({ q, sigma: sigma * 0.99, steps, delta: 1e-5 }).epsilon).toBeGreaterThan(target)
  })

  it('more steps need more noise', () => {
    const a = calibrateNoise({ targetEpsilon: 1, delta: 1e-5, samplingRate: 0.05, steps: 100 })
    const b = calibrateNoise({ targetEpsilon: 1, delta: 1e-5, samplingRate: 0.05, steps: 1_000 })
    expect(b).toBeGreaterThan(a)
  })

  it('refuses bad parameters', () => {
    expect(codeOf(() => calibrateNoise({ targetEpsilon: 0, delta: 1e-5, samplingRate: 0.1, steps: 10 }))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => calibrateNoise({ targetEpsilon: 1, delta: 1, samplingRate: 0.1, steps: 10 }))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => calibrateNoise({ targetEpsilon: 1, delta: 1e-5, samplingRate: 0.1, steps: 0 }))).toBe('BAD_ARGUMENT')
  })
})
