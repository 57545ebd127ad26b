// The view timeout adapts to how long recent views took (`viewTimeoutMs` in
// consensus/replica.ts). With a fixed timeout close to the typical view duration,
// slow views time out although their leaders are live, and each such timeout costs a
// timeout round and an empty view. Adapted, the same network times out almost only
// at the start (before any view has been measured), and a crashed leader still costs
// at most ADAPTIVE_CAP × the base timeout before the usual back-off.
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
    expect(viewTimeoutMs(1_000, 60_000, [], 0)).toBe(1_000)
    expect(viewTimeoutMs(1_000, 60_000, [50, 90, 30], 0)).toBe(1_000)
    expect(viewTimeoutMs(1_000, 60_000, [300, 900, 400], 0)).toBe(1_800)
    // views slowed on purpose (a Byzantine leader) move it up to the cap and no further
    expect(viewTimeoutMs(1_000, 60_000, [300, 30_000], 0)).toBe(ADAPTIVE_CAP * 1_000)
    expect(viewTimeoutMs(1_000, 60_000, [300, 900], 2)).toBe(7_200)
    expect(viewTimeoutMs(1_000, 5_000, [300, 900], 2)).toBe(5_000)
  })
})
