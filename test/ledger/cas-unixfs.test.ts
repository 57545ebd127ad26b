import { describe, expect, it } from 'vitest'
import {
  addDirectory,
  addFile,
  catFile,
  catFileBytes,
  CHECKPOINT_CID_OPTIONS,
  CID_PROFILES,
  listDirectory,
  resolveUnixFsParams,
  UNIXFS_V0_2015,
  UNIXFS_V1_2025,
  type DirectoryEntry,
} from '../../ledger/cas/index.ts'
import { parseCid } from '../../primitives/index.ts'
import { deterministicBytes } from '../fixtures/cas/deterministic.ts'
import { memoryBlockstore, utf8 } from '../fixtures/cas/stores.ts'

const text = (b: Uint8Array) => new TextDecoder().decode(b)

describe('CID profiles', () => {
  it('the checkpoint options are the unixfs-v1-2025 profile, frozen', () => {
    expect(CHECKPOINT_CID_OPTIONS).toEqual(UNIXFS_V1_2025)
    expect(CHECKPOINT_CID_OPTIONS).toEqual({
      cidVersion: 1,
      rawLeaves: true,
      chunkSize: 1_048_576,
      maxLinksPerNode: 1024,
      layout: 'balanced',
      trickleLayerRepeat: 4,
      hamtThresholdBytes: 262_144,
      hamtSizeEstimation: 'block-bytes',
      hamtFanoutBits: 8,
    })
    expect(Object.isFrozen(CHECKPOINT_CID_OPTIONS)).toBe(true)
    expect(Object.isFrozen(CID_PROFILES)).toBe(true)
    expect(() => {
      ;(CHECKPOINT_CID_OPTIONS as { chunkSize: number }).chunkSize = 1
    }).toThrow(TypeError)
  })

  it('unixfs-v0-2015 is Kubo legacy: CIDv0, dag-pb leaves, 256 KiB, 174 links, link-bytes HAMT estimate', () => {
    expect(UNIXFS_V0_2015).toMatchObject({ cidVersion: 0, rawLeaves: false, chunkSize: 262_144, maxLinksPerNode: 174, layout: 'balanced', hamtSizeEstimation: 'links-bytes' })
  })

  it('resolves a profile with overrides; defaults to unixfs-v1-2025', () => {
    expect(resolveUnixFsParams()).toEqual(UNIXFS_V1_2025)
    expect(resolveUnixFsParams({ profile: 'unixfs-v0-2015', cidVersion: 1, layout: 'trickle' })).toEqual({ ...UNIXFS_V0_2015, cidVersion: 1, layout: 'trickle' })
  })

  it.each([
    [{ cidVersion: 2 }],
    [{ chunkSize: 0 }],
    [{ chunkSize: 1_048_577 }],
    [{ chunkSize: 1.5 }],
    [{ maxLinksPerNode: 1 }],
    [{ layout: 'flat' }],
    [{ profile: 'unixfs-v9' }],
  ])('refuses %j with BAD_ARGUMENT', (bad) => {
    expect(() => resolveUnixFsParams(bad as never)).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }))
  })
})

