/**
 * A Byzantine validator in a real 4-validator network (f = 1): validator-3 runs
 * with `byzantine: ['equivocate', 'double-vote']` (node/byzantine.ts), so as leader
 * it sends conflicting signed proposals to different validators, and with each vote
 * it also votes for a made-up block. The three honest validators must keep
 * committing every transaction, on one chain, without judging each other faulty.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { chainOf, heights, logLines, netSummary, startNet, stopNet, validatorFaults, waitCommitted, waitFor, type Net } from './net.ts'
import { TxSender } from './sender.ts'

const HONEST = [0, 1, 2]
const BYZANTINE = 3

let net: Net | undefined
let sender: TxSender
const N = (): Net => {
  if (net === undefined) throw new Error('the testnet did not start')
  return net
}

beforeAll(async () => {
  net = await startNet({ consensus: { baseTimeoutMs: 1_000, maxTimeoutMs: 4_000 }, byzantine: { [BYZANTINE]: ['equivocate', 'double-vote'] } })
  sender = await TxSender.open(net.dir)
}, 120_000)

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && net !== undefined) console.error(`the network after '${ctx.task.name}' failed:\n${await netSummary(net)}`)
}, 30_000)

afterAll(async () => {
  await stopNet(net)
}, 60_000)

/** How often validator-3 logged each kind of misbehaviour. */
async function misbehaviour(): Promise<{ equivocations: number; doubleVotes: number }> {
  const lines = await logLines(N().homes[BYZANTINE]!)
  return {
    equivocations: lines.filter((l) => l.msg === 'byzantine: sending two conflicting proposals for one view').length,
    doubleVotes: lines.filter((l) => l.msg === 'byzantine: voting for a second block in one view').length,
  }
}

describe('a Byzantine validator among 4 on 127.0.0.1', () => {
  it('equivocates and double-votes, and the honest three still commit every transaction on one chain', { timeout: 150_000 }, async () => {
    const honestApis = HONEST.map((i) => N().apis[i]!)
    const before = await misbehaviour()
    const load = sender.pump(() => honestApis, 50)
    const startedAt = Date.now()
    let sent: string[]
    try {
      // at least 5 s of load, and until validator-3 has led (so equivocated) during it
      await waitFor('validator-3 to equivocate and double-vote under load', async () => {
        const m = await misbehaviour()
        return Date.now() - startedAt > 5_000 && m.equivocations > before.equivocations && m.doubleVotes > before.doubleVotes
      }, 60_000, 500)
    } finally {
      sent = await load.stop()
    }
    expect(sent.length).toBeGreaterThan(50)
    await waitCommitted(N(), HONEST, sent, 60_000)

    const top = Math.min(...(await heights(N(), HONEST)))
    const chains = await Promise.all(HONEST.map((i) => chainOf(N().apis[i]!, 1, top)))
    for (const c of chains.slice(1)) expect(c).toEqual(chains[0])
    // faults that involve validator-3 are expected; none between honest validators
    const faults = (await validatorFaults(N())).filter((f) => !f.includes(`validator-${BYZANTINE}`))
    expect(faults).toEqual([])
    console.info(`validator-3 misbehaved ${JSON.stringify(await misbehaviour())} times; the honest three committed ${sent.length} transactions up to height ${top}`)
  })
})
