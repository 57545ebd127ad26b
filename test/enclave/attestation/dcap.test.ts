/**
 * intel-dcap-v1: the real SGX (v3) and TDX (v4) quotes of @phala/dcap-qvl's samples (see
 * fixtures/intel-dcap/PROVENANCE.md) verify with their collateral at a pinned time and fail
 * when tampered, stale, unanchored or malformed; fedledger's REPORT_DATA layout (nonce ‖
 * bound-keys digest) is tested with crafted buffers, since the real quotes were not made with it.
 */
import { readFileSync } from 'node:fs'
import { constants as qvlConstants, QuoteVerifier, utils as qvlUtils, Quote, type Collateral } from '@phala/dcap-qvl'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  checkDcapReportData, DCAP_FORMAT, DCAP_INTEL_ROOT_SHA256, DCAP_MAX_EVIDENCE_BYTES, DcapAttestationVerifier, dcapReportData, dcapVerifiedEvidence, encodeDcapEvidence, verifyDcapQuote,
  type DcapAcceptableTcbStatus, type DcapCollateral, type DcapVerifierOptions,
} from '../../../enclave/attestation/dcap.ts'
import { SEV_SNP_MILAN_ARK_SHA256 } from '../../../enclave/attestation/sev-snp.ts'
import { AttestationVerifierRegistry, evidenceNonce, isLedgerError, type EvidencePolicy } from '../../../ledger/index.ts'
import { decode, encode, sha256, toHex } from '../../../primitives/index.ts'

const dir = new URL('./fixtures/intel-dcap/', import.meta.url)
type Tee = 'sgx' | 'tdx'
const load = (tee: Tee) => ({
  quote: new Uint8Array(readFileSync(new URL(`${tee}_quote.bin`, dir))),
  json: JSON.parse(readFileSync(new URL(`${tee}_quote_collateral.json`, dir), 'utf8')) as Collateral & Record<string, string>,
})
const fixtures = { sgx: load('sgx'), tdx: load('tdx') }
/** the collateral with its hex fields as bytes, converted here independently of encodeDcapEvidence */
const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'))
const bytesCollateral = (json: Record<string, string>): DcapCollateral => ({
  pck_crl_issuer_chain: json.pck_crl_issuer_chain!,
  root_ca_crl: hex(json.root_ca_crl!),
  pck_crl: hex(json.pck_crl!),
  tcb_info_issuer_chain: json.tcb_info_issuer_chain!,
  tcb_info: json.tcb_info!,
  tcb_info_signature: hex(json.tcb_info_signature!),
  qe_identity_issuer_chain: json.qe_identity_issuer_chain!,
  qe_identity: json.qe_identity!,
  qe_identity_signature: hex(json.qe_identity_signature!),
})
const collateral = { sgx: bytesCollateral(fixtures.sgx.json), tdx: bytesCollateral(fixtures.tdx.json) }

/** inside every validity window of both collaterals (2025-06-19 10:56 to 2025-07-19 10:00 UTC) */
const PINNED = Date.UTC(2025, 6, 1) / 1000
const policy = (at = PINNED, trustAnchors = [DCAP_INTEL_ROOT_SHA256]): EvidencePolicy => ({ at, maxAgeSeconds: 600, trustAnchors })
/** the SGX sample's platform needs configuration and SW hardening: accepted only when asked for */
const LENIENT: DcapVerifierOptions = { acceptedTcbStatuses: ['UpToDate', 'ConfigurationAndSWHardeningNeeded'] }

const flip = (b: Uint8Array, at: number, mask = 1) => {
  const out = Uint8Array.from(b)
  out[at] = out[at]! ^ mask
  return out
}
const rejection = (fn: () => unknown): string => {
  try {
    fn()
  } catch (e) {
    if (isLedgerError(e) && e.code === 'ATTESTATION_REJECTED') return e.message
    throw e
  }
  throw new Error('expected ATTESTATION_REJECTED, but it verified')
}
const quoteRejection = (tee: Tee, over: { quote?: Uint8Array; collateral?: Partial<DcapCollateral>; at?: number; anchors?: Uint8Array[] } = {}) =>
  rejection(() => verifyDcapQuote(over.quote ?? fixtures[tee].quote, { ...collateral[tee], ...over.collateral }, policy(over.at, over.anchors), LENIENT))

