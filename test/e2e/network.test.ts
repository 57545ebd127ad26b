/**
 * End-to-end reliability of a 4-validator network: real `fedledger node`
 * processes (testnet/ runner) talking libp2p on 127.0.0.1, driven only through
 * their HTTP APIs, signals, the admin partition hook and rogue libp2p peers.
 * One testnet serves the whole file; the tests run in order and each leaves the
 * network whole for the next (load, partition/heal, rogue peers, crash/restart,
 * leader crash last). A passive monitor peer watches the consensus gossip for
 * equivocation throughout, and every validator's log is checked for errors and
 * for honest validators rejecting or banning each other.
 */
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { checkCertificate, ed25519Scheme, type CommitCertificate } from '../../consensus/index.ts'
import { Bucket, bucketKey, ChainStore, genesisState, LevelKeyValueStore } from '../../ledger/index.ts'
import { ApiClient, type CommitView } from '../../node/api/index.ts'
import { HOME_FILES, readGenesis } from '../../node/index.ts'
import { decode, encode, fromHex } from '../../primitives/index.ts'
import { blockEvents, isOurProcess, kill, readPid, restart } from '../../testnet/index.ts'
import { chainOf, getJson, heights, logLines, netSummary, validatorFaults, metric, sleep, startNet, statusOf, stopNet, waitCommitted, waitFor, type Net, type TxView } from './net.ts'
import { SafetyMonitor } from './monitor.ts'
import { TxSender } from './sender.ts'
import { rogueAttacks } from './attacks.ts'

const ALL = [0, 1, 2, 3]

let net: Net | undefined
let sender: TxSender
let monitor: SafetyMonitor | undefined

/** The network under test (fails the test, not the type checker, when setup failed). */
const N = (): Net => {
  if (net === undefined) throw new Error('the testnet did not start')
  return net
}
const apisOf = (indices: readonly number[]): string[] => indices.map((i) => N().apis[i]!)

/** The leader every validator in `indices` reports, once they all agree. */
async function agreedLeader(indices: readonly number[]): Promise<number> {
  return waitFor(
    `validators ${indices.join(', ')} to agree on a leader`,
    async () => {
      const ids = await Promise.all(indices.map(async (i) => (await statusOf(N().apis[i]!))?.leader?.id))
      const first = ids[0]
      if (first === undefined || ids.some((id) => id !== first)) return false
      const index = N().peerIds.indexOf(first)
      return index < 0 ? false : { index }
    },
    20_000,
  ).then((l) => l.index)
}

/** The same block ids at heights 1..(lowest committed height) on every validator in `indices`; returns that height. */
async function expectOneChain(indices: readonly number[]): Promise<number> {
  const top = Math.min(...(await heights(N(), indices)))
  const chains = await Promise.all(indices.map((i) => chainOf(N().apis[i]!, 1, top)))
  for (const c of chains.slice(1)) expect(c).toEqual(chains[0])
  return top
}

/**
 * Every validator in `indices` holds a commit certificate for each height in `heights`,
 * of one header, which checks against the genesis validator keys and names the block
 * and state root the validators report for that height.
 */
async function expectCertified(indices: readonly number[], at: readonly number[]): Promise<void> {
  const genesis = await readGenesis(N().homes[0]!)
  const scheme = ed25519Scheme(genesis.validators.map((v) => v.publicKey))
  for (const h of at) {
    const views = await waitFor(`a commit certificate for height ${h} on validators ${indices.join(', ')}`, async () => {
      const vs = await Promise.all(apisOf(indices).map((api) => getJson<CommitView>(api, `/v1/commits/${h}`)))
      return vs.every((v) => v !== null) ? (vs as CommitView[]) : false
    }, 20_000)
    for (const v of views) expect(v.header).toEqual(views[0]!.header)
    const cert = decode<CommitCertificate>(fromHex(views[0]!.certificateCbor))
    expect(checkCertificate(cert, { chain: genesis.chainId, genesis: genesisState(genesis).root }, scheme)).toEqual({ ok: true })
    const block = await getJson<{ id: string; stateRoot: string }>(N().apis[indices[0]!]!, `/v1/blocks/${h}`)
    expect(views[0]!.header).toMatchObject({ height: h, ledgerBlock: block!.id, stateRoot: block!.stateRoot })
  }
}

