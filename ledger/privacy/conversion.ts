/**
 * From an RDP curve to an (ε, δ)-DP guarantee: for each order α the RDP value
 * r(α) gives an ε at the target δ, and the best (smallest) one is reported
 * together with the order that achieves it.
 *
 * - 'classic': Mironov, "Rényi Differential Privacy" (CSF 2017), Prop. 3:
 *     ε = r − log δ / (α − 1).
 * - 'improved' (default): Balle, Barthe, Gaboardi, Hsu and Sato, "Hypothesis
 *   testing interpretations and Rényi differential privacy" (AISTATS 2020),
 *   Thm. 21, as used by Opacus' `get_privacy_spent` and Google dp_accounting's
 *   `compute_epsilon`:
 *     ε = r + log1p(−1/α) − (log δ + log α) / (α − 1).
 *   Like dp_accounting, an order whose r is so small that the KL bound
 *   δ ≤ sqrt(1 − e^(−r)) already gives (0, δ)-DP (δ² + expm1(−r) > 0) yields
 *   ε = 0 there (so a curve of zeros, e.g. q = 0, gives ε = 0). Like Opacus
 *   (unlike dp_accounting, which skips orders ≤ 1.01 as numerically touchy),
 *   the bound is used at every order > 1; it is valid there.
 * Both: at α = +∞ the bound is ε = r; a negative ε is reported as 0; ties go
 * to the first order in the list; when no order gives a finite ε the result
 * is { epsilon: Infinity, order: orders[0] } (as numpy's argmin does in the
 * Python libraries).
 */
import { LedgerError } from '../errors.ts'
import { checkDelta, checkOrders, checkRdp } from './args.ts'

export type RdpConversion = 'improved' | 'classic'

export const RDP_CONVERSIONS: readonly RdpConversion[] = Object.freeze(['improved', 'classic'])

/** An (ε, δ) guarantee's ε and the Rényi order that gave it. */
export interface EpsilonAtOrder {
  epsilon: number
  order: number
}

export function checkConversion(conversion: unknown): RdpConversion {
  if (conversion !== 'improved' && conversion !== 'classic') {
    throw new LedgerError('BAD_ARGUMENT', `conversion must be 'improved' or 'classic', got ${String(conversion)}`)
  }
  return conversion
}

/** ε at one order (inputs valid). */
function epsilonAt(alpha: number, r: number, logDelta: number, delta: number, conversion: RdpConversion): number {
  if (r === Infinity) return Infinity
  if (alpha === Infinity) return r
  if (conversion === 'classic') return r - logDelta / (alpha - 1)
  if (delta * delta + Math.expm1(-r) > 0) return 0
  return r + Math.log1p(-1 / alpha) - (logDelta + Math.log(alpha)) / (alpha - 1)
}

/**
 * The smallest ε over the orders at which the mechanism with this RDP curve
 * is (ε, δ)-DP, and the order achieving it. Throws LedgerError('BAD_ARGUMENT')
 * on invalid input (orders ≤ 1, mismatched lengths, negative or NaN RDP,
 * δ outside (0, 1), unknown conversion).
 */
export function epsilonFromRdp(orders: ArrayLike<number>, rdp: ArrayLike<number>, delta: number, conversion: RdpConversion = 'improved'): EpsilonAtOrder {
  checkOrders(orders)
  checkRdp(rdp, orders.length)
  checkDelta(delta)
  checkConversion(conversion)
  const logDelta = Math.log(delta)
  let best = Infinity
  let bestOrder = orders[0]!
  for (let k = 0; k < orders.length; k++) {
    const eps = epsilonAt(orders[k]!, rdp[k]!, logDelta, delta, conversion)
    if (eps < best) {
      best = eps
      bestOrder = orders[k]!
    }
  }
  return { epsilon: Math.max(0, best), order: bestOrder }
}
