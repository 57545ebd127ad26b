/**
 * GET /v1/events/blocks: committed blocks as Server-Sent Events, one
 * `event: block` per block, from the moment the client connects (no replay: a
 * client that reconnects catches up with GET /v1/blocks/{ref}). The blocks come
 * from a `BlockFeed` port the node wires to its commit path. Each stream sends
 * `: keep-alive` comments so idle timeouts leave it alone, unsubscribes when the
 * client goes away, is cut off when its client stops reading and its buffered
 * output passes a cap, and ends when the server stops.
 */
import type { ServerResponse } from 'node:http'
import { ApiError, ApiErrorCode, badRequest } from './errors.ts'
import type { RouteResult } from './routes.ts'
import type { Logger } from '../logger.ts'

/** A committed block as the event stream sends it. */
export interface CommittedBlock {
  height: number
  /** the block's CID */
  id: string
  /** unix seconds, agreed by consensus */
  time: number
  /** the ids (CIDs) of its transactions, in block order */
  txs: readonly string[]
}

/**
 * Committed blocks, in commit order. `subscribe` returns the function that
 * unsubscribes. Listeners are called synchronously and must not throw; the API's
 * listeners only serialize and queue a write.
 */
export interface BlockFeed {
  subscribe(listener: (block: CommittedBlock) => void): () => void
}

export interface BlockEventsComponents {
  /** absent: the route answers 404 EVENTS_DISABLED */
  feed?: BlockFeed
  logger?: Logger
}

export interface BlockEventsOptions {
  /** a `: keep-alive` comment goes out this often */
  keepAliveMs: number
  /** a stream whose unsent output passes this many bytes (the client stopped reading) is cut off */
  maxBufferedBytes: number
  /** open streams beyond this are refused with 503 TOO_MANY_STREAMS */
  maxStreams: number
}

export const DEFAULT_EVENT_KEEP_ALIVE_MS = 15_000
export const DEFAULT_EVENT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024
export const DEFAULT_MAX_EVENT_STREAMS = 64

const STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  // reverse proxies (nginx) must not hold events back
  'x-accel-buffering': 'no',
}

/** The block event streams of one server: the route's handler and the count of open streams. */
export class BlockEvents {
  private readonly feed: BlockFeed | undefined
  private readonly logger: Logger | undefined
  private readonly opts: BlockEventsOptions
  private open = 0

  constructor(components: BlockEventsComponents, options: BlockEventsOptions) {
    this.feed = components.feed
    this.logger = components.logger
    this.opts = options
  }

  /** The route: validates the request and returns a stream result, which the server starts on the response. */
  route(query: URLSearchParams): RouteResult {
    const feed = this.feed
    if (feed === undefined) throw new ApiError(404, ApiErrorCode.EVENTS_DISABLED, 'this node serves no event streams (it was built without a block feed)')
    const txs = query.get('txs')
    if (txs !== null && txs !== 'true' && txs !== 'false') throw badRequest("txs must be 'true' or 'false'")
    const withTxs = txs !== 'false'
    return { stream: (res, closing) => this.serve(feed, res, closing, withTxs) }
  }

  private serve(feed: BlockFeed, res: ServerResponse, closing: AbortSignal, withTxs: boolean): void {
    if (res.destroyed || res.socket === null || res.socket.destroyed) return // the client is already gone
    if (closing.aborted) throw new ApiError(503, ApiErrorCode.NOT_READY, 'the server is stopping')
    if (this.open >= this.opts.maxStreams) {
      throw new ApiError(503, ApiErrorCode.TOO_MANY_STREAMS, `this server already serves ${this.opts.maxStreams} event streams; try again later`, { headers: { 'retry-after': '5' } })
    }
    res.writeHead(200, STREAM_HEADERS)
    res.flushHeaders()
    const write = (chunk: string): void => {
      if (res.destroyed || res.writableEnded) return
      res.write(chunk)
      if (res.writableLength > this.opts.maxBufferedBytes) {
        this.logger?.warn({ buffered: res.writableLength, limit: this.opts.maxBufferedBytes }, 'block event stream cut off: the client does not read')
        res.destroy()
      }
    }
    let unsubscribe: () => void
    try {
      unsubscribe = feed.subscribe((block) => {
        try {
          write(`event: block\ndata: ${JSON.stringify(blockEvent(block, withTxs))}\n\n`)
        } catch (err) {
          // a listener never throws into the node's commit path
          this.logger?.error({ err }, 'block event stream failed')
          res.destroy()
        }
      })
    } catch (e) {
      res.destroy()
      throw e
    }
    this.open++
    const keepAlive = setInterval(() => write(': keep-alive\n\n'), this.opts.keepAliveMs)
    const end = (): void => void res.end()
    closing.addEventListener('abort', end, { once: true })
    res.once('close', () => {
      this.open--
      clearInterval(keepAlive)
      closing.removeEventListener('abort', end)
      unsubscribe()
    })
  }
}

/** The event's JSON: only the documented fields, whatever else the feed's objects carry. */
function blockEvent(b: CommittedBlock, withTxs: boolean): { height: number; id: string; time: number; txs?: string[] } {
  const event = { height: b.height, id: String(b.id), time: b.time }
  return withTxs ? { ...event, txs: b.txs.map(String) } : event
}
