/**
 * `aws-nitro-v1`: AWS Nitro Enclaves attestation documents, verified offline.
 *
 * Evidence is the document exactly as the Nitro Security Module returns it: a
 * COSE_Sign1 (tag 18 optional) with protected header {1: -35} (ES384) over a CBOR
 * map { module_id, digest: 'SHA384', timestamp (unix ms), pcrs: {index: bytes},
 * certificate (leaf DER), cabundle (DER, root first), public_key?, user_data?, nonce? }.
 *
 * Verification: the chain cabundle[0] → … → certificate must start at a root whose
 * DER SHA-256 is one of the policy's trust anchors (list NITRO_ROOT_SHA256 in the
 * chain's policy; never the bundle's root by itself), every certificate valid at the
 * document's timestamp (see x509.ts for the other chain rules); the document must be
 * at most policy.maxAgeSeconds older than policy.at and not more than 5 minutes in
 * its future; the ES384 signature (raw r‖s) over ["Signature1", protected, h'',
 * payload] must verify under the leaf's P-384 key.
 *
 * Mapping to VerifiedEvidence:
 *   platform    = module_id (e.g. 'i-0697c9729fa547b20-enc0183422ede9a5dc8')
 *   measurement = PCR0, the SHA-384 of the enclave image file (48 bytes)
 *   debug       = PCR0 is all zeros (debug-mode enclaves report zeroed PCRs)
 *   boundKeys   = [public_key] if present, then the keys of user_data when it has
 *                 fedledger's layout (below); other user_data is ignored
 *   nonce       = nonce, or an empty array when absent
 *
 * fedledger's user_data layout (what our enclaves ask the NSM to sign): the DAG-CBOR
 * map { keys: [k1, k2, …] } with 1 to 8 keys of exactly 32 bytes each (ed25519
 * signing key, x25519 round key, …); see encodeNitroUserData. The round or
 * registration nonce goes in the document's own nonce field.
 */
import { verify as verifySignature } from 'node:crypto'
import { LedgerError, type AttestationVerifier, type EvidencePolicy, type VerifiedEvidence, isLedgerError } from '../../ledger/index.ts'
import { encode, fromHex } from '../../primitives/index.ts'
import { CborError, COSE_ALG_ES384, COSE_HEADER_ALG, COSE_HEADER_CRIT, coseSign1SigStructure, decodeCbor, decodeCoseSign1, type CborValue } from './cose.ts'
import { verifyCertificateChain } from './x509.ts'

export const NITRO_FORMAT = 'aws-nitro-v1'

/** SHA-256 of the DER of the AWS Nitro Enclaves root certificate (CN=aws.nitro-enclaves, P-384, valid 2019-10-28 to 2049-10-28). */
export const NITRO_ROOT_SHA256: Uint8Array = fromHex('641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b')

/** Largest evidence accepted (real documents are about 4 to 6 KiB). */
export const NITRO_MAX_EVIDENCE_BYTES = 32 * 1024
/** The NSM's limit on user_data. */
export const NITRO_MAX_USER_DATA_BYTES = 512
const MAX_FUTURE_SKEW_SECONDS = 300
const MAX_USER_DATA_KEYS = 8
const PCR_BYTES = 48

/** The parsed payload of a Nitro attestation document (before any verification). */
export interface NitroDocument {
  moduleId: string
  digest: string
  /** unix milliseconds */
  timestampMs: number
  pcrs: Map<number, Uint8Array>
  certificate: Uint8Array
  cabundle: Uint8Array[]
  publicKey?: Uint8Array
  userData?: Uint8Array
  nonce?: Uint8Array
}

