/**
 * Transaction gossip over two real libp2p hosts on 127.0.0.1, each with a TxGossip
 * in front of a recording app: client transactions leave in batches (one gossipsub
 * message for many), pending ones are relayed to a peer that connects later (held
 * ones included), and a batch with a sender-fault transaction, or one that does not
 * decode, is rejected and its relayer banned.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { encode } from '../../primitives/index.ts'
import type { SubmitResult } from '../../node/app.ts'
import type { P2PHost } from '../../node/p2p/index.ts'
import { ADMIT_CHUNK, decodeTxBatch, MAX_ADMITTING_BATCHES, MAX_GOSSIP_BATCH, TxGossip, txTopic } from '../../node/tx-gossip.ts'
import { bytes, connected, Hosts, recordingLogger, sleep, text, waitFor } from './p2p/helpers.ts'

const CHAIN = 'gossip-test'
const hosts = new Hosts()
const gossips: TxGossip[] = []
afterEach(async () => {
  for (const g of gossips.splice(0)) g.stop()
  await hosts.stopAll()
})

/** An app whose mempool is a list: 'bad…' transactions are a sender fault, repeats are duplicates. */
class ListApp {
  readonly kind = 'ledger' as const
  readonly held: string[] = []
  readonly submits: string[] = []
  submit(tx: Uint8Array): SubmitResult {
    const t = text(tx)
    this.submits.push(t)
    if (t.startsWith('bad')) return { ok: false, code: 'BAD_SIGNATURE', message: 'does not verify', peerFault: true }
    if (this.held.includes(t)) return { ok: false, code: 'DUPLICATE', message: 'already pending', peerFault: false }
    this.held.push(t)
    return { ok: true, id: t }
  }
  mempoolSize(): number {
    return this.held.length
  }
  toRelay(count: number): Uint8Array[] {
    return this.held.slice(0, count).map(bytes)
  }
}

function gossipOn(host: P2PHost, app: ListApp, opts: { batchMs?: number; relayMs?: number } = {}): { gossip: TxGossip; admitted: () => number } {
  let admitted = 0
  const gossip = new TxGossip({ host, app, logger: recordingLogger(), onAdmitted: () => admitted++ }, { chainId: CHAIN, ...opts })
  gossip.start()
  gossips.push(gossip)
  return { gossip, admitted: () => admitted }
}

describe('TxGossip', () => {
  it('sends client transactions in batches: many transactions, one message', { timeout: 20_000 }, async () => {
    const a = await hosts.started(1)
    const b = await hosts.started(2, { peers: a.addresses() })
    await connected([a, b])
    const appA = new ListApp()
    const appB = new ListApp()
    const ga = gossipOn(a, appA, { batchMs: 50 })
    const gb = gossipOn(b, appB)
    // wait until b's subscription reached a: a probe transaction arrives
    let probe = 0
    await waitFor('b to receive a probe', () => {
      ga.gossip.send(bytes(`probe-${probe++}`))
      return appB.held.length > 0
    }, 10_000, 200)
    await sleep(300)
    const before = gb.admitted() // once per received message that brought something new
    for (let i = 0; i < 20; i++) ga.gossip.send(bytes(`tx-${i}`))
    await waitFor('b to hold all 20', () => appB.held.filter((t) => t.startsWith('tx-')).length === 20)
    expect(appB.held.filter((t) => t.startsWith('tx-'))).toEqual(Array.from({ length: 20 }, (_, i) => `tx-${i}`))
    expect(gb.admitted() - before).toBe(1)
  })

  it('relays what it holds to a peer that connects later, transactions behind a nonce gap included', { timeout: 20_000 }, async () => {
    const a = await hosts.started(1)
    const appA = new ListApp()
    gossipOn(a, appA, { relayMs: 1_000 })
    // as a node that is behind would: it holds these although it cannot order them yet
    appA.held.push('held-1', 'held-2')
    const b = await hosts.started(2, { peers: a.addresses() })
    const appB = new ListApp()
    gossipOn(b, appB)
    await connected([a, b])
    await waitFor('b to receive the held transactions', () => appB.held.includes('held-1') && appB.held.includes('held-2'), 10_000)
  })

  it('rejects a batch holding an invalid transaction (checking no further), or one that does not decode, and bans the relayer', { timeout: 20_000 }, async () => {
    for (const [n, payload] of [[3, encode([bytes('ok-1'), bytes('bad-sig'), bytes('ok-after')])], [5, bytes('not cbor at all')]] as const) {
      const a = await hosts.started(n)
      const b = await hosts.started(n + 1, { peers: a.addresses() })
      await connected([a, b])
      const appB = new ListApp()
      gossipOn(b, appB)
      // a publishes raw bytes on the topic (a rogue relayer), until b's subscription is known
      await waitFor('b to ban a', async () => {
        await a.publish(txTopic(CHAIN), payload).catch(() => 0)
        return b.penalties().get(a.peerId)?.bannedUntil !== undefined
      }, 10_000, 200)
      expect(b.penalties().get(a.peerId)?.lastReason).toBe('gossip-reject')
      // admission stops at the first transaction that is the relayer's fault
      expect(appB.submits).not.toContain('ok-after')
    }
  })
})

