/**
 * Checking revocation evidence. Either a governance quorum (see
 * requireGovernance) or an entry of a revocation list signed by an authority
 * named in the chain parameters. An authority numbers its entries 1, 2, 3, …
 * and the ledger applies them in that order, each once: an old entry cannot be
 * replayed, and no relayer can skip (and so cancel) one.
 */
import { DomainTag, verifyPayload } from '../../primitives/index.ts'
import { LedgerError } from '../errors.ts'
import { StateKey } from '../state/keys.ts'
import type { RevocationEvidence } from '../tx/schema.ts'
import { requireGovernance, requireMember, type TxContext } from './context.ts'

/** How far in the future (block time) an entry may claim to be issued. */
export const MAX_CLOCK_SKEW_SECONDS = 300

/** Checks the evidence and returns the reason to record (the signed entry's, for a list entry). */
export function checkRevocationEvidence(ctx: TxContext, subject: { kind: 'member' | 'enclave'; id: string }, evidence: RevocationEvidence, reason: string): string {
  if (evidence.kind === 'governance') {
    requireGovernance(ctx)
    return reason
  }
  requireMember(ctx) // any registered member (typically an auditor) may relay a signed entry
  const { entry, sig } = evidence
  const authorities = ctx.params.revocationAuthorities
  if (!Object.hasOwn(authorities, entry.authority)) throw new LedgerError('BAD_ARGUMENT', `unknown revocation authority '${entry.authority}'`)
  if (!verifyPayload(authorities[entry.authority]!, DomainTag.REVOCATION, entry, sig)) throw new LedgerError('BAD_SIGNATURE', `revocation entry signature of '${entry.authority}' does not verify`)
  if (entry.chain !== ctx.params.chainId) throw new LedgerError('WRONG_CHAIN', `revocation entry is for chain '${entry.chain}'`)
  if (entry.subject.kind !== subject.kind || entry.subject.id !== subject.id) {
    throw new LedgerError('BAD_ARGUMENT', `revocation entry is for ${entry.subject.kind} '${entry.subject.id}', not ${subject.kind} '${subject.id}'`)
  }
  if (entry.issuedAt > ctx.block.timeSec + MAX_CLOCK_SKEW_SECONDS) throw new LedgerError('BAD_ARGUMENT', 'revocation entry is issued in the future')
  const serialKey = StateKey.revocationSerial(entry.authority)
  const next = (ctx.state.get<number>(serialKey) ?? 0) + 1
  if (entry.serial !== next) {
    throw new LedgerError('STALE_EVIDENCE', `revocation entry ${entry.serial} of '${entry.authority}' is out of order: the next to apply is ${next}`)
  }
  ctx.state.put(serialKey, entry.serial)
  return entry.reason
}