/** fedledger's user_data for a Nitro document: DAG-CBOR { keys: [32-byte keys] }. */
export function encodeNitroUserData(keys: readonly Uint8Array[]): Uint8Array {
  if (keys.length < 1 || keys.length > MAX_USER_DATA_KEYS) throw new LedgerError('BAD_ARGUMENT', `user_data binds 1 to ${MAX_USER_DATA_KEYS} keys, got ${keys.length}`)
  if (keys.some((k) => k.length !== 32)) throw new LedgerError('BAD_ARGUMENT', 'user_data keys must be 32 bytes each')
  const out = encode({ keys: [...keys] })
  if (out.length > NITRO_MAX_USER_DATA_BYTES) throw new LedgerError('BAD_ARGUMENT', 'user_data exceeds the NSM limit')
  return out
}

/** The keys of user_data in fedledger's layout, or [] when it has another layout. */
export function decodeNitroUserDataKeys(userData: Uint8Array): Uint8Array[] {
  let value: CborValue
  try {
    value = decodeCbor(userData)
  } catch {
    return []
  }
  if (!(value instanceof Map) || value.size !== 1) return []
  const keys = value.get('keys')
  if (!Array.isArray(keys) || keys.length < 1 || keys.length > MAX_USER_DATA_KEYS) return []
  if (!keys.every((k): k is Uint8Array => k instanceof Uint8Array && k.length === 32)) return []
  return keys.map((k) => Uint8Array.from(k))
}

/** Reads the CBOR payload of a Nitro document; throws ATTESTATION_REJECTED (unprefixed) on a wrong shape. */
export function parseNitroDocument(payload: Uint8Array): NitroDocument {
  const doc = decodeCbor(payload)
  if (!(doc instanceof Map)) throw bad('payload is not a CBOR map')
  const field = (name: string) => doc.get(name)
  const bytesField = (name: string): Uint8Array => {
    const v = field(name)
    if (!(v instanceof Uint8Array) || v.length === 0) throw bad(`'${name}' must be a non-empty byte string`)
    return Uint8Array.from(v)
  }
  const optionalBytes = (name: string): Uint8Array | undefined => {
    const v = field(name)
    if (v === undefined || v === null) return undefined
    if (!(v instanceof Uint8Array)) throw bad(`'${name}' must be a byte string or null`)
    return Uint8Array.from(v)
  }
  const moduleId = field('module_id')
  if (typeof moduleId !== 'string' || moduleId.length === 0 || moduleId.length > 256) throw bad("'module_id' must be a non-empty string")
  const digest = field('digest')
  if (digest !== 'SHA384') throw bad(`'digest' must be 'SHA384', got ${JSON.stringify(digest)}`)
  const timestampMs = field('timestamp')
  if (typeof timestampMs !== 'number' || timestampMs <= 0) throw bad("'timestamp' must be a positive integer (ms)")
  const rawPcrs = field('pcrs')
  if (!(rawPcrs instanceof Map) || rawPcrs.size === 0 || rawPcrs.size > 32) throw bad("'pcrs' must be a map of 1 to 32 entries")
  const pcrs = new Map<number, Uint8Array>()
  for (const [index, value] of rawPcrs) {
    if (typeof index !== 'number' || index < 0 || index > 31) throw bad(`PCR index ${JSON.stringify(index)} out of range`)
    if (!(value instanceof Uint8Array) || value.length !== PCR_BYTES) throw bad(`PCR${index} must be ${PCR_BYTES} bytes`)
    pcrs.set(index, Uint8Array.from(value))
  }
  if (!pcrs.has(0)) throw bad('PCR0 is missing')
  const rawBundle = field('cabundle')
  if (!Array.isArray(rawBundle) || rawBundle.length === 0) throw bad("'cabundle' must be a non-empty array")
  const cabundle = rawBundle.map((c, i) => {
    if (!(c instanceof Uint8Array) || c.length === 0) throw bad(`cabundle[${i}] must be a non-empty byte string`)
    return c
  })
  const doc_: NitroDocument = { moduleId, digest, timestampMs, pcrs, certificate: bytesField('certificate'), cabundle }
  const publicKey = optionalBytes('public_key')
  const userData = optionalBytes('user_data')
  const nonce = optionalBytes('nonce')
  if (publicKey !== undefined) doc_.publicKey = publicKey
  if (userData !== undefined) doc_.userData = userData
  if (nonce !== undefined) doc_.nonce = nonce
  return doc_
}

