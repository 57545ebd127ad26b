/**
 * The in-process federated simulation behind bench/fl-utility.ts, built from
 * the real pieces: MNIST split across banks by participant/'s Dirichlet split,
 * each bank running participant/'s DP-SGD and clipping its delta to C
 * (`localUpdate`), Byzantine banks transforming theirs with participant/'s
 * attacks, the enclave's norm rule (an update above C is excluded) and the
 * enclave's `multiKrum` (or a plain mean) on the updates, the result added to
 * the model (server learning rate 1). Deterministic given the seed: every
 * bank, round and purpose has its own seeded stream (sampling, noise, split).
 */
import { clipToNorm, l2Norm, multiKrum } from '../enclave/index.ts'
import { stepsPerRound } from '../ledger/index.ts'
import {
  dirichletSplit,
  gaussianFrom,
  labelFlip,
  littleIsEnough,
  localUpdate,
  logisticRegression,
  mlp,
  poison,
  seededRng,
  subset,
  type Dataset,
  type Model,
} from '../participant/index.ts'

export type AttackKind = 'sign-flip' | 'scale' | 'gaussian' | 'label-flip' | 'alie'
export const ATTACKS: readonly AttackKind[] = ['sign-flip', 'scale', 'gaussian', 'label-flip', 'alie']

export type Aggregator = { rule: 'mean' } | { rule: 'multi-krum'; f: number }

export interface RunSpec {
  model: 'lr' | 'mlp'
  /** MLP hidden units */
  hidden: number
  seed: number
  banks: number
  /** Dirichlet concentration of the label split */
  alpha: number
  rounds: number
  /** per-example and per-update clip bound C; Infinity = no clipping (with sigma 0) */
  clipNorm: number
  noiseMultiplier: number
  samplingRate: number
  localEpochs: number
  learningRate: number
  aggregator: Aggregator
  /** the first `count` banks are Byzantine */
  attack?: { kind: AttackKind; count: number; scale: number; z: number }
}

export interface RunResult {
  accuracy: number
  /** test accuracy after each round */
  curve: number[]
  /** mean per bank of the local training time per round, seconds */
  trainSeconds: number
  /** aggregation time per round, seconds */
  aggregateSeconds: number
  /** fraction of Multi-Krum selections that were Byzantine updates */
  byzantineSelected: number
  /** updates refused by the norm rule */
  refused: number
  /** mean norm of honest updates before clipping */
  meanDeltaNorm: number
}

export function makeModel(spec: Pick<RunSpec, 'model' | 'hidden'>, features: number, classes: number): Model {
  return spec.model === 'lr' ? logisticRegression(features, classes) : mlp(features, spec.hidden, classes)
}

/** Each bank's share of `train`, split by Dirichlet(alpha) from the seed. */
export function splitBanks(train: Dataset, banks: number, alpha: number, seed: number): Dataset[] {
  const parts = dirichletSplit(train.y, banks, alpha, seededRng(seed, 'split'))
  return parts.map((p) => subset(train, p))
}

function mean(updates: readonly Float32Array[]): Float64Array {
  const out = new Float64Array(updates[0]!.length)
  for (const u of updates) for (let k = 0; k < out.length; k++) out[k] = out[k]! + u[k]!
  for (let k = 0; k < out.length; k++) out[k] = out[k]! / updates.length
  return out
}

/** One federated training run; see the module comment. */
export function runFederated(spec: RunSpec, train: Dataset, test: Dataset): RunResult {
  const model = makeModel(spec, train.features, train.classes)
  const banks = splitBanks(train, spec.banks, spec.alpha, spec.seed)
  const attackers = spec.attack?.count ?? 0
  const kind = spec.attack?.kind
  const data = banks.map((d, b) => (b < attackers && kind === 'label-flip' ? labelFlip(d) : d))
  const steps = stepsPerRound(spec)
  const w = model.init(seededRng(spec.seed, 'init'))
  const curve: number[] = []
  let trainSeconds = 0
  let aggregateSeconds = 0
  let selectedByz = 0
  let selectedTotal = 0
  let refused = 0
  let normSum = 0
  let normCount = 0
  for (let r = 0; r < spec.rounds; r++) {
    const updates: Float32Array[] = []
    for (let b = 0; b < spec.banks; b++) {
      const t0 = performance.now()
      const u = localUpdate(model, w, data[b]!, {
        clipNorm: spec.clipNorm,
        noiseMultiplier: spec.noiseMultiplier,
        samplingRate: spec.samplingRate,
        steps,
        learningRate: spec.learningRate,
        rng: seededRng(spec.seed, 'sample', r, b),
        noise: gaussianFrom(seededRng(spec.seed, 'noise', r, b)),
      })
      trainSeconds += (performance.now() - t0) / 1000
      if (b >= attackers) {
        normSum += u.norm
        normCount++
      }
      updates.push(u.update)
    }
    if (spec.attack !== undefined && attackers > 0) poisonUpdates(spec, updates, r)
    const t1 = performance.now()
    // the enclave's norm rule: an update above the clip bound is excluded
    const kept: number[] = []
    for (let i = 0; i < updates.length; i++) {
      if (spec.clipNorm === Infinity || l2Norm(updates[i]!) <= spec.clipNorm) kept.push(i)
      else refused++
    }
    const accepted = kept.map((i) => updates[i]!)
    let agg: Float64Array
    if (spec.aggregator.rule === 'mean') {
      agg = mean(accepted)
    } else {
      const f = spec.aggregator.f
      const res = multiKrum(accepted, { f, m: accepted.length - f })
      agg = res.aggregate
      for (const s of res.selected) if (kept[s]! < attackers) selectedByz++
      selectedTotal += res.selected.length
    }
    for (let k = 0; k < w.length; k++) w[k] = w[k]! + agg[k]!
    aggregateSeconds += (performance.now() - t1) / 1000
    curve.push(model.accuracy(w, test))
  }
  return {
    accuracy: curve[curve.length - 1] ?? model.accuracy(w, test),
    curve,
    trainSeconds: trainSeconds / (spec.rounds * spec.banks),
    aggregateSeconds: aggregateSeconds / spec.rounds,
    byzantineSelected: selectedTotal === 0 ? 0 : selectedByz / selectedTotal,
    refused,
    meanDeltaNorm: normCount === 0 ? 0 : normSum / normCount,
  }
}

/**
 * Model poisoning by the first `count` banks, after they trained honestly.
 * Each attacker then clips to C: an update above the bound would simply be
 * excluded by the enclave, so the strongest attack that gets in is clipped.
 */
function poisonUpdates(spec: RunSpec, updates: Float32Array[], round: number): void {
  const a = spec.attack!
  const C = spec.clipNorm
  const honest = updates.slice(a.count)
  const alie = a.kind === 'alie' ? littleIsEnough(honest, a.z) : undefined
  for (let b = 0; b < a.count; b++) {
    let u: Float32Array
    switch (a.kind) {
      case 'sign-flip':
        u = poison(updates[b]!, 'sign-flip')
        break
      case 'scale':
        u = poison(updates[b]!, 'scale', { factor: a.scale })
        break
      case 'gaussian':
        u = poison(updates[b]!, 'gaussian', { noise: gaussianFrom(seededRng(spec.seed, 'attack', round, b)) })
        break
      case 'alie':
        u = alie!
        break
      case 'label-flip':
        continue // data poisoning: the bank trained on flipped labels
    }
    updates[b] = C === Infinity ? u : clipToNorm(u, C)
  }
}
