/**
 * The CRLs of Intel DCAP collateral (Intel SGX Root CA CRL, PCK Processor/Platform CA
 * CRL), authenticated where @phala/dcap-qvl does not. The library looks serial numbers
 * up in whatever CRL bytes it is handed, skips CRLs it cannot parse and checks neither
 * their signatures nor their dates, so a forged, stale or garbage CRL would silently
 * switch revocation off. verifyDcapCrl accepts a CRL only when it is exactly one DER
 * CertificateList, signed with ecdsa-with-SHA256 by the expected issuer's key, names
 * that issuer, and is current (thisUpdate ≤ at ≤ nextUpdate; nextUpdate required).
 * Revoked serials are still matched by the library; this file only vouches for the list.
 * Failures throw LedgerError('ATTESTATION_REJECTED') without a format prefix.
 */
import { verify as verifySignature, type X509Certificate } from 'node:crypto'
import { LedgerError } from '../../ledger/index.ts'
import { bytesEqual } from '../../primitives/index.ts'
import { childrenOf, readTlv, type Tlv } from './der.ts'

/** 1.2.840.10045.4.3.2 */
const ECDSA_WITH_SHA256 = Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02)
const TAG = { integer: 0x02, bitString: 0x03, oid: 0x06, sequence: 0x30, utcTime: 0x17, generalizedTime: 0x18, version: 0xa0 } as const

export interface DcapCrlValidity {
  /** unix seconds */
  thisUpdate: number
  /** unix seconds */
  nextUpdate: number
}

const reject = (why: string) => new LedgerError('ATTESTATION_REJECTED', why)

/** An X.509 Time (UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ) as unix seconds. */
function readTime(der: Uint8Array, t: Tlv): number {
  const s = Buffer.from(der.subarray(t.start, t.end)).toString('latin1')
  const m = t.tag === TAG.utcTime ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : t.tag === TAG.generalizedTime ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : null
  if (m === null) throw new Error(`unsupported time '${s}'`)
  const [, y, mo, d, h, mi, se] = m.map(Number) as [number, number, number, number, number, number, number]
  const year = t.tag === TAG.utcTime ? (y < 50 ? 2000 + y : 1900 + y) : y
  const ms = Date.UTC(year, mo - 1, d, h, mi, se)
  if (!Number.isFinite(ms)) throw new Error(`invalid time '${s}'`)
  return ms / 1000
}

/** The content of a certificate's subject Name (tbsCertificate field 6, or 5 without a version). */
function subjectOf(certDer: Uint8Array): Uint8Array {
  const cert = readTlv(certDer, 0, certDer.length)
  const tbs = childrenOf(certDer, cert)[0]
  if (tbs === undefined) throw new Error('certificate without tbsCertificate')
  const fields = childrenOf(certDer, tbs)
  const subject = fields[fields[0]?.tag === TAG.version ? 5 : 4]
  if (subject?.tag !== TAG.sequence) throw new Error('certificate without a subject')
  return certDer.subarray(subject.start, subject.end)
}

interface ParsedCrl {
  tbs: Uint8Array
  signature: Uint8Array
  issuer: Uint8Array
  thisUpdate: number
  nextUpdate: number
}

function parseCrl(der: Uint8Array): ParsedCrl {
  const outer = readTlv(der, 0, der.length)
  if (outer.tag !== TAG.sequence || outer.end !== der.length) throw new Error('not exactly one DER SEQUENCE')
  const parts = childrenOf(der, outer)
  const [tbs, algorithm, signature] = parts
  if (parts.length !== 3 || tbs?.tag !== TAG.sequence || algorithm?.tag !== TAG.sequence || signature?.tag !== TAG.bitString) throw new Error('not a CertificateList')
  const algOid = childrenOf(der, algorithm)[0]
  if (algOid?.tag !== TAG.oid || !bytesEqual(der.subarray(algOid.start, algOid.end), ECDSA_WITH_SHA256)) throw new Error('signature algorithm is not ecdsa-with-SHA256')
  const fields = childrenOf(der, tbs)
  let i = fields[0]?.tag === TAG.integer ? 1 : 0
  const innerAlg = fields[i++]
  const issuer = fields[i++]
  const thisUpdate = fields[i++]
  const nextUpdate = fields[i++]
  if (innerAlg?.tag !== TAG.sequence || !bytesEqual(der.subarray(innerAlg.start, innerAlg.end), der.subarray(algorithm.start, algorithm.end))) throw new Error('inner and outer signature algorithms differ')
  if (issuer?.tag !== TAG.sequence || thisUpdate === undefined) throw new Error('CertificateList without issuer or thisUpdate')
  if (nextUpdate === undefined || (nextUpdate.tag !== TAG.utcTime && nextUpdate.tag !== TAG.generalizedTime)) throw new Error('CertificateList without nextUpdate')
  if (der[signature.start] !== 0 || signature.end - signature.start < 2) throw new Error('signature BIT STRING has unused bits')
  return {
    // the signed bytes are the whole tbsCertList TLV, header included: it starts where the outer value does
    tbs: der.subarray(outer.start, tbs.end),
    signature: der.subarray(signature.start + 1, signature.end),
    issuer: der.subarray(issuer.start, issuer.end),
    thisUpdate: readTime(der, thisUpdate),
    nextUpdate: readTime(der, nextUpdate),
  }
}

/**
 * Verifies one CRL (DER) issued by `issuer` (parsed) whose DER is `issuerDer`, current at
 * `at` (unix seconds). `what` names the CRL in messages ('PCK CRL', 'Root CA CRL').
 */
export function verifyDcapCrl(crl: Uint8Array, issuer: X509Certificate, issuerDer: Uint8Array, at: number, what: string): DcapCrlValidity {
  let parsed: ParsedCrl
  try {
    parsed = parseCrl(crl)
  } catch (e) {
    throw reject(`${what} is malformed (${(e as Error).message})`)
  }
  let subject: Uint8Array
  try {
    subject = subjectOf(issuerDer)
  } catch (e) {
    throw reject(`${what} issuer certificate is unreadable (${(e as Error).message})`)
  }
  if (!bytesEqual(parsed.issuer, subject)) throw reject(`${what} is not issued by ${issuer.subject.split('\n').find((l) => l.startsWith('CN=')) ?? 'the expected CA'}`)
  let signed = false
  try {
    signed = verifySignature('sha256', parsed.tbs, { key: issuer.publicKey, dsaEncoding: 'der' }, parsed.signature)
  } catch {
    signed = false
  }
  if (!signed) throw reject(`${what} signature does not verify against its issuer`)
  if (at < parsed.thisUpdate) throw reject(`${what} is not valid before ${new Date(parsed.thisUpdate * 1000).toISOString()}`)
  if (at > parsed.nextUpdate) throw reject(`${what} expired at ${new Date(parsed.nextUpdate * 1000).toISOString()}`)
  return { thisUpdate: parsed.thisUpdate, nextUpdate: parsed.nextUpdate }
}
