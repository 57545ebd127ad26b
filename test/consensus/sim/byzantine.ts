/**
 * Byzantine replicas, as test-only decorators over an honest replica's outputs.
 * Each holds only its own signing key (ctx.sign), so it can lie, equivocate and
 * withhold, but not forge another validator's signature. Twins (one key played
 * by two replicas in different partitions) is configured in the simulator.
 */
import { blockId, proposalMessage, voteMessage, type Block, type EpochOutput, type Proposal, type Vote } from '../../../consensus/index.ts'
import type { Behaviour } from './simulator.ts'

/** Sends nothing at all (a crash that keeps its key). */
export const silent: Behaviour = () => []

/** Runs normally but never votes. */
export const withholdVotes: Behaviour = (_ctx, outputs) => outputs.filter((o) => !((o.type === 'send' || o.type === 'broadcast') && o.message.kind === 'vote'))

/** Votes as usual, and also votes for a made-up block in the same view, to everyone. */
export const doubleVote: Behaviour = (ctx, outputs) => {
  const extra: EpochOutput[] = []
  for (const o of outputs) {
    if ((o.type === 'send' || o.type === 'broadcast') && o.message.kind === 'vote') {
      const v = o.message
      const fake = new Uint8Array(32).map(() => ctx.rng.int(0, 255))
      const other: Vote = { ...v, block: fake, signature: ctx.sign(voteMessage(v.epoch, v.view, fake, v.height)) }
      extra.push({ type: 'broadcast', message: other }, { type: 'broadcast', message: v })
    }
  }
  return [...outputs, ...extra]
}

/** As leader, sends one block to half the replicas and a conflicting one to the other half. */
export const equivocate: Behaviour = (ctx, outputs) =>
  outputs.flatMap((o): EpochOutput[] => {
    if (o.type !== 'broadcast' || o.message.kind !== 'proposal') return [o]
    const a = o.message
    const other: Block = { ...a.block, payload: [...a.block.payload, new TextEncoder().encode(`equivocation-${ctx.rng.next()}`)] }
    const b: Proposal = { ...a, block: other, signature: ctx.sign(proposalMessage(other.epoch, blockId(other))) }
    const sends: EpochOutput[] = []
    ctx.peers.forEach((peer, i) => {
      if (peer !== ctx.self) sends.push({ type: 'send', to: peer, message: i % 2 === 0 ? a : b })
    })
    return sends
  })

/** Also broadcasts proposals for the next view justified by a QC whose signatures are garbage. */
export const forgeQC: Behaviour = (ctx, outputs) => {
  const extra: EpochOutput[] = []
  for (const o of outputs) {
    if (o.type !== 'broadcast' || o.message.kind !== 'proposal') continue
    const real = o.message.block
    const forged: Block = {
      ...real,
      view: real.view + 1,
      height: real.height + 1,
      parent: blockId(real),
      justify: { epoch: real.epoch, view: real.view, block: blockId(real), height: real.height, votes: { signers: new Uint8Array(Math.ceil(ctx.peers.length / 8)).fill(0xff >> (8 - Math.min(8, ctx.peers.length))), signature: new Uint8Array(32 * ctx.peers.length).fill(7) } },
    }
    extra.push({ type: 'broadcast', message: { kind: 'proposal', block: forged, tc: null, signature: ctx.sign(proposalMessage(forged.epoch, blockId(forged))) } })
  }
  return [...outputs, ...extra]
}

/** Replays messages it sent earlier (stale views) alongside new ones. */
export function staleReplays(): Behaviour {
  const sent: EpochOutput[] = []
  return (ctx, outputs) => {
    const msgs = outputs.filter((o) => o.type === 'send' || o.type === 'broadcast')
    sent.push(...msgs)
    if (sent.length > 200) sent.splice(0, sent.length - 200)
    const replays = sent.length > 0 && ctx.rng.chance(0.5) ? [sent[ctx.rng.int(0, sent.length - 1)]!] : []
    return [...outputs, ...replays]
  }
}

export const BEHAVIOURS: Record<string, () => Behaviour> = {
  silent: () => silent,
  withholdVotes: () => withholdVotes,
  doubleVote: () => doubleVote,
  equivocate: () => equivocate,
  forgeQC: () => forgeQC,
  staleReplays,
}