// quote layout, read here independently of the library: 48-byte header, then the report body
const SGX = { attributes: 48 + 48, mrEnclave: 48 + 64, mrSigner: 48 + 128, reportData: 48 + 320, signed: 432 }
const TDX = { tdAttributes: 48 + 120, mrTd: 48 + 136, rtmr0: 48 + 328, reportData: 48 + 520, signed: 632 }
const slice = (b: Uint8Array, at: number, len: number) => toHex(b.subarray(at, at + len))

describe('intel-dcap-v1 with the real SGX and TDX quotes', () => {
  it('pins the Intel SGX Root CA that ends each quote chain and that the library ships', () => {
    expect(toHex(sha256(qvlConstants.TRUSTED_ROOT_CA_DER))).toBe(toHex(DCAP_INTEL_ROOT_SHA256))
    for (const tee of ['sgx', 'tdx'] as const) {
      const chain = qvlUtils.extractCerts(Buffer.from(Quote.parse(fixtures[tee].quote).rawCertChain()))
      expect(toHex(sha256(chain[chain.length - 1]!))).toBe(toHex(DCAP_INTEL_ROOT_SHA256))
    }
  })

  it('verifies the SGX quote and maps MRENCLAVE, the DEBUG bit, REPORT_DATA and the platform', () => {
    const q = fixtures.sgx.quote
    const facts = verifyDcapQuote(q, collateral.sgx, policy(), LENIENT)
    expect(facts).toMatchObject({ tee: 'sgx', quoteVersion: 3, tcbStatus: 'ConfigurationAndSWHardeningNeeded', advisoryIds: ['INTEL-SA-00289', 'INTEL-SA-00615'], rtmrs: [] })
    expect(toHex(facts.measurement)).toBe(slice(q, SGX.mrEnclave, 32))
    expect(toHex(facts.measurement)).toBe('33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb')
    expect(toHex(facts.mrSigner!)).toBe(slice(q, SGX.mrSigner, 32))
    expect(facts.debug).toBe((q[SGX.attributes]! & 0x02) !== 0)
    expect(facts.debug).toBe(false)
    expect(toHex(facts.reportData)).toBe(slice(q, SGX.reportData, 64))
    expect(Buffer.from(facts.reportData.subarray(0, 13)).toString()).toBe('Hello, world!')
    expect(toHex(facts.fmspc)).toBe(JSON.parse(collateral.sgx.tcb_info).fmspc.toLowerCase())
    expect(facts.platform).toBe(`intel-sgx-00a067110000-${toHex(facts.ppid)}`)
    expect(facts.platform).toMatch(/^intel-sgx-00a067110000-[0-9a-f]{32}$/)
    expect(facts.collateralNextUpdate).toBe(Date.parse('2025-07-19T10:01:18Z') / 1000)
  })

  it('verifies the TDX quote (UpToDate under the default options) and maps MRTD, TD DEBUG and RTMRs', () => {
    const q = fixtures.tdx.quote
    const facts = verifyDcapQuote(q, collateral.tdx, policy())
    expect(facts).toMatchObject({ tee: 'tdx', quoteVersion: 4, tcbStatus: 'UpToDate', advisoryIds: [] })
    expect(toHex(facts.measurement)).toBe(slice(q, TDX.mrTd, 48))
    expect(toHex(facts.measurement)).toBe('91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7')
    expect(facts.debug).toBe((q[TDX.tdAttributes]! & 0x01) !== 0)
    expect(facts.debug).toBe(false)
    expect(facts.rtmrs.map(toHex)).toEqual([0, 1, 2, 3].map((i) => slice(q, TDX.rtmr0 + 48 * i, 48)))
    expect(toHex(facts.reportData)).toBe(slice(q, TDX.reportData, 64))
    expect(facts.platform).toMatch(/^intel-tdx-b0c06f000000-[0-9a-f]{32}$/)
    expect(facts.mrSigner).toBeUndefined()
  })

  it('accepts only UpToDate by default; other TCB statuses are an explicit option, Revoked never', () => {
    expect(rejection(() => verifyDcapQuote(fixtures.sgx.quote, collateral.sgx, policy()))).toMatch(
      /TCB status ConfigurationAndSWHardeningNeeded \(INTEL-SA-00289, INTEL-SA-00615\) is not accepted \(accepted: UpToDate\)/,
    )
    expect(rejection(() => verifyDcapQuote(fixtures.sgx.quote, collateral.sgx, policy(), { acceptedTcbStatuses: ['UpToDate', 'SWHardeningNeeded'] }))).toMatch(/is not accepted/)
    const evidence = encodeDcapEvidence({ quote: fixtures.sgx.quote, collateral: fixtures.sgx.json })
    expect(rejection(() => new DcapAttestationVerifier().verify(DCAP_FORMAT, evidence, policy()))).toMatch(/TCB status ConfigurationAndSWHardeningNeeded/)
    // with the option, the SGX quote gets through to the last check (REPORT_DATA layout)
    expect(rejection(() => new DcapAttestationVerifier(LENIENT).verify(DCAP_FORMAT, evidence, policy()))).toMatch(/bound-keys digest mismatch/)
    for (const wrong of [[], ['Revoked'], ['Unknown'], ['uptodate']]) {
      try {
        new DcapAttestationVerifier({ acceptedTcbStatuses: wrong as DcapAcceptableTcbStatus[] })
        expect.unreachable()
      } catch (e) {
        expect(isLedgerError(e) && e.code === 'BAD_ARGUMENT').toBe(true)
      }
    }
  })

  it('as ledger evidence both pass every check, then fail only on fedledger\'s REPORT_DATA layout', () => {
    const registry = new AttestationVerifierRegistry().register(DCAP_FORMAT, new DcapAttestationVerifier(LENIENT))
    for (const tee of ['sgx', 'tdx'] as const) {
      for (const keys of [[], [new Uint8Array(32).fill(7)]]) {
        const evidence = encodeDcapEvidence({ quote: fixtures[tee].quote, collateral: fixtures[tee].json, keys })
        expect(rejection(() => registry.verify(DCAP_FORMAT, evidence, policy()))).toBe('intel-dcap-v1: REPORT_DATA does not bind the evidence keys (bound-keys digest mismatch)')
      }
    }
    expect(rejection(() => new DcapAttestationVerifier().verify('aws-nitro-v1', new Uint8Array(8), policy()))).toMatch(/cannot verify format 'aws-nitro-v1'/)
  })

  it('fails when a byte of the report, the quote signature or the QE report changes', () => {
    expect(quoteRejection('sgx', { quote: flip(fixtures.sgx.quote, SGX.mrEnclave) })).toMatch(/ISV enclave report signature is invalid/)
    expect(quoteRejection('sgx', { quote: flip(fixtures.sgx.quote, SGX.reportData + 5) })).toMatch(/ISV enclave report signature is invalid/)
    expect(quoteRejection('sgx', { quote: flip(fixtures.sgx.quote, SGX.attributes, 0x02) })).toMatch(/ISV enclave report signature is invalid|Debug mode/)
    expect(quoteRejection('sgx', { quote: flip(fixtures.sgx.quote, SGX.signed + 4 + 10) })).toMatch(/ISV enclave report signature is invalid/) // ECDSA signature
    expect(quoteRejection('sgx', { quote: flip(fixtures.sgx.quote, SGX.signed + 4 + 128 + 100) })).toMatch(/Signature is invalid for qe_report/) // QE report
    expect(quoteRejection('tdx', { quote: flip(fixtures.tdx.quote, TDX.mrTd + 47) })).toMatch(/ISV enclave report signature is invalid/)
    expect(quoteRejection('tdx', { quote: flip(fixtures.tdx.quote, TDX.rtmr0 + 3 * 48) })).toMatch(/ISV enclave report signature is invalid/)
    expect(quoteRejection('tdx', { quote: flip(fixtures.tdx.quote, TDX.signed + 4 + 63, 0x80) })).toMatch(/ISV enclave report signature is invalid/)
  })

  it('fails when the collateral is tampered with, swapped or its CRLs are forged', () => {
    const c = collateral.sgx
    const better = c.tcb_info.replace('ConfigurationAndSWHardeningNeeded', 'UpToDate')
    expect(better).not.toBe(c.tcb_info)
    expect(quoteRejection('sgx', { collateral: { tcb_info: better } })).toMatch(/Signature is invalid for tcb_info/)
    expect(quoteRejection('sgx', { collateral: { tcb_info_signature: flip(c.tcb_info_signature, 40) } })).toMatch(/Signature is invalid for tcb_info/)
    expect(quoteRejection('sgx', { collateral: { qe_identity: c.qe_identity.replace('"isvprodid":1', '"isvprodid":2') } })).toMatch(/Signature is invalid for qe_identity/)
    expect(quoteRejection('sgx', { collateral: { ...collateral.tdx } })).toMatch(/quote does not verify|PCK CRL is not issued/)
    // a certificate that chains to the root but is not Intel's TCB signer cannot sign collateral
    const pckChain = Buffer.from(Quote.parse(fixtures.sgx.quote).rawCertChain()).toString('utf8')
    expect(quoteRejection('sgx', { collateral: { tcb_info_issuer_chain: pckChain } })).toMatch(/TCB info signing certificate is not 'Intel SGX TCB Signing'/)
    // the library alone accepts any CRL bytes (it never checks their signatures); the verifier does not
    const garbage = Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00)
    expect(new QuoteVerifier().verify(fixtures.sgx.quote, { ...fixtures.sgx.json, pck_crl: toHex(garbage) }, PINNED).status).toBe('ConfigurationAndSWHardeningNeeded')
    expect(quoteRejection('sgx', { collateral: { pck_crl: garbage } })).toMatch(/PCK CRL is malformed/)
    expect(quoteRejection('sgx', { collateral: { pck_crl: flip(c.pck_crl, c.pck_crl.length - 5) } })).toMatch(/PCK CRL signature does not verify/)
    expect(quoteRejection('sgx', { collateral: { pck_crl: flip(c.pck_crl, 60) } })).toMatch(/PCK CRL (signature does not verify|is malformed|is not issued)/)
    expect(quoteRejection('sgx', { collateral: { root_ca_crl: c.pck_crl } })).toMatch(/Root CA CRL is not issued by CN=Intel SGX Root CA/)
    expect(quoteRejection('tdx', { collateral: { pck_crl: collateral.sgx.pck_crl } })).toMatch(/PCK CRL is not issued by CN=Intel SGX PCK Platform CA/)
  })

  it('fails before the collateral is issued, after it expires, and at the present time', () => {
    const at = (iso: string) => Date.parse(iso) / 1000
    expect(quoteRejection('sgx', { at: at('2025-07-19T10:10:00Z') })).toMatch(/QE Identity expired/)
    expect(quoteRejection('tdx', { at: at('2025-07-19T10:10:00Z') })).toMatch(/PCK CRL expired at 2025-07-19T10:00:35/)
    expect(quoteRejection('sgx', { at: at('2025-07-20T00:00:00Z') })).toMatch(/expired/)
    expect(quoteRejection('tdx', { at: at('2025-06-01T00:00:00Z') })).toMatch(/not valid before|issue date is in the future/)
    expect(quoteRejection('sgx', { at: at('2025-06-19T10:30:00Z') })).toMatch(/TCBInfo issue date is in the future/)
    expect(quoteRejection('tdx', { at: Date.now() / 1000 })).toMatch(/expired/)
    expect(quoteRejection('tdx', { at: Number.NaN })).toMatch(/verification time is not a number/)
  })

  it('trusts only the policy\'s anchors', () => {
    expect(quoteRejection('tdx', { anchors: [] })).toMatch(/PCK certificate chain: certificate chain: root certificate \(SHA-256 44a0196b.*\) is not a trust anchor/)
    expect(quoteRejection('sgx', { anchors: [SEV_SNP_MILAN_ARK_SHA256] })).toMatch(/not a trust anchor/)
    const evidence = encodeDcapEvidence({ quote: fixtures.tdx.quote, collateral: fixtures.tdx.json })
    expect(rejection(() => new DcapAttestationVerifier().verify(DCAP_FORMAT, evidence, policy(PINNED, [sha256(new Uint8Array(1))])))).toMatch(/not a trust anchor/)
  })
})

