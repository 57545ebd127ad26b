/**
 * How long commits stop when validators crash: the longest interval between two
 * commits on a live replica, in the seeded simulator (deterministic, so the numbers
 * do not depend on the machine). Three sets of runs, each over several seeds:
 *
 *   one-crash-restart  n = 4 (replica 3, or 1) and n = 7 (replicas 2 and 5) crash at
 *                      about 10 s and restart at 35 s; 60 s runs
 *   one-crash          the same crashes, no restart; 120 s runs
 *   f-crashes          n = 4, 7, 10 with f replicas (chosen by seed) crashing 3 s
 *                      apart from 10 s on; 120 s runs
 *
 * Commands arrive steadily until just before the end, so a gap is never idleness.
 * Base view timeout 1 s (doubling per consecutive timeout), message delay 2-60 ms.
 *
 *   node bench/crash-gaps.ts [--election reputation|round-robin] [--seeds 8]
 */
import { parseArgs } from 'node:util'
import { simulate, type Crash } from '../test/consensus/sim/simulator.ts'

const { values } = parseArgs({ options: { election: { type: 'string', default: 'reputation' }, seeds: { type: 'string', default: '8' } } })
const election = values.election as 'reputation' | 'round-robin'
if (election !== 'reputation' && election !== 'round-robin') throw new Error('--election is reputation or round-robin')
const seeds = Number(values.seeds)

interface Run {
  n: number
  crashes: Crash[]
  duration: number
}

/** f distinct replicas other than 0 (the one measured), chosen by seed. */
function crashedBy(seed: number, n: number, f: number): number[] {
  const dead = new Set<number>()
  let x = seed * 7919
  while (dead.size < f) {
    x = (x * 48271) % 2147483647
    dead.add(1 + (x % (n - 1)))
  }
  return [...dead]
}

const sets: Record<string, (seed: number) => Run[]> = {
  'one-crash-restart': (seed) =>
    ([[4, [3]], [4, [1]], [7, [2, 5]]] as const).map(([n, dead]) => ({ n, duration: 60_000, crashes: dead.map((replica) => ({ replica, at: 10_000 + seed * 37, restartAt: 35_000 })) })),
  'one-crash': (seed) => ([[4, [3]], [4, [1]], [7, [2, 5]]] as const).map(([n, dead]) => ({ n, duration: 120_000, crashes: dead.map((replica) => ({ replica, at: 10_000 + seed * 37 })) })),
  'f-crashes': (seed) =>
    [4, 7, 10].map((n) => ({ n, duration: 120_000, crashes: crashedBy(seed, n, Math.floor((n - 1) / 3)).map((replica, k) => ({ replica, at: 10_000 + k * 3_000 + seed * 37 })) })),
}

console.log(`leader election: ${election}; ${seeds} seeds per run shape`)
console.log('set                 runs  worst gap  median of the runs\' longest gaps  timeouts per run (mean)  violations')
for (const [name, runsOf] of Object.entries(sets)) {
  const gaps: number[] = []
  let timeouts = 0
  let violations = 0
  for (let seed = 1; seed <= seeds; seed++) {
    for (const run of runsOf(seed)) {
      const commits: number[] = []
      const r = simulate({
        n: run.n,
        seed,
        duration: run.duration,
        gst: 0,
        delay: [2, 60],
        commands: run.duration / 20,
        injectUntil: run.duration - 5_000,
        crashes: run.crashes,
        baseTimeoutMs: 1_000,
        leaderElection: election,
        expectLiveness: false,
        trace: (line) => {
          if (!line.includes(' n0(')) return
          if (line.includes('→ commit')) commits.push(Number(line.split(' ')[0]))
          else if (line.includes('broadcast timeout')) timeouts++
        },
      })
      violations += r.violations.length
      let gap = 0
      for (let i = 1; i < commits.length; i++) gap = Math.max(gap, commits[i]! - commits[i - 1]!)
      gaps.push(gap)
    }
  }
  gaps.sort((a, b) => a - b)
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`
  console.log(`${name.padEnd(18)}  ${String(gaps.length).padStart(4)}  ${s(gaps.at(-1)!).padStart(9)}  ${s(gaps[Math.floor(gaps.length / 2)]!).padStart(33)}  ${(timeouts / gaps.length).toFixed(1).padStart(23)}  ${violations}`)
}
