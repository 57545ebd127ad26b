// The import rule between top-level folders (docs/ARCHITECTURE.md, "Folders and what
// each may import"): every relative import of every .ts file under the source folders
// is resolved to the folder it lands in and checked against ALLOWED, and an import into
// another folder must land on an index.ts. There are no exceptions: the last ones (the
// command line inside node/, node/enclave reading testnet files) went with the move of
// the CLI to cli/.
import { readdirSync, readFileSync } from 'node:fs'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '..')
const SOURCE_FOLDERS = ['primitives', 'consensus', 'ledger', 'light', 'enclave', 'participant', 'node', 'testnet', 'cli'] as const
type Folder = (typeof SOURCE_FOLDERS)[number]

/** What each source folder may import besides itself (bench/ and test/ may import anything). */
const ALLOWED: Record<Folder, readonly string[]> = {
  primitives: [],
  ledger: ['primitives'],
  consensus: ['primitives'],
  light: ['primitives', 'consensus', 'ledger'],
  enclave: ['primitives', 'ledger', 'light'],
  participant: ['primitives', 'ledger', 'enclave', 'light'],
  node: ['primitives', 'consensus', 'ledger', 'light', 'enclave', 'participant'],
  testnet: ['primitives', 'node', 'consensus', 'ledger', 'light', 'enclave', 'participant'],
  cli: ['primitives', 'testnet', 'node', 'consensus', 'ledger', 'light', 'enclave', 'participant'],
}

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

  it('point one way: no import outside the rule', () => {
    const edges = crossFolderEdges()
    expect(edges.length).toBeGreaterThan(100) // the scan sees the tree
    const broken = [...new Set(edges.filter((e) => !ALLOWED[e.from].includes(e.to)).map((e) => e.edge))].sort()
    expect(broken, 'imports against the rule in docs/ARCHITECTURE.md: import through a folder the rule allows').toEqual([])
  })

  it("enter another folder through an index.ts (the folder's entry or a subfolder's)", () => {
    const past = [...new Set(crossFolderEdges().filter((e) => basename(e.target) !== 'index.ts').map((e) => `${e.edge.split(' → ')[0]} → ${e.target}`))].sort()
    expect(past, 'import these through the folder\'s index.ts').toEqual([])
  })
})
