// stateFromSnapshot: a coordinator without ledger state rebuilds one from fetched entries and writes the same checkpoint a validator would.
import { describe, expect, it } from 'vitest'
import { CasBlockstore, MemoryKeyValueStore, restoreCheckpoint, snapshotEntries, stateFromSnapshot, writeCheckpoint } from '../../ledger/index.ts'
import { keysFor, TestChain } from './harness.ts'

function chainWithState(): TestChain {
  const c = new TestChain()
  c.exec(c.tx('gov-1', 'budget.grant', { member: 'bank-a', epsilon: 3, delta: 1e-6 }))
  c.exec(c.tx('gov-1', 'member.register', { id: 'bank-z', org: 'z', roles: ['auditor'], publicKey: keysFor('bank-z').publicKey }))
  return c
}

describe('stateFromSnapshot', () => {
  it('rebuilds the state from key-sorted entries, and the checkpoint it writes is the one the full state writes', async () => {
    const c = chainWithState()
    const entries = snapshotEntries(c.state)
    const keys = entries.map(([k]) => k)
    expect(keys).toEqual([...keys].sort())
    expect(entries.length).toBe(c.state.trie.size)
    const state = stateFromSnapshot(entries, c.state.height, c.state.root)
    expect(state.root).toEqual(c.state.root)
    expect(state.height).toBe(c.state.height)
    const model = new Float32Array([0.5, -1])
    const fromSnapshot = await writeCheckpoint(new CasBlockstore({ kv: new MemoryKeyValueStore() }), { state, model })
    const fromLedger = await writeCheckpoint(new CasBlockstore({ kv: new MemoryKeyValueStore() }), { state: c.state, model })
    expect(fromSnapshot.root.equals(fromLedger.root)).toBe(true)
    // and it restores against what a checkpoint transaction anchors
    const store = new CasBlockstore({ kv: new MemoryKeyValueStore() })
    const written = await writeCheckpoint(store, { state, model })
    const restored = await restoreCheckpoint(store, written.root, { stateRoot: c.state.root, height: c.state.height, model: written.model })
    expect(restored.state.root).toEqual(c.state.root)
  })

  it('refuses entries that do not rebuild the expected root, or that list a key twice', () => {
    const c = chainWithState()
    const entries = snapshotEntries(c.state)
    const tampered = entries.map(([k, v], i): [string, Uint8Array] => [k, i === 0 ? new Uint8Array([...v, 0]) : v])
    expect(() => stateFromSnapshot(tampered, c.state.height, c.state.root)).toThrow(expect.objectContaining({ code: 'CHECKPOINT', message: expect.stringMatching(/rebuilds root/) }))
    expect(() => stateFromSnapshot(entries.slice(1), c.state.height, c.state.root)).toThrow(expect.objectContaining({ code: 'CHECKPOINT' }))
    expect(() => stateFromSnapshot([...entries, entries[0]!], c.state.height)).toThrow(expect.objectContaining({ code: 'CHECKPOINT', message: expect.stringMatching(/distinct keys/) }))
    expect(() => stateFromSnapshot(entries, -1)).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }))
    // without an expected root it only rebuilds
    expect(stateFromSnapshot(tampered, 7).root).not.toEqual(c.state.root)
  })
})