/**
 * Corrupts a stopped validator's ledger state the way a disk or a bad build would: one
 * more entry in its state, and a head whose root matches it, so the store opens cleanly
 * and only the next execution shows that this validator computes a different state.
 */
async function corruptState(home: string): Promise<void> {
  const kv = new LevelKeyValueStore(join(home, HOME_FILES.db))
  await kv.open()
  try {
    const chain = new ChainStore({ kv })
    const state = await chain.loadState()
    const key = 'corrupt/e2e'
    const corrupted = state.apply([[key, encode('not what the others hold')]], state.height)
    const head = (await chain.head())!
    await kv.batch([
      { type: 'put', key: bucketKey(Bucket.STATE, new TextEncoder().encode(key)), value: encode('not what the others hold') },
      { type: 'put', key: bucketKey(Bucket.META, new TextEncoder().encode('head')), value: encode({ ...head, stateRoot: corrupted.root }) },
    ])
    expect((await chain.loadState()).root).toEqual(corrupted.root)
  } finally {
    await kv.close()
  }
}

/** After each step: no equivocation seen on the wire, no validator error, no honest validator judged another faulty. */
async function expectNoSafetyFaults(): Promise<void> {
  expect(monitor?.conflicts ?? ['no monitor']).toEqual([])
  expect(await validatorFaults(N())).toEqual([])
}

beforeAll(async () => {
  // maxTimeoutMs caps the pacemaker's back-off so a healed partition resumes within seconds
  net = await startNet({ consensus: { baseTimeoutMs: 1_000, maxTimeoutMs: 4_000 } })
  sender = await TxSender.open(net.dir)
  monitor = await SafetyMonitor.start(net)
}, 120_000)

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && net !== undefined) console.error(`the network after '${ctx.task.name}' failed:\n${await netSummary(net)}`)
}, 30_000)

afterAll(async () => {
  await monitor?.stop().catch(() => undefined)
  await stopNet(net)
}, 60_000)

