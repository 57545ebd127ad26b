import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import { afterEach, describe, expect, it } from 'vitest'
import { CasBlockstore, MultihashCode, verifyBlock } from '../../ledger/cas/index.ts'
import { LedgerError } from '../../ledger/errors.ts'
import { Bucket, bucketKey, bucketRange, type KeyValueStore } from '../../ledger/store/kv.ts'
import { LevelKeyValueStore } from '../../ledger/store/level.ts'
import { MemoryKeyValueStore } from '../../ledger/store/memory.ts'
import { utf8 } from '../fixtures/cas/stores.ts'

const sha256 = (b: Uint8Array) => Digest.create(MultihashCode.SHA2_256, createHash('sha256').update(b).digest())
const rawCid = (b: Uint8Array) => CID.createV1(raw.code, sha256(b))

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

// The same suite runs over both implementations of the storage port.
const impls: Array<[string, () => Promise<KeyValueStore>]> = [
  ['memory', async () => new MemoryKeyValueStore()],
  [
    'level',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'fedledger-cas-'))
      dirs.push(dir)
      return new LevelKeyValueStore(dir)
    },
  ],
]

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toBeInstanceOf(LedgerError)
  await expect(p).rejects.toMatchObject({ code })
}

describe.each(impls)('CasBlockstore over %s', (_name, make) => {
  /** Opens a store over a fresh port, runs `fn`, and closes the port whatever happens. */
  async function withStore(fn: (s: { kv: KeyValueStore; store: CasBlockstore }) => Promise<void>): Promise<void> {
    const kv = await make()
    await kv.open()
    try {
      await fn({ kv, store: new CasBlockstore({ kv }) })
    } finally {
      await kv.close()
    }
  }

  it('puts, gets (as the exporter reads it), has, deletes', async () => {
    await withStore(async ({ store }) => {
      const bytes = utf8('hello')
      const cid = rawCid(bytes)
      expect(await store.has(cid)).toBe(false)
      expect(await store.put(cid, bytes)).toBe(cid)
      expect(await store.has(cid)).toBe(true)
      expect(await store.getBytes(cid)).toEqual(bytes)
      const chunks: Uint8Array[] = []
      for await (const c of store.get(cid)) chunks.push(c)
      expect(Buffer.concat(chunks)).toEqual(Buffer.from(bytes))
      await store.delete(cid)
      expect(await store.has(cid)).toBe(false)
    })
  })

  it('keys by multihash under CAS_BLOCK: CIDv0 and CIDv1 of the same bytes share one copy', async () => {
    await withStore(async ({ kv, store }) => {
      const node = dagPb.encode(dagPb.prepare({ Data: new Uint8Array([8, 1]) }))
      const v0 = CID.createV0(sha256(node))
      const v1 = CID.createV1(dagPb.code, v0.multihash)
      await store.put(v0, node)
      expect(await store.getBytes(v1)).toEqual(node)
      await store.put(v1, node)
      expect(await store.count()).toBe(1)
      const keys: string[] = []
      for await (const [k] of kv.iterate(bucketRange(Bucket.CAS_BLOCK))) keys.push(Buffer.from(k).toString('hex'))
      expect(keys).toEqual([Buffer.from(bucketKey(Bucket.CAS_BLOCK, v0.multihash.bytes)).toString('hex')])
    })
  })

  it('accepts streamed block bytes on put', async () => {
    await withStore(async ({ store }) => {
      const bytes = utf8('streamed block')
      await store.put(rawCid(bytes), [bytes.subarray(0, 4), bytes.subarray(4)])
      expect(await store.getBytes(rawCid(bytes))).toEqual(bytes)
    })
  })

  it('refuses bytes that do not hash to the CID (CID_MISMATCH), storing nothing', async () => {
    await withStore(async ({ store }) => {
      await rejectsWith(store.put(rawCid(utf8('a')), utf8('b')), 'CID_MISMATCH')
      expect(await store.count()).toBe(0)
    })
  })

  it('detects corruption on read (CID_MISMATCH)', async () => {
    await withStore(async ({ kv, store }) => {
      const bytes = utf8('original')
      const cid = rawCid(bytes)
      await store.put(cid, bytes)
      await kv.put(bucketKey(Bucket.CAS_BLOCK, cid.multihash.bytes), utf8('tampered'))
      await rejectsWith(store.getBytes(cid), 'CID_MISMATCH')
    })
  })

  it('reports a missing block as NOT_FOUND, from get too', async () => {
    await withStore(async ({ store }) => {
      const cid = rawCid(utf8('absent'))
      await rejectsWith(store.getBytes(cid), 'NOT_FOUND')
      await rejectsWith((async () => { for await (const _ of store.get(cid)); })(), 'NOT_FOUND')
    })
  })

  it('serves identity CIDs from the CID itself and stores nothing', async () => {
    await withStore(async ({ store }) => {
      const bytes = utf8('inline')
      const cid = CID.createV1(raw.code, Digest.create(MultihashCode.IDENTITY, bytes))
      expect(await store.has(cid)).toBe(true)
      expect(await store.getBytes(cid)).toEqual(bytes)
      await store.put(cid, bytes)
      expect(await store.count()).toBe(0)
      await rejectsWith(store.put(cid, utf8('other')), 'CID_MISMATCH')
    })
  })

  it('verifies sha2-512 and refuses hash functions it cannot check (BAD_ARGUMENT)', async () => {
    await withStore(async ({ store }) => {
      const bytes = utf8('512')
      const cid512 = CID.createV1(raw.code, Digest.create(MultihashCode.SHA2_512, createHash('sha512').update(bytes).digest()))
      await store.put(cid512, bytes)
      expect(await store.getBytes(cid512)).toEqual(bytes)
      const blake = CID.createV1(raw.code, Digest.create(0xb220, new Uint8Array(32)))
      await rejectsWith(store.put(blake, bytes), 'BAD_ARGUMENT')
      const truncated = CID.createV1(raw.code, Digest.create(MultihashCode.SHA2_256, new Uint8Array(20)))
      await rejectsWith(store.put(truncated, bytes), 'BAD_ARGUMENT')
    })
  })

  it('honours an aborted signal', async () => {
    await withStore(async ({ store }) => {
      const bytes = utf8('x')
      await expect(store.put(rawCid(bytes), bytes, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' })
    })
  })
})

describe('verifyBlock', () => {
  it('passes matching bytes, throws CID_MISMATCH otherwise', () => {
    const bytes = utf8('v')
    expect(() => verifyBlock(rawCid(bytes), bytes)).not.toThrow()
    expect(() => verifyBlock(rawCid(bytes), utf8('w'))).toThrow(expect.objectContaining({ code: 'CID_MISMATCH' }))
  })
})
