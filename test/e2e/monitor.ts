/**
 * A passive safety monitor for e2e runs: a non-validator libp2p peer with a
 * fresh key, connected to every validator and subscribed to the consensus topic.
 * It records what validators broadcast (proposals, timeouts) and flags
 *  - two different proposals for the same (epoch, view): proposer equivocation,
 *  - two quorum certificates for the same (epoch, view) naming different blocks:
 *    impossible unless validators voted twice in one view.
 * It answers 'ignore' to every message, so it neither delivers nor forwards
 * anything (a partition of the validators stays a partition) and is never penalised.
 */
import { randomBytes } from 'node:crypto'
import { blockId, decodeMessage, type QuorumCertificate } from '../../consensus/index.ts'
import { toHex } from '../../primitives/index.ts'
import { consensusTopic } from '../../node/driver.ts'
import { P2PHost, peerKeyFromSeed } from '../../node/p2p/index.ts'
import type { Net } from './net.ts'

export class SafetyMonitor {
  readonly conflicts: string[] = []
  readonly seen = { proposals: 0, timeouts: 0, qcs: 0 }
  readonly #proposals = new Map<string, string>()
  readonly #qcs = new Map<string, string>()
  readonly #validators: readonly string[]
  readonly host: P2PHost

  private constructor(host: P2PHost, validators: readonly string[]) {
    this.host = host
    this.#validators = validators
  }

  static async start(net: Net): Promise<SafetyMonitor> {
    const host = new P2PHost({ privateKey: await peerKeyFromSeed(randomBytes(32)) }, { listen: '/ip4/127.0.0.1/tcp/0', peers: net.file.validators.map((v) => v.p2p), gossipHeartbeatMs: 500, redialMinMs: 200, redialMaxMs: 1_000 })
    const monitor = new SafetyMonitor(host, net.peerIds)
    host.subscribe(consensusTopic(net.file.chainId), (_from, data, info) => monitor.#observe(info.origin, data), () => {})
    await host.start()
    return monitor
  }

  stop(): Promise<void> {
    return this.host.stop()
  }

  #observe(origin: string | undefined, data: Uint8Array): 'ignore' {
    const sender = origin === undefined ? -1 : this.#validators.indexOf(origin)
    if (sender < 0) return 'ignore'
    let m
    try {
      m = decodeMessage(data)
    } catch {
      this.conflicts.push(`validator-${sender} broadcast bytes that are not a consensus message`)
      return 'ignore'
    }
    if (m.kind === 'proposal') {
      this.seen.proposals++
      const key = `${m.block.epoch}/${m.block.view}`
      const id = toHex(blockId(m.block))
      const before = this.#proposals.get(key)
      if (before === undefined) this.#proposals.set(key, id)
      else if (before !== id) this.conflicts.push(`two proposals in epoch/view ${key}: ${before} and ${id} (the second from validator-${sender})`)
      this.#qc(m.block.justify, sender)
    } else if (m.kind === 'timeout') {
      this.seen.timeouts++
      this.#qc(m.highQC, sender)
    }
    return 'ignore'
  }

  #qc(qc: QuorumCertificate, sender: number): void {
    if (qc.view === 0) return
    this.seen.qcs++
    const key = `${qc.epoch}/${qc.view}`
    const block = toHex(qc.block)
    const before = this.#qcs.get(key)
    if (before === undefined) this.#qcs.set(key, block)
    else if (before !== block) this.conflicts.push(`two QCs for epoch/view ${key}: blocks ${before} and ${block} (the second relayed by validator-${sender})`)
  }
}
