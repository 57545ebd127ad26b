// The format-neutral X.509 chain checks (enclave/attestation/x509.ts): on the real AWS
// Nitro chain of a fixture, and on small synthetic chains (built here in DER, signed
// with node:crypto) for the CA and pathLen rules no real chain breaks.
import { readFileSync } from 'node:fs'
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { decodeCoseSign1 } from '../../../enclave/attestation/cose.ts'
import { NITRO_ROOT_SHA256, parseNitroDocument } from '../../../enclave/attestation/nitro.ts'
import { basicConstraintsPathLen, certificateFingerprint, verifyCertificateChain } from '../../../enclave/attestation/x509.ts'

const docOf = (file: string) => parseNitroDocument(decodeCoseSign1(new Uint8Array(readFileSync(new URL(`./fixtures/aws-nitro/${file}`, import.meta.url)))).payload)

describe('x509 chain checks on the Nitro chain', () => {
  const doc = docOf('enclave-2022-09-15.cose')
  const timestampMs = doc.timestampMs // 2022-09-15T17:43:28.848Z
  const chain = [...doc.cabundle, doc.certificate]
  const anchors = { trustAnchors: [NITRO_ROOT_SHA256] }

  it('checks validity at the given instant, issuance order and reads pathLen', () => {
    expect(verifyCertificateChain(chain, { ...anchors, atMs: timestampMs })).toHaveLength(5)
    // the leaf lives three hours from four seconds before the document; the intermediates have expired by now
    expect(() => verifyCertificateChain(chain, { ...anchors, atMs: timestampMs + 4 * 3_600_000 })).toThrow(/leaf certificate is not valid at/)
    expect(() => verifyCertificateChain(chain, { ...anchors, atMs: timestampMs - 10_000 })).toThrow(/leaf certificate is not valid at/)
    expect(() => verifyCertificateChain(chain, { ...anchors, atMs: Date.now() })).toThrow(/intermediate certificate 1 is not valid at/)
    const swapped = [chain[0]!, chain[2]!, chain[1]!, chain[3]!, chain[4]!]
    expect(() => verifyCertificateChain(swapped, { ...anchors, atMs: timestampMs })).toThrow(/was not issued by/)
    expect(() => verifyCertificateChain([chain[0]!], { ...anchors, atMs: timestampMs })).toThrow(/at least one more/)
    expect(() => verifyCertificateChain(chain, { trustAnchors: [certificateFingerprint(chain[1]!)], atMs: timestampMs })).toThrow(/not a trust anchor/)
    expect(chain.map(basicConstraintsPathLen)).toEqual([undefined, 2, 1, 0, undefined])
  })
})

// ---- a minimal DER certificate builder (ECDSA P-256 / SHA-256) ----

function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(parts)
  const n = body.length
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff]
  return Buffer.concat([Uint8Array.of(tag, ...len), body])
}
const seq = (...parts: Uint8Array[]) => tlv(0x30, ...parts)
const int = (n: number) => tlv(0x02, Uint8Array.of(n))
const TRUE = tlv(0x01, Uint8Array.of(0xff))
const ECDSA_SHA256 = seq(tlv(0x06, Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02)))
const name = (cn: string) => seq(tlv(0x31, seq(tlv(0x06, Uint8Array.of(0x55, 0x04, 0x03)), tlv(0x0c, new TextEncoder().encode(cn)))))
const utcTime = (s: string) => tlv(0x17, new TextEncoder().encode(s))

interface Spec {
  subject: string
  issuer: string
  key: KeyObject // subject's public key
  signer: KeyObject // issuer's private key
  ca: boolean
  pathLen?: number
}

function certificate(spec: Spec): Uint8Array {
  const constraints = spec.ca ? seq(TRUE, ...(spec.pathLen === undefined ? [] : [int(spec.pathLen)])) : seq()
  const basicConstraints = seq(tlv(0x06, Uint8Array.of(0x55, 0x1d, 0x13)), TRUE, tlv(0x04, constraints))
  const tbs = seq(
    tlv(0xa0, int(2)),
    int(1),
    ECDSA_SHA256,
    name(spec.issuer),
    seq(utcTime('200101000000Z'), utcTime('400101000000Z')),
    name(spec.subject),
    new Uint8Array(spec.key.export({ type: 'spki', format: 'der' })),
    tlv(0xa3, seq(basicConstraints)),
  )
  return seq(tbs, ECDSA_SHA256, tlv(0x03, Uint8Array.of(0), sign('sha256', tbs, spec.signer)))
}

describe('x509 chain rules on synthetic chains', () => {
  const keys = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const [root, mid, leaf] = [keys(), keys(), keys()]
  const atMs = Date.UTC(2030, 0, 1)
  const build = (rootSpec: Partial<Spec>, midSpec: Partial<Spec>) => {
    const r = certificate({ subject: 'root', issuer: 'root', key: root.publicKey, signer: root.privateKey, ca: true, ...rootSpec })
    const m = certificate({ subject: 'mid', issuer: 'root', key: mid.publicKey, signer: root.privateKey, ca: true, ...midSpec })
    const l = certificate({ subject: 'leaf', issuer: 'mid', key: leaf.publicKey, signer: mid.privateKey, ca: false })
    return { chain: [r, m, l], options: { trustAnchors: [certificateFingerprint(r)], atMs } }
  }

  it('accepts a well-formed chain (the builder is sound)', () => {
    const { chain, options } = build({ pathLen: 1 }, { pathLen: 0 })
    expect(verifyCertificateChain(chain, options).map((c) => c.subject)).toEqual(['CN=root', 'CN=mid', 'CN=leaf'])
    expect(chain.map(basicConstraintsPathLen)).toEqual([1, 0, undefined])
  })

  it('refuses an issuing certificate that is not a CA', () => {
    const { chain, options } = build({}, { ca: false })
    expect(() => verifyCertificateChain(chain, options)).toThrow(/intermediate certificate 1 issues certificates but is not a CA/)
    const nonCaRoot = build({ ca: false }, {})
    expect(() => verifyCertificateChain(nonCaRoot.chain, nonCaRoot.options)).toThrow(/root certificate is not a self-signed CA/)
  })

  it('refuses a chain longer than a CA pathLenConstraint allows', () => {
    const { chain, options } = build({ pathLen: 0 }, {})
    expect(() => verifyCertificateChain(chain, options)).toThrow(/root certificate allows 0 CA certificates below it, the chain has 1/)
  })

  it('refuses a root that is not self-signed even when pinned', () => {
    const { chain, options } = build({ signer: mid.privateKey }, {})
    expect(() => verifyCertificateChain(chain, options)).toThrow(/not a self-signed CA/)
  })
})
