/**
 * Re-aggregation after revocations (docs/ARCHITECTURE.md §2 step 7), as a pure function of
 * a sealed release and the members to drop.
 *
 * The new update is (Σ_{i ∈ remaining} q_i + N) / (scale · |remaining|), where
 * q_i are the remaining members' quantized updates and N is THE SAME integer
 * noise vector as the original release's. Reusing the noise is deliberate. The
 * original release was R = (Σ_{i ∈ included} q_i + N)/(scale·n); the new one is
 * R' = (scale·n·R − Σ_{r ∈ revoked} q_r)/(scale·k), a function of R and of the
 * revoked members' own updates only. So R' is post-processing of R plus data of
 * the revoked members (which their own local DP-SGD already protects, and which
 * the ledger has stopped accounting for): the remaining members' privacy is not
 * spent a second time, which is why the ledger charges no budget for a
 * re-aggregation. Fresh noise would instead be a second, independent release of
 * the remaining members' updates, and averaging the two would shrink the noise.
 * All of this holds only if the members in `without` are really revoked: a
 * host that could name members who were not revoked would difference two releases
 * and recover one member's update. So the service never takes the list from its
 * host: it is the round's `reaggregate` list in certified ledger state (service.ts).
 *
 * With nobody left the round contributes nothing: the update is zero and the
 * model stays the base model (the ledger requires the base model's CID).
 * Excluded lists the dropped members with reason 'REVOKED' plus the release's
 * exclusions. The returned record seals the new release (same window, same
 * noise), so that a later revocation re-aggregates from it; passing members that
 * are no longer included gives back exactly the sealed release (a retry).
 */
import { compareIds, noisedMeanWith, quantizedSum, REVOKED, roundTranscriptHash } from '../round/index.ts'
import { bytesEqual } from '../../primitives/index.ts'
import { EnclaveServiceError } from './errors.ts'
import type { SealedRound } from './sealed-record.ts'

export { REVOKED }

export interface Reaggregated {
  update: Float32Array
  /** the sealed record of the new release (not encrypted yet) */
  record: SealedRound
}

/** The update and transcript of a release of `included` over the record's noise. */
function release(r: SealedRound, included: SealedRound['included'], excluded: SealedRound['excluded'], reaggregation: SealedRound['reaggregation']): { update: Float32Array; transcriptHash: Uint8Array } {
  const update = included.length === 0 ? new Float32Array(r.dimension) : noisedMeanWith(quantizedSum(included.map((i) => i.update), { clipNorm: r.dp.clipNorm, scale: r.scale }), r.noise, included.length, r.scale)
  const transcriptHash = roundTranscriptHash({
    chain: r.chain,
    round: r.round,
    commits: r.commits,
    included: included.map((i) => i.member),
    excluded,
    aggregation: r.aggregation,
    dp: r.dp,
    dimension: r.dimension,
    scale: r.scale,
    update,
    ...(reaggregation === undefined ? {} : { reaggregation }),
  })
  return { update, transcriptHash }
}

/** Drops `without` from the sealed release; see the file comment. Throws BAD_REQUEST for members that did not commit. */
export function reaggregateSealed(r: SealedRound, without: readonly string[]): Reaggregated {
  const drop = new Set<string>()
  const committed = new Set(r.commits.map((c) => c.member))
  for (const m of without) {
    if (!committed.has(m)) throw new EnclaveServiceError('BAD_REQUEST', `'${m}' did not commit to round '${r.round}'`)
    if (drop.has(m)) throw new EnclaveServiceError('BAD_REQUEST', `'${m}' is listed twice`)
    drop.add(m)
  }
  const dropped = r.included.filter((i) => drop.has(i.member)).map((i) => i.member)
  if (dropped.length === 0) {
    // nobody to drop: the sealed release itself, recomputed bit for bit
    const again = release(r, r.included, r.excluded, r.reaggregation)
    if (!bytesEqual(again.transcriptHash, r.transcriptHash)) throw new EnclaveServiceError('INTERNAL', 'the sealed release does not reproduce its transcript')
    return { update: again.update, record: r }
  }
  const included = r.included.filter((i) => !drop.has(i.member))
  const excluded = [...r.excluded, ...dropped.map((member) => ({ member, reason: REVOKED }))].sort((a, b) => compareIds(a.member, b.member))
  const reaggregation = { without: dropped.sort(compareIds), previous: r.transcriptHash }
  const { update, transcriptHash } = release(r, included, excluded, reaggregation)
  return { update, record: { ...r, included, excluded, transcriptHash, reaggregation } }
}