describe('addFile / catFile', () => {
  it('round-trips multi-block files, with offset and length', async () => {
    const store = memoryBlockstore()
    const bytes = deterministicBytes(3 * 65_536 + 17, 'cat')
    const cid = await addFile(store, bytes, { chunkSize: 65_536, maxLinksPerNode: 2 })
    expect(await catFileBytes(store, cid)).toEqual(bytes)
    expect(await catFileBytes(store, cid, { offset: 65_530, length: 20 })).toEqual(bytes.subarray(65_530, 65_550))
    expect(await catFileBytes(store, cid.toString(), { offset: bytes.length })).toEqual(new Uint8Array(0))
  })

  it('accepts sync and async byte streams, independent of how the input is split', async () => {
    const store = memoryBlockstore()
    const bytes = deterministicBytes(10_000, 'split')
    const whole = await addFile(store, bytes, { chunkSize: 1000 })
    const pieces = [bytes.subarray(0, 3), bytes.subarray(3, 5000), bytes.subarray(5000)]
    expect((await addFile(store, pieces, { chunkSize: 1000 })).equals(whole)).toBe(true)
    async function* slow() {
      for (const p of pieces) yield p
    }
    expect((await addFile(store, slow(), { chunkSize: 1000 })).equals(whole)).toBe(true)
  })

  it('reads a file inside a directory by path', async () => {
    const store = memoryBlockstore()
    const root = await addDirectory(store, [{ path: 'a/b/c.txt', content: utf8('deep') }])
    expect(text(await catFileBytes(store, `${root.toString()}/a/b/c.txt`))).toBe('deep')
    await expect(catFileBytes(store, `${root.toString()}/a/missing`)).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('refuses to cat a directory, and reports unknown CIDs as NOT_FOUND', async () => {
    const store = memoryBlockstore()
    const root = await addDirectory(store, [{ path: 'f', content: utf8('x') }])
    await expect(catFileBytes(store, root)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' })
    const unknown = parseCid('bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e')
    await expect(catFileBytes(store, unknown)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(catFileBytes(store, 'not-a-cid/x')).rejects.toMatchObject({ code: 'BAD_ARGUMENT' })
  })

  it('stops on an aborted signal', async () => {
    const store = memoryBlockstore()
    const cid = await addFile(store, utf8('abc'))
    const reading = (async () => {
      for await (const _ of catFile(store, cid, { signal: AbortSignal.abort() }));
    })()
    await expect(reading).rejects.toMatchObject({ name: 'AbortError' })
  })
})

describe('addDirectory (in-memory entries, as checkpoints are built)', () => {
  const checkpoint = (): DirectoryEntry[] => [
    { path: 'model/weights.f32', content: deterministicBytes(100_000, 'weights') },
    { path: 'state.cbor', content: utf8('state') },
    { path: 'transcripts/round-1.cbor', content: utf8('t1') },
    { path: 'transcripts/round-2.cbor', content: utf8('t2') },
  ]

  it('gives the same CID whatever the order of the entries', async () => {
    const entries = checkpoint()
    const a = await addDirectory(memoryBlockstore(), entries, { params: CHECKPOINT_CID_OPTIONS })
    const b = await addDirectory(memoryBlockstore(), [...entries].reverse(), { params: CHECKPOINT_CID_OPTIONS })
    expect(a.toString()).toBe(b.toString())
    expect(a.version).toBe(1)
  })

  it('lists entries with types and sizes, in name order', async () => {
    const store = memoryBlockstore()
    const root = await addDirectory(store, [...checkpoint(), { path: 'empty' }, { path: 'latest', symlink: 'model/weights.f32' }])
    const entries = await listDirectory(store, root)
    expect(entries.map((e) => [e.name, e.type])).toEqual([
      ['empty', 'directory'],
      ['latest', 'symlink'],
      ['model', 'directory'],
      ['state.cbor', 'file'],
      ['transcripts', 'directory'],
    ])
    const model = await listDirectory(store, `${root.toString()}/model`)
    expect(model).toMatchObject([{ name: 'weights.f32', type: 'file', size: 100_000n }])
    await expect(catFileBytes(store, `${root.toString()}/latest`)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' })
  })

  it.each([['/abs'], ['a//b'], ['a/../b'], ['./a'], [''], ['a/']])('refuses the path %j', async (path) => {
    await expect(addDirectory(memoryBlockstore(), [{ path, content: utf8('x') }])).rejects.toMatchObject({ code: 'BAD_ARGUMENT' })
  })

  it.each([
    ['a path twice', [{ path: 'a', content: utf8('1') }, { path: 'a', content: utf8('2') }]],
    ['content and a link', [{ path: 'a', content: utf8('1'), symlink: 'b' }]],
    ['a file, then a file under it', [{ path: 'a', content: utf8('1') }, { path: 'a/b', content: utf8('2') }]],
    ['a file under a name, then that name as a file', [{ path: 'a/b', content: utf8('2') }, { path: 'a', content: utf8('1') }]],
    ['a link, then that name as a directory', [{ path: 'a', symlink: 'x' }, { path: 'a' }]],
  ] as Array<[string, DirectoryEntry[]]>)('refuses %s (the importer would drop data)', async (_label, entries) => {
    await expect(addDirectory(memoryBlockstore(), entries)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' })
  })

  it('takes a directory named before, after or besides its contents', async () => {
    const plain = await addDirectory(memoryBlockstore(), [{ path: 'd/f', content: utf8('x') }])
    const before = await addDirectory(memoryBlockstore(), [{ path: 'd' }, { path: 'd/f', content: utf8('x') }])
    const after = await addDirectory(memoryBlockstore(), [{ path: 'd/f', content: utf8('x') }, { path: 'd' }, { path: 'd' }])
    expect(before.toString()).toBe(plain.toString())
    expect(after.toString()).toBe(plain.toString())
  })

  it('rejects unusable explicit parameters', async () => {
    await expect(addFile(memoryBlockstore(), utf8('x'), { params: { ...CHECKPOINT_CID_OPTIONS, chunkSize: 0 } })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' })
  })
})
