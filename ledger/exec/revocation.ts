/**
 * Checking revocation evidence. Either a governance quorum (see
 * requireGovernance) or an entry of a revocation list signed by an authority
 * named in the chain parameters. Entries carry a serial per authority; the
 * ledger keeps the highest serial applied, so an old entry cannot be replayed
 * and a list cannot be rolled back.
 */
import { DomainTag } from '../codec.ts'
import { verifyPayload } from '../crypto.ts'
import { LedgerError } from '../errors.ts'
import { StateKey } from '../state/keys.ts'
import type { RevocationEvidence } from '../tx/schema.ts'
import { requireGovernance, requireMember, type TxContext } from './context.ts'

/** How far in the future (block time) an entry may claim to be issued. */
export const MAX_CLOCK_SKEW_SECONDS = 300

export function checkRevocationEvidence(ctx: TxContext, subject: { kind: 'member' | 'enclave'; id: string }, evidence: RevocationEvidence): void {
  if (evidence.kind === 'governance') {
    requireGovernance(ctx)
    return
  }
  requireMember(ctx) // any registered member (typically an auditor) may relay a signed entry
  const { entry, sig } = evidence
  const key = ctx.params.revocationAuthorities[entry.authority]
  if (key === undefined) throw new LedgerError('UNKNOWN_MEMBER', `unknown revocation authority '${entry.authority}'`)
  if (!verifyPayload(key, DomainTag.REVOCATION, entry, sig)) throw new LedgerError('BAD_SIGNATURE', `revocation entry signature of '${entry.authority}' does not verify`)
  if (entry.subject.kind !== subject.kind || entry.subject.id !== subject.id) {
    throw new LedgerError('BAD_ARGUMENT', `revocation entry is for ${entry.subject.kind} '${entry.subject.id}', not ${subject.kind} '${subject.id}'`)
  }
  if (entry.issuedAt > ctx.block.time + MAX_CLOCK_SKEW_SECONDS) throw new LedgerError('BAD_ARGUMENT', 'revocation entry is issued in the future')
  const serialKey = StateKey.revocationSerial(entry.authority)
  const last = ctx.state.get<number>(serialKey)
  if (last !== undefined && entry.serial <= last) {
    throw new LedgerError('BAD_NONCE', `revocation serial ${entry.serial} of '${entry.authority}' is not newer than ${last} (replay or rollback)`)
  }
  ctx.state.put(serialKey, entry.serial)
}
