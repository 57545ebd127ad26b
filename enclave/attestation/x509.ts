/**
 * Format-neutral X.509 chain checks for hardware attestation (AWS Nitro, AMD SEV-SNP,
 * ...), on node:crypto. A chain is given root first and is accepted only when:
 *
 *   1. the root's DER hashes (SHA-256) to one of the caller's trust anchors (pinning:
 *      a root carried in the evidence is never trusted by itself), and it is a
 *      self-signed CA;
 *   2. every later certificate names its predecessor as issuer (names, key
 *      identifiers and the issuer's keyCertSign usage, as OpenSSL checks them) and
 *      carries a valid signature by the predecessor's key;
 *   3. every certificate but the last is a CA, and no CA's basicConstraints
 *      pathLenConstraint is exceeded by the CAs below it;
 *   4. every certificate is valid at the given instant (the evidence's own time).
 *
 * Revocation is not consulted: the chain's policy (revocation list, measurement
 * allow-list) is applied by the ledger on the verified result. Failures throw
 * LedgerError('ATTESTATION_REJECTED'); callers add their format's prefix.
 */
import { createHash, X509Certificate } from 'node:crypto'
import { LedgerError } from '../../ledger/index.ts'
import { childrenOf, readTlv } from './der.ts'

export interface CertificateChainOptions {
  /** SHA-256 of the DER of each trusted root certificate */
  trustAnchors: readonly Uint8Array[]
  /** the instant (unix milliseconds) at which every certificate must be valid */
  atMs: number
}

/** SHA-256 of a certificate's DER: the form trust anchors take. */
export function certificateFingerprint(der: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(der).digest())
}

/** Parses one DER certificate, or throws ATTESTATION_REJECTED. */
export function parseCertificate(der: Uint8Array, what: string): X509Certificate {
  try {
    return new X509Certificate(der)
  } catch {
    throw reject(`${what} is not a DER X.509 certificate`)
  }
}

/**
 * Verifies `ders` (root first, leaf last; at least a root and one more certificate)
 * as described above and returns the parsed certificates in the same order.
 */
export function verifyCertificateChain(ders: readonly Uint8Array[], options: CertificateChainOptions): X509Certificate[] {
  if (ders.length < 2) throw reject('certificate chain must hold a root and at least one more certificate')
  const root = ders[0]!
  const fingerprint = certificateFingerprint(root)
  if (!options.trustAnchors.some((a) => a.length === fingerprint.length && Buffer.compare(a, fingerprint) === 0)) {
    throw reject(`root certificate (SHA-256 ${Buffer.from(fingerprint).toString('hex')}) is not a trust anchor`)
  }
  const certs = ders.map((der, i) => parseCertificate(der, i === 0 ? 'root certificate' : `certificate ${i}`))
  const name = (i: number) => (i === 0 ? 'root certificate' : i === certs.length - 1 ? 'leaf certificate' : `intermediate certificate ${i}`)
  const first = certs[0]!
  if (!first.ca || !first.checkIssued(first) || !first.verify(first.publicKey)) throw reject('root certificate is not a self-signed CA')
  for (let i = 0; i < certs.length; i++) {
    const cert = certs[i]!
    const from = cert.validFromDate.getTime()
    const to = cert.validToDate.getTime()
    if (!(options.atMs >= from && options.atMs <= to)) {
      throw reject(`${name(i)} is not valid at ${new Date(options.atMs).toISOString()} (valid ${cert.validFromDate.toISOString()} to ${cert.validToDate.toISOString()})`)
    }
    if (i > 0) {
      const issuer = certs[i - 1]!
      if (!cert.checkIssued(issuer)) throw reject(`${name(i)} was not issued by ${name(i - 1)}`)
      if (!cert.verify(issuer.publicKey)) throw reject(`${name(i)} signature does not verify against ${name(i - 1)}`)
    }
    if (i < certs.length - 1) {
      if (!cert.ca) throw reject(`${name(i)} issues certificates but is not a CA`)
      const pathLen = basicConstraintsPathLen(ders[i]!)
      const casBelow = certs.length - 2 - i
      if (pathLen !== undefined && casBelow > pathLen) throw reject(`${name(i)} allows ${pathLen} CA certificates below it, the chain has ${casBelow}`)
    }
  }
  return certs
}

function reject(why: string): LedgerError {
  return new LedgerError('ATTESTATION_REJECTED', `certificate chain: ${why}`)
}

// ---- the one field node:crypto does not expose: basicConstraints pathLenConstraint ----

const BASIC_CONSTRAINTS_OID = Uint8Array.of(0x55, 0x1d, 0x13) // 2.5.29.19

/** The pathLenConstraint of a certificate's basicConstraints, if it has one. */
export function basicConstraintsPathLen(der: Uint8Array): number | undefined {
  try {
    const cert = readTlv(der, 0, der.length)
    const tbs = childrenOf(der, cert)[0]
    if (tbs === undefined) return undefined
    const extsWrapper = childrenOf(der, tbs).find((t) => t.tag === 0xa3) // [3] EXPLICIT Extensions
    if (extsWrapper === undefined) return undefined
    const exts = childrenOf(der, extsWrapper)[0]
    if (exts === undefined) return undefined
    for (const ext of childrenOf(der, exts)) {
      const parts = childrenOf(der, ext)
      const oid = parts[0]
      const value = parts[parts.length - 1]
      if (oid === undefined || value === undefined || oid.tag !== 0x06 || value.tag !== 0x04) continue
      if (Buffer.compare(der.subarray(oid.start, oid.end), BASIC_CONSTRAINTS_OID) !== 0) continue
      const seq = readTlv(der, value.start, value.end)
      const pathLen = childrenOf(der, seq).find((t) => t.tag === 0x02)
      if (pathLen === undefined) return undefined
      if (pathLen.end - pathLen.start > 4) throw new Error('pathLenConstraint too large')
      let n = 0
      for (let k = pathLen.start; k < pathLen.end; k++) n = n * 256 + der[k]!
      return n
    }
    return undefined
  } catch (e) {
    // node:crypto already parsed this certificate; a DER it accepts but we cannot walk is refused
    throw reject(`cannot read basicConstraints (${(e as Error).message})`)
  }
}
