// The overload gate of workload B (`npm run bench:consensus -- --workload B --gate`):
// a network offered more than it can order must keep committing at its peak and must
// not lose what it accepted. First the peak: offered rates double from 250 tx/s until
// a run commits less than 80 % of what it was offered (the network is saturated);
// that rate is run twice more, and the peak is the median of the three saturated
// runs (or --peak). Then 1×, 2× and 4× the peak are offered; a run fails when it
// commits under 90 % of the peak or when an accepted transaction never commits.
// Every number comes from the same invocation, so machines' day-to-day speed does not
// move the verdict. Blocks hold hundreds of transactions and come about once a
// second at saturation, so a short window counts ±1 block: measure 15 s or more.
import type { WorkloadBResult } from './workload-b.ts'

export const GATE_SHARE = 0.9
const RAMP_START = 250
const RAMP_SATURATED = 0.8
const RAMP_MAX = 16_000

export const ROW_HEADER = 'offered tx/s | committed tx/s | blocks/s | p50 latency ms | p99 latency ms | accepted | lost | refused | deferred (retried) | unsent | timeout msgs'

const tally = (m: Record<string, number>) => Object.entries(m).map(([c, k]) => `${c} ${k}`).join(', ') || '0'
const perSecond = (r: WorkloadBResult) => r.committed / r.seconds

/** One table row: the median run (by committed tx/s), and every run's rate when there are several. */
export function row(rate: number, runs: WorkloadBResult[]): string {
  const sorted = [...runs].sort((a, b) => perSecond(a) - perSecond(b))
  const med = sorted[Math.floor(sorted.length / 2)]!
  const cells = [
    String(rate).padStart(12),
    perSecond(med).toFixed(0).padStart(14),
    (med.blocks / med.seconds).toFixed(1).padStart(8),
    (med.p50 ?? NaN).toFixed(1).padStart(14),
    (med.p99 ?? NaN).toFixed(1).padStart(14),
    String(med.accepted).padStart(8),
    String(med.lost).padStart(4),
    tally(med.refused),
    tally(med.deferred),
    String(med.unsent),
    String(med.viewTimeouts),
  ]
  return cells.join(' | ') + (runs.length > 1 ? `   (runs: ${sorted.map((r) => perSecond(r).toFixed(0)).join(', ')} tx/s; lost ${runs.map((r) => r.lost).join(', ')})` : '')
}

/** Runs the gate; prints every run and the verdict; true when it passes. */
export async function gateRunner(run: (rate: number) => Promise<WorkloadBResult>, opts: { peak?: number; runs: number }): Promise<boolean> {
  const failures: string[] = []
  let peak = opts.peak
  console.log(ROW_HEADER)
  if (peak === undefined) {
    let saturated: WorkloadBResult[] = []
    let rate = RAMP_START
    for (; rate <= RAMP_MAX && saturated.length === 0; rate *= 2) {
      const r = await run(rate)
      console.log(`${row(rate, [r])}   (finding the peak)`)
      if (r.lost > 0) failures.push(`offered ${rate} tx/s while finding the peak: ${r.lost} accepted transaction(s) never committed`)
      if (perSecond(r) < RAMP_SATURATED * rate) saturated = [r]
    }
    rate /= 2
    if (saturated.length === 0) throw new Error(`the network kept up with every rate up to ${RAMP_MAX} tx/s: no peak to gate on`)
    for (let k = 0; k < 2; k++) {
      const r = await run(rate)
      if (r.lost > 0) failures.push(`offered ${rate} tx/s while finding the peak: ${r.lost} accepted transaction(s) never committed`)
      saturated.push(r)
    }
    console.log(`${row(rate, saturated)}   (saturated: the peak is the median)`)
    peak = perSecond([...saturated].sort((a, b) => perSecond(a) - perSecond(b))[1]!)
  }
  const floor = GATE_SHARE * peak
  console.log(`peak ${peak.toFixed(0)} tx/s${opts.peak === undefined ? ' (the median of the saturated runs above)' : ' (given)'}; every run below must commit ≥ ${floor.toFixed(0)} tx/s and lose nothing`)
  for (const times of [1, 2, 4]) {
    const rate = Math.round(times * peak)
    const runs: WorkloadBResult[] = []
    for (let k = 0; k < opts.runs; k++) {
      const r = await run(rate)
      runs.push(r)
      if (perSecond(r) < floor) failures.push(`${times}× the peak (${rate} tx/s), run ${k + 1}: committed ${perSecond(r).toFixed(0)} tx/s < ${floor.toFixed(0)}`)
      if (r.lost > 0) failures.push(`${times}× the peak (${rate} tx/s), run ${k + 1}: ${r.lost} accepted transaction(s) never committed`)
    }
    console.log(`${row(rate, runs)}   (${times}× peak)`)
  }
  for (const f of failures) console.log(`FAIL: ${f}`)
  console.log(failures.length === 0 ? `PASS: 1×, 2× and 4× the peak each committed ≥ ${Math.round(GATE_SHARE * 100)} % of it, nothing accepted was lost` : `gate FAILED (${failures.length})`)
  return failures.length === 0
}
