/**
 * Loopback TCP ports for a local testnet: free ones picked at random below the
 * kernel's ephemeral range and checked by binding them (all held open together so
 * they are distinct), or given ones checked to be free. Another process may still
 * take a port between the check and the validator's own bind; the runner reports
 * that as a validator that did not come up.
 *
 * Why below the ephemeral range: a port learned by binding port 0 comes from that
 * range, and so does every port-0 bind and every outgoing connection's source port
 * of every other process. On a busy machine (tests in parallel, validators dialling
 * each other) one of them took such a port between the check and the bind now and
 * then (EADDRINUSE in the federation e2e test). Below the range only another
 * explicit choice can collide, and picks are random.
 */
import { randomInt } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { TestnetError } from './errors.ts'

export const LOOPBACK = '127.0.0.1'

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen({ host: LOOPBACK, port, exclusive: true }, () => resolve(server))
  })
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()))
}

/** The lowest port of the kernel's ephemeral range (Linux's setting, else the IANA range). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    if (Number.isInteger(low) && low > 1024) return low
  } catch {
    // not Linux
  }
  return 49_152
}

/** Ports are picked from [PICK_LOW, the ephemeral range's start), when that band is wide enough. */
const PICK_LOW = 10_000
const MIN_BAND = 1_000

/** `count` distinct ports that are free on 127.0.0.1 right now. */
export async function freePorts(count: number): Promise<number[]> {
  const high = ephemeralLow()
  const servers: Server[] = []
  try {
    if (high - PICK_LOW < MIN_BAND) {
      for (let i = 0; i < count; i++) servers.push(await listen(0))
    } else {
      const tried = new Set<number>()
      while (servers.length < count) {
        if (tried.size >= Math.min(count * 50, high - PICK_LOW)) throw new TestnetError('INVALID_ARGUMENT', `could not find ${count} free ports in ${PICK_LOW}..${high - 1}`)
        const port = randomInt(PICK_LOW, high)
        if (tried.has(port)) continue
        tried.add(port)
        try {
          servers.push(await listen(port))
        } catch {
          // taken: pick another
        }
      }
    }
    return servers.map((s) => {
      const addr = s.address()
      if (addr === null || typeof addr === 'string') throw new TestnetError('INVALID_ARGUMENT', 'could not learn a free port')
      return addr.port
    })
  } finally {
    await Promise.all(servers.map(close))
  }
}

/** Throws PORT_IN_USE unless every port can be bound on 127.0.0.1. */
export async function checkPortsFree(ports: readonly number[]): Promise<void> {
  const seen = new Set<number>()
  for (const port of ports) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TestnetError('INVALID_ARGUMENT', `port ${port} is not in 1..65535`)
    if (seen.has(port)) throw new TestnetError('INVALID_ARGUMENT', `port ${port} is assigned twice`)
    seen.add(port)
    let server: Server
    try {
      server = await listen(port)
    } catch (e) {
      throw new TestnetError('PORT_IN_USE', `port ${port} on ${LOOPBACK} is not free (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`)
    }
    await close(server)
  }
}
