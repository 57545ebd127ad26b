/**
 * Loopback TCP ports for a local testnet: free ones learned by binding port 0
 * (all held open together so they are distinct), or given ones checked to be
 * free. Another process may still take a port between the check and the
 * validator's own bind; the runner reports that as a validator that did not
 * come up.
 */
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

/** `count` distinct ports that are free on 127.0.0.1 right now. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = []
  try {
    for (let i = 0; i < count; i++) servers.push(await listen(0))
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
