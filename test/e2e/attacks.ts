/**
 * Rogue-peer attacks on a running testnet, each from its own fresh libp2p
 * identity, run side by side:
 *  - gossip on the consensus topic: random bytes; a well-encoded timeout claiming
 *    to be validator-0's (forged: the rogue is not a validator, the signature is
 *    random); a vote, which honest validators never gossip;
 *  - the direct consensus protocol: a forged timeout in a proper frame; a frame
 *    whose length prefix declares 100 MB; a length prefix that is not a valid varint.
 * For each one it checks what a validator operator can observe: every validator
 * logs a ban of that peer with the expected reason and hangs up on it, the
 * consensus-level rejections show in the validator's log or metrics, and the
 * banned peer can no longer reach any validator.
 */
import { randomBytes } from 'node:crypto'
import { expect } from 'vitest'
import { consensusProtocol, consensusTopic } from '../../node/driver.ts'
import { logLines, metric, sleep, statusOf, waitFor, type Net } from './net.ts'
import { forgedTimeout, forgedVote, RawPeer, rogueHost } from './rogue.ts'

interface Attack {
  name: string
  /** the ban reason every validator must log */
  reason: RegExp
  /** runs the attack until every validator has hung up; returns the rogue's peer id */
  run(): Promise<string>
}

const connectedValidators = (net: Net, peers: string[]): string[] => net.peerIds.filter((p) => peers.includes(p))

export async function rogueAttacks(net: Net): Promise<void> {
  const topic = consensusTopic(net.file.chainId)
  const protocol = consensusProtocol(net.file.chainId)
  const s = await statusOf(net.apis[0]!)
  if (s === null) throw new Error('validator-0 does not answer')
  const view = s.view + 1
  const height = s.committed.height + 1
  const malformedBefore = await Promise.all(net.apis.map((api) => metric(api, 'messages_received_total', { kind: 'malformed', verdict: 'reject' })))

  /** A P2PHost rogue: connect to all, `attack` until every validator hung up, then show it is shut out. */
  const viaHost = (attack: (host: Awaited<ReturnType<typeof rogueHost>>) => Promise<void>) => async (): Promise<string> => {
    const host = await rogueHost(net)
    try {
      await waitFor('the rogue to connect to every validator', () => connectedValidators(net, host.connectedPeers()).length === 4, 20_000, 100)
      await waitFor(
        'every validator to hang up on the rogue',
        async () => {
          if (connectedValidators(net, host.connectedPeers()).length === 0) return true
          await attack(host)
          return false
        },
        20_000,
        200,
      )
      // banned: its redials are refused, so nothing it sends reaches a validator
      await sleep(1_000)
      for (const v of net.peerIds) expect((await host.send(v, protocol, randomBytes(16), { timeoutMs: 2_000 })).ok).toBe(false)
      return host.peerId
    } finally {
      await host.stop()
    }
  }

  /** A raw libp2p rogue writing `bytes` on a consensus-protocol stream to each validator. */
  const viaRaw = (bytes: Uint8Array) => async (): Promise<string> => {
    const raw = await RawPeer.start()
    try {
      for (const v of net.file.validators) await raw.write(v.p2p, protocol, bytes)
      await waitFor('every validator to hang up on the raw peer', () => net.peerIds.every((p) => !raw.connectedTo(p)), 20_000, 100)
      await sleep(500)
      for (const v of net.file.validators) await expect(raw.write(v.p2p, protocol, Uint8Array.of(1, 0, 0))).rejects.toThrow()
      return raw.peerId
    } finally {
      await raw.stop()
    }
  }

  const attacks: Attack[] = [
    { name: 'gossip: random bytes', reason: /^gossip-reject$/, run: viaHost(async (h) => void (await h.publish(topic, randomBytes(300)))) },
    { name: 'gossip: forged timeout', reason: /^gossip-reject$/, run: viaHost(async (h) => void (await h.publish(topic, forgedTimeout(0, view, height)))) },
    // votes go to one leader; a gossiped one is refused before anything else is looked at
    { name: 'gossip: a vote', reason: /^gossip-reject$/, run: viaHost(async (h) => void (await h.publish(topic, forgedVote(0, view, height)))) },
    {
      name: 'direct: forged timeout',
      reason: /^consensus: unknown-signer/,
      run: viaHost(async (h) => void (await Promise.all(net.peerIds.map((v) => h.send(v, protocol, forgedTimeout(1, view, height)))))),
    },
    // uvarint(100_000_000) and a few body bytes: refused at the header
    { name: 'direct: frame declaring 100 MB', reason: /^oversized-frame$/, run: viaRaw(Uint8Array.of(0x80, 0xc2, 0xd7, 0x2f, 0x00, 1, 2, 3)) },
    // five continuation bytes (of value 0, so not oversized): no valid length prefix
    { name: 'direct: bad length prefix', reason: /^malformed-frame$/, run: viaRaw(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x01)) },
  ]
  const rogues = await Promise.all(attacks.map(async (a) => ({ attack: a, peer: await a.run().catch((e: Error) => Promise.reject(new Error(`${a.name}: ${e.message}`, { cause: e }))) })))

  // every validator banned every rogue, for the offence it committed
  await waitFor(
    'every validator to log a ban of every rogue',
    async () => {
      const logs = await Promise.all(net.homes.map((h) => logLines(h)))
      const missing: string[] = []
      for (const { attack, peer } of rogues) {
        logs.forEach((lines, i) => {
          if (!lines.some((l) => l.msg === 'peer banned' && l.peer === peer && attack.reason.test(String(l.reason)))) missing.push(`validator-${i}: ${attack.name}`)
        })
      }
      if (missing.length > 0) throw new Error(`no ban logged by ${missing.join(', ')}`)
      return true
    },
    10_000,
  )

  // the consensus-level forgeries were judged by the verification edge, not just dropped
  const logs = await Promise.all(net.homes.map((h) => logLines(h)))
  for (const name of ['gossip: forged timeout', 'direct: forged timeout']) {
    const peer = rogues.find((r) => r.attack.name === name)!.peer
    for (const lines of logs) expect(lines.some((l) => l.msg === 'rejected consensus message' && l.from === peer && l.reason === 'unknown-signer')).toBe(true)
  }
  const voter = rogues.find((r) => r.attack.name === 'gossip: a vote')!.peer
  for (const lines of logs) expect(lines.some((l) => l.msg === 'rejected consensus message' && l.from === voter && l.reason === 'malformed' && /never gossiped/.test(String(l.detail)))).toBe(true)
  const malformedAfter = await Promise.all(net.apis.map((api) => metric(api, 'messages_received_total', { kind: 'malformed', verdict: 'reject' })))
  malformedAfter.forEach((n, i) => expect(n).toBeGreaterThan(malformedBefore[i]!))
}
