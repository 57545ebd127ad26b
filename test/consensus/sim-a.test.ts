// Default simulation suite, part a: seeds 1..1500 across n = 4, 7, 10 (see sim/scenarios.ts).
// Safety, no double votes, and liveness after GST are checked in every scenario.
import { describe, expect, it } from 'vitest'
import { failingSeeds } from './sim/suite.ts'

const FROM = 1
const CHUNK = 250

describe('seeded simulations', () => {
  for (let from = FROM; from < FROM + 1500; from += CHUNK) {
    it(`seeds ${from}..${from + CHUNK - 1}`, () => {
      expect(failingSeeds(from, from + CHUNK - 1)).toEqual([])
    }, 120_000)
  }
})
