// noisedMean: the calibration of the central-DP noise and the overflow guard.
import { describe, expect, it } from 'vitest'
import { noisedMean, noisedMeanStd, RoundError } from '../../../enclave/round/index.ts'
import { quantizedSensitivity, seededRandom } from '../../../enclave/noise/index.ts'

describe('noisedMean', () => {
  it('adds per-coordinate noise of std σ·Δ/n around the quantized mean', () => {
    const d = 4000
    const n = 4
    const scale = 2 ** 10
    const params = { clipNorm: 1, noiseMultiplier: 1, scale }
    const x = 0.25 / Math.sqrt(d)
    const updates = Array.from({ length: n }, () => new Float32Array(d).fill(x))
    const out = noisedMean(updates, params, seededRandom('calibration'))
    const std = noisedMeanStd(params, d, n)
    expect(std).toBe(quantizedSensitivity(1, scale, d) / n)
    const mean = Math.round(Math.fround(x) * scale) / scale
    let s1 = 0
    let s2 = 0
    for (const v of out) {
      s1 += v - mean
      s2 += (v - mean) ** 2
    }
    const sampleMean = s1 / d
    const sampleStd = Math.sqrt(s2 / d - sampleMean ** 2)
    expect(Math.abs(sampleMean)).toBeLessThan((5 * std) / Math.sqrt(d))
    expect(sampleStd / std).toBeGreaterThan(0.93) // ±7%: about 6 standard errors for d = 4000
    expect(sampleStd / std).toBeLessThan(1.07)
  })

  it('refuses a scale at which the integer sum could pass 2^53', () => {
    const updates = [new Float32Array(4), new Float32Array(4)]
    expect(() => noisedMean(updates, { clipNorm: 1, noiseMultiplier: 1, scale: 2 ** 52 }, seededRandom('x'))).toThrow(RoundError)
  })
})
