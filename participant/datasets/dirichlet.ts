/**
 * Non-IID label split across members (Hsu, Qi and Brown 2019, the usual
 * federated-learning benchmark): for each class, proportions over the members
 * are drawn from Dirichlet(α, …, α) and that class's examples (shuffled) are
 * cut in those proportions. Small α gives each member few classes; large α
 * tends to an IID split. A draw that leaves some member below `minPerMember`
 * examples is redrawn (up to `maxAttempts`); if that still fails, examples
 * move one at a time from the largest member to the smallest. Deterministic
 * given the rng. Gamma variates by Marsaglia and Tsang (2000), in log space so
 * that tiny α does not underflow.
 */
import type { Labels } from '../dataset.ts'
import { checkInteger, checkPositive, ParticipantError } from '../errors.ts'
import { gaussianFrom, shuffleInPlace, type GaussianSource, type Rng } from '../random.ts'

/** log of a Gamma(shape, 1) variate. */
export function sampleLogGamma(shape: number, rng: Rng, normal: GaussianSource): number {
  if (shape < 1) {
    // G(a) = G(a + 1) · U^(1/a)
    return sampleLogGamma(shape + 1, rng, normal) + Math.log(1 - rng.next()) / shape
  }
  const d = shape - 1 / 3
  const c = 1 / Math.sqrt(9 * d)
  for (;;) {
    const x = normal.normal()
    const t = 1 + c * x
    if (t <= 0) continue
    const v = t * t * t
    const u = 1 - rng.next()
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return Math.log(d * v)
  }
}

/** A Dirichlet(α, …, α) draw over k categories. */
export function sampleDirichlet(alpha: number, k: number, rng: Rng, normal: GaussianSource = gaussianFrom(rng)): Float64Array {
  checkPositive(alpha, 'alpha')
  checkInteger(k, 'k', 1)
  const logs = new Float64Array(k)
  let max = -Infinity
  for (let i = 0; i < k; i++) {
    logs[i] = sampleLogGamma(alpha, rng, normal)
    if (logs[i]! > max) max = logs[i]!
  }
  let sum = 0
  for (let i = 0; i < k; i++) {
    logs[i] = Math.exp(logs[i]! - max)
    sum += logs[i]!
  }
  for (let i = 0; i < k; i++) logs[i] = logs[i]! / sum
  return logs
}

export interface DirichletSplitOptions {
  /** every member gets at least this many examples (default 1) */
  minPerMember?: number
  /** redraws before the rebalancing fallback (default 100) */
  maxAttempts?: number
}

function draw(byClass: Int32Array[], members: number, alpha: number, rng: Rng, normal: GaussianSource): number[][] {
  const parts: number[][] = Array.from({ length: members }, () => [])
  for (const pool of byClass) {
    if (pool.length === 0) continue
    const shuffled = pool.slice()
    shuffleInPlace(shuffled, rng)
    const p = sampleDirichlet(alpha, members, rng, normal)
    let cum = 0
    let start = 0
    for (let m = 0; m < members; m++) {
      cum += p[m]!
      const end = m === members - 1 ? shuffled.length : Math.min(shuffled.length, Math.round(cum * shuffled.length))
      for (let i = start; i < end; i++) parts[m]!.push(shuffled[i]!)
      start = Math.max(start, end)
    }
  }
  return parts
}

/**
 * Splits example indices 0..labels.length − 1 among `members` by a
 * Dirichlet(α) label split. Returns one ascending Int32Array per member; the
 * arrays partition the indices.
 */
export function dirichletSplit(labels: Labels, members: number, alpha: number, rng: Rng, options: DirichletSplitOptions = {}): Int32Array[] {
  checkInteger(members, 'members', 1)
  checkPositive(alpha, 'alpha')
  const minPer = checkInteger(options.minPerMember ?? 1, 'minPerMember', 0)
  const attempts = checkInteger(options.maxAttempts ?? 100, 'maxAttempts', 1)
  if (labels.length < members * minPer) {
    throw new ParticipantError('BAD_ARGUMENT', `${labels.length} examples cannot give ${members} members ${minPer} each`)
  }
  let classes = 0
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i]!
    if (!(Number.isInteger(c) && c >= 0)) throw new ParticipantError('BAD_ARGUMENT', `label ${i} is ${c}, not a class index`)
    if (c + 1 > classes) classes = c + 1
  }
  const counts = new Int32Array(classes)
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]!++
  const byClass = Array.from({ length: classes }, (_, c) => new Int32Array(counts[c]!))
  const fill = new Int32Array(classes)
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i]!
    byClass[c]![fill[c]!++] = i
  }
  const normal = gaussianFrom(rng)
  let parts = draw(byClass, members, alpha, rng, normal)
  for (let a = 1; a < attempts && parts.some((p) => p.length < minPer); a++) parts = draw(byClass, members, alpha, rng, normal)
  // fallback: move from the largest member to the smallest (ties: lowest index) until all have minPer
  for (;;) {
    let small = 0
    let large = 0
    for (let m = 1; m < members; m++) {
      if (parts[m]!.length < parts[small]!.length) small = m
      if (parts[m]!.length > parts[large]!.length) large = m
    }
    if (parts[small]!.length >= minPer) break
    parts[small]!.push(parts[large]!.pop()!)
  }
  return parts.map((p) => Int32Array.from(p).sort())
}
