/**
 * `sim-v1`: the attestation format of testnets, where no TEE hardware exists.
 * It has the shape of a real one so the same ledger rules apply:
 *
 *   testnet root key ──certifies──▶ platform key (platform id, expiry)
 *   platform key ──signs──▶ report { platform, measurement = hash of the enclave
 *                                    bundle, bound public keys, nonce, timestamp, debug }
 *
 * The verifier takes its trust anchors (root keys) and the maximum report age from
 * the chain's attestation policy, and checks the certificate's expiry and the
 * report's age against the block time. It proves nothing about isolation: production policy must refuse
 * it (list only hardware formats in the chain's attestation policy).
 * The root also signs the sim-v1 revocation list (revocation-list.ts), which a
 * participant's off-ledger policy (policy.ts) applies on top of this verifier.
 */
import { z } from 'zod'
import { LedgerError, type AttestationVerifier, type EvidencePolicy, type VerifiedEvidence } from '../../ledger/index.ts'
import { decode, DomainTag, encode, signPayload, verifyPayload } from '../../primitives/index.ts'

export const SIM_FORMAT = 'sim-v1'

const bytes = (n: number) => z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length === n, `expected ${n} bytes`)

const PlatformCert = z.strictObject({ platform: z.string().min(1).max(64), publicKey: bytes(32), notAfter: z.number().int().nonnegative(), sig: bytes(64) })
const Report = z.strictObject({
  platform: z.string().min(1).max(64),
  measurement: z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length <= 64, 'expected at most 64 bytes'),
  keys: z.array(bytes(32)).max(8),
  nonce: z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length <= 64),
  timestamp: z.number().int().nonnegative(),
  debug: z.boolean(),
})
const Evidence = z.strictObject({ cert: PlatformCert, report: Report, sig: bytes(64) })

export type SimReport = z.infer<typeof Report>
export type SimPlatformCert = z.infer<typeof PlatformCert>

/** The testnet root: certifies platform keys. */
export function certifyPlatform(rootSecretKey: Uint8Array, platform: string, platformPublicKey: Uint8Array, notAfter: number): SimPlatformCert {
  const body = { platform, publicKey: platformPublicKey, notAfter }
  return { ...body, sig: signPayload(rootSecretKey, DomainTag.SIM_PLATFORM_CERT, body) }
}

/** A simulated TEE platform: signs reports with its certified key. */
export function issueSimEvidence(cert: SimPlatformCert, platformSecretKey: Uint8Array, report: SimReport): Uint8Array {
  return encode({ cert, report, sig: signPayload(platformSecretKey, DomainTag.SIM_REPORT, report) })
}

/**
 * Verifies sim-v1 evidence against the chain's policy: the platform certificate
 * must chain to one of the policy's trust anchors (testnet root keys).
 */
export class SimAttestationVerifier implements AttestationVerifier {
  supports(format: string): boolean {
    return format === SIM_FORMAT
  }

  verify(format: string, evidence: Uint8Array, policy: EvidencePolicy): VerifiedEvidence {
    const reject = (why: string) => new LedgerError('ATTESTATION_REJECTED', `${SIM_FORMAT}: ${why}`)
    if (format !== SIM_FORMAT) throw reject(`cannot verify format '${format}'`)
    let raw: unknown
    try {
      raw = decode(evidence, 64 * 1024)
    } catch (e) {
      throw reject(`unreadable evidence (${(e as Error).message})`)
    }
    const parsed = Evidence.safeParse(raw)
    if (!parsed.success) throw reject(`malformed evidence: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`)
    const { cert, report, sig } = parsed.data
    const { at, maxAgeSeconds } = policy
    const certBody = { platform: cert.platform, publicKey: cert.publicKey, notAfter: cert.notAfter }
    if (!policy.trustAnchors.some((root) => verifyPayload(root, DomainTag.SIM_PLATFORM_CERT, certBody, cert.sig))) throw reject('platform certificate is not signed by a trusted root')
    if (at > cert.notAfter) throw reject(`platform certificate expired at ${cert.notAfter}`)
    if (!verifyPayload(cert.publicKey, DomainTag.SIM_REPORT, report, sig)) throw reject('report signature does not verify against the platform key')
    if (report.platform !== cert.platform) throw reject(`report names platform '${report.platform}', certificate '${cert.platform}'`)
    if (report.timestamp > at + 300) throw reject('report is from the future')
    if (at - report.timestamp > maxAgeSeconds) throw reject(`report is ${at - report.timestamp} s old, limit ${maxAgeSeconds} s`)
    return { format, platform: report.platform, measurement: report.measurement, debug: report.debug, boundKeys: report.keys, nonce: report.nonce }
  }
}