describe('decodeTxBatch', () => {
  it('takes a non-empty array of byte strings and refuses anything else with a typed error', () => {
    expect(decodeTxBatch(encode([bytes('x'), bytes('y')]), 1024).map(text)).toEqual(['x', 'y'])
    for (const bad of [encode([]), encode({ txs: [] }), encode([bytes('x'), 'y']), encode(Array.from({ length: MAX_GOSSIP_BATCH + 1 }, () => bytes('z'))), new Uint8Array([0xff])]) {
      expect(() => decodeTxBatch(bad, 1 << 20)).toThrow(expect.objectContaining({ code: 'MALFORMED_BATCH' }))
    }
    expect(() => decodeTxBatch(encode([bytes('x'.repeat(100))]), 50)).toThrow(/limit 50/)
  })

  it('admits a received batch in chunks, giving the event loop back between them (a consensus message waits for a chunk, not a batch)', async () => {
    let validate: ((from: string, data: Uint8Array) => unknown) | undefined
    const host = { subscribe: (_t: string, v: typeof validate) => ((validate = v), () => {}), onTopicPeer: () => () => {}, publish: async () => 0 } as unknown as P2PHost
    // a macrotask queued by an admission runs only once the receiver gives the event loop back
    const app = new ListApp()
    const ranAfter: number[] = []
    let queued = false
    const submit = app.submit.bind(app)
    app.submit = (tx) => {
      if (!queued) {
        queued = true
        setImmediate(() => ((queued = false), ranAfter.push(app.submits.length)))
      }
      return submit(tx)
    }
    const gossip = new TxGossip({ host, app, logger: recordingLogger(), onAdmitted: () => {} }, { chainId: CHAIN })
    gossip.start()
    gossips.push(gossip)
    const txs = Array.from({ length: 3 * ADMIT_CHUNK }, (_, i) => bytes(`tx-${i}`))
    expect(await validate!('peer', encode(txs))).toBe('accept')
    expect(app.held.length).toBe(txs.length)
    expect(ranAfter.filter((n) => n < txs.length)).toEqual([ADMIT_CHUNK, 2 * ADMIT_CHUNK])
  })

  it('admits at most MAX_ADMITTING_BATCHES received batches at once and ignores one past that, undecoded', async () => {
    let validate: ((from: string, data: Uint8Array) => Promise<string>) | undefined
    const host = { subscribe: (_t: string, v: typeof validate) => ((validate = v), () => {}), onTopicPeer: () => () => {}, publish: async () => 0 } as unknown as P2PHost
    const app = new ListApp()
    const gossip = new TxGossip({ host, app, logger: recordingLogger(), onAdmitted: () => {} }, { chainId: CHAIN })
    gossip.start()
    gossips.push(gossip)
    // batches larger than a chunk: each yields mid-way, so all of them are being admitted at once
    const batches = Array.from({ length: MAX_ADMITTING_BATCHES + 1 }, (_, b) => encode(Array.from({ length: 2 * ADMIT_CHUNK }, (_, i) => bytes(`b${b}-tx${i}`))))
    const verdicts = await Promise.all(batches.map((data) => validate!('peer', data)))
    expect(verdicts.slice(0, MAX_ADMITTING_BATCHES).every((v) => v === 'accept')).toBe(true)
    expect(verdicts.at(-1)).toBe('ignore')
    expect(app.submits.some((t) => t.startsWith(`b${MAX_ADMITTING_BATCHES}-`))).toBe(false)
    // once they are done, the next one is taken
    expect(await validate!('peer', batches.at(-1)!)).toBe('accept')
  })
})
