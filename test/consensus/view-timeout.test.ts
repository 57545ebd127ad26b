// The view timeout adapts to how long recent views took (`viewTimeoutMs` in
// consensus/replica.ts). With a fixed timeout close to the typical view duration,
// slow views time out although their leaders are live, and each such timeout costs a
// timeout round and an empty view. Adapted, the same network times out almost only
// at the start (before any view has been measured); f leaders that slow their views
// on purpose cannot raise it, and a crashed leader still costs at most ADAPTIVE_CAP ×
// the base timeout before the usual back-off.
import { describe, expect, it } from 'vitest'
import { ADAPTIVE_CAP, viewTimeoutMs } from '../../consensus/index.ts'
import { simulate, type SimConfig } from './sim/simulator.ts'

// views here take two to three message delays of 40–130 ms: about the 200 ms base timeout
const slow: SimConfig = { n: 4, seed: 0, gst: 0, delay: [40, 130], commands: 600, injectUntil: 20_000, baseTimeoutMs: 200, duration: 30_000, expectLiveness: true }

describe('adaptive view timeout', () => {
  it('does not time out live leaders on a slow network (a fixed timeout times out about 110 of 140 views here)', () => {
    for (const seed of [1, 2, 3]) {
      const r = simulate({ ...slow, seed })
      expect(r.violations).toEqual([])
      expect(r.commandsCommitted).toBe(slow.commands)
      expect(r.timedOutViews).toBeLessThanOrEqual(10)
    }
  })

  it('still skips a crashed validator: every command commits', () => {
    const r = simulate({ ...slow, seed: 4, crashes: [{ replica: 2, at: 5_000 }] })
    expect(r.violations).toEqual([])
    expect(Math.min(...r.committedHeight.filter((_, i) => i !== 2))).toBeGreaterThan(20)
  })

  it('follows the longest recent view, between the base and the cap, and backs off per consecutive timeout', () => {
    const by = (leader: number, ...ms: number[]) => ms.map((x) => ({ ms: x, leader }))
    const spread = [...by(0, 300, 900), ...by(1, 400, 800), ...by(2, 500), ...by(3, 200)]
    expect(viewTimeoutMs(1_000, 60_000, [], 0, 1)).toBe(1_000)
    expect(viewTimeoutMs(1_000, 60_000, [...by(0, 50, 90), ...by(1, 30)], 0, 1)).toBe(1_000)
    // leaders' longest views 900, 800, 500, 200: the slowest leader is left out (f = 1), 2 × 800
    expect(viewTimeoutMs(1_000, 60_000, spread, 0, 1)).toBe(1_600)
    expect(viewTimeoutMs(1_000, 60_000, spread, 0, 0)).toBe(1_800)
    expect(viewTimeoutMs(1_000, 60_000, spread, 2, 1)).toBe(6_400)
    expect(viewTimeoutMs(1_000, 5_000, spread, 2, 1)).toBe(5_000)
    // slow honest leaders move it no further than the cap
    expect(viewTimeoutMs(1_000, 60_000, [...by(0, 9_000), ...by(1, 8_000)], 0, 1)).toBe(ADAPTIVE_CAP * 1_000)
  })

  it('cannot be raised by f leaders that hold their QCs back until just before the timeout', () => {
    // validator 3 (f = 1 of 4) delivers every QC it forms at 0.99 × the timeout; the others take 200–300 ms
    const recent = [...[200, 250, 300, 220].flatMap((ms, i) => [{ ms, leader: i % 3 }]), { ms: 990, leader: 3 }, { ms: 1_980, leader: 3 }, { ms: 3_960, leader: 3 }]
    expect(viewTimeoutMs(1_000, 60_000, recent, 0, 1)).toBe(1_000)
  })
})
