// `npm start` runs this walk-through: it must keep showing every rule it claims to show.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../cli/main.ts'

describe('fedledger demo', () => {
  it('walks a round to a checkpoint, refuses what the rules refuse, and verifies at the end', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fedledger-demo-test-'))
    const out: string[] = []
    const err: string[] = []
    try {
      const code = await main(['demo', '--dir', dir], { out: (l) => out.push(l), err: (l) => err.push(l), write: () => {}, cwd: dir })
      expect(code).toBe(0)
      const text = out.join('\n')
      const line = (label: string) => out.find((l) => l.includes(label)) ?? ''
      for (const label of ['enclave.register', 'round.open r1', 'enclave.round-key r1', 'round.commit', 'round.result r1 (5', 'member.revoke bank-c', 're-aggregated', 'round.close r1', 'checkpoint #1', 'round.open r2 (5 banks']) {
        expect([label, line(label).trimEnd().endsWith('OK')]).toEqual([label, true])
      }
      expect(line('round.open r2 with revoked')).toMatch(/MEMBER_REVOKED/)
      expect(line('40 local epochs')).toMatch(/OUT_OF_BUDGET: .*bank-a/)
      expect(line('commit by revoked')).toMatch(/MEMBER_REVOKED/)
      expect(text).toMatch(/budget\/bank-a included under the state root/)
      expect(text).toMatch(/= anchored: true/)
      expect(text).toMatch(/rebuilds the same root: true/)
      // the checkpoint it prints is in the CAS repo it names
      const cid = /checkpoint (bafy\w+) restores/.exec(text)![1]!
      const listed: string[] = []
      expect(await main(['cas', 'cat', `${cid}/checkpoint.cbor`, '--repo', dir], { out: (l) => listed.push(l), err: (l) => err.push(l), cwd: dir, write: () => {} })).toBe(0)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
