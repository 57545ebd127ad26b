// Leader election: round-robin, and leader reputation from the committed chain.
import { describe, expect, it } from 'vitest'
import { LeaderReputation, RoundRobin, makeGenesis, type Block } from '../../consensus/index.ts'
import { scenario } from './sim/scenarios.ts'
import { simulate } from './sim/simulator.ts'

/** A committed block of `view` proposed by `proposer` whose QC was signed by `signers`. */
function committed(view: number, proposer: number, signers: number[], n: number): Block {
  const g = makeGenesis(0, n)
  const bitmap = new Uint8Array(Math.ceil(n / 8))
  for (const i of signers) bitmap[i >> 3]! |= 1 << (i & 7)
  return { ...g, view, height: view, proposer, justify: { ...g.justify, view: view - 1, votes: { signers: bitmap, signature: new Uint8Array(0) } } }
}

/** A chain where validators `dead` never propose or sign after view 0. */
function chain(n: number, views: number, dead: number[]): Block[] {
  const live = Array.from({ length: n }, (_, i) => i).filter((i) => !dead.includes(i))
  return Array.from({ length: views }, (_, k) => committed(k + 1, live[k % live.length]!, live, n))
}

describe('leader election', () => {
  it('round-robin is view mod n', () => {
    const rr = new RoundRobin(7)
    expect([0, 1, 6, 7, 15].map((v) => rr.leaderOf(v))).toEqual([0, 1, 6, 0, 1])
  })

  it('reputation rotates over every validator before there is history', () => {
    const rep = new LeaderReputation(4, 0, { probationEvery: 1_000_000 })
    expect(new Set([1, 2, 3, 4, 5, 6, 7, 8].map((v) => rep.leaderOf(v)))).toEqual(new Set([0, 1, 2, 3]))
  })

  it('validators absent from recent commits are not chosen, except on probation views', () => {
    const n = 7
    const rep = new LeaderReputation(n, 0, { excludeViews: 5 })
    rep.observe(chain(n, 40, [1, 6]))
    expect(rep.active(50)).toEqual([0, 2, 3, 4, 5])
    const leaders = Array.from({ length: 1000 }, (_, k) => rep.leaderOf(45 + k))
    const dead = leaders.filter((l) => l === 1 || l === 6).length
    expect(dead).toBeGreaterThan(0) // probation gives them a chance to come back
    expect(dead).toBeLessThan(60) // fewer than 1000/10 probation views × 2/7
    // no two adjacent views both go to absent validators often enough to matter: most runs of live leaders are long
    expect(leaders.filter((l) => l !== 1 && l !== 6).length).toBeGreaterThan(940)
  })

  it('probation views go only to validators outside the rotation, and never two within three views', () => {
    const n = 4
    const all = new LeaderReputation(n, 0, { excludeViews: 5 })
    all.observe(chain(n, 40, []))
    expect(all.active(60)).toEqual([0, 1, 2, 3])
    // everyone is active: every view follows the rotation, probation or not
    for (let v = 50; v < 5_050; v++) expect(all.leaderOf(v)).toBe(v % n)

    const rep = new LeaderReputation(n, 0, { excludeViews: 5 })
    rep.observe(chain(n, 40, [3]))
    expect(rep.active(60)).toEqual([0, 1, 2])
    const probation: number[] = []
    for (let v = 50; v < 20_050; v++) {
      const l = rep.leaderOf(v)
      if (l === 3) probation.push(v)
      else expect(l).toBe([0, 1, 2][v % 3]) // the rest follow the rotation over the active
    }
    expect(probation.length).toBeGreaterThan(20_000 / 10 / 4 / 2) // about one in 10 views is a probation view, a quarter of them pick validator 3
    for (let k = 1; k < probation.length; k++) expect(probation[k]! - probation[k - 1]!).toBeGreaterThanOrEqual(3)
  })

  it('in the simulator, a crashed validator of 4 never stalls commits for more than a few base timeouts', () => {
    // Before probation was confined to validators outside the rotation, the crashed one kept
    // its rotation turn and also won probation views next to it (or two probation views a
    // view apart): four timeouts in a row, backed off to 1 + 2 + 4 + 8 s, gave commit gaps
    // of 11-22 s in these runs (the e2e restart test saw the chain stop for over 15 s).
    for (const seed of [1, 2, 5]) {
      const commits: number[] = []
      const r = simulate({
        n: 4,
        seed,
        duration: 120_000,
        gst: 0,
        delay: [2, 60],
        commands: 6_000,
        injectUntil: 115_000,
        crashes: [{ replica: 3, at: 10_000 + seed * 37 }],
        baseTimeoutMs: 1_000,
        leaderElection: 'reputation',
        expectLiveness: true,
        trace: (line) => {
          if (line.includes(' n0(') && line.includes('→ commit')) commits.push(Number(line.split(' ')[0]))
        },
      })
      expect(r.violations).toEqual([])
      const gaps = commits.slice(1).map((t, k) => t - commits[k]!)
      // a crashed leader costs its view and the one before: 1 s + 2 s of timeouts, then a QC resets the back-off
      expect(Math.max(...gaps), `seed ${seed}`).toBeLessThan(4_500)
    }
  })

  it('a validator that signs again becomes active again', () => {
    const n = 4
    const rep = new LeaderReputation(n, 0, { excludeViews: 2, window: 8 })
    rep.observe(chain(n, 20, [3]))
    expect(rep.active(25)).toEqual([0, 1, 2])
    rep.observe(Array.from({ length: 8 }, (_, k) => committed(21 + k, k % n, [0, 1, 2, 3], n)))
    expect(rep.active(40)).toEqual([0, 1, 2, 3])
  })

  it('only commits at least excludeViews old count, so replicas whose commits lag a little agree', () => {
    const n = 7
    const history = chain(n, 60, [2])
    const ahead = new LeaderReputation(n, 0, { excludeViews: 20 })
    const behind = new LeaderReputation(n, 0, { excludeViews: 20 })
    ahead.observe(history)
    behind.observe(history.slice(0, 45)) // has not committed views 46..60 yet
    for (let v = 61; v <= 65; v++) expect(behind.leaderOf(v)).toBe(ahead.leaderOf(v))
  })

  it('history given at construction (a restart) gives the same leaders as live observation', () => {
    const n = 10
    const history = chain(n, 50, [4, 8])
    const live = new LeaderReputation(n, 3)
    for (const b of history) live.observe([{ ...b, epoch: 3 }])
    const restarted = new LeaderReputation(n, 3, {}, history.map((b) => ({ ...b, epoch: 3 })))
    for (let v = 51; v < 200; v++) expect(restarted.leaderOf(v)).toBe(live.leaderOf(v))
  })

  it('in the simulator, with f dead leaders, reputation times out far fewer views than round-robin', () => {
    const slow = scenario(17744) // n = 10, three replicas crash: not done within the run under round-robin
    expect(simulate({ ...slow, leaderElection: 'round-robin' }).violations.some((v) => v.startsWith('liveness'))).toBe(true)
    expect(simulate({ ...slow, leaderElection: 'reputation' }).violations).toEqual([])
    const s = scenario(79108) // n = 7, two replicas crash early
    const rr = simulate({ ...s, leaderElection: 'round-robin' })
    const rep = simulate({ ...s, leaderElection: 'reputation' })
    expect(rep.violations).toEqual([])
    expect(rep.timedOutViews * 2).toBeLessThan(rr.timedOutViews)
  })
})
