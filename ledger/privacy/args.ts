/**
 * Argument checks shared by the privacy functions. Every failure is a
 * `LedgerError('BAD_ARGUMENT')` whose message names the parameter, the
 * allowed range and the value received.
 */
import { LedgerError } from '../errors.ts'

/** Finite orders above this are refused: the series cost grows with the order, and no accountant needs them. */
export const MAX_FINITE_ORDER = 10_000

function bad(message: string): never {
  throw new LedgerError('BAD_ARGUMENT', message)
}

function show(v: unknown): string {
  return typeof v === 'number' ? String(v) : `${typeof v} ${String(v)}`
}

export function checkSamplingRate(q: unknown, name = 'q'): number {
  if (typeof q !== 'number' || !(q >= 0 && q <= 1)) bad(`${name} (sampling rate) must be a number in [0, 1], got ${show(q)}`)
  return q
}

export function checkNoiseMultiplier(sigma: unknown, name = 'sigma'): number {
  if (typeof sigma !== 'number' || !Number.isFinite(sigma) || sigma < 0) bad(`${name} (noise multiplier) must be a finite number >= 0, got ${show(sigma)}`)
  return sigma
}

export function checkSteps(steps: unknown, name = 'steps'): number {
  if (typeof steps !== 'number' || !Number.isSafeInteger(steps) || steps < 0) bad(`${name} must be a non-negative integer, got ${show(steps)}`)
  return steps
}

export function checkDelta(delta: unknown, name = 'delta'): number {
  if (typeof delta !== 'number' || !(delta > 0 && delta < 1)) bad(`${name} must be a number in (0, 1), got ${show(delta)}`)
  return delta
}

export function checkPositive(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) bad(`${name} must be a finite number > 0, got ${show(v)}`)
  return v
}

/** Orders: a non-empty list of numbers > 1, each finite (<= MAX_FINITE_ORDER) or +Infinity. */
export function checkOrders(orders: unknown, name = 'orders'): ArrayLike<number> {
  if (!(Array.isArray(orders) || orders instanceof Float64Array) || orders.length === 0) bad(`${name} must be a non-empty array of Rényi orders > 1`)
  for (let i = 0; i < orders.length; i++) {
    const a: unknown = orders[i]
    if (typeof a !== 'number' || !(a > 1)) bad(`${name}[${i}] must be a Rényi order > 1, got ${show(a)}`)
    if (Number.isFinite(a) ? a > MAX_FINITE_ORDER : a !== Infinity) bad(`${name}[${i}] must be at most ${MAX_FINITE_ORDER} or Infinity, got ${show(a)}`)
  }
  return orders as ArrayLike<number>
}

/** An RDP curve matching `orders`: same length, every value >= 0 (Infinity allowed). */
export function checkRdp(rdp: unknown, length: number, name = 'rdp'): ArrayLike<number> {
  if (!(Array.isArray(rdp) || rdp instanceof Float64Array)) bad(`${name} must be an array of RDP values`)
  if (rdp.length !== length) bad(`${name} has ${rdp.length} values but there are ${length} orders`)
  for (let i = 0; i < rdp.length; i++) {
    const r: unknown = rdp[i]
    if (typeof r !== 'number' || !(r >= 0)) bad(`${name}[${i}] must be a Rényi divergence >= 0, got ${show(r)}`)
  }
  return rdp as ArrayLike<number>
}
