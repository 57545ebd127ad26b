/**
 * Byzantine participants, for robustness tests and benchmarks: model-poisoning
 * transforms of an honest update, a data-poisoning label flip, and "a little
 * is enough" (Baruch, Baruch and Goldberg, NeurIPS 2019), whose colluding
 * attackers all send mean − z·std (per coordinate) of the honest updates so
 * as to stay inside the spread that distance-based rules such as Multi-Krum
 * accept. These are attacks, not defences: nothing here runs in a real peer.
 */
import { normalCdf } from '../ledger/index.ts'
import type { Dataset } from './dataset.ts'
import { checkInteger, checkPositive, ParticipantError } from './errors.ts'
import { cryptoGaussian, type GaussianSource } from './random.ts'

export type PoisonKind = 'sign-flip' | 'scale' | 'gaussian'

export const POISON_KINDS: readonly PoisonKind[] = Object.freeze(['sign-flip', 'scale', 'gaussian'])

export interface PoisonOptions {
  /** 'scale': the factor k (default 10); 'sign-flip': the magnitude of the negated update (default 1) */
  factor?: number
  /** 'gaussian': per-coordinate std; default the update's RMS, so the noise has about the update's norm */
  std?: number
  /** 'gaussian': the noise source (cryptoGaussian() by default) */
  noise?: GaussianSource
}

/**
 * A poisoned copy of `update`:
 * - 'sign-flip': −factor · update (gradient ascent);
 * - 'scale': factor · update (boosting, default ×10);
 * - 'gaussian': N(0, std²) per coordinate in place of the update.
 */
export function poison(update: Float32Array, kind: PoisonKind, options: PoisonOptions = {}): Float32Array {
  if (!(update instanceof Float32Array)) throw new ParticipantError('BAD_ARGUMENT', 'an update is a Float32Array')
  const out = new Float32Array(update.length)
  switch (kind) {
    case 'sign-flip': {
      const k = checkPositive(options.factor ?? 1, 'factor')
      for (let i = 0; i < out.length; i++) out[i] = -k * update[i]!
      return out
    }
    case 'scale': {
      const k = checkPositive(options.factor ?? 10, 'factor')
      for (let i = 0; i < out.length; i++) out[i] = k * update[i]!
      return out
    }
    case 'gaussian': {
      let std = options.std
      if (std === undefined) {
        let s = 0
        for (let i = 0; i < update.length; i++) s += update[i]! * update[i]!
        std = update.length === 0 ? 0 : Math.sqrt(s / update.length)
      } else {
        checkPositive(std, 'std')
      }
      const g = options.noise ?? cryptoGaussian()
      for (let i = 0; i < out.length; i++) out[i] = std * g.normal()
      return out
    }
    default:
      throw new ParticipantError('BAD_ARGUMENT', `unknown poison kind ${String(kind)}; one of ${POISON_KINDS.join(', ')}`)
  }
}

/** The dataset with every label y replaced by classes − 1 − y (a fixed permutation with no fixed point for even class counts). */
export function labelFlip(data: Dataset): Dataset {
  const y = data.y instanceof Uint8Array ? new Uint8Array(data.n) : new Int32Array(data.n)
  for (let i = 0; i < data.n; i++) y[i] = data.classes - 1 - data.y[i]!
  return { ...data, y }
}

/** mean − z · std per coordinate over the honest updates (population std), as float32. */
export function littleIsEnough(honest: readonly Float32Array[], z: number): Float32Array {
  if (!Array.isArray(honest) || honest.length === 0) throw new ParticipantError('BAD_ARGUMENT', '"a little is enough" needs at least one honest update')
  if (typeof z !== 'number' || !Number.isFinite(z)) throw new ParticipantError('BAD_ARGUMENT', `z must be a finite number, got ${String(z)}`)
  const d = honest[0]!.length
  for (const u of honest) {
    if (!(u instanceof Float32Array) || u.length !== d) throw new ParticipantError('WRONG_LENGTH', 'honest updates must be Float32Arrays of one length')
  }
  const n = honest.length
  const out = new Float32Array(d)
  for (let k = 0; k < d; k++) {
    let s = 0
    for (let i = 0; i < n; i++) s += honest[i]![k]!
    const mean = s / n
    let v = 0
    for (let i = 0; i < n; i++) {
      const e = honest[i]![k]! - mean
      v += e * e
    }
    out[k] = mean - z * Math.sqrt(v / n)
  }
  return out
}

/**
 * The paper's z_max for n participants of which f collude: with
 * s = ⌊n/2 + 1⌋ − f supporters needed, the largest z with Φ(z) < (n − s)/n.
 * (For small n it is small or 0: n = 10 gives 0 for f = 1 and 0.25 for f = 2.)
 */
export function littleIsEnoughZ(n: number, f: number): number {
  checkInteger(n, 'n', 2)
  checkInteger(f, 'f', 1, n - 1)
  const s = Math.floor(n / 2 + 1) - f
  const p = (n - s) / n
  if (p <= 0 || p >= 1) throw new ParticipantError('BAD_ARGUMENT', `no z for n = ${n}, f = ${f}`)
  let lo = -40
  let hi = 40
  for (let i = 0; i < 200 && hi - lo > 1e-12; i++) {
    const mid = (lo + hi) / 2
    if (normalCdf(mid) < p) lo = mid
    else hi = mid
  }
  return lo
}
