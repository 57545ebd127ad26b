/**
 * Quorum-certificate signatures, ed25519 multi-signatures (node:crypto), for n = 4,
 * 16, 64 validators and a 2f+1 quorum (f = floor((n-1)/3)). Per n:
 *   sign        one vote signature
 *   vote        verifying one vote (the message hash already cached, as for the
 *               2nd..q-th vote a leader checks)
 *   aggregate   q verified votes into a QC; "cold" = fresh copies of the signatures
 *   QC verify   one QC on a message this replica has not seen: the number every
 *               replica pays per proposal / certificate it receives
 *   form QC     the leader's view: verify q votes one by one, then aggregate
 *   QC bytes    bitmap + signatures
 * Every time is the median over distinct messages (one sample each, after a
 * warm-up). Run: npm run bench:qc. BLS12-381 aggregates were measured here too
 * (BENCHMARKS.md, 2026-11-21) and removed from the code: 55x slower per QC at n = 4.
 */
import { ed25519Scheme, ed25519Signer } from '../consensus/crypto/index.ts'
import type { QuorumScheme, QuorumSigner } from '../consensus/crypto.ts'
import type { AggregateSignature } from '../consensus/types.ts'
import { keyPairFromSeed } from '../primitives/index.ts'
import { machine, median } from './machine.ts'

const SIZES = [4, 16, 64]
/** distinct messages (samples) per scheme and n */
const SAMPLES = { 'ed25519-multisig': 201 } as const
const WARMUP = 2

interface Setup {
  name: keyof typeof SAMPLES
  /** builds this validator set's scheme (one per replica) */
  scheme: () => QuorumScheme
  signers: QuorumSigner[]
}

const seed = (tag: number, i: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, j) => (j === 0 ? tag : j === 1 ? i : 7 * j))

function ed25519Setup(n: number): Setup {
  const keys = Array.from({ length: n }, (_, i) => keyPairFromSeed(seed(1, i)))
  return { name: 'ed25519-multisig', scheme: () => ed25519Scheme(keys.map((k) => k.publicKey)), signers: keys.map((k, i) => ed25519Signer(i, k.secretKey)) }
}

/** a vote-sized message (domain tag, epoch, view, block hash, height), distinct per k */
function message(n: number, k: number): Uint8Array {
  const m = new Uint8Array(96)
  m.set(new TextEncoder().encode('fedledger/consensus/vote\0'))
  new DataView(m.buffer).setUint32(40, n)
  new DataView(m.buffer).setUint32(44, k)
  for (let i = 48; i < 96; i++) m[i] = (k * 31 + i * 17) & 0xff
  return m
}

const now = (): bigint => process.hrtime.bigint()
const ms = (t0: bigint, t1: bigint): number => Number(t1 - t0) / 1e6

interface Row {
  scheme: string
  n: number
  q: number
  sign: number
  vote: number
  aggregate: number
  aggregateCold: number
  qcVerify: number
  formQc: number
  qcBytes: number
}

function measure(setup: Setup, n: number): Row {
  const q = 2 * Math.floor((n - 1) / 3) + 1
  const leader = setup.scheme()
  const replica = setup.scheme() // another replica: has seen none of the messages
  const samples = SAMPLES[setup.name]
  const sign: number[] = []
  const vote: number[] = []
  const aggregate: number[] = []
  const aggregateCold: number[] = []
  const qcVerify: number[] = []
  const formQc: number[] = []
  let qcBytes = 0
  for (let k = 0; k < WARMUP + samples; k++) {
    const m = message(n, k)
    const record = k >= WARMUP
    // sign
    let t0 = now()
    const parts = setup.signers.slice(0, q).map((s) => ({ signer: s.index, signature: s.sign(m) }))
    let t1 = now()
    if (record) sign.push(ms(t0, t1) / q)
    // leader: verify the votes one by one, then aggregate
    t0 = now()
    for (const p of parts) if (!leader.verify(p.signer, m, p.signature)) throw new Error(`${setup.name}: vote ${p.signer} did not verify`)
    const tv = now()
    const qc: AggregateSignature = leader.aggregate(parts)
    t1 = now()
    if (record) {
      formQc.push(ms(t0, t1))
      aggregate.push(ms(tv, t1))
    }
    // one more vote on the same message, its hash now cached
    t0 = now()
    leader.verify(parts[0]!.signer, m, parts[0]!.signature)
    t1 = now()
    if (record) vote.push(ms(t0, t1))
    // aggregate from copies of the signatures (no decoded points to reuse)
    const copies = parts.map((p) => ({ signer: p.signer, signature: p.signature.slice() }))
    t0 = now()
    leader.aggregate(copies)
    t1 = now()
    if (record) aggregateCold.push(ms(t0, t1))
    // another replica verifies the QC
    t0 = now()
    const ok = replica.verifyAggregate(m, qc)
    t1 = now()
    if (!ok) throw new Error(`${setup.name}: QC did not verify`)
    if (record) qcVerify.push(ms(t0, t1))
    qcBytes = qc.signers.length + qc.signature.length
  }
  return {
    scheme: setup.name,
    n,
    q,
    sign: median(sign),
    vote: median(vote),
    aggregate: median(aggregate),
    aggregateCold: median(aggregateCold),
    qcVerify: median(qcVerify),
    formQc: median(formQc),
    qcBytes,
  }
}

const fmt = (x: number): string => (x >= 10 ? `${x.toFixed(1)} ms` : x >= 1 ? `${x.toFixed(2)} ms` : `${(x * 1000).toFixed(0)} µs`)

console.log(`machine: ${machine()}`)
console.log(`median over ${SAMPLES['ed25519-multisig']} distinct messages (after ${WARMUP} warm-up)\n`)
const rows: Row[] = []
for (const n of SIZES) rows.push(measure(ed25519Setup(n), n))

const header = ['scheme', 'n', 'q', 'sign', 'vote verify', 'aggregate', 'aggregate (cold)', 'QC verify', 'form QC (leader)', 'QC bytes']
const table = rows.map((r) => [r.scheme, `${r.n}`, `${r.q}`, fmt(r.sign), fmt(r.vote), fmt(r.aggregate), fmt(r.aggregateCold), fmt(r.qcVerify), fmt(r.formQc), `${r.qcBytes}`])
const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)))
const line = (cells: string[]): string => `| ${cells.map((c, i) => (i < 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`
console.log(line(header))
console.log(`|${widths.map((w, i) => (i < 1 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|')}|`)
for (const t of table) console.log(line(t))

