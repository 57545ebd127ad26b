// The wire encoding of consensus messages: canonical round-trips, and a typed WireError (never a crash) for anything else.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  blockId,
  decodeMessage,
  encodeMessage,
  genesisQC,
  makeGenesis,
  MessageVerifier,
  proposalMessage,
  timeoutMessage,
  voteMessage,
  WireError,
  type Block,
  type ConsensusMessage,
  type QuorumCertificate,
  type TimeoutCertificate,
  type WireErrorCode,
  type WireLimits,
} from '../../consensus/index.ts'
import { bytesEqual, CID, decode, encode } from '../../primitives/index.ts'
import { simScheme, simSecrets, simSigner } from './sim/sim-scheme.ts'

// ---- fixtures: real signatures and certificates from the simulator's scheme ----
const n = 4
const secrets = simSecrets(n)
const scheme = simScheme(secrets)
const sign = (i: number, msg: Uint8Array) => simSigner(i, secrets[i]!).sign(msg)
const genesis = makeGenesis(0, n)
const gqc = genesisQC(genesis)
const commands = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(300).fill(7)]
const b1: Block = { epoch: 0, view: 1, height: 1, parent: blockId(genesis), justify: gqc, proposer: 1, timeSec: 1_700_000_000, payload: commands }
const qc1: QuorumCertificate = {
  epoch: 0,
  view: 1,
  block: blockId(b1),
  height: 1,
  votes: scheme.aggregate([0, 1, 2].map((i) => ({ signer: i, signature: sign(i, voteMessage(0, 1, blockId(b1), 1)) }))),
}
const tc2: TimeoutCertificate = { epoch: 0, view: 2, timeouts: scheme.aggregate([1, 2, 3].map((i) => ({ signer: i, signature: sign(i, timeoutMessage(0, 2)) }))) }
const b3: Block = { epoch: 0, view: 3, height: 2, parent: blockId(b1), justify: qc1, proposer: 3, timeSec: 1_700_000_005, payload: [new Uint8Array([9])] }

const samples: Record<string, ConsensusMessage> = {
  'proposal with a TC and payload': { kind: 'proposal', block: b3, tc: tc2, signature: sign(3, proposalMessage(0, blockId(b3))) },
  'proposal without TC': { kind: 'proposal', block: b1, tc: null, signature: sign(1, proposalMessage(0, blockId(b1))) },
  vote: { kind: 'vote', epoch: 0, view: 1, block: blockId(b1), height: 1, voter: 2, signature: sign(2, voteMessage(0, 1, blockId(b1), 1)) },
  'timeout with TC': { kind: 'timeout', epoch: 0, view: 3, highQC: qc1, tc: tc2, voter: 0, signature: sign(0, timeoutMessage(0, 3)) },
  'timeout without TC': { kind: 'timeout', epoch: 0, view: 2, highQC: qc1, tc: null, voter: 1, signature: sign(1, timeoutMessage(0, 2)) },
  'block-request': { kind: 'block-request', ids: [blockId(b3), blockId(b1)], knownHeight: 0 },
  'block-response': { kind: 'block-response', blocks: [b3, b1] },
  sync: { kind: 'sync', highQC: qc1, blocks: [b1] },
  'epoch-request': { kind: 'epoch-request', epoch: 7 },
}

function refusal(bytes: Uint8Array, limits?: WireLimits): WireError {
  try {
    decodeMessage(bytes, limits)
  } catch (e) {
    if (e instanceof WireError) return e
    throw new Error(`expected a WireError, got ${String(e)}`, { cause: e })
  }
  throw new Error('expected decodeMessage to refuse the bytes')
}
function expectRefused(bytes: Uint8Array, code: WireErrorCode, message?: RegExp, limits?: WireLimits): void {
  const e = refusal(bytes, limits)
  expect(e.code, e.message).toBe(code)
  if (message) expect(e.message).toMatch(message)
}
/** The encoding of `m` after `edit` changed its generic DAG-CBOR form (as a hostile peer could). */
function variant(m: ConsensusMessage, edit: (o: any) => void): Uint8Array {
  const o = decode<any>(encodeMessage(m))
  edit(o)
  return encode(o)
}
/** Either refused with a WireError, or decoded to a message whose canonical encoding is exactly `bytes`. */
function decodedCanonicallyOrRefused(bytes: Uint8Array): 'decoded' | 'refused' {
  let m: ConsensusMessage
  try {
    m = decodeMessage(bytes)
  } catch (e) {
    if (!(e instanceof WireError)) throw e
    expect(['oversized', 'malformed']).toContain(e.code)
    return 'refused'
  }
  expect(bytesEqual(encodeMessage(m), bytes)).toBe(true)
  return 'decoded'
}

