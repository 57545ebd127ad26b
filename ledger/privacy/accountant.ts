/**
 * The one-call form of the accountant: ε of `steps` rounds of the
 * Poisson-subsampled Gaussian mechanism at a target δ.
 */
import { checkDelta } from './args.ts'
import { epsilonFromRdp, type EpsilonAtOrder, type RdpConversion } from './conversion.ts'
import { DEFAULT_ORDERS, rdpCurve, type SampledGaussianParams } from './rdp.ts'

export interface EpsilonParams extends SampledGaussianParams {
  /** target δ, in (0, 1) */
  delta: number
  /** RDP → (ε, δ) conversion; 'improved' by default */
  conversion?: RdpConversion
}

/**
 * ε (and the optimal order) for `steps` compositions of the
 * Poisson-subsampled Gaussian mechanism with sampling rate q and noise
 * multiplier sigma, at target δ, over `orders` (Opacus' default orders if
 * omitted). Equivalent to Opacus' RDPAccountant.get_privacy_spent for one
 * (sigma, q, steps) entry. Throws LedgerError('BAD_ARGUMENT') on invalid input.
 */
export function computeEpsilon(params: EpsilonParams): EpsilonAtOrder {
  checkDelta(params.delta)
  const orders = params.orders ?? DEFAULT_ORDERS
  const rdp = rdpCurve({ q: params.q, sigma: params.sigma, steps: params.steps, orders })
  return epsilonFromRdp(orders, rdp, params.delta, params.conversion ?? 'improved')
}