describe('intel-dcap-v1 evidence bytes', () => {
  const verifier = new DcapAttestationVerifier()
  const genuine = encodeDcapEvidence({ quote: fixtures.tdx.quote, collateral: fixtures.tdx.json })
  const envelope = decode<{ quote: Uint8Array; collateral: DcapCollateral; keys: Uint8Array[] }>(genuine)
  const reject = (bytes: Uint8Array) => rejection(() => verifier.verify(DCAP_FORMAT, bytes, policy()))

  it('encodes the library\'s collateral (hex or number arrays) as bytes in one DAG-CBOR envelope', () => {
    expect(Object.keys(envelope).sort()).toEqual(['collateral', 'keys', 'quote'])
    expect(toHex(envelope.quote)).toBe(toHex(fixtures.tdx.quote))
    expect(envelope.collateral).toEqual(collateral.tdx)
    const asArrays = { ...fixtures.tdx.json, pck_crl: [...collateral.tdx.pck_crl], root_ca_crl: [...collateral.tdx.root_ca_crl] }
    expect(toHex(encodeDcapEvidence({ quote: fixtures.tdx.quote, collateral: asArrays }))).toBe(toHex(genuine))
    expect(toHex(encodeDcapEvidence({ quote: fixtures.tdx.quote, collateral: collateral.tdx }))).toBe(toHex(genuine))
    expect(genuine.length).toBeLessThan(DCAP_MAX_EVIDENCE_BYTES)
    for (const bad of [{ ...fixtures.tdx.json, pck_crl: 'zz' }, { ...fixtures.tdx.json, tcb_info: '' }, { ...fixtures.tdx.json, tcb_info_signature: '00' }]) {
      expect(() => encodeDcapEvidence({ quote: fixtures.tdx.quote, collateral: bad as Collateral })).toThrow(/intel-dcap-v1: /)
    }
    expect(() => encodeDcapEvidence({ quote: fixtures.tdx.quote, collateral: fixtures.tdx.json, keys: Array.from({ length: 9 }, () => new Uint8Array(32)) })).toThrow(/keys/)
  })

  it('refuses empty, truncated, oversized and malformed evidence with a clear reason', () => {
    const withEnvelope = (over: Record<string, unknown>) => encode({ ...envelope, ...over })
    expect(reject(new Uint8Array(0))).toMatch(/evidence is empty/)
    expect(reject(genuine.subarray(0, genuine.length - 200))).toMatch(/unreadable evidence/)
    expect(reject(new Uint8Array(DCAP_MAX_EVIDENCE_BYTES + 1))).toMatch(new RegExp(`evidence is ${DCAP_MAX_EVIDENCE_BYTES + 1} bytes, limit ${DCAP_MAX_EVIDENCE_BYTES}`))
    expect(reject(encode([1, 2, 3]))).toMatch(/malformed evidence/)
    expect(reject(withEnvelope({ extra: 1 }))).toMatch(/malformed evidence/)
    expect(reject(encode({ quote: envelope.quote, collateral: envelope.collateral }))).toMatch(/malformed evidence: keys/)
    expect(reject(withEnvelope({ collateral: { ...envelope.collateral, tcb_info_signature: new Uint8Array(63) } }))).toMatch(/malformed evidence: collateral\.tcb_info_signature/)
    expect(reject(withEnvelope({ collateral: { ...envelope.collateral, pck_certificate_chain: 'x' } }))).toMatch(/malformed evidence: collateral/)
    expect(reject(withEnvelope({ keys: Array.from({ length: 9 }, () => new Uint8Array(32)) }))).toMatch(/malformed evidence: keys/)
    expect(reject(withEnvelope({ quote: 'not bytes' }))).toMatch(/malformed evidence: quote/)
    expect(reject(withEnvelope({ quote: new Uint8Array(20 * 1024) }))).toMatch(/malformed evidence: quote/)
    expect(reject(withEnvelope({ quote: fixtures.tdx.quote.subarray(0, 1000) }))).toMatch(/quote is unreadable/)
    expect(reject(withEnvelope({ quote: fixtures.tdx.quote.subarray(0, 100) }))).toMatch(/quote is unreadable/)
    const padded = new Uint8Array(fixtures.tdx.quote.length + 1)
    padded.set(fixtures.tdx.quote)
    padded[padded.length - 1] = 1
    expect(reject(withEnvelope({ quote: padded }))).toMatch(/quote is followed by 71 bytes that are not zero padding/)
  })

  it('refuses every sampled single-byte change of the evidence, with ATTESTATION_REJECTED only', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: genuine.length - 1 }), fc.integer({ min: 1, max: 255 }), (index, mask) => {
        expect(reject(flip(genuine, index, mask))).toMatch(/^intel-dcap-v1: /)
      }),
      { numRuns: 150 },
    )
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 2000 }), (bytes) => void expect(reject(bytes)).toMatch(/^intel-dcap-v1: /)), { numRuns: 100 })
  })
})

