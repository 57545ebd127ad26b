/**
 * The participant's side: turn a clipped update into what round.commit carries
 * (ciphertext CID, signed update statement) plus the envelope bytes sent to the
 * enclave. The statement format and its signature are the ledger's own
 * (`UpdateStatement`, domain tag `fedledger/update-statement/v1`).
 */
import { type UpdateStatement } from '../../ledger/index.ts'
import { DomainTag, signPayload, type CID } from '../../primitives/index.ts'
import { ciphertextCid, encryptUpdate, type UpdateContext } from './envelope.ts'
import { UpdateError } from './errors.ts'
import { encodeUpdate, hashUpdate, l2Norm } from './plaintext.ts'

export interface SealUpdateInput extends UpdateContext {
  /** the member's ed25519 secret key (32-byte seed), which signs the statement */
  memberSecretKey: Uint8Array
  /** the round's x25519 key from enclave.round-key */
  roundPublicKey: Uint8Array
  /** the clipped, quantized update (see clipToNorm); its norm becomes the declared norm */
  update: Float32Array
}

export interface SealedUpdate {
  envelope: Uint8Array
  /** for round.commit's `ciphertext` */
  ciphertext: CID
  statement: UpdateStatement
  statementSig: Uint8Array
}

/** Encodes, hashes, encrypts and signs an update. Throws UpdateError (NOT_FINITE, BAD_ARGUMENT) on bad input. */
export function sealUpdate(input: SealUpdateInput): SealedUpdate {
  if (!(input.memberSecretKey instanceof Uint8Array) || input.memberSecretKey.length !== 32) throw new UpdateError('BAD_ARGUMENT', 'the member secret key must be a 32-byte ed25519 seed')
  const plaintext = encodeUpdate(input.update)
  const statement: UpdateStatement = {
    chain: input.chain,
    round: input.round,
    member: input.member,
    plaintextHash: hashUpdate(plaintext),
    declaredNorm: l2Norm(input.update),
  }
  const envelope = encryptUpdate({ chain: input.chain, round: input.round, member: input.member, roundPublicKey: input.roundPublicKey, plaintext })
  plaintext.fill(0)
  return { envelope, ciphertext: ciphertextCid(envelope), statement, statementSig: signPayload(input.memberSecretKey, DomainTag.UPDATE_STATEMENT, statement) }
}
