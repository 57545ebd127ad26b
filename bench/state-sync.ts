/**
 * State sync from a certified snapshot, end to end over loopback HTTP: a validator's
 * API (ApiServer + LedgerQueries, its snapshot encoder included) holds a ledger state
 * of N entries and a commit certificate of its height; a fresh VerifiedReader, pinned
 * to the genesis, calls syncState: proves `params` under the certificate (epochs, quorum
 * signature), downloads GET /v1/snapshots/{h} as DAG-CBOR, decodes it, checks the
 * entries' order, rebuilds the state trie and compares its root with the certified one.
 *
 * Entries look like the ledger's: `member/<id>` records and `budget/<id>` records
 * (budget records carry an RDP curve of 14 orders, so they are the larger half).
 * Reported per N: snapshot bytes, the server's first encoding (a cache miss), and the
 * client's sync time (median of RUNS, each with a fresh reader; the server's encoding
 * is cached after the first). Run: npm run -s bench:state-sync [-- --sizes 100000,1000000 --runs 3]
 */
import { Registry } from 'prom-client'
import { parseArgs } from 'node:util'
import { signCertificate } from '../test/helpers/commits.ts'
import { defaultGenesis } from '../test/ledger/harness.ts'
import { ChainStore, genesisState, LedgerState, MemoryKeyValueStore, StateKey, StateTrie } from '../ledger/index.ts'
import { LightClient } from '../light/index.ts'
import { ApiServer, encodeSnapshot, LedgerQueries, VerifiedReader, type CommitSource } from '../node/api/index.ts'
import { silentLogger } from '../node/index.ts'
import { encode, sha256 } from '../primitives/index.ts'

import { machine, median } from './machine.ts'

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '100000,1000000' }, runs: { type: 'string', default: '3' } } })
const SIZES = values.sizes!.split(',').map(Number)
const RUNS = Number(values.runs)

/** A state of `n` entries (half member records, half budget records) on top of the genesis state's. */
function bigState(base: LedgerState, n: number, height: number): LedgerState {
  const writes: Array<[string, Uint8Array]> = []
  const curve = Array.from({ length: 14 }, (_, i) => 0.001 * (i + 1))
  for (let i = 0; i < n / 2; i++) {
    const id = `bank-${String(i).padStart(7, '0')}`
    writes.push([StateKey.member(id), encode({ id, org: `${id} org`, roles: ['participant'], publicKey: sha256(encode(id)), attestation: null, registeredAt: 1, revokedAt: null, revocationReason: null })])
    writes.push([StateKey.budget(id), encode({ member: id, epsilonCap: 8, delta: 1e-5, spent: curve, epsilonSpent: 0.5, reservations: [] })])
  }
  return new LedgerState(StateTrie.fromEntries([...base.trie.entries(), ...writes]), height)
}

console.log(`state sync from a certified snapshot over loopback HTTP, ${machine()}`)
const genesis = defaultGenesis()
const initial = genesisState(genesis)
const validators = genesis.validators.map((v) => v.id)
for (const n of SIZES) {
  const t0 = performance.now()
  const state = bigState(initial, n, 5)
  const buildMs = performance.now() - t0
  const header = { chain: genesis.chainId, genesis: initial.root, epoch: 0, height: state.height, block: sha256(encode(['block', state.height])), ledgerBlock: null, stateRoot: state.root }
  const certificate = signCertificate(header, validators.slice(0, 3), validators)
  const t1 = performance.now()
  const encodedBytes = encodeSnapshot(state).length
  const encodeMs = performance.now() - t1
  const snapshots = { snapshotAt: (h: number) => (h === state.height ? state : undefined), retainedSnapshots: () => ({ from: state.height, to: state.height }) }
  const commits: CommitSource = { certifiedHeight: () => state.height, certificate: async (h) => (h === state.height ? certificate : undefined), epochChange: async () => undefined }
  const server = new ApiServer({ queries: new LedgerQueries({ store: new ChainStore({ kv: new MemoryKeyValueStore() }), state: () => state, snapshots }), commits, submit: async () => ({ id: '' }), status: () => ({}) as never, registry: new Registry() })
  await server.start()
  const times: number[] = []
  let bytes = 0
  try {
    for (let r = 0; r < RUNS; r++) {
      const reader = new VerifiedReader({ light: LightClient.fromGenesis(genesis, initial.root), logger: silentLogger }, { apis: [server.address().url], timeoutMs: 600_000 })
      const s = performance.now()
      const synced = await reader.syncState({ timeoutMs: 600_000 })
      times.push(performance.now() - s)
      bytes = synced.bytes
      if (synced.state.trie.size !== state.trie.size) throw new Error('synced state differs')
    }
  } finally {
    await server.stop()
  }
  const sorted = [...times].sort((a, b) => a - b)
  console.log(
    `${String(state.trie.size).padStart(9)} entries  snapshot ${(bytes / 1e6).toFixed(1)} MB (server encode ${(encodeMs / 1000).toFixed(2)} s, ${(encodedBytes / 1e6).toFixed(1)} MB)  ` +
      `sync median ${(median(times) / 1000).toFixed(2)} s (runs ${sorted.map((t) => (t / 1000).toFixed(2)).join(', ')} s)  [state built in ${(buildMs / 1000).toFixed(1)} s]`,
  )
}
