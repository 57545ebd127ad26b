// Runs a range of seeded scenarios and returns the failing ones, for the vitest suites.
import { scenario } from './scenarios.ts'
import { simulate, type SimConfig } from './simulator.ts'

export function failingSeeds(from: number, to: number, make: (seed: number) => SimConfig & { describe: string } = scenario): string[] {
  const failures: string[] = []
  for (let seed = from; seed <= to; seed++) {
    const s = make(seed)
    const r = simulate(s)
    if (r.violations.length > 0) failures.push(`${s.describe}: ${r.violations.slice(0, 2).join('; ')}`)
  }
  return failures
}

/** Defines vitest cases for seeds from..from+count-1, in chunks (a file per range lets vitest use both cores). */
export function defineSeedRange(describe: (name: string, fn: () => void) => void, it: (name: string, fn: () => void, timeout: number) => void, expectEmpty: (failures: string[]) => void, from: number, count: number, chunk = 250, make: (seed: number) => SimConfig & { describe: string } = scenario): void {
  describe('seeded simulations', () => {
    for (let a = from; a < from + count; a += chunk) {
      it(`seeds ${a}..${a + chunk - 1}`, () => expectEmpty(failingSeeds(a, a + chunk - 1, make)), 120_000)
    }
  })
}