// ---- an independent reference model of the format, written from types.ts, for differential properties ----
type Check = (v: any) => boolean
const plain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype
const U: Check = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const B: Check = (v) => v instanceof Uint8Array
const H: Check = (v) => B(v) && v.length === 32
const lit = (s: string): Check => (v) => v === s
const list = (c: Check, max: number): Check => (v) => Array.isArray(v) && v.length <= max && v.every(c)
const orNull = (c: Check): Check => (v) => v === null || c(v)
const shape = (fields: Record<string, Check>): Check => (v) => plain(v) && Object.keys(v).length === Object.keys(fields).length && Object.entries(fields).every(([k, c]) => Object.hasOwn(v, k) && c(v[k]))
const AGG = shape({ signers: B, signature: B })
const QC = shape({ epoch: U, view: U, block: H, height: U, votes: AGG })
const TC = orNull(shape({ epoch: U, view: U, timeouts: AGG }))
const BLOCK = shape({ epoch: U, view: U, height: U, parent: H, justify: QC, proposer: U, timeSec: U, payload: list(B, 10_000) })
const MESSAGE = [
  shape({ kind: lit('proposal'), block: BLOCK, tc: TC, signature: B }),
  shape({ kind: lit('vote'), epoch: U, view: U, block: H, height: U, voter: U, signature: B }),
  shape({ kind: lit('timeout'), epoch: U, view: U, highQC: QC, tc: TC, voter: U, signature: B }),
  shape({ kind: lit('block-request'), ids: list(H, 16), knownHeight: U }),
  shape({ kind: lit('block-response'), blocks: list(BLOCK, 1000) }),
  shape({ kind: lit('sync'), highQC: QC, blocks: list(BLOCK, 1000) }),
  shape({ kind: lit('epoch-request'), epoch: U }),
]
/** What the model says decodeMessage must do with `bytes` (inputs here are far below the size limits). */
function modelOutcome(bytes: Uint8Array): 'decoded' | 'refused' {
  let generic: unknown
  try {
    generic = decode(bytes)
  } catch {
    return 'refused'
  }
  return MESSAGE.some((c) => c(generic)) && bytesEqual(encode(generic), bytes) ? 'decoded' : 'refused'
}

describe('consensus wire encoding: round trips', () => {
  it.each(Object.entries(samples))('%s decodes to an equal plain object that re-encodes to the same bytes', (_, m) => {
    const bytes = encodeMessage(m)
    const back = decodeMessage(bytes)
    expect(back).toStrictEqual(m)
    expect(back).not.toBe(m)
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype)
    expect(bytesEqual(encodeMessage(back), bytes)).toBe(true)
    if (m.kind === 'proposal') expect(back.kind === 'proposal' && back.tc).toStrictEqual(m.tc) // null stays null
  })

  it('preserves block ids, and decoded messages pass the verifier', () => {
    const p = decodeMessage(encodeMessage(samples['proposal with a TC and payload']!))
    if (p.kind !== 'proposal') throw new Error('kind changed')
    expect(blockId(p.block)).toEqual(blockId(b3))
    const r = decodeMessage(encodeMessage(samples['block-response']!))
    if (r.kind !== 'block-response') throw new Error('kind changed')
    expect(r.blocks.map((b) => blockId(b))).toEqual([blockId(b3), blockId(b1)])
    const verifier = new MessageVerifier(scheme, { epoch: 0, genesis })
    expect(verifier.verify(p, 3, 3)).toEqual({ ok: true })
    expect(verifier.verify(decodeMessage(encodeMessage(samples['timeout with TC']!)), 0, 3)).toEqual({ ok: true })
  })

  it('round-trips a block of 400 commands of 32 bytes to ~1 KB', () => {
    const payload = Array.from({ length: 400 }, (_, i) => new Uint8Array(32 + ((i * 97) % 1000)).fill(i & 0xff))
    const block: Block = { ...b1, payload }
    const back = decodeMessage(encodeMessage({ kind: 'proposal', block, tc: null, signature: new Uint8Array(64) }))
    expect(back.kind === 'proposal' && blockId(back.block)).toEqual(blockId(block))
  })

  it('refuses to encode a value that is not DAG-CBOR, with a WireError', () => {
    expect(() => encodeMessage({ kind: 'epoch-request', epoch: undefined } as never)).toThrow(WireError)
  })
})

