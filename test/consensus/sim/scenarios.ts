/**
 * Seeded scenarios: a seed fixes the network size, the faults (up to f faulty
 * replicas: crashes with or without restart, a Byzantine behaviour, or a Twins
 * pair), the network before GST (delays, drops, duplicates, a partition that
 * heals), and the commands. After GST the network is reliable with bounded
 * delay, and every command must commit at every live honest replica before the
 * run ends. Used by the default suite, `npm run sim`, and the regression list.
 */
import { BEHAVIOURS } from './byzantine.ts'
import { Rng } from './rng.ts'
import type { Behaviour, Crash, Partition, SimConfig } from './simulator.ts'

export const SIZES = [4, 7, 10] as const
export const GST = 4_000
export const DURATION = 120_000

export function scenario(seed: number): SimConfig & { describe: string } {
  const rng = new Rng(seed * 2654435761)
  const n = SIZES[seed % SIZES.length]!
  const f = Math.floor((n - 1) / 3)
  const faulty = shuffle(rng, Array.from({ length: n }, (_, i) => i)).slice(0, rng.int(0, f))
  const crashes: Crash[] = []
  const byzantine: Record<number, Behaviour> = {}
  const twins: number[] = []
  const notes: string[] = []
  for (const i of faulty) {
    const kind = rng.pick(['crash', 'crash-restart', 'byzantine', 'byzantine', 'twins'] as const)
    if (kind === 'crash' || kind === 'crash-restart') {
      const at = rng.int(0, GST + 2_000)
      const restartAt = kind === 'crash-restart' ? at + rng.int(200, 6_000) : undefined
      crashes.push({ replica: i, at, restartAt })
      notes.push(`${i}:${kind}@${at}${restartAt ? `→${restartAt}` : ''}`)
    } else if (kind === 'byzantine') {
      const name = rng.pick(Object.keys(BEHAVIOURS))
      byzantine[i] = BEHAVIOURS[name]!()
      notes.push(`${i}:${name}`)
    } else {
      twins.push(i)
      notes.push(`${i}:twins`)
    }
  }
  const partitions: Partition[] = []
  if (rng.chance(0.4) || twins.length > 0) {
    const from = rng.int(0, GST / 2)
    const to = rng.int(from + 200, GST)
    const cut = rng.int(1, n - 1)
    const order = shuffle(rng, Array.from({ length: n }, (_, i) => i))
    const groups = [order.slice(0, cut), order.slice(cut)]
    for (const t of twins) for (const g of groups) if (!g.includes(t)) g.push(t) // one twin on each side
    partitions.push({ from, to, groups })
    notes.push(`partition ${from}-${to} [${groups.map((g) => g.join(',')).join(' | ')}]`)
  }
  const drop = rng.pick([0, 0.05, 0.2, 0.5])
  const duplicate = rng.pick([0, 0.1])
  const maxDelay = rng.pick([5, 50, 400])
  return {
    n,
    seed,
    duration: DURATION,
    gst: GST,
    delay: [1, rng.pick([2, 10, 30])],
    preGst: { delay: [1, maxDelay], drop, duplicate },
    commands: rng.int(1, 60),
    injectUntil: rng.int(1, GST + 3_000),
    partitions,
    crashes,
    byzantine,
    twins,
    baseTimeoutMs: rng.pick([100, 300]),
    maxBatch: rng.pick([1, 10, 100]),
    expectLiveness: true,
    describe: `seed ${seed}: n=${n} ${notes.join(' ') || 'no faults'}; pre-GST drop ${drop} dup ${duplicate} delay ≤${maxDelay}`,
  }
}

function shuffle<T>(rng: Rng, xs: T[]): T[] {
  const a = [...xs]
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(0, i)
    ;[a[i], a[j]] = [a[j]!, a[i]!]
  }
  return a
}

/**
 * The same scenario with validator-set changes: node n (outside the first set)
 * replaces one validator at the end of epoch 0, and the replaced one comes back in
 * epoch 2 in place of another. Faults stay on the first set's nodes, so no epoch
 * has more than f faulty validators. Heights are kept moving (one command per
 * block, enough commands) so that the epochs do end.
 */
export function epochScenario(seed: number): SimConfig & { describe: string } {
  const base = scenario(seed)
  const rng = new Rng(seed * 40503 + 7)
  const n = base.n
  const first = Array.from({ length: n }, (_, i) => i)
  const out = rng.int(0, n - 1)
  const second = first.map((i) => (i === out ? n : i))
  const out2 = rng.pick(second.filter((i) => i !== n))
  const third = second.map((i) => (i === out2 ? out : i))
  const end0 = rng.int(3, 12)
  const end1 = end0 + rng.int(3, 12)
  return {
    ...base,
    commands: Math.max(base.commands, end1 + 10),
    maxBatch: 1,
    epochs: { lastHeights: [end0, end1], validators: [first, second, third] },
    describe: `${base.describe}; epochs end at ${end0}, ${end1}: ${out} → ${n}, ${out2} → ${out}`,
  }
}
