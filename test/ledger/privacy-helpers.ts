// Shared by the privacy tests.
import { expect } from 'vitest'
import { isLedgerError } from '../../ledger/errors.ts'

export function relErr(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.abs(expected)
}

export function expectBadArgument(fn: () => unknown, pattern: RegExp): void {
  try {
    fn()
  } catch (e) {
    expect(isLedgerError(e) && e.code === 'BAD_ARGUMENT').toBe(true)
    expect((e as Error).message).toMatch(pattern)
    return
  }
  throw new Error('expected a BAD_ARGUMENT LedgerError')
}
