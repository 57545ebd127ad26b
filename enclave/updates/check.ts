/**
 * The enclave's verdict on one committed update. Every check is exact and runs in
 * a fixed order, so the same inputs always give the same reason:
 *
 *   1. the envelope's CID is the ciphertext CID committed on the ledger   NOT_COMMITTED
 *   2. the statement is well-formed and names this chain, round, member   MALFORMED, WRONG_ROUND, WRONG_MEMBER
 *   3. the member's signature over the statement verifies                 BAD_STATEMENT_SIGNATURE
 *   4. the declared norm is within the round's clip bound                 NORM_ABOVE_BOUND
 *   5. the envelope is not larger than an update of the model's size      WRONG_LENGTH
 *   6. the envelope opens with the round key for this chain/round/member  MALFORMED, DECRYPT_FAILED
 *   7. sha256(plaintext) is the statement's plaintext hash                HASH_MISMATCH
 *   8. the plaintext is `dimension` float32 values, all finite            WRONG_LENGTH, NOT_FINITE
 *   9. the actual L2 norm is ≤ the clip bound (no slack), and the declared
 *      norm agrees with it within NORM_RELATIVE_TOLERANCE                  NORM_ABOVE_BOUND, NORM_MISMATCH
 *
 * Statement checks (1–4) come before decryption; the hash (7) comes before the
 * content checks (8–9), so a content rejection always concerns the very update
 * the member signed. A member's bad input is returned as a rejection, never thrown;
 * the caller's own inputs (round secret key, clip bound, dimension, committed CID,
 * ids) throw UpdateError BAD_ARGUMENT when malformed.
 */
import { UpdateStatement } from '../../ledger/index.ts'
import { CID, DomainTag, bytesEqual, verifyPayload } from '../../primitives/index.ts'
import { isUpdateError, rejection, UpdateError, type UpdateRejection } from './errors.ts'
import { checkContext, ciphertextCid, decryptUpdate, envelopeSizeFor, type UpdateContext } from './envelope.ts'
import { X25519_KEY_BYTES } from './keys.ts'
import { decodeUpdate, hashUpdate, l2Norm, normsAgree } from './plaintext.ts'

export interface CheckUpdateInput extends UpdateContext {
  /** the member's registered ed25519 public key */
  memberPublicKey: Uint8Array
  /** the update statement as committed (untrusted: it is re-validated here) */
  statement: unknown
  statementSig: Uint8Array
  /** the envelope bytes the member sent (untrusted) */
  envelope: Uint8Array
  /** round.commit's `ciphertext` from the ledger */
  committedCiphertext: CID
  roundSecretKey: Uint8Array
  /** the round's clip bound C */
  clipNorm: number
  /** the model's number of parameters */
  dimension: number
}

export interface AcceptedUpdate {
  ok: true
  update: Float32Array
  /** the update's L2 norm as computed by l2Norm */
  norm: number
}

export type CheckResult = AcceptedUpdate | UpdateRejection

function checkCallerInput(input: CheckUpdateInput): void {
  checkContext(input)
  if (!(input.roundSecretKey instanceof Uint8Array) || input.roundSecretKey.length !== X25519_KEY_BYTES) throw new UpdateError('BAD_ARGUMENT', `the round secret key must be ${X25519_KEY_BYTES} bytes`)
  if (!(Number.isFinite(input.clipNorm) && input.clipNorm > 0)) throw new UpdateError('BAD_ARGUMENT', `clip norm ${input.clipNorm} is not a positive number`)
  if (!Number.isSafeInteger(input.dimension) || input.dimension < 1) throw new UpdateError('BAD_ARGUMENT', `dimension ${input.dimension} is not a positive integer`)
  if (CID.asCID(input.committedCiphertext) === null) throw new UpdateError('BAD_ARGUMENT', 'the committed ciphertext is not a CID')
}

/** Runs every check on one update; see the file comment for the order. */
export function checkUpdate(input: CheckUpdateInput): CheckResult {
  checkCallerInput(input)
  const { chain, round, member } = input

  // 1. the committed ciphertext
  if (!(input.envelope instanceof Uint8Array)) return rejection('MALFORMED', 'the envelope is not bytes')
  const cid = ciphertextCid(input.envelope)
  if (!cid.equals(input.committedCiphertext)) return rejection('NOT_COMMITTED', `the envelope's CID ${cid} is not the committed ciphertext ${input.committedCiphertext}`)

  // 2. the statement names this update
  const parsed = UpdateStatement.safeParse(input.statement)
  if (!parsed.success) return rejection('MALFORMED', `malformed update statement: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`)
  const st = parsed.data
  if (st.chain !== chain || st.round !== round) return rejection('WRONG_ROUND', `the statement is for chain '${st.chain}' round '${st.round}', not chain '${chain}' round '${round}'`)
  if (st.member !== member) return rejection('WRONG_MEMBER', `the statement is for member '${st.member}', not '${member}'`)

  // 3. signed by the member
  if (!(input.statementSig instanceof Uint8Array) || !verifyPayload(input.memberPublicKey, DomainTag.UPDATE_STATEMENT, st, input.statementSig)) {
    return rejection('BAD_STATEMENT_SIGNATURE', `the update statement's signature does not verify under member '${member}''s key`)
  }

  // 4. the declared norm is within the bound
  if (st.declaredNorm > input.clipNorm) return rejection('NORM_ABOVE_BOUND', `declared norm ${st.declaredNorm} exceeds the clip bound ${input.clipNorm}`)

  // 5. no more bytes than an update of this model can take
  const limit = envelopeSizeFor(input.dimension)
  if (input.envelope.length > limit) return rejection('WRONG_LENGTH', `the envelope is ${input.envelope.length} bytes; an update of ${input.dimension} values takes at most ${limit}`)

  // 6. open it
  const opened = decryptUpdate({ chain, round, member, roundSecretKey: input.roundSecretKey, envelope: input.envelope, maxEnvelopeBytes: limit })
  if (!opened.ok) return opened
  const plaintext = opened.plaintext

  try {
    // 7. the very update the member signed
    if (!bytesEqual(hashUpdate(plaintext), st.plaintextHash)) return rejection('HASH_MISMATCH', "the decrypted update's sha256 is not the statement's plaintext hash")

    // 8. shape and range
    let update: Float32Array
    try {
      update = decodeUpdate(plaintext, input.dimension)
    } catch (e) {
      if (isUpdateError(e) && (e.code === 'WRONG_LENGTH' || e.code === 'NOT_FINITE')) return rejection(e.code, e.message)
      throw e
    }

    // 9. the norm, exactly
    const norm = l2Norm(update)
    if (norm > input.clipNorm) return rejection('NORM_ABOVE_BOUND', `the update's L2 norm ${norm} exceeds the clip bound ${input.clipNorm}`)
    if (!normsAgree(st.declaredNorm, norm)) return rejection('NORM_MISMATCH', `declared norm ${st.declaredNorm} but the update's L2 norm is ${norm}`)
    return { ok: true, update, norm }
  } finally {
    plaintext.fill(0) // best-effort: the decoded update is what the caller keeps
  }
}
