/**
 * node/federation content.ts refusing bad content over real libp2p hosts on
 * 127.0.0.1: a CAR rooted at another CID, a CAR with only part of the DAG, a
 * provider that does not hold the CID (the next one is asked), models too large
 * or not float32, and malformed requests to a provider (which keeps serving).
 */
import * as dagCbor from '@ipld/dag-cbor'
import { varint } from 'multiformats'
import { afterEach, describe, expect, it } from 'vitest'
import { addFile, addModel, CasBlockstore, CHECKPOINT_CID_OPTIONS, exportCarBytes, importCar, MemoryKeyValueStore } from '../../../ledger/index.ts'
import { encode, type CID } from '../../../primitives/index.ts'
import { contentProtocol, fetchContent, fetchModel, isFederationError, readModel, serveContent } from '../../../node/federation/index.ts'
import type { P2PHost } from '../../../node/p2p/index.ts'
import { CHAIN, connectedTo, remoteRefusal, Running, seedOf } from './helpers.ts'

const running = new Running()
afterEach(() => running.stopAll())

const newStore = (): CasBlockstore => new CasBlockstore({ kv: new MemoryKeyValueStore() })
const model = (n: number, at = 0): Float32Array => Float32Array.from({ length: n }, (_, i) => (i + at) / 7)
const MAX = 16 << 20

/** The rejection of `p` (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(() => undefined, (err: unknown) => err)
  if (e === undefined) throw new Error('expected a rejection')
  return e as Error
}

function expectContentError(e: Error, message: RegExp): void {
  expect(isFederationError(e), `${e.name}: ${e.message}`).toBe(true)
  expect((e as Error & { code: string }).code).toBe('CONTENT')
  expect(e.message).toMatch(message)
}

/** CAR v1 bytes with `roots` in the header and exactly `blocks` as sections (a provider's hand-made answer). */
function carOf(roots: CID[], blocks: Array<{ cid: CID; bytes: Uint8Array }>): Uint8Array {
  const section = (payload: Uint8Array): Uint8Array[] => [Uint8Array.from(varint.encodeTo(payload.length, new Uint8Array(varint.encodingLength(payload.length)))), payload]
  const parts = section(dagCbor.encode({ version: 1, roots }))
  for (const b of blocks) parts.push(...section(Uint8Array.from(Buffer.concat([b.cid.bytes, b.bytes]))))
  return Uint8Array.from(Buffer.concat(parts))
}

/** `n` providers and a fetcher connected to all of them. */
async function network(n: number): Promise<{ providers: P2PHost[]; fetcher: P2PHost }> {
  const providers: P2PHost[] = []
  for (let i = 0; i < n; i++) providers.push(await running.host(seedOf(`provider-${i}`)))
  const fetcher = await running.host(seedOf('fetcher'), providers.flatMap((p) => p.addresses()))
  await connectedTo(fetcher, providers)
  return { providers, fetcher }
}

