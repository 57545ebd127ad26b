import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Bucket, bucketKey, bucketRange, prefixUpperBound, type KeyValueStore } from '../../ledger/store/kv.ts'
import { LevelKeyValueStore } from '../../ledger/store/level.ts'
import { MemoryKeyValueStore } from '../../ledger/store/memory.ts'

const enc = (s: string) => new TextEncoder().encode(s)
const dec = (b: Uint8Array) => new TextDecoder().decode(b)

// The same contract suite runs against every implementation of the port.
const dirs: string[] = []
async function levelDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fedledger-kv-'))
  dirs.push(dir)
  return dir
}
const impls: Array<[string, () => Promise<KeyValueStore>]> = [
  ['memory', async () => new MemoryKeyValueStore()],
  ['level', async () => new LevelKeyValueStore(await levelDir())],
]

afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

/** Opens a store, runs `fn`, and closes the store whatever happens. */
async function withOpen<T extends KeyValueStore>(kv: T, fn: (kv: T) => Promise<void>): Promise<void> {
  await kv.open()
  try {
    await fn(kv)
  } finally {
    await kv.close()
  }
}

async function collect(kv: KeyValueStore, range: Parameters<KeyValueStore['iterate']>[0]): Promise<string[]> {
  const out: string[] = []
  for await (const [k, v] of kv.iterate(range)) out.push(`${Buffer.from(k).toString('hex')}=${dec(v)}`)
  return out
}

describe.each(impls)('KeyValueStore contract: %s', (_name, make) => {
  it('puts, gets, deletes', async () => {
    await withOpen(await make(), async (kv) => {
      const k = bucketKey(Bucket.STATE, enc('a'))
      expect(await kv.get(k)).toBeUndefined()
      expect(await kv.has(k)).toBe(false)
      await kv.put(k, enc('1'))
      expect(dec((await kv.get(k))!)).toBe('1')
      expect(await kv.has(k)).toBe(true)
      await kv.del(k)
      expect(await kv.get(k)).toBeUndefined()
      expect(await kv.has(k)).toBe(false)
    })
  })

  it('iterates a bucket in byte order, bounded, forwards and backwards', async () => {
    await withOpen(await make(), async (kv) => {
      await kv.batch([
        { type: 'put', key: bucketKey(Bucket.STATE, enc('b')), value: enc('2') },
        { type: 'put', key: bucketKey(Bucket.STATE, enc('a')), value: enc('1') },
        { type: 'put', key: bucketKey(Bucket.STATE, enc('c')), value: enc('3') },
        { type: 'put', key: bucketKey(Bucket.META, enc('a')), value: enc('x') },
        { type: 'put', key: bucketKey(Bucket.BLOCK, enc('a')), value: enc('y') },
      ])
      const fwd: string[] = []
      for await (const [k, v] of kv.iterate(bucketRange(Bucket.STATE))) fwd.push(dec(k.subarray(1)) + dec(v))
      expect(fwd).toEqual(['a1', 'b2', 'c3'])
      const back: string[] = []
      for await (const [k] of kv.iterate({ ...bucketRange(Bucket.STATE), reverse: true, limit: 2 })) back.push(dec(k.subarray(1)))
      expect(back).toEqual(['c', 'b'])
    })
  })

  it('applies a batch of puts and deletes together', async () => {
    await withOpen(await make(), async (kv) => {
      const a = bucketKey(Bucket.STATE, enc('a'))
      const b = bucketKey(Bucket.STATE, enc('b'))
      await kv.put(a, enc('old'))
      await kv.batch([
        { type: 'del', key: a },
        { type: 'put', key: b, value: enc('new') },
      ])
      expect(await kv.get(a)).toBeUndefined()
      expect(dec((await kv.get(b))!)).toBe('new')
    })
  })

  it('hands out copies: changing a value read or written does not change the store', async () => {
    await withOpen(await make(), async (kv) => {
      const k = bucketKey(Bucket.STATE, enc('k'))
      const written = enc('abc')
      await kv.put(k, written)
      written[0] = 0x7a
      const read = (await kv.get(k))!
      expect(dec(read)).toBe('abc')
      read[0] = 0x7a
      expect(dec((await kv.get(k))!)).toBe('abc')
      for await (const [, v] of kv.iterate(bucketRange(Bucket.STATE))) v[0] = 0x7a
      expect(dec((await kv.get(k))!)).toBe('abc')
    })
  })

  it('iterates a snapshot: deletes and writes during iteration do not show, nor count towards the limit', async () => {
    await withOpen(await make(), async (kv) => {
      const key = (s: string) => bucketKey(Bucket.STATE, enc(s))
      await kv.batch(['a', 'b', 'c', 'd'].map((s) => ({ type: 'put' as const, key: key(s), value: enc(s) })))
      const seen: string[] = []
      for await (const [k, v] of kv.iterate({ ...bucketRange(Bucket.STATE), limit: 3 })) {
        seen.push(`${dec(k.subarray(1))}${dec(v)}`)
        if (seen.length === 1) {
          await kv.del(key('b'))
          await kv.put(key('c'), enc('C'))
          await kv.put(key('bb'), enc('new'))
        }
      }
      expect(seen).toEqual(['aa', 'bb', 'cc'])
    })
  })

  it('iterates to the end of the keyspace when a prefix has no upper bound', async () => {
    await withOpen(await make(), async (kv) => {
      const top = Uint8Array.of(0xff, 0xff, 0xff, 0x01)
      await kv.put(top, enc('top'))
      await kv.put(Uint8Array.of(0xff, 0xfe), enc('below'))
      const lt = prefixUpperBound(Uint8Array.of(0xff, 0xff))
      const range = lt === undefined ? { gte: Uint8Array.of(0xff, 0xff) } : { gte: Uint8Array.of(0xff, 0xff), lt }
      expect(await collect(kv, range)).toEqual(['ffffff01=top'])
    })
  })
})