// ---- arbitraries: well-formed messages (any bytes for signatures, any integers for views etc.) ----
/** plain objects (fast-check otherwise also makes null-prototype ones, which a decoder never returns) */
const rec = <T,>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> => fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>
const uint = fc.oneof(fc.nat(1000), fc.maxSafeNat())
const hash = fc.uint8Array({ minLength: 32, maxLength: 32 })
const blob = fc.uint8Array({ maxLength: 80 })
const aggregate = rec({ signers: fc.uint8Array({ maxLength: 4 }), signature: blob })
const qcArb = rec({ epoch: uint, view: uint, block: hash, height: uint, votes: aggregate })
const tcArb = fc.option(rec({ epoch: uint, view: uint, timeouts: aggregate }), { nil: null })
const blockArb = rec({ epoch: uint, view: uint, height: uint, parent: hash, justify: qcArb, proposer: uint, timeSec: uint, payload: fc.array(blob, { maxLength: 5 }) })
const messageArb: fc.Arbitrary<ConsensusMessage> = fc.oneof(
  rec({ kind: fc.constant('proposal' as const), block: blockArb, tc: tcArb, signature: blob }),
  rec({ kind: fc.constant('vote' as const), epoch: uint, view: uint, block: hash, height: uint, voter: uint, signature: blob }),
  rec({ kind: fc.constant('timeout' as const), epoch: uint, view: uint, highQC: qcArb, tc: tcArb, voter: uint, signature: blob }),
  rec({ kind: fc.constant('block-request' as const), ids: fc.array(hash, { maxLength: 16 }), knownHeight: uint }),
  rec({ kind: fc.constant('block-response' as const), blocks: fc.array(blockArb, { maxLength: 3 }) }),
  rec({ kind: fc.constant('sync' as const), highQC: qcArb, blocks: fc.array(blockArb, { maxLength: 3 }) }),
  rec({ kind: fc.constant('epoch-request' as const), epoch: uint }),
)

/** Byte-level damage: overwrite, delete, insert, truncate. */
const byteEdit = fc.oneof(
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
)
type ByteEdit = typeof byteEdit extends fc.Arbitrary<infer T> ? T : never
function applyEdits(bytes: Uint8Array, edits: ByteEdit[]): Uint8Array {
  let b = Array.from(bytes)
  for (const e of edits) {
    const at = e.at % (b.length + 1)
    if (e.op === 'set' && b.length > 0) b[at % b.length] = e.value
    else if (e.op === 'delete') b.splice(at, e.count)
    else if (e.op === 'insert') b.splice(at, 0, ...e.bytes)
    else if (e.op === 'truncate') b = b.slice(0, at)
  }
  return Uint8Array.from(b)
}

/** Values a hostile peer might put anywhere in the structure. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
  fc.maxSafeNat(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n }),
  fc.string({ maxLength: 8 }),
  fc.constantFrom(null, true, false, 'proposal', 'vote', 'timeout', 'sync', 'block-request', 'block-response', 'epoch-request'),
  fc.uint8Array({ maxLength: 40 }),
  hash,
  fc.array(hash, { maxLength: 20 }),
  fc.dictionary(fc.constantFrom('kind', 'epoch', 'view', 'x', '__proto__'), fc.nat(5), { maxKeys: 3 }),
)
/** Every path to a value inside a decoded generic structure (maps and lists, not byte strings). */
function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix)
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out))
  else if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out)
  return out
}
const structuralEdit = fc.record({ path: fc.nat(), op: fc.constantFrom('replace', 'delete', 'add-field'), value: anyValue })
function applyStructural(m: ConsensusMessage, e: { path: number; op: string; value: unknown }): Uint8Array {
  return variant(m, (root) => {
    const all = paths(root)
    const path = all[e.path % all.length]!
    const node = path.reduce((o: any, k) => o[k], root)
    if (e.op === 'add-field' && Array.isArray(node)) node.push(e.value)
    else if (e.op === 'add-field' && node !== null && typeof node === 'object' && !(node instanceof Uint8Array)) node.zz = e.value
    else if (path.length > 0) {
      const parent = path.slice(0, -1).reduce((o: any, k) => o[k], root)
      const key = path[path.length - 1]!
      if (e.op === 'delete' && Array.isArray(parent)) parent.splice(key as number, 1)
      else if (e.op === 'delete') delete parent[key]
      else parent[key] = e.value
    }
  })
}

