/**
 * The verification edge (docs/ARCHITECTURE.md §5, "Verify once, at the edge"): every consensus message is checked
 * here before it reaches a Replica, and the result says what the network layer
 * should do with the sender (gossipsub accept / ignore / reject). Checks: epoch,
 * known signers, signatures, QCs and TCs with a quorum of valid signatures, size
 * limits, and views not too far ahead of the local view. What needs the replica's
 * state (leaders, ancestry, locks) is checked by the replica.
 */
import { sha256 } from '../primitives/index.ts'
import { bitmapWellFormed, signersOf, type QuorumScheme } from './crypto.ts'
import { genesisQC, quorumSize } from './genesis.ts'
import { blockId, hashKey, proposalMessage, timeoutMessage, voteMessage } from './signing.ts'
import type { Block, ConsensusMessage, QuorumCertificate, TimeoutCertificate, ValidatorIndex } from './types.ts'

export type RejectReason = 'wrong-epoch' | 'unknown-signer' | 'bad-signature' | 'bad-certificate' | 'oversized' | 'far-future' | 'malformed'

/** reject: the sender sent invalid data (penalise); ignore: not useful now (e.g. an old epoch), no penalty. */
export type Verdict = { ok: true } | { ok: false; action: 'reject' | 'ignore'; reason: RejectReason; detail: string }

export interface VerifierOptions {
  epoch: number
  genesis: Block
  /** messages for views beyond currentView + this are ignored */
  maxViewsAhead?: number
  maxPayloadCount?: number
  maxPayloadBytes?: number
  maxSyncBlocks?: number
}

export class MessageVerifier {
  private readonly scheme: QuorumScheme
  private readonly epoch: number
  private readonly n: number
  private readonly quorum: number
  private readonly genesisKey: string
  private readonly maxViewsAhead: number
  private readonly maxPayloadCount: number
  private readonly maxPayloadBytes: number
  private readonly maxSyncBlocks: number
  /** certificates already verified, by kind/view/block: QCs travel many times */
  private readonly verified = new Set<string>()

  constructor(scheme: QuorumScheme, options: VerifierOptions) {
    this.scheme = scheme
    this.epoch = options.epoch
    this.n = scheme.size
    this.quorum = quorumSize(this.n)
    this.genesisKey = hashKey(genesisQC(options.genesis).block)
    this.maxViewsAhead = options.maxViewsAhead ?? 1000
    this.maxPayloadCount = options.maxPayloadCount ?? 10_000
    this.maxPayloadBytes = options.maxPayloadBytes ?? 4 * 1024 * 1024
    this.maxSyncBlocks = options.maxSyncBlocks ?? 1000
  }

  /** Verifies a message from `from`, judged against the local view `currentView`. Never throws. */
  verify(message: ConsensusMessage, from: ValidatorIndex, currentView: number): Verdict {
    try {
      return this.check(message, from, currentView)
    } catch (e) {
      return fail('reject', 'malformed', (e as Error).message)
    }
  }

  private check(m: ConsensusMessage, from: ValidatorIndex, currentView: number): Verdict {
    if (!Number.isInteger(from) || from < 0 || from >= this.n) return fail('reject', 'unknown-signer', `sender ${from} is not a validator`)
    switch (m.kind) {
      case 'proposal': {
        const b = m.block
        const head = this.header(b, currentView)
        if (head !== null) return head
        if (b.proposer !== from) return fail('reject', 'bad-signature', 'a proposal is relayed by its proposer only')
        if (!this.scheme.verify(b.proposer, proposalMessage(this.epoch, blockId(b)), m.signature)) return fail('reject', 'bad-signature', 'proposer signature')
        if (m.tc !== null && !this.tcValid(m.tc)) return fail('reject', 'bad-certificate', 'timeout certificate')
        return { ok: true }
      }
      case 'vote': {
        if (m.epoch !== this.epoch) return fail('ignore', 'wrong-epoch', `epoch ${m.epoch}`)
        if (m.voter !== from) return fail('reject', 'unknown-signer', 'votes come from their voter')
        if (m.view > currentView + this.maxViewsAhead) return fail('ignore', 'far-future', `view ${m.view}`)
        if (!this.scheme.verify(m.voter, voteMessage(m.epoch, m.view, m.block, m.height), m.signature)) return fail('reject', 'bad-signature', 'vote')
        return { ok: true }
      }
      case 'timeout': {
        if (m.epoch !== this.epoch) return fail('ignore', 'wrong-epoch', `epoch ${m.epoch}`)
        if (m.voter !== from) return fail('reject', 'unknown-signer', 'timeouts come from their voter')
        if (m.view > currentView + this.maxViewsAhead) return fail('ignore', 'far-future', `view ${m.view}`)
        if (!this.scheme.verify(m.voter, timeoutMessage(m.epoch, m.view), m.signature)) return fail('reject', 'bad-signature', 'timeout')
        if (m.highQC.view >= m.view || !this.qcValid(m.highQC)) return fail('reject', 'bad-certificate', 'high QC')
        if (m.tc !== null && (m.tc.view >= m.view || !this.tcValid(m.tc))) return fail('reject', 'bad-certificate', 'timeout certificate')
        return { ok: true }
      }
      case 'block-request':
        if (m.ids.length > 16) return fail('reject', 'oversized', `${m.ids.length} ids`)
        return { ok: true }
      case 'epoch-request':
        if (!Number.isInteger(m.epoch) || m.epoch < 0) return fail('reject', 'malformed', `epoch ${m.epoch}`)
        return { ok: true }
      case 'sync':
        if (!this.qcValid(m.highQC)) return fail('reject', 'bad-certificate', 'high QC')
        return this.blocks(m.blocks)
      case 'block-response':
        return this.blocks(m.blocks)
    }
  }

