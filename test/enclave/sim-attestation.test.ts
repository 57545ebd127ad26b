import { describe, expect, it } from 'vitest'
import { certifyPlatform, issueSimEvidence, SIM_FORMAT, SimAttestationVerifier, type SimReport } from '../../enclave/index.ts'
import { encode, sha256 } from '../../primitives/index.ts'
import { keysFor } from '../ledger/harness.ts'

const root = keysFor('sim-root')
const platform = keysFor('sim-platform-1')
const T = 1_700_000_000
const cert = certifyPlatform(root.secretKey, 'sim-platform-1', platform.publicKey, T + 86_400 * 30)
const report: SimReport = { platform: 'sim-platform-1', measurement: sha256(new TextEncoder().encode('bundle')), keys: [keysFor('enclave').publicKey], nonce: sha256(new TextEncoder().encode('nonce')), timestamp: T, debug: false }
const verifier = new SimAttestationVerifier()
// the chain's policy: its trust anchors and maximum age, judged at block time `at`
const policy = (at: number) => ({ at, maxAgeSeconds: 3600, trustAnchors: [root.publicKey] })

describe('sim-v1 attestation', () => {
  it('verifies evidence chained to a trusted root and returns what it binds', () => {
    const v = verifier.verify(SIM_FORMAT, issueSimEvidence(cert, platform.secretKey, report), policy(T + 10))
    expect(v).toMatchObject({ format: SIM_FORMAT, platform: 'sim-platform-1', debug: false })
    expect(v.measurement).toEqual(report.measurement)
    expect(v.boundKeys).toEqual(report.keys)
    expect(v.nonce).toEqual(report.nonce)
  })

  it('refuses an untrusted root, a forged report, a mismatched platform, stale or future reports, an expired certificate', () => {
    const other = keysFor('other-root')
    const cases: Array<[Uint8Array, number, RegExp]> = [
      [issueSimEvidence(certifyPlatform(other.secretKey, 'sim-platform-1', platform.publicKey, T + 999_999), platform.secretKey, report), T, /trusted root/],
      [issueSimEvidence(cert, keysFor('impostor').secretKey, report), T, /report signature/],
      [issueSimEvidence(cert, platform.secretKey, { ...report, platform: 'sim-platform-2' }), T, /names platform/],
      [issueSimEvidence(cert, platform.secretKey, report), T + 3601, /old/],
      [issueSimEvidence(cert, platform.secretKey, { ...report, timestamp: T + 1000 }), T, /future/],
      [issueSimEvidence(cert, platform.secretKey, report), T + 86_400 * 31, /expired/],
      [encode({ cert, report }), T, /malformed/],
      [new Uint8Array([1, 2, 3]), T, /unreadable|malformed/],
    ]
    for (const [evidence, at, why] of cases) {
      expect(() => verifier.verify(SIM_FORMAT, evidence, policy(at))).toThrow(why)
    }
    expect(() => new SimAttestationVerifier().verify(SIM_FORMAT, issueSimEvidence(cert, platform.secretKey, report), { ...policy(T), trustAnchors: [other.publicKey] })).toThrow(/trusted root/)
    expect(verifier.supports(SIM_FORMAT) && !verifier.supports('aws-nitro')).toBe(true)
    expect(() => verifier.verify('aws-nitro', issueSimEvidence(cert, platform.secretKey, report), policy(T))).toThrow(/format/)
  })

  it('a tampered report (a swapped bound key) no longer verifies', () => {
    const evidence = issueSimEvidence(cert, platform.secretKey, report)
    const swapped = Buffer.from(evidence)
    const key = Buffer.from(report.keys[0]!)
    const at = swapped.indexOf(key)
    swapped[at] = swapped[at]! ^ 1
    expect(() => verifier.verify(SIM_FORMAT, swapped, policy(T))).toThrow(/signature/)
  })
})
