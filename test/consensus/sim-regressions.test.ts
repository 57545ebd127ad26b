// Saved regression scenarios, and checks that the simulator's properties can fail.
import { describe, expect, it } from 'vitest'
import { REGRESSIONS } from './sim/regressions.ts'
import { scenario } from './sim/scenarios.ts'
import { simulate } from './sim/simulator.ts'

describe('regression scenarios', () => {
  it.each(REGRESSIONS)('seed $seed ($found)', ({ seed, duration }) => {
    const s = scenario(seed)
    expect(simulate({ ...s, duration: duration ?? s.duration }).violations).toEqual([])
  })
})

describe('the properties are not vacuous', () => {
  it('Twins beyond f (two twinned replicas of four, split by a partition) commit conflicting blocks, and the simulator says so', () => {
    let unsafe = 0
    for (let seed = 1; seed <= 20; seed++) {
      const r = simulate({
        n: 4,
        seed,
        duration: 20_000,
        gst: 15_000,
        delay: [1, 10],
        commands: 20,
        injectUntil: 2_000,
        twins: [0, 1],
        partitions: [{ from: 0, to: 15_000, groups: [[0, 1, 2], [0, 1, 3]] }],
        expectLiveness: false,
      })
      if (!r.safe) unsafe++
    }
    expect(unsafe).toBeGreaterThan(0)
  })

  it('with f + 1 replicas down there is no quorum, and the liveness check fails', () => {
    const r = simulate({ n: 4, seed: 1, duration: 20_000, gst: 0, delay: [1, 10], commands: 5, crashes: [{ replica: 0, at: 0 }, { replica: 1, at: 0 }], expectLiveness: true })
    expect(r.safe).toBe(true)
    expect(r.violations.some((v) => v.startsWith('liveness'))).toBe(true)
  })

  it('Twins within f (one twinned replica of four) stay safe and live', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const r = simulate({ n: 4, seed, duration: 60_000, gst: 3_000, delay: [1, 10], commands: 20, injectUntil: 2_000, twins: [0], partitions: [{ from: 0, to: 3_000, groups: [[0, 1], [0, 2, 3]] }], expectLiveness: true })
      expect([seed, r.violations]).toEqual([seed, []])
    }
  })
})

describe('restarts', () => {
  it('a replica down for a long stretch of large blocks catches up through responses cut at maxSyncBytes, fetching below each one', () => {
    for (let seed = 1; seed <= 5; seed++) {
      // 1 KiB commands, one per block; responses carry at most 8 KiB (about 5 blocks):
      // the 150-odd blocks it misses take dozens of requests, each continuing below the last
      const r = simulate({
        n: 4,
        seed,
        duration: 120_000,
        gst: 0,
        delay: [1, 10],
        commands: 150,
        injectUntil: 20_000,
        maxBatch: 1,
        commandBytes: 1024,
        maxSyncBytes: 8 * 1024,
        crashes: [{ replica: 3, at: 500, restartAt: 25_000 }],
        expectLiveness: true,
      })
      expect([seed, r.violations]).toEqual([seed, []])
    }
  })

  it('the whole network crashes and restarts: each replica brings back the uncommitted blocks its lock certifies, and commits resume', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const n = 4
      const r = simulate({
        n,
        seed,
        duration: 60_000,
        gst: 0,
        delay: [1, 10],
        commands: 40,
        injectUntil: 6_000,
        maxBatch: 1,
        crashes: Array.from({ length: n }, (_, i) => ({ replica: i, at: 3_000 + i, restartAt: 3_500 })),
        expectLiveness: true,
      })
      expect([seed, r.violations]).toEqual([seed, []])
    }
  })
})
