/**
 * CAR import: lengths checked before the bytes they announce are read, roots
 * checked after the import, CAR v2, and errors of the byte source kept apart
 * from a malformed CAR.
 */
import * as dagCbor from '@ipld/dag-cbor'
import * as raw from 'multiformats/codecs/raw'
import { describe, expect, it } from 'vitest'
import { addFile, catFileBytes, exportCarBytes, importCar, MAX_CAR_BLOCK_BYTES, MAX_CAR_HEADER_BYTES } from '../../ledger/cas/index.ts'
import { LedgerError } from '../../ledger/errors.ts'
import { carOf, carV2, concat, sha256Cid, varintBytes } from '../fixtures/cas/car.ts'
import { memoryBlockstore, utf8 } from '../fixtures/cas/stores.ts'

const CHUNK = 64 * 1024

/** `prefix`, then up to `total` zero bytes in 64 KiB chunks, counting what the reader pulled. */
function meteredSource(prefix: Uint8Array, total: number) {
  const meter = { pulled: 0 }
  async function* source() {
    yield prefix
    for (let sent = 0; sent < total; sent += CHUNK) {
      meter.pulled += CHUNK
      yield new Uint8Array(CHUNK)
    }
  }
  return { meter, source: source() }
}

const header = (roots: unknown[]) => {
  const bytes = dagCbor.encode({ version: 1, roots })
  return concat(varintBytes(bytes.length), bytes)
}

describe('CAR import bounds', () => {
  it('refuses an oversized block from its section length and CID, before reading the block', async () => {
    const cid = sha256Cid(raw.code, utf8('x'))
    const blockLength = MAX_CAR_BLOCK_BYTES + 1
    const head = concat(header([cid]), varintBytes(cid.bytes.length + blockLength), cid.bytes)
    const { meter, source } = meteredSource(head, blockLength)
    await expect(importCar(memoryBlockstore(), source)).rejects.toMatchObject({ code: 'OVERSIZED', message: expect.stringMatching(/4194305 bytes, limit 4194304/) })
    expect(meter.pulled).toBeLessThanOrEqual(CHUNK) // at most one chunk past the section head, to read the CID
  })

  it('refuses a header longer than MAX_CAR_HEADER_BYTES before reading it', async () => {
    const { meter, source } = meteredSource(varintBytes(MAX_CAR_HEADER_BYTES + 1), MAX_CAR_HEADER_BYTES + 1)
    await expect(importCar(memoryBlockstore(), source)).rejects.toMatchObject({ code: 'OVERSIZED' })
    expect(meter.pulled).toBeLessThanOrEqual(CHUNK) // what the length's varint peeked
  })

  it('refuses a section whose CID is longer than any CID it accepts', async () => {
    const { meter, source } = meteredSource(concat(header([sha256Cid(raw.code, utf8('r'))]), varintBytes(10_000), Uint8Array.of(0x01, 0x55, 0x12, 0xff, 0x3f)), 10_000)
    await expect(importCar(memoryBlockstore(), source)).rejects.toMatchObject({ code: 'MALFORMED', message: expect.stringMatching(/bad CID/) })
    expect(meter.pulled).toBeLessThanOrEqual(CHUNK)
  })

  it.each([
    ['a varint that never ends', new Uint8Array(12).fill(0xff)],
    ['a header that is not a map', concat(varintBytes(1), Uint8Array.of(0x01))],
    ['version 3', concat(varintBytes(dagCbor.encode({ version: 3, roots: [] }).length), dagCbor.encode({ version: 3, roots: [] }))],
    ['a root that is not a CID', header(['bafkrei'])],
    ['a zero-length section', concat(header([sha256Cid(raw.code, utf8('r'))]), Uint8Array.of(0))],
  ])('rejects %s as MALFORMED', async (_label, bytes) => {
    await expect(importCar(memoryBlockstore(), bytes)).rejects.toMatchObject({ code: 'MALFORMED' })
  })

  it('passes errors of the byte source through: a file that cannot be read is not a malformed CAR', async () => {
    const eio = Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO', syscall: 'read' })
    async function* failing() {
      yield header([sha256Cid(raw.code, utf8('r'))])
      throw eio
    }
    await expect(importCar(memoryBlockstore(), failing())).rejects.toBe(eio)
    const typed = new LedgerError('BAD_ARGUMENT', 'x.car: EIO')
    async function* failingTyped() {
      yield* [] as Uint8Array[]
      throw typed
    }
    await expect(importCar(memoryBlockstore(), failingTyped())).rejects.toBe(typed)
  })
})

describe('CAR import roots', () => {
  it('requires every root in the store afterwards (NOT_FOUND), unless allowPartial', async () => {
    const block = utf8('present')
    const present = sha256Cid(raw.code, block)
    const absent = sha256Cid(raw.code, utf8('absent'))
    const car = await carOf([{ cid: present, bytes: block }], [present, absent])
    const store = memoryBlockstore()
    await expect(importCar(store, car)).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining(absent.toString()) })
    expect(await store.has(present)).toBe(true) // verified blocks stay: harmless

    const partial = await importCar(memoryBlockstore(), car, { allowPartial: true })
    expect(partial.roots.map(String)).toEqual([present.toString(), absent.toString()])
    expect(partial.missingRoots.map(String)).toEqual([absent.toString()])
  })

  it('accepts a root that the store already held', async () => {
    const store = memoryBlockstore()
    const held = await addFile(store, utf8('held before'))
    const block = utf8('new')
    const cid = sha256Cid(raw.code, block)
    const result = await importCar(store, await carOf([{ cid, bytes: block }], [held, cid]))
    expect(result.missingRoots).toEqual([])
  })
})

describe('CAR v2', () => {
  it('reads a CAR v2 by its inner v1 payload, skipping what lies before it and the index after it', async () => {
    const source = memoryBlockstore()
    const root = await addFile(source, utf8('inside a v2'))
    const v1 = await exportCarBytes(source, root)
    for (const gap of [0, 9]) {
      const target = memoryBlockstore()
      const result = await importCar(target, concat(carV2(v1, gap), utf8('index bytes, ignored')))
      expect(result.roots.map(String)).toEqual([root.toString()])
      expect(new TextDecoder().decode(await catFileBytes(target, root))).toBe('inside a v2')
    }
  })

  it('rejects a v2 whose data offset points back into its header', async () => {
    const v2 = carV2(await carOf([], [sha256Cid(raw.code, utf8('r'))]))
    new DataView(v2.buffer, v2.byteOffset).setBigUint64(11 + 16, 20n, true)
    await expect(importCar(memoryBlockstore(), v2)).rejects.toMatchObject({ code: 'MALFORMED' })
  })
})
