// Shared test helpers for participant/: small synthetic datasets and error-code capture.
import { isParticipantError, makeDataset, seededRng, type Dataset } from '../../participant/index.ts'

/** `fn`'s ParticipantError code, or a description of what happened instead. */
export function codeOf(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    return isParticipantError(e) ? e.code : `not a ParticipantError: ${String(e)}`
  }
  return 'no throw'
}

/** The same for a promise. */
export async function asyncCodeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (e) {
    return isParticipantError(e) ? e.code : `not a ParticipantError: ${String(e)}`
  }
  return 'no throw'
}

/**
 * n examples of `features` features in `classes` Gaussian blobs (class c has
 * mean e_c·2 on feature c mod features), about a third of the values zero so
 * the sparse paths are exercised.
 */
export function blobs(n: number, features: number, classes: number, seed: number): Dataset {
  const rng = seededRng(seed, 'blobs')
  const x = new Float32Array(n * features)
  const y = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rng.next() * classes)
    y[i] = c
    for (let j = 0; j < features; j++) {
      const v = (j === c % features ? 2 : 0) + (rng.next() - 0.5)
      x[i * features + j] = rng.next() < 0.33 ? 0 : v
    }
  }
  return makeDataset(x, y, features, classes)
}

export function norm(v: ArrayLike<number>): number {
  let s = 0
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!
  return Math.sqrt(s)
}

export function meanStd(v: ArrayLike<number>): { mean: number; std: number } {
  let s = 0
  for (let i = 0; i < v.length; i++) s += v[i]!
  const mean = s / v.length
  let q = 0
  for (let i = 0; i < v.length; i++) q += (v[i]! - mean) ** 2
  return { mean, std: Math.sqrt(q / v.length) }
}