describe('consensus wire encoding: properties', () => {
  it('any well-formed message round-trips to an equal object and the same bytes', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const bytes = encodeMessage(m)
        const back = decodeMessage(bytes)
        expect(back).toStrictEqual(m)
        expect(bytesEqual(encodeMessage(back), bytes)).toBe(true)
      }),
      { numRuns: 300 },
    )
  })

  it('arbitrary bytes decode canonically or are refused with a WireError, as the reference model says', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        expect(decodedCanonicallyOrRefused(bytes)).toBe(modelOutcome(bytes))
      }),
      { numRuns: 1000 },
    )
  })

  it('byte-level mutations of valid encodings decode canonically or are refused with a WireError, as the model says', () => {
    const seen = { decoded: 0, refused: 0 }
    fc.assert(
      fc.property(messageArb, fc.array(byteEdit, { minLength: 1, maxLength: 3 }), (m, edits) => {
        const bytes = applyEdits(encodeMessage(m), edits)
        const outcome = decodedCanonicallyOrRefused(bytes)
        expect(outcome).toBe(modelOutcome(bytes))
        seen[outcome]++
      }),
      { numRuns: 1000 },
    )
    expect(seen.decoded).toBeGreaterThan(0) // the property saw both outcomes
    expect(seen.refused).toBeGreaterThan(0)
  })

  it('structural mutations (wrong types, missing and extra fields) decode or are refused exactly as the model says', () => {
    const seen = { decoded: 0, refused: 0 }
    fc.assert(
      fc.property(messageArb, structuralEdit, (m, e) => {
        const bytes = applyStructural(m, e)
        const outcome = decodedCanonicallyOrRefused(bytes)
        expect(outcome).toBe(modelOutcome(bytes))
        seen[outcome]++
      }),
      { numRuns: 1000 },
    )
    expect(seen.decoded).toBeGreaterThan(0)
    expect(seen.refused).toBeGreaterThan(0)
  })
})

// ---- hand-made CBOR, for encodings the encoder never produces ----
const cborText = (s: string) => [0x60 + s.length, ...new TextEncoder().encode(s)] // strings shorter than 24 bytes
const epochRequest = (...entries: number[][]) => Uint8Array.from([0xa2, ...entries.flat()])
const KIND = [...cborText('kind'), ...cborText('epoch-request')]

