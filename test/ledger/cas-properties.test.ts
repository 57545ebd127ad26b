import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { addDirectory, addFile, catFileBytes, exportCarBytes, importCar, walkDag, type UnixFsOptions } from '../../ledger/cas/index.ts'
import { memoryBlockstore } from '../fixtures/cas/stores.ts'

// Small chunks and narrow nodes, so modest inputs still build deep trees.
const options: fc.Arbitrary<UnixFsOptions> = fc.record({
  profile: fc.constantFrom('unixfs-v0-2015' as const, 'unixfs-v1-2025' as const),
  cidVersion: fc.constantFrom(0 as const, 1 as const),
  rawLeaves: fc.boolean(),
  chunkSize: fc.integer({ min: 1, max: 4096 }),
  maxLinksPerNode: fc.integer({ min: 2, max: 12 }),
  layout: fc.constantFrom('balanced' as const, 'trickle' as const),
})

// tiny inputs (single blocks, empty) and inputs of up to 40 kB spread evenly
const content = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.integer({ min: 0, max: 40_000 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
)
/** content with options, the chunk size raised so that no input needs more than ~1500 leaves */
const file = fc.tuple(content, options).map(([bytes, opts]) => [bytes, { ...opts, chunkSize: Math.max(opts.chunkSize!, Math.ceil(bytes.length / 1500)) }] as const)

/** Splits bytes at arbitrary points: the input's framing must not matter. */
const pieces = (bytes: Uint8Array, cuts: number[]): Uint8Array[] => {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const out: Uint8Array[] = []
  let start = 0
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(start, p))
    start = p
  }
  return out
}

describe('properties', () => {
  it('a file imported then exported gives back the same bytes, whatever the options and input framing', async () => {
    await fc.assert(
      fc.asyncProperty(file, fc.array(fc.nat(), { maxLength: 5 }), async ([bytes, opts], cuts) => {
        const store = memoryBlockstore()
        const cid = await addFile(store, pieces(bytes, cuts), opts)
        expect(Buffer.from(await catFileBytes(store, cid)).equals(Buffer.from(bytes))).toBe(true)
        // and the CID depends only on bytes and options
        expect((await addFile(memoryBlockstore(), bytes, opts)).equals(cid)).toBe(true)
      }),
      { numRuns: 60 },
    )
  })

  it('a byte range reads back exactly that slice', async () => {
    await fc.assert(
      fc.asyncProperty(file, fc.nat(), fc.nat(), async ([bytes, opts], a, b) => {
        const store = memoryBlockstore()
        const cid = await addFile(store, bytes, opts)
        const offset = bytes.length === 0 ? 0 : a % bytes.length
        const length = b % (bytes.length - offset + 1)
        const got = await catFileBytes(store, cid, { offset, length })
        expect(Buffer.from(got).equals(Buffer.from(bytes.subarray(offset, offset + length)))).toBe(true)
      }),
      { numRuns: 40 },
    )
  })

  const name = fc.stringMatching(/^[a-z0-9._-]{1,8}$/).filter((s) => s !== '.' && s !== '..')
  const tree = fc.uniqueArray(fc.tuple(fc.array(name, { minLength: 1, maxLength: 3 }), fc.uint8Array({ maxLength: 5000 })), {
    maxLength: 12,
    selector: ([segments]) => segments.join('/'),
  })
  /** Drops entries whose path is a prefix directory of another (a name cannot be both file and directory). */
  const entriesOf = (t: Array<[string[], Uint8Array]>) => {
    const paths = t.map(([s]) => s.join('/'))
    return t.filter(([s]) => !paths.some((p) => p.startsWith(s.join('/') + '/'))).map(([s, bytes]) => ({ path: s.join('/'), content: bytes }))
  }

  it('a directory CAR round trip preserves every block and every file', async () => {
    await fc.assert(
      fc.asyncProperty(tree, options, async (t, opts) => {
        const entries = entriesOf(t)
        const source = memoryBlockstore()
        const root = await addDirectory(source, entries, opts)
        const target = memoryBlockstore()
        const { roots } = await importCar(target, await exportCarBytes(source, root))
        expect(roots.map(String)).toEqual([root.toString()])
        let blocks = 0
        for await (const block of walkDag(source, [root])) {
          expect(Buffer.from(await target.getBytes(block.cid)).equals(Buffer.from(block.bytes))).toBe(true)
          blocks++
        }
        expect(await target.count()).toBeLessThanOrEqual(blocks) // nothing beyond the DAG (v0/v1 share storage)
        for (const e of entries) {
          expect(Buffer.from(await catFileBytes(target, `${root.toString()}/${e.path}`)).equals(Buffer.from(e.content))).toBe(true)
        }
      }),
      { numRuns: 40 },
    )
  })
})
