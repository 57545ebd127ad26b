/**
 * Privacy budgets as the ledger keeps them. Each member's spend is an RDP curve
 * (one value per Rényi order); rounds compose by adding curves, and ε is read
 * off the curve at the member's δ with the improved conversion. An open round
 * reserves its worst-case curve for every eligible member, so two concurrent
 * rounds can never together overspend a budget.
 */
import { DEFAULT_ORDERS, epsilonFromRdp, rdpCurve } from '../privacy/index.ts'
import type { BudgetRecord } from '../state/records.ts'
import type { TrainingConfig } from '../tx/schema.ts'

export const DEFAULT_RDP_ORDERS: readonly number[] = DEFAULT_ORDERS

/** DP-SGD steps of one participant in a round: local epochs over Poisson-sampled batches. */
export function stepsPerRound(t: Pick<TrainingConfig, 'localEpochs' | 'samplingRate'>): number {
  return Math.ceil(t.localEpochs / t.samplingRate)
}

export function roundCurve(orders: readonly number[], t: TrainingConfig, steps: number): number[] {
  return Array.from(rdpCurve({ q: t.samplingRate, sigma: t.noiseMultiplier, steps, orders }))
}

export function addCurves(a: readonly number[], b: readonly number[]): number[] {
  return a.map((x, i) => x + (b[i] ?? 0))
}

export function epsilonOf(orders: readonly number[], rdp: readonly number[], delta: number): number {
  if (rdp.every((x) => x === 0)) return 0
  return epsilonFromRdp(orders, rdp, delta, 'improved').epsilon
}

/** Spent plus every reservation, in reservation order (fixed summation order). */
export function committedCurve(budget: BudgetRecord, roundRdp: (round: string) => number[] | undefined): number[] {
  let curve = budget.spent
  for (const id of budget.reservations) {
    const rdp = roundRdp(id)
    if (rdp !== undefined) curve = addCurves(curve, rdp)
  }
  return curve
}
