// Runs a range of seeded scenarios and returns the failing ones, for the vitest suites.
import { scenario } from './scenarios.ts'
import { simulate } from './simulator.ts'

export function failingSeeds(from: number, to: number): string[] {
  const failures: string[] = []
  for (let seed = from; seed <= to; seed++) {
    const s = scenario(seed)
    const r = simulate(s)
    if (r.violations.length > 0) failures.push(`${s.describe}: ${r.violations.slice(0, 2).join('; ')}`)
  }
  return failures
}