/** Verifies `aws-nitro-v1` evidence under the chain's policy (trust anchors = NITRO_ROOT_SHA256 and any others it lists). */
export class NitroAttestationVerifier implements AttestationVerifier {
  supports(format: string): boolean {
    return format === NITRO_FORMAT
  }

  verify(format: string, evidence: Uint8Array, policy: EvidencePolicy): VerifiedEvidence {
    try {
      return this.check(format, evidence, policy)
    } catch (e) {
      if (isLedgerError(e)) throw new LedgerError('ATTESTATION_REJECTED', `${NITRO_FORMAT}: ${e.message}`, { cause: e })
      if (e instanceof CborError) throw new LedgerError('ATTESTATION_REJECTED', `${NITRO_FORMAT}: unreadable document (${e.message})`, { cause: e })
      throw new LedgerError('ATTESTATION_REJECTED', `${NITRO_FORMAT}: evidence could not be verified (${(e as Error)?.message ?? String(e)})`, { cause: e })
    }
  }

  private check(format: string, evidence: Uint8Array, policy: EvidencePolicy): VerifiedEvidence {
    if (format !== NITRO_FORMAT) throw bad(`cannot verify format '${format}'`)
    if (!(evidence instanceof Uint8Array) || evidence.length === 0) throw bad('evidence is empty')
    if (evidence.length > NITRO_MAX_EVIDENCE_BYTES) throw bad(`evidence is ${evidence.length} bytes, limit ${NITRO_MAX_EVIDENCE_BYTES}`)
    const cose = decodeCoseSign1(evidence)
    if (cose.protectedHeader.get(COSE_HEADER_ALG) !== COSE_ALG_ES384) throw bad('protected header must name ES384 (alg -35)')
    if (cose.protectedHeader.has(COSE_HEADER_CRIT)) throw bad('protected header lists critical parameters this verifier does not know')
    if (cose.signature.length !== 96) throw bad(`ES384 signature must be 96 bytes (r‖s), got ${cose.signature.length}`)
    const doc = parseNitroDocument(cose.payload)

    const issuedAt = doc.timestampMs / 1000
    if (issuedAt > policy.at + MAX_FUTURE_SKEW_SECONDS) throw bad(`document is from the future (${new Date(doc.timestampMs).toISOString()})`)
    const age = policy.at - issuedAt
    if (age > policy.maxAgeSeconds) throw bad(`document is ${Math.floor(age)} s old, limit ${policy.maxAgeSeconds} s`)

    const chain = verifyCertificateChain([...doc.cabundle, doc.certificate], { trustAnchors: policy.trustAnchors, atMs: doc.timestampMs })
    const leafKey = chain[chain.length - 1]!.publicKey
    const details = leafKey.asymmetricKeyDetails
    if (leafKey.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'secp384r1') throw bad('leaf certificate key is not ECDSA P-384')
    const signed = coseSign1SigStructure(cose.protectedBytes, cose.payload)
    if (!verifySignature('sha384', signed, { key: leafKey, dsaEncoding: 'ieee-p1363' }, cose.signature)) throw bad('document signature does not verify against the leaf certificate')

    const pcr0 = doc.pcrs.get(0)!
    const boundKeys: Uint8Array[] = []
    if (doc.publicKey !== undefined) boundKeys.push(doc.publicKey)
    if (doc.userData !== undefined) boundKeys.push(...decodeNitroUserDataKeys(doc.userData))
    return {
      format: NITRO_FORMAT,
      platform: doc.moduleId,
      measurement: pcr0,
      debug: pcr0.every((b) => b === 0),
      boundKeys,
      nonce: doc.nonce ?? new Uint8Array(0),
    }
  }
}

function bad(why: string): LedgerError {
  return new LedgerError('ATTESTATION_REJECTED', why)
}
