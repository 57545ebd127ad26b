/**
 * amd-sev-snp-v1: the real Milan report (virtee/sev fixture, see fixtures/amd-sev-snp/
 * PROVENANCE.md) verifies at a pinned time and fails when tampered; a synthetic platform
 * (snp-synthetic.ts) exercises fedledger's REPORT_DATA layout and the debug flag end to end.
 */
import { readFileSync } from 'node:fs'
import { X509Certificate } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { SEV_SNP_FORMAT, SEV_SNP_MILAN_ARK_SHA256, SevSnpAttestationVerifier, encodeSnpEvidence, snpPlatformId, snpReportData, verifySnpReport, type SnpEvidence } from '../../../enclave/attestation/sev-snp.ts'
import { AttestationVerifierRegistry, evidenceNonce, isLedgerError, type EvidencePolicy } from '../../../ledger/index.ts'
import { encode, sha256, toHex } from '../../../primitives/index.ts'
import { syntheticPlatform } from './snp-synthetic.ts'

const dir = new URL('./fixtures/amd-sev-snp/', import.meta.url)
const file = (name: string) => readFileSync(new URL(name, dir))
const der = (pem: Buffer) => new Uint8Array(new X509Certificate(pem).raw)
const milan = {
  report: Uint8Array.from(Buffer.from(file('report_milan.hex').toString('utf8').trim(), 'hex')),
  vcek: new Uint8Array(file('vcek_milan.der')),
  ask: der(file('milan_ask.pem')),
  ark: der(file('milan_ark.pem')),
}
const MEASUREMENT = '7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f'
const CHIP_ID = 'd49554ec717f4e5b0fe6b143bcf0405bd7ae304727edf46603f2a76aef6a3abc15d7af38db757039029f0efacfd08e244324884738c72b082e2f87a44d541eb6'
/** the report has no timestamp: a time inside every certificate's validity (VCEK 2023-04-03 to 2030-04-03) */
const PINNED = Date.UTC(2024, 0, 1) / 1000
const policy = (at = PINNED, trustAnchors = [SEV_SNP_MILAN_ARK_SHA256]): EvidencePolicy => ({ at, maxAgeSeconds: 600, trustAnchors })
const verifier = new SevSnpAttestationVerifier()
const flip = (b: Uint8Array, at: number, mask = 1) => {
  const out = Uint8Array.from(b)
  out[at] = out[at]! ^ mask
  return out
}
const milanEvidence = (over: Partial<SnpEvidence> = {}) => encodeSnpEvidence({ ...milan, keys: [], ...over })
const rejection = (fn: () => unknown): string => {
  try {
    fn()
  } catch (e) {
    if (isLedgerError(e) && e.code === 'ATTESTATION_REJECTED') return e.message
    throw e
  }
  throw new Error('expected ATTESTATION_REJECTED, but it verified')
}