describe("fedledger's DCAP REPORT_DATA layout", () => {
  const nonce = evidenceNonce('chain-1', 'enclave.round-key', 'round-7', new Uint8Array(32).fill(7))
  const keys = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)]

  it('is the nonce followed by SHA-256 of DAG-CBOR [domain, keys]', () => {
    const rd = dcapReportData(nonce, keys)
    expect(rd.length).toBe(64)
    expect(toHex(rd.subarray(0, 32))).toBe(toHex(nonce))
    expect(toHex(rd.subarray(32))).toBe(toHex(sha256(encode(['fedledger/intel-dcap/bound-keys/v1', keys]))))
    const { nonce: n, boundKeys } = checkDcapReportData(rd, keys)
    expect(toHex(n)).toBe(toHex(nonce))
    expect(boundKeys.map(toHex)).toEqual(keys.map(toHex))
    expect(() => dcapReportData(new Uint8Array(31), keys)).toThrow(/32 bytes/)
  })

  it('rejects keys the REPORT_DATA does not bind: changed, missing, extra or reordered', () => {
    const rd = dcapReportData(nonce, keys)
    for (const other of [[keys[0]!], [...keys, new Uint8Array(32)], [keys[1]!, keys[0]!], [flip(keys[0]!, 0), keys[1]!], []]) {
      expect(rejection(() => checkDcapReportData(rd, other))).toMatch(/bound-keys digest mismatch/)
    }
    expect(rejection(() => checkDcapReportData(rd.subarray(0, 63), keys))).toMatch(/REPORT_DATA is 64 bytes/)
  })

  it('maps verified facts to the ledger\'s evidence when REPORT_DATA binds the keys', () => {
    const facts = verifyDcapQuote(fixtures.tdx.quote, collateral.tdx, policy())
    // the real quote's REPORT_DATA replaced by fedledger's layout: what a fedledger TD would have asked for
    const evidence = dcapVerifiedEvidence({ ...facts, reportData: dcapReportData(nonce, keys) }, keys)
    expect(evidence.format).toBe(DCAP_FORMAT)
    expect(evidence.platform).toBe(facts.platform)
    expect(toHex(evidence.measurement)).toBe(slice(fixtures.tdx.quote, TDX.mrTd, 48))
    expect(evidence.debug).toBe(false)
    expect(toHex(evidence.nonce)).toBe(toHex(nonce))
    expect(evidence.boundKeys.map(toHex)).toEqual(keys.map(toHex))
    expect(rejection(() => dcapVerifiedEvidence(facts, keys))).toMatch(/bound-keys digest mismatch/)
  })
})