describe('prefixUpperBound', () => {
  it('is the next prefix, or undefined when no key bounds the prefix from above', () => {
    expect(prefixUpperBound(Uint8Array.of(0x07))).toEqual(Uint8Array.of(0x08))
    expect(prefixUpperBound(Uint8Array.of(0x07, 0xff, 0xff))).toEqual(Uint8Array.of(0x08))
    expect(prefixUpperBound(Uint8Array.of(0x07, 0x10, 0xff))).toEqual(Uint8Array.of(0x07, 0x11))
    expect(prefixUpperBound(Uint8Array.of(0xff, 0xff))).toBeUndefined()
    expect(prefixUpperBound(new Uint8Array(0))).toBeUndefined()
    expect(bucketRange(Bucket.STATE)).toEqual({ gte: Uint8Array.of(Bucket.STATE), lt: Uint8Array.of(Bucket.STATE + 1) })
  })
})

describe('LevelKeyValueStore', () => {
  it('keeps data across close and reopen', async () => {
    const dir = await levelDir()
    const k = bucketKey(Bucket.META, enc('head'))
    await withOpen(new LevelKeyValueStore(dir), async (kv) => kv.put(k, enc('42')))
    await withOpen(new LevelKeyValueStore(dir), async (kv) => {
      expect(dec((await kv.get(k))!)).toBe('42')
    })
  })

  it('syncs every write, not only batches, and asks level for has', async () => {
    await withOpen(new LevelKeyValueStore(await levelDir()), async (kv) => {
      const db = (kv as unknown as { db: { put: () => unknown; del: () => unknown; has: () => unknown; get: () => unknown } }).db
      const put = vi.spyOn(db, 'put')
      const del = vi.spyOn(db, 'del')
      const has = vi.spyOn(db, 'has')
      const get = vi.spyOn(db, 'get')
      const k = bucketKey(Bucket.CAS_BLOCK, enc('block'))
      await kv.put(k, enc('bytes'))
      await kv.del(k)
      expect(await kv.has(k)).toBe(false)
      expect(put).toHaveBeenCalledWith(k, expect.anything(), expect.objectContaining({ sync: true }))
      expect(del).toHaveBeenCalledWith(k, expect.objectContaining({ sync: true }))
      expect(has).toHaveBeenCalledTimes(1)
      expect(get).not.toHaveBeenCalled()
    })
  })
})
