/**
 * The libp2p request/response protocols between participant peers and the
 * enclave host (DAG-CBOR both ways, size-limited by the host's frame limit):
 *
 *   round-key/1  { round }                      → { round, publicKey, attestation: { format, evidence } }
 *                the enclave's attested round key, for the participant to verify
 *                before it encrypts anything to it
 *   update/1     { round, member, envelope }    → { accepted: true, ciphertext }
 *                an encrypted update; the host takes it only from the member's own
 *                libp2p identity (its ledger key), for a keyed round it is eligible for
 *
 * Content (models, checkpoints) moves over content.ts's protocol.
 */
import { z } from 'zod'
import { Identifier } from '../../ledger/index.ts'
import { CID, decode } from '../../primitives/index.ts'
import { FederationError } from './errors.ts'

export const roundKeyProtocol = (chainId: string): string => `/fedledger/${chainId}/enclave/round-key/1`
export const updateProtocol = (chainId: string): string => `/fedledger/${chainId}/enclave/update/1`

const bytes = (max: number) => z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length <= max, `expected at most ${max} bytes`)

export const RoundKeyRequest = z.strictObject({ round: Identifier })
export const RoundKeyAnswer = z.strictObject({
  round: Identifier,
  publicKey: bytes(32),
  attestation: z.strictObject({ format: Identifier, evidence: bytes(64 * 1024) }),
})
export const UpdateRequest = z.strictObject({ round: Identifier, member: Identifier, envelope: bytes(64 * 1024 * 1024) })
export const UpdateAnswer = z.strictObject({ accepted: z.literal(true), ciphertext: z.custom<CID>((v) => CID.asCID(v) !== null) })

export type RoundKeyAnswer = z.output<typeof RoundKeyAnswer>

/** Decodes and checks a protocol message; REFUSED_REQUEST (or BAD_ANSWER for answers) on bad input. */
export function parseMessage<S extends z.ZodType>(schema: S, data: Uint8Array, what: string, maxBytes: number, answer = false): z.output<S> {
  let raw: unknown
  try {
    raw = decode(data, maxBytes)
  } catch (e) {
    throw new FederationError(answer ? 'BAD_ANSWER' : 'REFUSED_REQUEST', `${what}: ${(e as Error).message}`)
  }
  const r = schema.safeParse(raw)
  if (!r.success) throw new FederationError(answer ? 'BAD_ANSWER' : 'REFUSED_REQUEST', `${what}: ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`)
  return r.data
}
