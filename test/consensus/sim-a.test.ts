// Default simulation suite, part a: seeds 1..1500 across n = 4, 7, 10 (see sim/scenarios.ts).
// Safety, no double votes, and liveness after GST are checked in every scenario.
import { describe, expect, it } from 'vitest'
import { defineSeedRange } from './sim/suite.ts'

defineSeedRange(describe, it, (failures) => expect(failures).toEqual([]), 1, 1500)
