/**
 * A client of a validator's GET /v1/events/blocks (Server-Sent Events): calls
 * `onBlock` with each committed block as it arrives, until `close()` or until the
 * stream ends. Used by the load benchmark (commit latency of every transaction)
 * and the end-to-end tests. `ready` resolves once the server answered 200, so a
 * caller can subscribe before it sends the transactions it wants to see.
 */
import { TestnetError } from './errors.ts'

export interface BlockEvent {
  height: number
  id: string
  time: number
  txs: string[]
}

export interface BlockEventStream {
  /** resolves when the stream is open (rejects when it cannot be opened) */
  readonly ready: Promise<void>
  /** resolves when the stream has ended (closed by either side); never rejects */
  readonly ended: Promise<void>
  close(): void
}

export function blockEvents(api: string, onBlock: (block: BlockEvent, receivedAt: number) => void, opts: { txs?: boolean } = {}): BlockEventStream {
  const abort = new AbortController()
  let opened!: () => void
  let failed!: (e: unknown) => void
  const ready = new Promise<void>((resolve, reject) => ((opened = resolve), (failed = reject)))
  ready.catch(() => {}) // a caller that never awaits ready still sees `ended`
  const url = new URL(`/v1/events/blocks${opts.txs === false ? '?txs=false' : ''}`, api)
  const ended = (async () => {
    try {
      const res = await fetch(url, { signal: abort.signal, headers: { accept: 'text/event-stream' } })
      if (!res.ok || res.body === null) throw new TestnetError('API', `GET ${url}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`)
      opened()
      const decoder = new TextDecoder()
      let buffer = ''
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk, { stream: true })
        let end: number
        // events are separated by a blank line; a `data:` line carries the JSON
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const data = event.split('\n').find((l) => l.startsWith('data:'))
          if (data !== undefined) onBlock(JSON.parse(data.slice(5)) as BlockEvent, performance.now())
        }
      }
    } catch (e) {
      failed(e)
    }
  })()
  return { ready, ended, close: () => abort.abort() }
}
