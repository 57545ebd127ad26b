// The import rule between top-level folders (docs/ARCHITECTURE.md, "Folders and what
// each may import"): every relative import of every .ts file under the source folders
// is resolved to the folder it lands in and checked against ALLOWED. The edges that
// break the rule today are listed in KNOWN, file by file; the test fails on any edge
// not allowed and not listed (a new back-edge), and on a listed edge that is gone (so
// the list only shrinks).
import { readdirSync, readFileSync } from 'node:fs'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '..')
const SOURCE_FOLDERS = ['primitives', 'consensus', 'ledger', 'enclave', 'participant', 'node', 'testnet', 'cli'] as const
type Folder = (typeof SOURCE_FOLDERS)[number]

/** What each source folder may import besides itself (bench/ and test/ may import anything). */
const ALLOWED: Record<Folder, readonly string[]> = {
  primitives: [],
  ledger: ['primitives'],
  consensus: ['primitives'],
  enclave: ['primitives', 'ledger'],
  participant: ['primitives', 'ledger', 'enclave'],
  node: ['primitives', 'consensus', 'ledger', 'enclave', 'participant'],
  testnet: ['primitives', 'node', 'consensus', 'ledger', 'enclave', 'participant'],
  cli: ['primitives', 'testnet', 'node', 'consensus', 'ledger', 'enclave', 'participant'],
}

/** Edges that break the rule today, as "file → folder", to be removed (never added to). */
const KNOWN = new Set([
  // the command line lives in node/ and drives testnets (to move to a top-level cli/)
  'node/cli/actors.ts → testnet',
  'node/cli/init.ts → testnet',
  'node/cli/keys.ts → testnet',
  'node/cli/start.ts → testnet',
  'node/cli/testnet.ts → testnet',
  'node/enclave/serve-main.ts → testnet',
  'node/enclave/testnet-identity.ts → testnet',
])

function* tsFiles(dir: string): Generator<string> {
  let entries
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    return // a folder that does not exist (yet)
  }
  for (const e of entries) {
    const path = join(dir, e.name)
    if (e.isDirectory()) yield* tsFiles(path)
    else if (e.name.endsWith('.ts')) yield path
  }
}

/** The relative module specifiers a file imports or re-exports (static and dynamic). */
export function importsOf(source: string): string[] {
  const specs: string[] = []
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g
  for (const m of source.matchAll(re)) specs.push(m[1]!)
  return specs
}

/**
 * Imports into another folder that do not land on an index.ts (the folder's entry or a
 * subfolder's), to be removed (never added to).
 */
const KNOWN_PAST_ENTRY = new Set([
  // the command line drives the federation and the live view directly (to move to a top-level cli/)
  'node/cli/start.ts → testnet/federation/run.ts',
  'node/cli/start.ts → testnet/live.ts',
])

/** Every edge from a source file into another top-level folder, as "file → folder", with the file it lands on. */
function crossFolderEdges(): Array<{ edge: string; from: Folder; to: string; target: string }> {
  const edges: Array<{ edge: string; from: Folder; to: string; target: string }> = []
  for (const folder of SOURCE_FOLDERS) {
    for (const file of tsFiles(join(ROOT, folder))) {
      const rel = relative(ROOT, file)
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        const path = relative(ROOT, resolve(dirname(file), spec))
        const target = path.split('/')[0]!
        if (target === folder) continue
        edges.push({ edge: `${rel} → ${target}`, from: folder, to: target, target: path })
      }
    }
  }
  return edges
}

describe('import arrows between top-level folders', () => {
  it('finds imports of every form it must catch', () => {
    const src = `import { a } from '../ledger/index.ts'\nexport { b } from "../../node/x.ts"\nimport type { C } from '../consensus/index.ts'\nconst d = await import('../testnet/index.ts')\nimport '../enclave/side-effect.ts'\nimport { e } from 'node:fs'`
    expect(importsOf(src)).toEqual(['../ledger/index.ts', '../../node/x.ts', '../consensus/index.ts', '../testnet/index.ts', '../enclave/side-effect.ts'])
  })

  it('point one way: no edge outside the rule except the listed ones, and every listed one still exists', () => {
    const edges = crossFolderEdges()
    expect(edges.length).toBeGreaterThan(100) // the scan sees the tree
    const broken = [...new Set(edges.filter((e) => !ALLOWED[e.from].includes(e.to)).map((e) => e.edge))].sort()
    const fresh = broken.filter((e) => !KNOWN.has(e))
    expect(fresh, 'new imports against the rule in docs/ARCHITECTURE.md: import through a folder the rule allows').toEqual([])
    const gone = [...KNOWN].filter((e) => !broken.includes(e))
    expect(gone, 'these listed edges are gone: remove them from KNOWN').toEqual([])
  })

  it("enter another folder through an index.ts (the folder's entry or a subfolder's), except the listed ones", () => {
    const past = [...new Set(crossFolderEdges().filter((e) => basename(e.target) !== 'index.ts').map((e) => `${e.edge.split(' → ')[0]} → ${e.target}`))].sort()
    expect(past.filter((e) => !KNOWN_PAST_ENTRY.has(e)), 'import these through the folder\'s index.ts').toEqual([])
    expect([...KNOWN_PAST_ENTRY].filter((e) => !past.includes(e)), 'these listed imports are gone: remove them from KNOWN_PAST_ENTRY').toEqual([])
  })
})
