// Block execution throughput, signature verification included (npm run bench:ledger).
//   node bench/ledger-exec.ts [--runs 5] [--members 1000]
import { parseArgs } from 'node:util'
import { decodeTx, executeBlock, genesisState, verifyTxSignature, type LedgerState } from '../ledger/index.ts'
import { defaultGenesis, keysFor, modelCid, TestChain, testEvidence, testVerifier } from '../test/ledger/harness.ts'
import { machine, median, seconds } from './machine.ts'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, members: { type: 'string', default: '1000' } } })
const RUNS = Number(values.runs)
const N = Number(values.members)
const members = Array.from({ length: N }, (_, i) => `bank-${i}`)

function consortium(): TestChain {
  const base = defaultGenesis()
  const g = {
    ...base,
    members: [...base.members.filter((m) => !m.roles.includes('participant')), ...members.map((id) => ({ id, org: id, roles: ['participant' as const], publicKey: keysFor(id).publicKey }))],
    budgets: members.map((member) => ({ member, epsilon: 8, delta: 1e-5 })),
  }
  const c = new TestChain(g)
  c.state = genesisState(g)
  return c
}

function time(state: LedgerState, txs: Uint8Array[]): number {
  const t = process.hrtime.bigint()
  const out = executeBlock(state, { height: state.height + 1, timeSec: 1_700_000_100, txs }, { attestation: testVerifier })
  const s = seconds(t)
  const bad = out.receipts.find((r) => r.code !== 'OK')
  if (bad) throw new Error(`benchmark transaction refused: ${bad.code} ${bad.message}`)
  return s
}

console.log(`# block execution — ${machine()}`)
console.log(`# ${RUNS} runs, medians; blocks of ${N} transactions`)

// 1. budget.grant: one signature, one RDP→ε conversion, two state writes
{
  const c = consortium()
  const txs = members.map((member, i) => c.tx('gov-1', 'budget.grant', { member, epsilon: 4, delta: 1e-5 }, { nonce: i }))
  const runs = Array.from({ length: RUNS }, () => time(c.state, txs))
  console.log(`budget.grant   ${(N / median(runs)).toFixed(0).padStart(7)} tx/s   (${(median(runs) * 1000).toFixed(1)} ms per block)`)
}

// 2. round.commit: two signatures (transaction + update statement), a growing round record
{
  const c = consortium()
  const rk = keysFor('round-key').publicKey
  c.exec(c.tx('coord', 'round.open', { round: 'r1', baseModel: modelCid('m0'), training: { clipNorm: 1, noiseMultiplier: 1.1, samplingRate: 0.01, localEpochs: 1 }, aggregation: { rule: 'multi-krum', f: 1, m: 10 }, eligible: members, deadline: 100, enclave: 'enclave-1' }))
  c.exec(c.tx('enclave-1', 'enclave.round-key', { round: 'r1', publicKey: rk, attestation: testEvidence({ keys: [rk, keysFor('enclave-1').publicKey], for: ['enclave.round-key', 'r1'] }) }))
  const txs = members.map((m) => c.tx(m, 'round.commit', { round: 'r1', ciphertext: modelCid(m), ...c.statement('r1', m) }))
  const runs = Array.from({ length: RUNS }, () => time(c.state, txs))
  console.log(`round.commit   ${(N / median(runs)).toFixed(0).padStart(7)} tx/s   (${(median(runs) * 1000).toFixed(1)} ms per block; 2 ed25519 verifications per tx)`)

  // round.open over N eligible members: one ε check per member
  const open = consortium()
  const body = { round: 'r2', baseModel: modelCid('m0'), training: { clipNorm: 1, noiseMultiplier: 1.1, samplingRate: 0.01, localEpochs: 1 }, aggregation: { rule: 'multi-krum' as const, f: 1, m: 10 }, eligible: members, deadline: 100, enclave: 'enclave-1' }
  const openTx = [open.tx('coord', 'round.open', body)]
  const openRuns = Array.from({ length: RUNS }, () => time(open.state, openTx))
  console.log(`round.open     ${(median(openRuns) * 1000).toFixed(1).padStart(7)} ms for ${N} eligible members (budget check for each)`)

  // baseline: decoding + one signature verification, no state
  const decoded = txs.map((t) => decodeTx(t))
  const keys = members.map((m) => keysFor(m).publicKey)
  const verifyRuns = Array.from({ length: RUNS }, () => {
    const t = process.hrtime.bigint()
    decoded.forEach((d, i) => verifyTxSignature(d.signed.tx, keys[i]!, d.signed.sig))
    return seconds(t)
  })
  console.log(`ed25519 verify ${(N / median(verifyRuns)).toFixed(0).padStart(7)} /s     (node:crypto, one core; baseline)`)
}