describe('fetchContent and fetchModel', () => {
  it('refuse a CAR rooted at another CID and keep nothing under the requested one', async () => {
    const { providers: [liar], fetcher } = await network(1)
    const liarStore = newStore()
    const other = await addModel(liarStore, model(64, 1))
    const wanted = await addModel(newStore(), model(64))
    // whatever it is asked for, it answers with the DAG of `other`
    liar!.handle(contentProtocol(CHAIN), () => exportCarBytes(liarStore, other))
    const store = newStore()
    const e = await rejection(fetchContent(fetcher, CHAIN, [liar!.peerId], wanted, store, { maxBytes: MAX }))
    expectContentError(e, /no provider served/)
    expect(e.message).toContain(`rooted at ${other}, not ${wanted}`)
    expect(await store.has(wanted)).toBe(false)
    expectContentError(await rejection(fetchModel(fetcher, CHAIN, [liar!.peerId], wanted, store, { maxBytes: MAX })), /no provider served/)
    expectContentError(await rejection(readModel(store, wanted, MAX)), /not readable here/)
  })

  it('refuse a CAR that holds the root block but not the rest of its DAG, and fetch it whole later', async () => {
    const { providers: [cheat, honest], fetcher } = await network(2)
    const honestStore = newStore()
    // more than one 1 MiB chunk: a root node and two leaves
    const big = model(300_000)
    const cid = await addModel(honestStore, big)
    serveContent(honest!, CHAIN, honestStore)
    cheat!.handle(contentProtocol(CHAIN), async () => carOf([cid], [{ cid, bytes: await honestStore.getBytes(cid) }]))
    const store = newStore()
    const e = await rejection(fetchContent(fetcher, CHAIN, [cheat!.peerId], cid, store, { maxBytes: MAX }))
    expectContentError(e, /no provider served/)
    // the partial DAG left behind must not pass for the whole one: the next fetch asks providers again
    expect(await fetchContent(fetcher, CHAIN, [cheat!.peerId, honest!.peerId], cid, store, { maxBytes: MAX })).toBe(honest!.peerId)
    expect(await readModel(store, cid, MAX)).toEqual(big)
  })

  it('ask the next provider when one does not hold the CID, and fail with every reason when none does', async () => {
    const { providers: [empty, holder], fetcher } = await network(2)
    const holderStore = newStore()
    const weights = model(100)
    const cid = await addModel(holderStore, weights)
    serveContent(empty!, CHAIN, newStore())
    serveContent(holder!, CHAIN, holderStore)
    const store = newStore()
    expect(await fetchContent(fetcher, CHAIN, [empty!.peerId, holder!.peerId], cid, store, { maxBytes: MAX })).toBe(holder!.peerId)
    expect(await readModel(store, cid, MAX)).toEqual(weights)
    // now held locally: no provider is asked
    expect(await fetchContent(fetcher, CHAIN, [], cid, store, { maxBytes: MAX })).toBe('local')

    const missing = await addModel(newStore(), model(5))
    const e = await rejection(fetchContent(fetcher, CHAIN, [empty!.peerId, holder!.peerId], missing, newStore(), { maxBytes: MAX }))
    expectContentError(e, new RegExp(`no provider served ${missing}`))
    expect(e.message.match(/not held here/g)).toHaveLength(2)
    expect(e.message).toContain(empty!.peerId.slice(-8))
    expect(e.message).toContain(holder!.peerId.slice(-8))
    expectContentError(await rejection(fetchContent(fetcher, CHAIN, [], missing, newStore(), { maxBytes: MAX })), /no providers/)
  })

  it('fetchModel refuses a fetched model larger than maxBytes', async () => {
    const { providers: [holder], fetcher } = await network(1)
    const holderStore = newStore()
    const cid = await addModel(holderStore, model(100))
    serveContent(holder!, CHAIN, holderStore)
    expectContentError(await rejection(fetchModel(fetcher, CHAIN, [holder!.peerId], cid, newStore(), { maxBytes: 399 })), /400 bytes, more than the 399 allowed/)
    expect(await fetchModel(fetcher, CHAIN, [holder!.peerId], cid, newStore(), { maxBytes: 400 })).toHaveLength(100)
  })
})

describe('readModel', () => {
  it('refuses a file larger than maxBytes, and reads one of exactly maxBytes', async () => {
    const store = newStore()
    const weights = model(100)
    const cid = await addModel(store, weights)
    expectContentError(await rejection(readModel(store, cid, 399)), /is 400 bytes, more than the 399 allowed/)
    expect(await readModel(store, cid, 400)).toEqual(weights)
  })

  it('refuses a file that is not a whole number of float32 values, and a CID it does not hold', async () => {
    const store = newStore()
    const odd = await addFile(store, Uint8Array.of(1, 2, 3, 4, 5, 6, 7), { params: CHECKPOINT_CID_OPTIONS })
    expectContentError(await rejection(readModel(store, odd, MAX)), /whole number of float32/)
    const absent = await addModel(newStore(), model(3))
    expectContentError(await rejection(readModel(store, absent, MAX)), /not readable here/)
  })
})

describe('serveContent', () => {
  it('answers malformed requests with an error and keeps serving', async () => {
    const { providers: [provider], fetcher } = await network(1)
    const providerStore = newStore()
    const weights = model(32)
    const cid = await addModel(providerStore, weights)
    serveContent(provider!, CHAIN, providerStore)
    const ask = (body: Uint8Array) => fetcher.request(provider!.peerId, contentProtocol(CHAIN), body, { timeoutMs: 3000 })
    const shape = /a content request is DAG-CBOR \{ root: CID \}/
    for (const bad of [encode({ root: cid.toString() }), encode({ root: cid, extra: 1 }), encode({}), encode([cid]), encode(null)]) {
      expect(await remoteRefusal(ask(bad))).toMatch(shape)
    }
    // not DAG-CBOR at all, and a request over the 1 KiB a request may take
    expect(await remoteRefusal(ask(Uint8Array.of(0xa1, 0xff, 0x00)))).toMatch(/DAG-CBOR/)
    expect(await remoteRefusal(ask(encode({ root: cid, pad: new Uint8Array(2048) })))).toMatch(/1024|DAG-CBOR/)
    const absent = await addModel(newStore(), model(3))
    expect(await remoteRefusal(ask(encode({ root: absent })))).toContain(`not held here: ${absent}`)
    // still serving: a good request gets the CAR of the DAG, which imports whole
    const store = newStore()
    const imported = await importCar(store, await ask(encode({ root: cid })))
    expect(imported.roots.map(String)).toEqual([cid.toString()])
    expect(await readModel(store, cid, MAX)).toEqual(weights)
    expect(fetcher.connectedPeers()).toContain(provider!.peerId)
  })
})
