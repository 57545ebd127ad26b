/**
 * ledger/privacy: differential-privacy accounting for training rounds.
 *
 * It is a Rényi-DP accountant for the Poisson-subsampled Gaussian mechanism
 * (the DP-SGD / DP-FedAvg step): the RDP curve of a round over a fixed list of
 * orders (`rdpCurve`, integer and fractional orders, after Mironov, Talwar and
 * Zhang 2019), composition by adding curves (`composeRdp`), conversion of a
 * curve to (ε, δ) with the classic or the improved bound (`epsilonFromRdp`),
 * the one-call `computeEpsilon`, and calibration of Gaussian noise to a target
 * (ε, δ), classic or analytic (Balle and Wang 2018). Numbers agree with
 * Opacus, TF Privacy and Google dp_accounting (see the tests for the published
 * values matched). Every function is pure and deterministic (fixed summation
 * order, no randomness, no clock), because validators replicate the ledger
 * state and must reach bit-identical budgets; bad input throws
 * LedgerError('BAD_ARGUMENT').
 *
 * It is not: a budget store or the ledger rules that charge members (those
 * live in the state machine and call into this module), a noise sampler (the
 * enclave adds the noise), or an accountant for other mechanisms or sampling
 * schemes (sampling without replacement, shuffling, PLD/PRV accounting).
 */
export { DEFAULT_ORDERS, MAX_SERIES_TERMS, composeRdp, rdpCurve, sampledGaussianRdp, type SampledGaussianParams } from './rdp.ts'
export { RDP_CONVERSIONS, checkConversion, epsilonFromRdp, type EpsilonAtOrder, type RdpConversion } from './conversion.ts'
export { computeEpsilon, type EpsilonParams } from './accountant.ts'
export {
  CALIBRATION_METHODS,
  analyticGaussianSigma,
  classicGaussianSigma,
  gaussianDelta,
  gaussianSigma,
  type CalibrationMethod,
  type CalibrationParams,
} from './calibration.ts'
export { erf, erfc, logErfc, logNormalCdf, normalCdf } from './normal.ts'
export { MAX_FINITE_ORDER } from './args.ts'