describe('consensus wire encoding: refusals', () => {
  const vote = samples.vote!
  const proposal = samples['proposal with a TC and payload']!

  it('refuses oversized messages, and too many commands, command bytes, blocks or ids', () => {
    expectRefused(encodeMessage(vote), 'oversized', /limit 100/, { maxMessageBytes: 100 })
    const huge = Array.from({ length: 3 }, () => ({ ...b1, payload: [new Uint8Array(3 * 1024 * 1024)] }))
    expectRefused(encodeMessage({ kind: 'block-response', blocks: huge }), 'oversized', /limit 8388608/) // 9 MiB, default limit
    const withPayload = (payload: Uint8Array[]) => encodeMessage({ kind: 'proposal', block: { ...b1, payload }, tc: null, signature: new Uint8Array(64) })
    expectRefused(withPayload(Array.from({ length: 10_001 }, () => new Uint8Array(0))), 'oversized', /proposal\.block\.payload: 10001 commands/)
    expect(decodeMessage(withPayload(Array.from({ length: 10_000 }, () => new Uint8Array(0)))).kind).toBe('proposal')
    expectRefused(withPayload([new Uint8Array(51), new Uint8Array(50)]), 'oversized', /101 command bytes/, { maxPayloadBytes: 100 })
    expect(decodeMessage(withPayload([new Uint8Array(50), new Uint8Array(50)]), { maxPayloadBytes: 100 }).kind).toBe('proposal')
    const ids = (k: number) => encodeMessage({ kind: 'block-request', ids: Array.from({ length: k }, () => blockId(b1)), knownHeight: 0 })
    expectRefused(ids(17), 'oversized', /17 ids, limit 16/)
    expect(decodeMessage(ids(16)).kind).toBe('block-request')
    expectRefused(encodeMessage({ kind: 'sync', highQC: qc1, blocks: [b1, b1, b1] }), 'oversized', /sync\.blocks: 3 blocks/, { maxSyncBlocks: 2 })
    expectRefused(encodeMessage({ kind: 'block-response', blocks: [b1, b1, b1] }), 'oversized', /3 blocks/, { maxSyncBlocks: 2 })
  })

  it('refuses hashes that are not 32 bytes', () => {
    expectRefused(variant(proposal, (o) => (o.block.parent = new Uint8Array(31))), 'malformed', /proposal\.block\.parent: expected a 32-byte hash, got 31 bytes/)
    expectRefused(variant(vote, (o) => (o.block = new Uint8Array(33))), 'malformed', /vote\.block/)
    expectRefused(variant(samples.sync!, (o) => (o.highQC.block = new Uint8Array(0))), 'malformed', /sync\.highQC\.block/)
    expectRefused(variant(samples['block-request']!, (o) => (o.ids[1] = new Uint8Array(31))), 'malformed', /ids\[1\]/)
  })

  it('refuses negative, fractional, too large or non-numeric integers', () => {
    expectRefused(variant(vote, (o) => (o.view = -1)), 'malformed', /vote\.view: expected a non-negative integer, got -1/)
    expectRefused(variant(proposal, (o) => (o.block.justify.height = -5)), 'malformed', /proposal\.block\.justify\.height/)
    expectRefused(variant(proposal, (o) => (o.block.timeSec = 1.5)), 'malformed', /proposal\.block\.timeSec/)
    expectRefused(variant(samples['timeout with TC']!, (o) => (o.tc.view = 2n ** 64n - 1n)), 'malformed', /timeout\.tc\.view/)
    expectRefused(variant(samples['epoch-request']!, (o) => (o.epoch = '7')), 'malformed', /epoch-request\.epoch/)
    expectRefused(variant(samples['block-request']!, (o) => (o.knownHeight = null)), 'malformed', /knownHeight/)
    expectRefused(variant(vote, (o) => (o.voter = -0.5)), 'malformed', /vote\.voter/)
  })

  it('refuses extra and missing fields, and values of the wrong type', () => {
    expectRefused(variant(vote, (o) => (o.extra = 1)), 'malformed', /vote: unexpected field 'extra'/)
    expectRefused(variant(proposal, (o) => (o.block.justify.votes.weight = 3)), 'malformed', /proposal\.block\.justify\.votes: unexpected field 'weight'/)
    expectRefused(variant(samples['proposal without TC']!, (o) => delete o.tc), 'malformed', /proposal: missing field 'tc'/)
    expectRefused(variant(proposal, (o) => delete o.block.payload), 'malformed', /proposal\.block: missing field 'payload'/)
    expectRefused(variant(samples['timeout without TC']!, (o) => (o.highQC = null)), 'malformed', /timeout\.highQC: expected a map, got null/)
    expectRefused(variant(proposal, (o) => (o.block.payload[0] = 'cmd')), 'malformed', /proposal\.block\.payload\[0\]: expected bytes/)
    expectRefused(variant(proposal, (o) => (o.signature = CID.parse('bafyreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'))), 'malformed', /proposal\.signature: expected bytes, got a link/)
    expectRefused(variant(samples.sync!, (o) => (o.blocks = {})), 'malformed', /sync\.blocks: expected a list/)
    expectRefused(Uint8Array.from([0xa3, ...KIND, ...cborText('epoch'), 7, ...cborText('__proto__'), 0xa0]), 'malformed', /unexpected field '__proto__'/)
  })

  it('refuses unknown kinds and non-messages', () => {
    expectRefused(variant(vote, (o) => (o.kind = 'commit')), 'malformed', /unknown kind "commit"/)
    expectRefused(variant(vote, (o) => (o.kind = 1)), 'malformed', /kind: expected a string/)
    expectRefused(variant(vote, (o) => delete o.kind), 'malformed', /kind/)
    expectRefused(variant(vote, (o) => (o.kind = 'toString')), 'malformed', /unknown kind/)
    for (const v of [[1, 2], new Uint8Array(4), 5, null, 'vote']) expectRefused(encode(v), 'malformed')
    expectRefused(new Uint8Array(0), 'malformed')
    expectRefused('a vote' as never, 'malformed', /expected bytes/)
  })

  it('refuses non-canonical encodings: map order, integers as floats, non-minimal lengths, trailing bytes', () => {
    const value7 = [...cborText('epoch'), 0x07]
    expect(decodeMessage(epochRequest(KIND, value7))).toStrictEqual({ kind: 'epoch-request', epoch: 7 }) // the hand-made bytes are right
    expectRefused(epochRequest(value7, KIND), 'malformed') // "epoch" before "kind"
    const floatSeven = [...cborText('epoch'), 0xfb, 0x40, 0x1c, 0, 0, 0, 0, 0, 0] // 7.0 as float64
    expectRefused(epochRequest(KIND, floatSeven), 'malformed', /canonical/)
    expectRefused(epochRequest(KIND, [...cborText('epoch'), 0x18, 0x07]), 'malformed') // 7 in two bytes
    expectRefused(Uint8Array.from([...epochRequest(KIND, value7), 0x00]), 'malformed') // trailing byte
    expectRefused(epochRequest(KIND, value7).slice(0, -1), 'malformed') // truncated
  })
})
