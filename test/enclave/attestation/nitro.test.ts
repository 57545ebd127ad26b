// aws-nitro-v1: real AWS Nitro attestation documents (fixtures/aws-nitro/PROVENANCE.md)
// verified offline at pinned times, and refused when tampered, untrusted, stale or malformed.
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeCoseSign1 } from '../../../enclave/attestation/cose.ts'
import { decodeNitroUserDataKeys, encodeNitroUserData, NITRO_FORMAT, NITRO_ROOT_SHA256, NitroAttestationVerifier, parseNitroDocument } from '../../../enclave/attestation/nitro.ts'
import { certificateFingerprint } from '../../../enclave/attestation/x509.ts'
import { AttestationVerifierRegistry, isLedgerError, type EvidencePolicy } from '../../../ledger/index.ts'
import { encode, toHex } from '../../../primitives/index.ts'

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/aws-nitro/${name}`, import.meta.url)))

interface Expected {
  file: string
  /** document timestamp, unix ms */
  timestampMs: number
  platform: string
  pcr0: string
  debug: boolean
  publicKey: string
  nonce: string
}

const documents: Expected[] = [
  {
    file: 'enclave-2022-09-15.cose',
    timestampMs: 1663263808848, // 2022-09-15T17:43:28.848Z
    platform: 'i-0697c9729fa547b20-enc0183422ede9a5dc8',
    pcr0: 'ea4212ee889ba1b4dbfe744aadecca8b1930de60a3a1ce3b0c79f42b231700fc561c3d9b34f0565ed9eb6f460996624c',
    debug: false,
    publicKey: '15db1c67adc9fce91f7da323c708b6e639f0585af8a4a091127f2dfdcfeaf808',
    nonce: '47b5fba6979cbf7e567e2629',
  },
  {
    file: 'key-enclave-2022-09-28.cose',
    timestampMs: 1664379207680, // 2022-09-28T15:33:27.680Z
    platform: 'i-020f5b14d2f96fea8-enc018384b6a26e54f4',
    pcr0: '0637ca1a138452c76fd6430fb28b05ebc30a8779c66cf3388c28e9c320811eb3e8031c91516de42361c7dfca4a4550ab',
    debug: false,
    publicKey: 'a682110551e474d52a3dc33b16647f13176ae153a18a3a34928a37a5af91086d',
    nonce: 'acdb9ffe877d5c9cc9bf8115',
  },
  {
    file: 'debug-enclave-2022-07-14.cose',
    timestampMs: 1657831567740, // 2022-07-14T20:46:07.740Z
    platform: 'i-029e0eacb65267caa-enc0181fe7484f74a24',
    pcr0: '00'.repeat(48),
    debug: true,
    publicKey: '4effb1110a91e7bc69c5db1cd7451e3f921c4b2a93b9575eeddd2a8357cf3b23',
    nonce: 'd7ddfbf3cdf9',
  },
]

const verifier = new NitroAttestationVerifier()
/** the chain's policy judged one minute after the document was made */
const pinned = (e: Expected, overrides: Partial<EvidencePolicy> = {}): EvidencePolicy => ({ at: Math.floor(e.timestampMs / 1000) + 60, maxAgeSeconds: 600, trustAnchors: [NITRO_ROOT_SHA256], ...overrides })
const production = documents[0]!
const genuine = fixture(production.file)

/** the verification must fail with ATTESTATION_REJECTED and a message matching `why` */
function expectRejected(evidence: Uint8Array, policy: EvidencePolicy, why: RegExp): void {
  let thrown: unknown
  try {
    verifier.verify(NITRO_FORMAT, evidence, policy)
  } catch (e) {
    thrown = e
  }
  expect(isLedgerError(thrown), `expected a LedgerError, got ${String(thrown)}`).toBe(true)
  if (!isLedgerError(thrown)) return
  expect(thrown.code).toBe('ATTESTATION_REJECTED')
  expect(thrown.message).toMatch(why)
}

function flipBit(bytes: Uint8Array, index: number, bit = 0): Uint8Array {
  const out = Uint8Array.from(bytes)
  out[index] = out[index]! ^ (1 << bit)
  return out
}

/** the offset of `needle` inside `haystack` (a certificate or field inside the evidence) */
function offsetOf(haystack: Uint8Array, needle: Uint8Array): number {
  const at = Buffer.from(haystack).indexOf(Buffer.from(needle))
  expect(at).toBeGreaterThan(0)
  return at
}

const docOf = (evidence: Uint8Array) => parseNitroDocument(decodeCoseSign1(evidence).payload)

describe('aws-nitro-v1 attestation', () => {
  it.each(documents)('verifies $file at its pinned time and reports what it attests', (e) => {
    const v = verifier.verify(NITRO_FORMAT, fixture(e.file), pinned(e))
    expect(v.format).toBe(NITRO_FORMAT)
    expect(v.platform).toBe(e.platform)
    expect(toHex(v.measurement)).toBe(e.pcr0)
    expect(v.debug).toBe(e.debug)
    expect(toHex(v.nonce)).toBe(e.nonce)
    // user_data is cape's JSON (or null), not fedledger's layout: only public_key is bound
    expect(v.boundKeys.map(toHex)).toEqual([e.publicKey])
    expect(docOf(fixture(e.file)).timestampMs).toBe(e.timestampMs)
  })

  it('plugs into the ledger registry, and accepts the tagged (18) COSE_Sign1 form', () => {
    const registry = new AttestationVerifierRegistry().register(NITRO_FORMAT, verifier)
    expect(registry.verify(NITRO_FORMAT, genuine, pinned(production)).platform).toBe(production.platform)
    const tagged = new Uint8Array([0xd2, ...genuine])
    expect(toHex(verifier.verify(NITRO_FORMAT, tagged, pinned(production)).measurement)).toBe(production.pcr0)
    expect(verifier.supports(NITRO_FORMAT) && !verifier.supports('sim-v1')).toBe(true)
  })

  it('pins the AWS Nitro root by its DER SHA-256, and refuses a chain whose root is not a trust anchor', () => {
    expect(toHex(certificateFingerprint(docOf(genuine).cabundle[0]!))).toBe(toHex(NITRO_ROOT_SHA256))
    expectRejected(genuine, pinned(production, { trustAnchors: [] }), /not a trust anchor/)
    expectRejected(genuine, pinned(production, { trustAnchors: [new Uint8Array(32).fill(7)] }), /not a trust anchor/)
  })

  it('refuses a document at the present time, or older than the maximum age, or from the future', () => {
    expectRejected(genuine, pinned(production, { at: Math.floor(Date.now() / 1000) }), /s old, limit/)
    expectRejected(genuine, pinned(production, { at: Math.floor(production.timestampMs / 1000) + 601 }), /s old, limit 600/)
    expectRejected(genuine, pinned(production, { at: Math.floor(production.timestampMs / 1000) - 3600 }), /future/)
  })

  it("judges certificates at the document's own time: a leaf that expired after the document was made is fine within the maximum age", () => {
    // the leaf expired at 20:43:27, about three hours after this document; policy.at is 3 h 10 min after it
    const at = Math.floor(production.timestampMs / 1000) + 3 * 3600 + 600
    expect(verifier.verify(NITRO_FORMAT, genuine, pinned(production, { at, maxAgeSeconds: 4 * 3600 })).platform).toBe(production.platform)
    expectRejected(genuine, pinned(production, { at, maxAgeSeconds: 3 * 3600 }), /s old/)
  })

  it('refuses a flipped bit in the signature, the payload, or any certificate', () => {
    const policy = pinned(production)
    expectRejected(flipBit(genuine, genuine.length - 1), policy, /document signature does not verify/)
    const doc = docOf(genuine)
    // inside the signed payload: PCR0 and the nonce
    expectRejected(flipBit(genuine, offsetOf(genuine, doc.pcrs.get(0)!) + 5), policy, /document signature does not verify/)
    expectRejected(flipBit(genuine, offsetOf(genuine, doc.nonce!) + 1), policy, /document signature does not verify/)
    // the last byte of a certificate is in its signature; the chain check catches it first
    const leafEnd = offsetOf(genuine, doc.certificate) + doc.certificate.length - 1
    expectRejected(flipBit(genuine, leafEnd), policy, /leaf certificate signature does not verify/)
    const intermediate = doc.cabundle[2]!
    expectRejected(flipBit(genuine, offsetOf(genuine, intermediate) + intermediate.length - 1), policy, /intermediate certificate 2 signature does not verify/)
    expectRejected(flipBit(genuine, offsetOf(genuine, doc.cabundle[0]!) + 200), policy, /not a trust anchor/)
  })

  it('refuses every single-bit flip anywhere in the document (sampled)', () => {
    const policy = pinned(production)
    fc.assert(
      fc.property(fc.integer({ min: 0, max: genuine.length - 1 }), fc.integer({ min: 0, max: 7 }), (index, bit) => {
        expectRejected(flipBit(genuine, index, bit), policy, /^aws-nitro-v1: /)
      }),
      { seed: 20220915, numRuns: 150 },
    )
  })

  it('refuses malformed bytes and wrong shapes with ATTESTATION_REJECTED only', () => {
    const policy = pinned(production)
    const cose = decodeCoseSign1(genuine)
    const cases: Array<[Uint8Array, RegExp]> = [
      [new Uint8Array(0), /empty/],
      [genuine.subarray(0, genuine.length - 10), /truncated/],
      [genuine.subarray(0, 1), /truncated/],
      [new Uint8Array([...genuine, 0]), /trailing/],
      [new Uint8Array([0xd1, ...genuine]), /tag 17/],
      [new Uint8Array(40_000), /limit/],
      [encode({ not: 'cose' }), /array of 4/],
      [encode([cose.protectedBytes, {}, cose.payload]), /array of 4/],
      // ES256 ({1: -7}) instead of ES384
      [encode([Uint8Array.of(0xa1, 0x01, 0x26), {}, cose.payload, cose.signature]), /ES384/],
      // {1: -35, 2: []}: a 'crit' list names parameters the verifier would have to understand
      [encode([Uint8Array.of(0xa2, 0x01, 0x38, 0x22, 0x02, 0x80), {}, cose.payload, cose.signature]), /critical/],
      [encode([cose.protectedBytes, {}, cose.payload, cose.signature.subarray(0, 64)]), /96 bytes/],
      [encode([cose.protectedBytes, {}, encode([1, 2, 3]), cose.signature]), /not a CBOR map/],
      [encode([cose.protectedBytes, {}, encode({ module_id: 'x', digest: 'SHA256' }), cose.signature]), /digest/],
      [encode([cose.protectedBytes, {}, new Uint8Array([0xbf, 0xff]), cose.signature]), /indefinite/],
    ]
    for (const [evidence, why] of cases) expectRejected(evidence, policy, why)
  })

  it('refuses random bytes without any other kind of exception', () => {
    const policy = pinned(production)
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 3000 }), (bytes) => expectRejected(bytes, policy, /^aws-nitro-v1: /)),
      { seed: 7, numRuns: 100 },
    )
    expect(() => verifier.verify('sim-v1', genuine, policy)).toThrow(/cannot verify format/)
  })
})

describe("fedledger's Nitro user_data layout", () => {
  it('round-trips 32-byte keys, and reads nothing from foreign user_data', () => {
    const keys = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)]
    expect(decodeNitroUserDataKeys(encodeNitroUserData(keys))).toEqual(keys)
    expect(decodeNitroUserDataKeys(docOf(genuine).userData!)).toEqual([])
    expect(decodeNitroUserDataKeys(encode({ keys: [new Uint8Array(31)] }))).toEqual([])
    expect(decodeNitroUserDataKeys(encode({ keys: keys, other: 1 }))).toEqual([])
    expect(() => encodeNitroUserData([new Uint8Array(33)])).toThrow(/32 bytes/)
    expect(() => encodeNitroUserData([])).toThrow(/1 to 8/)
  })
})
