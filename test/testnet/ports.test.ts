// freePorts picks ports below the kernel's ephemeral range: a port learned by binding
// port 0 lies inside it, where any other process's port-0 bind or outgoing connection
// can take it before the validator binds it (EADDRINUSE in the federation e2e test).
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { freePorts, LOOPBACK } from '../../testnet/index.ts'

// the start of the ephemeral range: Linux's setting, else the IANA range
const ephemeralLow = (() => {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
  } catch {
    return 49_152
  }
})()

describe('freePorts', () => {
  it('gives distinct free ports below the ephemeral range', async () => {
    const ports = await freePorts(12)
    expect(new Set(ports).size).toBe(12)
    for (const p of ports) {
      // (where the band below the range is under 1,000 ports, freePorts falls back to port 0)
      if (ephemeralLow - 10_000 >= 1_000) {
        expect(p).toBeGreaterThanOrEqual(10_000)
        expect(p).toBeLessThan(ephemeralLow)
      }
      // free: it can be bound now
      await new Promise<void>((resolve, reject) => {
        const s = createServer()
        s.once('error', reject)
        s.listen({ host: LOOPBACK, port: p, exclusive: true }, () => s.close(() => resolve()))
      })
    }
  })
})
