/**
 * Reading UnixFS back: bounded-memory streaming (catFile), sizes before reading
 * (statFile), and typed errors for blocks that pass the hash check but do not
 * decode, or decode to an inconsistent file.
 */
import * as dagCbor from '@ipld/dag-cbor'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import type { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import { CID as CIDClass } from 'multiformats/cid'
import { describe, expect, it } from 'vitest'
import { addDirectory, addFile, catFile, catFileBytes, listDirectory, statFile, type CasBlockstore } from '../../ledger/cas/index.ts'
import { sha256Cid } from '../fixtures/cas/car.ts'
import { deterministicBytes } from '../fixtures/cas/deterministic.ts'
import { CountingBlockstore, memoryBlockstore, settle, utf8 } from '../fixtures/cas/stores.ts'

async function putBlock(store: CasBlockstore, code: number, bytes: Uint8Array): Promise<CID> {
  const cid = sha256Cid(code, bytes)
  await store.put(cid, bytes)
  return cid
}

/** A dag-pb UnixFS node with the given type, data, links and block sizes. */
function pbNode(type: 'file' | 'directory' | 'raw', links: Array<{ cid: CID; name?: string }>, blockSizes: bigint[] = [], data?: Uint8Array): Uint8Array {
  const unixfs = new UnixFS({ type, blockSizes, ...(data === undefined ? {} : { data }) })
  return dagPb.encode(dagPb.prepare({ Data: unixfs.marshal(), Links: links.map((l) => ({ Hash: l.cid, Name: l.name ?? '', Tsize: 1 })) }))
}

/** 5,000 nested CBOR arrays around one integer: hashes fine, overflows a recursive decoder. */
const deeplyNested = (): Uint8Array => {
  const bytes = new Uint8Array(5001).fill(0x81)
  bytes[5000] = 0x01
  return bytes
}

describe('catFile streams with bounded memory', () => {
  // 200 leaves of 1 KiB, 8 links per node: root, 4 nodes, 25 nodes, 200 leaves
  const LEAVES = 200
  const internalRead = (k: number) => 1 + (Math.floor(k / 64) + 1) + (Math.floor(k / 8) + 1)

  it('never reads further than the path to the leaf being read, however long the reader pauses', async () => {
    const store = new CountingBlockstore()
    const bytes = deterministicBytes(LEAVES * 1024, 'stream')
    const cid = await addFile(store, bytes, { chunkSize: 1024, maxLinksPerNode: 8 })
    store.reads = 0
    const parts: Uint8Array[] = []
    for await (const part of catFile(store, cid)) {
      parts.push(part)
      await settle() // a slow reader: an eager walker would fetch the whole file meanwhile
      const k = parts.length - 1
      expect(store.reads).toBeLessThanOrEqual(k + 1 + internalRead(k))
    }
    expect(parts).toHaveLength(LEAVES)
    expect(Buffer.concat(parts).equals(Buffer.from(bytes))).toBe(true)
    expect(store.reads).toBe(1 + 4 + 25 + LEAVES)
  })

  it('reads only the blocks of the range asked for', async () => {
    const store = new CountingBlockstore()
    const bytes = deterministicBytes(LEAVES * 1024, 'range')
    const cid = await addFile(store, bytes, { chunkSize: 1024, maxLinksPerNode: 8 })
    store.reads = 0
    expect(await catFileBytes(store, cid, { offset: 150_000, length: 100 })).toEqual(bytes.subarray(150_000, 150_100))
    expect(store.reads).toBe(4) // root, one node per level, one leaf
  })

  it('refuses bad ranges', async () => {
    const store = memoryBlockstore()
    const cid = await addFile(store, utf8('abc'))
    await expect(catFileBytes(store, cid, { offset: 4 })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' })
    await expect(catFileBytes(store, cid, { offset: -1 })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' })
    await expect(catFileBytes(store, cid, { length: -1 })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' })
    expect(await catFileBytes(store, cid, { offset: 1, length: 99 })).toEqual(utf8('bc'))
  })
})

describe('statFile', () => {
  it('gives type and size from the root block alone', async () => {
    const store = new CountingBlockstore()
    const big = await addFile(store, deterministicBytes(300_000, 'stat'), { chunkSize: 1024 })
    store.reads = 0
    expect(await statFile(store, big)).toEqual({ cid: big, type: 'file', size: 300_000n })
    expect(store.reads).toBe(1)
  })

  it('names directories, symlinks, single raw blocks, identity CIDs and paths', async () => {
    const store = memoryBlockstore()
    const root = await addDirectory(store, [{ path: 'd/f', content: utf8('12345') }, { path: 'l', symlink: 'd/f' }])
    expect(await statFile(store, root)).toMatchObject({ type: 'directory' })
    expect(await statFile(store, `${root}/d/f`)).toMatchObject({ type: 'file', size: 5n })
    expect(await statFile(store, `${root}/l`)).toMatchObject({ type: 'symlink' })
    const identity = CIDClass.createV1(raw.code, Digest.create(0x00, utf8('inline')))
    expect(await statFile(store, identity)).toEqual({ cid: identity, type: 'file', size: 6n })
    expect(await catFileBytes(store, identity, { offset: 2 })).toEqual(utf8('line'))
    await expect(statFile(store, `${root}/nope`)).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })
})

describe('blocks that pass the hash check but do not decode are MALFORMED', () => {
  it.each([
    ['a dag-cbor CID over bytes that are not CBOR', utf8('this is not CBOR: it has trailing bytes')],
    ['5,000 nested arrays (a RangeError in the decoder)', deeplyNested()],
  ])('%s: catFile, statFile and listDirectory', async (_label, bytes) => {
    const store = memoryBlockstore()
    const bad = await putBlock(store, dagCbor.code, bytes)
    await expect(catFileBytes(store, bad)).rejects.toMatchObject({ name: 'LedgerError', code: 'MALFORMED' })
    await expect(statFile(store, bad)).rejects.toMatchObject({ name: 'LedgerError', code: 'MALFORMED' })
    const dir = await putBlock(store, dagPb.code, pbNode('directory', [{ cid: bad, name: 'x' }]))
    await expect(listDirectory(store, dir)).rejects.toMatchObject({ name: 'LedgerError', code: 'MALFORMED' })
    await expect(catFileBytes(store, `${dir}/x`)).rejects.toMatchObject({ name: 'LedgerError', code: 'MALFORMED' })
  })

  it('a dag-cbor object that decodes is not a file (BAD_ARGUMENT)', async () => {
    const store = memoryBlockstore()
    const obj = await putBlock(store, dagCbor.code, dagCbor.encode({ a: 1 }))
    await expect(catFileBytes(store, obj)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' })
    expect(await statFile(store, obj)).toMatchObject({ type: 'other' })
  })
})

describe('inconsistent files are MALFORMED, never short or long reads', () => {
  it('a leaf smaller than its parent says', async () => {
    const store = memoryBlockstore()
    const leaf = await putBlock(store, raw.code, utf8('hello'))
    const root = await putBlock(store, dagPb.code, pbNode('file', [{ cid: leaf }], [10n]))
    expect(await statFile(store, root)).toMatchObject({ type: 'file', size: 10n })
    await expect(catFileBytes(store, root)).rejects.toMatchObject({ code: 'MALFORMED' })
  })

  it('links and block sizes that disagree in number', async () => {
    const store = memoryBlockstore()
    const leaf = await putBlock(store, raw.code, utf8('hello'))
    const root = await putBlock(store, dagPb.code, pbNode('file', [{ cid: leaf }], [5n, 5n]))
    await expect(statFile(store, root)).rejects.toMatchObject({ code: 'MALFORMED' })
    await expect(catFileBytes(store, root)).rejects.toMatchObject({ code: 'MALFORMED' })
  })

  it('a directory, or a dag-cbor block, inside a file', async () => {
    const store = memoryBlockstore()
    const dir = await putBlock(store, dagPb.code, pbNode('directory', []))
    const cbor = await putBlock(store, dagCbor.code, dagCbor.encode('x'))
    for (const child of [dir, cbor]) {
      const root = await putBlock(store, dagPb.code, pbNode('file', [{ cid: child }], [1n], utf8('a')))
      await expect(catFileBytes(store, root)).rejects.toMatchObject({ code: 'MALFORMED' })
    }
  })

  it('data on an inner node comes before its children', async () => {
    const store = memoryBlockstore()
    const leaf = await putBlock(store, raw.code, utf8('world'))
    const root = await putBlock(store, dagPb.code, pbNode('file', [{ cid: leaf }], [5n], utf8('hello ')))
    expect(new TextDecoder().decode(await catFileBytes(store, root))).toBe('hello world')
    expect(new TextDecoder().decode(await catFileBytes(store, root, { offset: 4, length: 4 }))).toBe('o wo')
  })
})