  private blocks(blocks: readonly Block[]): Verdict {
    if (blocks.length > this.maxSyncBlocks) return fail('reject', 'oversized', `${blocks.length} blocks`)
    for (const b of blocks) {
      const head = this.header(b, Number.MAX_SAFE_INTEGER)
      if (head !== null) return head
    }
    return { ok: true }
  }

  /** Checks a block's shape, limits and justify QC; null if fine. */
  private header(b: Block, currentView: number): Verdict | null {
    if (b.epoch !== this.epoch) return fail('ignore', 'wrong-epoch', `epoch ${b.epoch}`)
    if (!Number.isInteger(b.proposer) || b.proposer < 0 || b.proposer >= this.n) return fail('reject', 'unknown-signer', `proposer ${b.proposer}`)
    if (b.view > currentView + this.maxViewsAhead) return fail('ignore', 'far-future', `view ${b.view}`)
    if (b.payload.length > this.maxPayloadCount) return fail('reject', 'oversized', `${b.payload.length} commands`)
    let bytes = 0
    for (const c of b.payload) bytes += c.length
    if (bytes > this.maxPayloadBytes) return fail('reject', 'oversized', `${bytes} payload bytes`)
    if (b.justify.view >= b.view || b.justify.height + 1 !== b.height || !this.qcValid(b.justify)) return fail('reject', 'bad-certificate', 'justify QC')
    return null
  }

  qcValid(qc: QuorumCertificate): boolean {
    if (qc.epoch !== this.epoch) return false
    if (qc.view === 0) return hashKey(qc.block) === this.genesisKey
    return this.certified(`qc/${qc.view}/${hashKey(qc.block)}/${qc.height}`, qc.votes, voteMessage(qc.epoch, qc.view, qc.block, qc.height))
  }

  tcValid(tc: TimeoutCertificate): boolean {
    return tc.epoch === this.epoch && this.certified(`tc/${tc.view}`, tc.timeouts, timeoutMessage(tc.epoch, tc.view))
  }

  /**
   * A certificate is cached by what it certifies and by its exact signature bytes:
   * a forged certificate for an already certified block must still fail, or an
   * honest replica would relay it inside its own messages.
   */
  private certified(what: string, agg: QuorumCertificate['votes'], message: Uint8Array): boolean {
    const sigs = new Uint8Array(agg.signers.length + agg.signature.length)
    sigs.set(agg.signers)
    sigs.set(agg.signature, agg.signers.length)
    const key = `${what}/${hashKey(sha256(sigs))}`
    if (this.verified.has(key)) return true
    if (!bitmapWellFormed(agg.signers, this.n) || signersOf(agg.signers, this.n).length < this.quorum) return false
    if (!this.scheme.verifyAggregate(message, agg)) return false
    if (this.verified.size > 10_000) this.verified.clear()
    this.verified.add(key)
    return true
  }
}

function fail(action: 'reject' | 'ignore', reason: RejectReason, detail: string): Verdict {
  return { ok: false, action, reason, detail }
}
