import * as dagCbor from '@ipld/dag-cbor'
import { CarBufferReader } from '@ipld/car/buffer-reader'
import * as raw from 'multiformats/codecs/raw'
import { describe, expect, it } from 'vitest'
import { addDirectory, addFile, catFileBytes, exportCar, exportCarBytes, importCar, walkDag } from '../../ledger/cas/index.ts'
import { carOf, sha256Cid } from '../fixtures/cas/car.ts'
import { deterministicBytes } from '../fixtures/cas/deterministic.ts'
import { CountingBlockstore, memoryBlockstore, settle, utf8 } from '../fixtures/cas/stores.ts'

async function sampleDag() {
  const store = memoryBlockstore()
  const root = await addDirectory(store, [
    { path: 'weights', content: deterministicBytes(300_000, 'w') },
    { path: 'copy-of-weights', content: deterministicBytes(300_000, 'w') }, // shared blocks: written once
    { path: 'notes/readme', content: utf8('hello') },
  ], { chunkSize: 65_536 })
  return { store, root }
}

describe('CAR export', () => {
  it('writes a CAR v1 with the root and every reachable block once, depth-first', async () => {
    const { store, root } = await sampleDag()
    const car = await exportCarBytes(store, root)
    const reader = CarBufferReader.fromBytes(car)
    expect(reader.version).toBe(1)
    expect(reader.getRoots().map(String)).toEqual([root.toString()])
    const cids = reader.blocks().map((b) => b.cid.toString())
    expect(cids[0]).toBe(root.toString())
    expect(new Set(cids).size).toBe(cids.length)
    const walked: string[] = []
    for await (const b of walkDag(store, [root])) walked.push(b.cid.toString())
    expect(cids).toEqual(walked)
    // 5 leaves of 'weights' (shared by its copy) + its file node, 'readme' leaf, 'notes' dir, root
    expect(cids).toHaveLength(9)
  })

  it('is deterministic: same DAG, same bytes, across stores', async () => {
    const a = await sampleDag()
    const b = await sampleDag()
    expect(a.root.equals(b.root)).toBe(true)
    expect(Buffer.from(await exportCarBytes(a.store, a.root)).equals(Buffer.from(await exportCarBytes(b.store, b.root)))).toBe(true)
  })

  it('fails with NOT_FOUND for an unknown root, and for a missing block mid-DAG', async () => {
    const { store, root } = await sampleDag()
    await expect(exportCarBytes(store, sha256Cid(raw.code, utf8('nope')))).rejects.toMatchObject({ code: 'NOT_FOUND' })
    const victim = (await Array.fromAsync(walkDag(store, [root])))[3]!.cid
    await store.delete(victim)
    await expect(exportCarBytes(store, root)).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('follows links in dag-cbor blocks (ledger objects)', async () => {
    const store = memoryBlockstore()
    const file = await addFile(store, utf8('model'))
    const obj = dagCbor.encode({ model: file, nested: [{ again: file }], n: 1 })
    const objCid = sha256Cid(dagCbor.code, obj)
    await store.put(objCid, obj)
    const car = CarBufferReader.fromBytes(await exportCarBytes(store, objCid))
    expect(car.blocks().map((b) => b.cid.toString())).toEqual([objCid.toString(), file.toString()])
  })

  it('writes exactly the bytes of @ipld/car\'s CarWriter for the same blocks', async () => {
    const { store, root } = await sampleDag()
    const blocks = await Array.fromAsync(walkDag(store, [root]))
    expect(Buffer.from(await exportCarBytes(store, root)).equals(Buffer.from(await carOf(blocks, [root])))).toBe(true)
    const other = await addFile(store, utf8('second root'))
    const both = await Array.fromAsync(walkDag(store, [other, root]))
    expect(Buffer.from(await exportCarBytes(store, [other, root])).equals(Buffer.from(await carOf(both, [other, root])))).toBe(true)
  })

  it('is pulled by its reader: nothing read ahead, nothing left running when the reader stops', async () => {
    const store = new CountingBlockstore()
    const root = await addDirectory(store, [{ path: 'a', content: deterministicBytes(50_000, 'a') }, { path: 'b', content: utf8('b') }], { chunkSize: 4096 })
    store.reads = 0
    const car = exportCar(store, root)
    expect((await car.next()).done).toBe(false) // the header
    await settle()
    expect(store.reads).toBe(0)
    expect((await car.next()).done).toBe(false) // the root block
    await settle()
    expect(store.reads).toBe(1)
    await car.return(undefined)
    await settle()
    expect(store.reads).toBe(1)
    expect((await car.next()).done).toBe(true)
  })

  it('streams', async () => {
    const { store, root } = await sampleDag()
    let parts = 0
    for await (const _ of exportCar(store, root)) parts++
    expect(parts).toBeGreaterThan(2)
  })
})

describe('CAR import', () => {
  it('round-trips: every block verified and stored, roots returned, file readable', async () => {
    const { store, root } = await sampleDag()
    const car = await exportCarBytes(store, root)
    const target = memoryBlockstore()
    const result = await importCar(target, car)
    expect(result.roots.map(String)).toEqual([root.toString()])
    expect(result.blocks).toBe(9)
    expect(await catFileBytes(target, `${root.toString()}/weights`)).toEqual(deterministicBytes(300_000, 'w'))
    // and from a stream
    const again = memoryBlockstore()
    const streamed = await importCar(again, exportCar(store, root))
    expect(streamed.roots.map(String)).toEqual([root.toString()])
    expect(await again.count()).toBe(await target.count())
  })

  it('rejects a block whose bytes do not match its CID (CID_MISMATCH)', async () => {
    const good = utf8('good')
    const cid = sha256Cid(raw.code, good)
    const car = await carOf([{ cid, bytes: utf8('evil') }], [cid])
    const store = memoryBlockstore()
    await expect(importCar(store, car)).rejects.toMatchObject({ code: 'CID_MISMATCH' })
    expect(await store.has(cid)).toBe(false)
  })

  it.each([
    ['empty input', new Uint8Array(0)],
    ['garbage', utf8('this is not a CAR file at all')],
    ['a header claiming 200 bytes', Uint8Array.from([200, 1, 0xa2])],
  ])('rejects %s as MALFORMED', async (_label, bytes) => {
    await expect(importCar(memoryBlockstore(), bytes)).rejects.toMatchObject({ code: 'MALFORMED' })
  })

  it('rejects a truncated CAR as MALFORMED', async () => {
    const { store, root } = await sampleDag()
    const car = await exportCarBytes(store, root)
    await expect(importCar(memoryBlockstore(), car.subarray(0, car.length - 1000))).rejects.toMatchObject({ code: 'MALFORMED' })
  })
})