describe('amd-sev-snp-v1 with the real Milan report', () => {
  it('verifies the chain and the report signature at the pinned time and states what the report says', () => {
    expect(toHex(sha256(milan.ark))).toBe(toHex(SEV_SNP_MILAN_ARK_SHA256))
    const facts = verifySnpReport(milan.report, milan, policy())
    expect(toHex(facts.measurement)).toBe(MEASUREMENT)
    expect(toHex(facts.chipId)).toBe(CHIP_ID)
    expect(facts).toMatchObject({ version: 2, guestSvn: 0, policy: 0x30000n, debug: false, vmpl: 0, product: 'Milan-B0', reportedTcb: { bootloader: 3, tee: 0, snp: 8, microcode: 115 } })
    expect(facts.platform).toBe(snpPlatformId(facts.chipId))
    expect(facts.platform).toMatch(/^snp-[0-9a-f]{56}$/)
    expect(toHex(facts.reportData)).toBe(toHex(milan.report.subarray(0x50, 0x90)))
  })

  it('as ledger evidence it passes chain and signature, then fails only on fedledger\'s bound-keys layout', () => {
    // its REPORT_DATA was not made by fedledger: the last check, after chain and signature, refuses it
    expect(rejection(() => verifier.verify(SEV_SNP_FORMAT, milanEvidence(), policy()))).toMatch(/bound-keys digest mismatch/)
    const registry = new AttestationVerifierRegistry().register(SEV_SNP_FORMAT, verifier)
    expect(rejection(() => registry.verify(SEV_SNP_FORMAT, milanEvidence({ keys: [new Uint8Array(32)] }), policy()))).toMatch(/bound-keys/)
  })

  it('fails when one bit of the report body, the signature or a certificate flips', () => {
    const cases: Array<[Partial<typeof milan>, RegExp]> = [
      [{ report: flip(milan.report, 0x90) }, /report signature does not verify/], // measurement
      [{ report: flip(milan.report, 0x08, 1 << 3) }, /report signature does not verify/], // policy byte 1 → DEBUG bit 19
      [{ report: flip(milan.report, 0x50) }, /report signature does not verify/], // report_data
      [{ report: flip(milan.report, 0x2a0) }, /report signature does not verify/], // r
      [{ report: flip(milan.report, 0x2e8 + 47, 0x80) }, /report signature does not verify/], // s
      [{ report: flip(milan.report, 0x2a0 + 50) }, /does not fit 48 bytes/],
      [{ report: flip(milan.report, 0x1a0) }, /hwID does not match the report CHIP_ID/],
      [{ report: flip(milan.report, 0x186) }, /REPORTED_TCB snp SVN 9 differs/],
      [{ report: flip(milan.report, 0x34, 2) }, /signature algorithm 3/],
      [{ report: flip(milan.report, 0x00, 4) }, /report version 6/],
      [{ report: flip(milan.report, 0x48, 4) }, /not signed by a VCEK/],
      [{ vcek: flip(milan.vcek, milan.vcek.length - 10) }, /VCEK is not signed by the ASK/], // its signature
      [{ vcek: flip(milan.vcek, 705 + 2 + 5) }, /VCEK is not signed by the ASK/], // inside the hwID extension
      [{ ask: flip(milan.ask, milan.ask.length - 10) }, /ASK is not signed by the ARK/],
      [{ ark: flip(milan.ark, milan.ark.length - 10) }, /not a trust anchor/],
      [{ vcek: milan.ask }, /hwID|product|VCEK key is not ECDSA P-384|not signed by the ASK/],
      [{ ask: milan.vcek, vcek: milan.ask }, /not signed by the ARK/],
    ]
    for (const [over, why] of cases) {
      const c = { ...milan, ...over }
      expect(rejection(() => verifySnpReport(c.report, c, policy())), String(why)).toMatch(why)
      expect(rejection(() => verifier.verify(SEV_SNP_FORMAT, milanEvidence(over), policy()))).toMatch(why)
    }
  })

  it('refuses a root that is not a trust anchor of the chain, whatever the bundle says', () => {
    expect(rejection(() => verifySnpReport(milan.report, milan, policy(PINNED, [])))).toMatch(/ARK 69d063b4.* is not a trust anchor/)
    expect(rejection(() => verifier.verify(SEV_SNP_FORMAT, milanEvidence(), policy(PINNED, [sha256(milan.ask)])))).toMatch(/not a trust anchor/)
  })

  it('checks the certificates at the policy time: before the VCEK was issued, after it expires', () => {
    expect(rejection(() => verifySnpReport(milan.report, milan, policy(Date.UTC(2023, 3, 1) / 1000)))).toMatch(/VCEK certificate is not valid before 2023-04-03/)
    expect(rejection(() => verifySnpReport(milan.report, milan, policy(Date.UTC(2030, 3, 4) / 1000)))).toMatch(/VCEK certificate expired at 2030-04-03/)
    expect(rejection(() => verifySnpReport(milan.report, milan, policy(Date.UTC(2046, 0, 1) / 1000)))).toMatch(/ARK certificate expired/)
    expect(rejection(() => verifySnpReport(milan.report, milan, policy(Number.NaN)))).toMatch(/time/)
  })

  it('rejects malformed evidence cleanly, never with another exception', () => {
    const { report, vcek, ask, ark } = milan
    const cases: Array<[Uint8Array, RegExp]> = [
      [new Uint8Array(0), /unreadable/],
      [Uint8Array.from({ length: 512 }, (_, i) => (i * 151 + 7) & 0xff), /unreadable|malformed/],
      [milanEvidence().subarray(0, 3000), /unreadable/],
      [encode({ report, vcek, ask, ark }), /malformed evidence: keys/],
      [encode({ report, vcek, ask, ark, keys: [], extra: 1 }), /malformed/],
      [encode([report, vcek, ask, ark]), /malformed/],
      [milanEvidence({ report: report.subarray(0, 1183) }), /malformed evidence: report/],
      [milanEvidence({ keys: Array.from({ length: 9 }, () => new Uint8Array(32)) }), /malformed evidence: keys/],
      [milanEvidence({ vcek: Uint8Array.of(0x30, 0x82, 0xff, 0xff, 1, 2, 3) }), /VCEK is not a certificate/],
      [milanEvidence({ ask: new Uint8Array(file('milan_ask.pem')) }), /ASK is not exactly one DER certificate/],
      [milanEvidence({ vcek: Uint8Array.from([...vcek, 0]) }), /VCEK is not (exactly one DER certificate|a certificate)/],
    ]
    for (const [evidence, why] of cases) expect(rejection(() => verifier.verify(SEV_SNP_FORMAT, evidence, policy()))).toMatch(why)
    expect(rejection(() => verifySnpReport(report.subarray(0, 1000), milan, policy()))).toMatch(/1184 bytes/)
    expect(rejection(() => verifier.verify('aws-nitro-v1', milanEvidence(), policy()))).toMatch(/cannot verify format/)
    expect(verifier.supports(SEV_SNP_FORMAT) && !verifier.supports('sim-v1')).toBe(true)
    // every single-byte corruption of the envelope gives ATTESTATION_REJECTED (rejection() rethrows anything else)
    const evidence = milanEvidence()
    for (let i = 0; i < evidence.length; i += 13) rejection(() => verifier.verify(SEV_SNP_FORMAT, flip(evidence, i, 0x41), policy()))
  })
})