describe('4 validators over libp2p on 127.0.0.1', () => {
  it('commits 200 transactions sent to all four validators, in the same blocks everywhere', { timeout: 120_000 }, async () => {
    // a client watching validator 1's block events sees each one commit
    const events = new Map<string, { height: number; block: string }>()
    const stream = blockEvents(N().apis[1]!, (b) => b.txs.forEach((id) => events.set(id, { height: b.height, block: b.id })))
    await stream.ready
    const ids = await sender.sendMany(N().apis, 200, 30)
    const where = await waitCommitted(N(), ALL, ids, 60_000)
    await waitFor('the block events of all 200', () => ids.every((id) => events.has(id)), 10_000)
    stream.close()
    for (const id of ids) expect(events.get(id)).toEqual(where.get(id))
    // one sender: nonce n+1 never commits before nonce n
    const hs = ids.map((id) => where.get(id)!.height)
    expect(hs).toEqual([...hs].sort((a, b) => a - b))
    expect(new Set(hs).size).toBeGreaterThan(1)
    expect(await expectOneChain(ALL)).toBeGreaterThanOrEqual(Math.max(...hs))
    expect(monitor!.seen.proposals).toBeGreaterThan(0)
    // each height that carried the load is certified: the same signed state root everywhere
    await expectCertified(ALL, [...new Set(hs)])
    await expectNoSafetyFaults()
  })

  it('stops committing in a 2/2 partition (no quorum on either side) and resumes when healed', { timeout: 120_000 }, async () => {
    const halves = [[0, 1], [2, 3]] as const
    const others = (half: readonly number[]) => ALL.filter((i) => !half.includes(i)).map((i) => N().peerIds[i]!)
    await Promise.all(halves.flatMap((half) => half.map((i) => new ApiClient({ apis: [N().apis[i]!] }).block(others(half)))))
    await new Promise((r) => setTimeout(r, 1_500)) // let anything in flight land
    const frozen = await heights(N(), ALL)

    // transactions reach both halves, but neither half has 3 of 4 votes
    const during: string[] = []
    for (let k = 0; k < 6; k++) during.push(await sender.send([N().apis[k % 2 === 0 ? 0 : 2]!]))
    const until = Date.now() + 5_000
    while (Date.now() < until) {
      expect(await heights(N(), ALL)).toEqual(frozen)
      await new Promise((r) => setTimeout(r, 500))
    }
    for (const api of N().apis) for (const id of during) expect(await getJson<TxView>(api, `/v1/txs/${id}`)).toBeNull()

    const healedAt = Date.now()
    await Promise.all(ALL.map((i) => new ApiClient({ apis: [N().apis[i]!] }).unblock(N().peerIds.filter((_, j) => j !== i))))
    await waitCommitted(N(), ALL, during, 60_000)
    console.info(`partition healed: the 6 transactions sent during it committed on all 4 after ${Date.now() - healedAt} ms`)
    const after = await heights(N(), ALL)
    after.forEach((h, i) => expect(h).toBeGreaterThan(frozen[i]!))
    await expectOneChain(ALL)
    await expectNoSafetyFaults()
  })

  it('keeps committing while rogue peers send malformed and forged messages, and bans each rogue', { timeout: 120_000 }, async () => {
    const before = await heights(N(), ALL)
    const load = sender.pump(() => N().apis, 100)
    let sent: string[]
    try {
      await rogueAttacks(N())
    } finally {
      sent = await load.stop()
    }
    expect(sent.length).toBeGreaterThan(5)
    await waitCommitted(N(), ALL, sent, 60_000)
    const after = await heights(N(), ALL)
    after.forEach((h, i) => expect(h).toBeGreaterThan(before[i]!))
    await expectOneChain(ALL)
    await expectNoSafetyFaults()
  })

  it('a validator killed with SIGKILL under load restarts, catches up on the same chain and keeps committing', { timeout: 150_000 }, async () => {
    const leader = await agreedLeader(ALL)
    const victim = [3, 2, 1, 0].find((i) => i !== leader)!
    const others = ALL.filter((i) => i !== victim)
    const victimApi = N().apis[victim]!
    const load = sender.pump(() => apisOf(others), 60)
    let sent: string[] = []
    let committedBeforeKill: Map<string, TxView>
    let restartedAt = -1
    try {
      // what the victim reports committed just before it dies
      committedBeforeKill = await waitFor(
        `validator-${victim} to commit some of the load`,
        async () => {
          const found = new Map<string, TxView>()
          for (const id of load.sent.slice()) {
            const tx = await getJson<TxView>(victimApi, `/v1/txs/${id}`)
            if (tx !== null) found.set(id, tx)
          }
          return found.size >= 15 ? found : false
        },
        45_000,
        300,
      )
      const [downAt] = await heights(N(), [victim])
      const killed = await kill(N().dir, victim, 'SIGKILL')
      expect(killed.exited).toBe(true)

      // three of four are a quorum: they keep committing without it, and it misses those blocks
      await waitFor('the other three to commit past the crashed validator', async () => Math.min(...(await heights(N(), others))) >= downAt! + 5, 45_000)
      expect(await statusOf(victimApi)).toBeNull()

      await restart(N().dir, victim, { timeoutMs: 60_000 })
      restartedAt = (await statusOf(victimApi))?.committed.height ?? -1
      await new Promise((r) => setTimeout(r, 2_000)) // load goes on while it catches up
    } finally {
      sent = await load.stop()
    }

    const where = await waitCommitted(N(), ALL, sent, 90_000)
    // everything the victim had committed before SIGKILL is still there, unchanged
    for (const [id, tx] of committedBeforeKill) expect(where.get(id)).toEqual({ height: tx.height, block: tx.block })
    const target = Math.max(...(await heights(N(), others)))
    await waitFor(`validator-${victim} to catch up to height ${target}`, async () => ((await statusOf(victimApi))?.committed.height ?? -1) >= target, 60_000)
    console.info(`restarted validator-${victim} came back at height ${restartedAt} and caught up to ${target}`)
    await expectOneChain(ALL)

    // it is a working validator again: transactions sent to it alone commit everywhere
    const fresh = await sender.sendMany([victimApi], 3, 50)
    const landed = await waitCommitted(N(), ALL, fresh, 60_000)
    expect(Math.min(...[...landed.values()].map((w) => w.height))).toBeGreaterThan(target)
    await expectNoSafetyFaults()
  })

  it('after SIGKILL of the leader the other three change view and keep committing; the old leader rejoins', { timeout: 120_000 }, async () => {
    const leader = await agreedLeader(ALL)
    const survivors = ALL.filter((i) => i !== leader)
    const timeoutsBefore = await Promise.all(apisOf(survivors).map((api) => metric(api, 'view_timeouts_total')))
    const viewsBefore = await Promise.all(apisOf(survivors).map(async (api) => (await statusOf(api))!.view))
    const heightBefore = Math.max(...(await heights(N(), survivors)))

    expect((await kill(N().dir, leader, 'SIGKILL')).exited).toBe(true)
    const fresh = await sender.sendMany(apisOf(survivors), 5, 100)
    const landed = await waitCommitted(N(), survivors, fresh, 60_000)
    expect(Math.min(...[...landed.values()].map((w) => w.height))).toBeGreaterThan(heightBefore)

    // the dead leader's view ended by timeout on every survivor, and they moved on
    const timeoutsAfter = await Promise.all(apisOf(survivors).map((api) => metric(api, 'view_timeouts_total')))
    timeoutsAfter.forEach((t, k) => expect(t).toBeGreaterThan(timeoutsBefore[k]!))
    const viewsAfter = await Promise.all(apisOf(survivors).map(async (api) => (await statusOf(api))!.view))
    viewsAfter.forEach((v, k) => expect(v).toBeGreaterThan(viewsBefore[k]!))
    await expectOneChain(survivors)

    // The old leader comes back cut off from the others, and behind: it missed the blocks
    // above, so the transactions sent to it wait behind a nonce gap in its mempool, and the
    // chain is idle, so no proposal tells it that it is behind. Once reconnected it must
    // relay them to the others, who can order them; then it catches up and orders again.
    await restart(N().dir, leader, { timeoutMs: 60_000 })
    const leaderApi = N().apis[leader]!
    const othersIds = N().peerIds.filter((_, j) => j !== leader)
    await new ApiClient({ apis: [leaderApi] }).block(othersIds)
    const again = await sender.sendMany([leaderApi], 3, 50)
    await sleep(1_000)
    await new ApiClient({ apis: [leaderApi] }).unblock(othersIds)
    await waitCommitted(N(), ALL, again, 30_000)
    await expectOneChain(ALL)
    await expectNoSafetyFaults()
    // the monitor watched real traffic all along
    console.info(`safety monitor saw ${JSON.stringify(monitor!.seen)}`)
    expect(monitor!.seen.qcs).toBeGreaterThan(100)
    expect(monitor!.seen.timeouts).toBeGreaterThan(0)
  })

  // Last: it leaves validator 3 halted.
  it('a validator whose state is corrupted halts with STATE_DIVERGED at the next certified height; the other three go on', { timeout: 120_000 }, async () => {
    const victim = 3
    const others = [0, 1, 2]
    const home = N().homes[victim]!
    expect((await kill(N().dir, victim, 'SIGTERM')).exited).toBe(true)
    await corruptState(home)
    await restart(N().dir, victim, { timeoutMs: 60_000 })
    const pid = (await readPid(home))!
    const [before] = await heights(N(), [victim])

    const fresh = await sender.sendMany(apisOf(others), 5, 100)
    const landed = await waitCommitted(N(), others, fresh, 60_000)
    await waitFor(`validator-${victim} to halt`, async () => !(await isOurProcess(pid, home)), 30_000)
    const halted = (await logLines(home)).find((l) => l.code === 'STATE_DIVERGED')
    expect(halted).toBeDefined()
    // the first height it executed after the restart is where its root differed from the quorum's
    expect(halted!.height).toBe(before! + 1)
    expect(String(halted!.msg)).toMatch(/execution diverged at height \d+: this validator computed state root [0-9a-f]{64}, a quorum certified [0-9a-f]{64}/)
    // the three honest validators certified past it
    await expectCertified(others, [Math.max(...[...landed.values()].map((w) => w.height))])
  })
})
