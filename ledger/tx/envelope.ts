/**
 * Transaction envelopes: building, signing, encoding, and decoding untrusted
 * bytes into a checked `SignedTx`. A transaction's id is the CID of its encoded
 * envelope. Decoding is the one place where wire bytes become typed values: it
 * limits size, requires canonical DAG-CBOR (re-encoding gives the same bytes, so
 * one transaction has one id) and checks the schema of the body's type.
 * Signatures are checked by the state machine, which knows the senders' keys.
 */
import { bytesEqual, type CID, cidOfBytes, decode, DomainTag, encode, signBytes, signingBytes, verifyBytes } from '../../primitives/index.ts'
import { LedgerError } from '../errors.ts'
import { Bodies, SignedTxSchema, type AnyTx, type Approval, type SignedTx, type Tx, type TxBody, type TxType } from './schema.ts'

/** Largest encoded transaction accepted (a round.result for 10,000 members fits). */
export const MAX_TX_BYTES = 512 * 1024

export function txSigningBytes(tx: Tx): Uint8Array {
  return signingBytes(DomainTag.TX, tx)
}

export function signTx<T extends TxType>(tx: Tx<T>, secretKey: Uint8Array): SignedTx<T> {
  return { tx, sig: signBytes(secretKey, txSigningBytes(tx)) }
}

/** A co-signature by another governor over the same transaction. */
export function approveTx(tx: Tx, member: string, secretKey: Uint8Array): Approval {
  return { member, sig: signBytes(secretKey, txSigningBytes(tx)) }
}

export function verifyTxSignature(tx: Tx, publicKey: Uint8Array, sig: Uint8Array): boolean {
  return verifyBytes(publicKey, txSigningBytes(tx), sig)
}

/** Whether `sig` (the sender's or a co-signer's) signs decoded transaction `d` under `publicKey`. */
export function verifyDecodedTx(d: DecodedTx, publicKey: Uint8Array, sig: Uint8Array): boolean {
  return verifyBytes(publicKey, d.signing, sig)
}

export function encodeTx(signed: SignedTx): Uint8Array {
  const envelope: Record<string, unknown> = { tx: signed.tx, sig: signed.sig }
  // canonical: approvals sorted by member id (decodeTx refuses any other order)
  if (signed.approvals !== undefined && signed.approvals.length > 0) envelope.approvals = [...signed.approvals].sort((a, b) => (a.member < b.member ? -1 : a.member > b.member ? 1 : 0))
  return encode(envelope)
}

export function txId(encoded: Uint8Array): CID {
  return cidOfBytes(encoded)
}

export interface DecodedTx {
  signed: SignedTx<TxType> & { tx: AnyTx }
  bytes: Uint8Array
  id: CID
  /** what the sender and co-signers signed: txSigningBytes(tx), cut from `bytes` rather than encoded again */
  signing: Uint8Array
}

/** Decodes and schema-checks untrusted bytes. Throws LedgerError (MALFORMED, OVERSIZED, UNKNOWN_TX_TYPE). */
export function decodeTx(bytes: Uint8Array): DecodedTx {
  if (bytes.length > MAX_TX_BYTES) throw new LedgerError('OVERSIZED', `transaction is ${bytes.length} bytes, limit ${MAX_TX_BYTES}`)
  const raw = decode(bytes, MAX_TX_BYTES)
  const envelope = SignedTxSchema.safeParse(raw)
  if (!envelope.success) throw new LedgerError('MALFORMED', `bad transaction envelope: ${describeIssues(envelope.error.issues)}`)
  const { tx } = envelope.data
  if (!Object.hasOwn(Bodies, tx.type)) throw new LedgerError('UNKNOWN_TX_TYPE', `unknown transaction type '${tx.type}'`)
  const type = tx.type as TxType
  const body = Bodies[type].safeParse(tx.body)
  if (!body.success) throw new LedgerError('MALFORMED', `bad ${type} body: ${describeIssues(body.error.issues)}`)
  const signed = { ...envelope.data, tx: { ...tx, type, body: body.data } } as DecodedTx['signed']
  // Canonical form: the bytes must be what encodeTx gives (DAG-CBOR, approvals sorted by member id).
  if (!bytesEqual(encodeTx(signed), bytes)) throw new LedgerError('MALFORMED', 'transaction is not in canonical form (DAG-CBOR, approvals sorted by member id)')
  return { signed, bytes, id: txId(bytes), signing: signingFromEnvelope(bytes, signed) }
}

// In canonical DAG-CBOR a map's keys are ordered shortest first, so an envelope is
// [map header][key "tx"][the tx's encoding][key "sig"][64-byte string][key "approvals"][array]:
// the tx's encoding, which is what gets signed, lies between fixed-size parts.
const TX_KEY_END = 1 + 3 // map header (2 or 3 entries), "tx" as a 2-character text string
const SIG_PART = 4 + 2 + 64 // "sig" as a 3-character text string, byte-string header, signature
const APPROVALS_KEY = 1 + 9 // "approvals" as a 9-character text string
const TX_TAG = new TextEncoder().encode(DomainTag.TX)

/** txSigningBytes(signed.tx) out of canonical envelope bytes (decodeTx checked they are canonical). */
function signingFromEnvelope(bytes: Uint8Array, signed: SignedTx): Uint8Array {
  const approvals = signed.approvals !== undefined && signed.approvals.length > 0 ? APPROVALS_KEY + encode(signed.approvals).length : 0
  const txBytes = bytes.subarray(TX_KEY_END, bytes.length - SIG_PART - approvals)
  const out = new Uint8Array(TX_TAG.length + 1 + txBytes.length)
  out.set(TX_TAG, 0)
  out.set(txBytes, TX_TAG.length + 1)
  return out
}

export function makeTx<T extends TxType>(chain: string, type: T, sender: string, nonce: number, body: TxBody<T>): Tx<T> {
  return { chain, type, sender, nonce, body }
}

function describeIssues(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): string {
  return issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`)
    .join('; ')
}