describe('amd-sev-snp-v1 end to end on a synthetic platform', () => {
  const tcb = { bootloader: 3, tee: 0, snp: 14, microcode: 209 }
  const chipId = sha256(new TextEncoder().encode('chip-a'))
  const platform = syntheticPlatform({ chipId: Uint8Array.from([...chipId, ...chipId]), tcb, notBefore: PINNED - 86_400, notAfter: PINNED + 86_400 })
  const anchors = [platform.arkSha256]
  const nonce = evidenceNonce('fedledger-test', 'enclave.round-key', 'round-7', new Uint8Array(32).fill(7))
  const keys = [sha256(new TextEncoder().encode('enclave-key')), sha256(new TextEncoder().encode('round-key'))]
  const measurement = sha256(new TextEncoder().encode('bundle')).subarray(0, 24)
  const fullMeasurement = Uint8Array.from([...measurement, ...measurement])
  const evidence = (over: Partial<Parameters<typeof platform.report>[0]> = {}, chain: Partial<SnpEvidence> = {}) =>
    encodeSnpEvidence({ report: platform.report({ reportData: snpReportData(nonce, keys), measurement: fullMeasurement, ...over }), vcek: platform.vcek, ask: platform.ask, ark: platform.ark, keys, ...chain })

  it('returns the platform, measurement, nonce and bound keys of fedledger\'s REPORT_DATA layout', () => {
    const v = verifier.verify(SEV_SNP_FORMAT, evidence(), policy(PINNED, anchors))
    expect(v).toMatchObject({ format: SEV_SNP_FORMAT, platform: snpPlatformId(platform.chipId), debug: false })
    expect(toHex(v.measurement)).toBe(toHex(fullMeasurement))
    expect(toHex(v.nonce)).toBe(toHex(nonce))
    expect(v.boundKeys.map(toHex)).toEqual(keys.map(toHex))
    // the Milan root does not vouch for this platform
    expect(rejection(() => verifier.verify(SEV_SNP_FORMAT, evidence(), policy()))).toMatch(/not a trust anchor/)
  })

  it('reports a debug guest as debug: true (the ledger refuses it)', () => {
    expect(verifier.verify(SEV_SNP_FORMAT, evidence({ debug: true }), policy(PINNED, anchors)).debug).toBe(true)
  })

  it('refuses keys that REPORT_DATA does not bind', () => {
    const cases: Array<Partial<SnpEvidence>> = [{ keys: [keys[0]!] }, { keys: [keys[1]!, keys[0]!] }, { keys: [...keys, new Uint8Array(32)] }, { keys: [flip(keys[0]!, 0), keys[1]!] }]
    for (const chain of cases) expect(rejection(() => verifier.verify(SEV_SNP_FORMAT, evidence({}, chain), policy(PINNED, anchors)))).toMatch(/bound-keys digest mismatch/)
  })

  it('refuses a TCB the VCEK does not certify, a non-VCEK signing key, a non-CA ASK, an unsupported product', () => {
    const at = policy(PINNED, anchors)
    expect(rejection(() => verifier.verify(SEV_SNP_FORMAT, evidence({ tcb: { ...tcb, microcode: 208 } }), at))).toMatch(/microcode SVN 208 differs from the VCEK's 209/)
    expect(rejection(() => verifier.verify(SEV_SNP_FORMAT, evidence({ signingKey: 1 }), at))).toMatch(/not signed by a VCEK/)
    const notCa = syntheticPlatform({ chipId: platform.chipId, tcb, notBefore: PINNED - 60, notAfter: PINNED + 60, askIsCa: false })
    const report = notCa.report({ reportData: snpReportData(nonce, keys), measurement: fullMeasurement })
    expect(rejection(() => verifier.verify(SEV_SNP_FORMAT, encodeSnpEvidence({ report, vcek: notCa.vcek, ask: notCa.ask, ark: notCa.ark, keys }), policy(PINNED, [notCa.arkSha256])))).toMatch(/CA certificates/)
    const turin = syntheticPlatform({ chipId: platform.chipId, tcb, product: 'Turin-B0', notBefore: PINNED - 60, notAfter: PINNED + 60 })
    const turinReport = turin.report({ reportData: snpReportData(nonce, keys), measurement: fullMeasurement })
    expect(rejection(() => verifier.verify(SEV_SNP_FORMAT, encodeSnpEvidence({ report: turinReport, vcek: turin.vcek, ask: turin.ask, ark: turin.ark, keys }), policy(PINNED, [turin.arkSha256])))).toMatch(/unsupported product 'Turin-B0'/)
    expect(() => snpReportData(new Uint8Array(31), keys)).toThrow(/32 bytes/)
  })
})
