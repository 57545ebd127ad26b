import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Bucket, bucketKey, bucketRange, type KeyValueStore } from '../../ledger/store/kv.ts'
import { LevelKeyValueStore } from '../../ledger/store/level.ts'
import { MemoryKeyValueStore } from '../../ledger/store/memory.ts'

const enc = (s: string) => new TextEncoder().encode(s)
const dec = (b: Uint8Array) => new TextDecoder().decode(b)

// The same contract suite runs against every implementation of the port.
const dirs: string[] = []
const impls: Array<[string, () => Promise<KeyValueStore>]> = [
  ['memory', async () => new MemoryKeyValueStore()],
  [
    'level',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'fedledger-kv-'))
      dirs.push(dir)
      return new LevelKeyValueStore(dir)
    },
  ],
]

afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

describe.each(impls)('KeyValueStore contract: %s', (_name, make) => {
  it('puts, gets, deletes', async () => {
    const kv = await make()
    await kv.open()
    const k = bucketKey(Bucket.STATE, enc('a'))
    expect(await kv.get(k)).toBeUndefined()
    expect(await kv.has(k)).toBe(false)
    await kv.put(k, enc('1'))
    expect(dec((await kv.get(k))!)).toBe('1')
    expect(await kv.has(k)).toBe(true)
    await kv.del(k)
    expect(await kv.get(k)).toBeUndefined()
    await kv.close()
  })

  it('iterates a bucket in byte order, bounded, forwards and backwards', async () => {
    const kv = await make()
    await kv.open()
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
    await kv.close()
  })

  it('applies a batch of puts and deletes together', async () => {
    const kv = await make()
    await kv.open()
    const a = bucketKey(Bucket.STATE, enc('a'))
    const b = bucketKey(Bucket.STATE, enc('b'))
    await kv.put(a, enc('old'))
    await kv.batch([
      { type: 'del', key: a },
      { type: 'put', key: b, value: enc('new') },
    ])
    expect(await kv.get(a)).toBeUndefined()
    expect(dec((await kv.get(b))!)).toBe('new')
    await kv.close()
  })
})

describe('LevelKeyValueStore', () => {
  it('keeps data across close and reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fedledger-kv-'))
    dirs.push(dir)
    const k = bucketKey(Bucket.META, enc('head'))
    const kv = new LevelKeyValueStore(dir)
    await kv.open()
    await kv.put(k, enc('42'))
    await kv.close()
    const again = new LevelKeyValueStore(dir)
    await again.open()
    expect(dec((await again.get(k))!)).toBe('42')
    await again.close()
  })
})
