/**
 * The validator's HTTP JSON API on node:http: the routes of routes.ts, JSON
 * errors with stable codes, a body cap, and timeouts against slow or partial
 * requests. Bad input never throws past a request: malformed requests get a 4xx,
 * anything unexpected a 500 whose cause is logged, never sent. `stop()` ends
 * open event streams at once, lets in-flight requests finish for a grace
 * period, then closes every socket, keep-alive ones included.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Registry } from 'prom-client'
import type { Logger } from '../logger.ts'
import { DEFAULT_MAX_BATCH_BODY_BYTES } from './batch.ts'
import { ApiError, ApiErrorCode, toApiError, type SubmitError } from './errors.ts'
import { BlockEvents, DEFAULT_EVENT_KEEP_ALIVE_MS, DEFAULT_EVENT_MAX_BUFFERED_BYTES, DEFAULT_MAX_EVENT_STREAMS, type BlockFeed } from './events.ts'
import { rawErrorResponse, sendBytes, sendError, sendJson, sendText, splitTarget } from './http.ts'
import type { ApiRequestObserver } from './metrics.ts'
import type { LedgerQueries } from './queries.ts'
import { Router } from './router.ts'
import { ROUTES, type ApiAdmin, type RouteDef, type RouteDeps, type SubmitFn } from './routes.ts'
import type { NodeStatus } from './status.ts'

export interface ApiServerComponents {
  queries: LedgerQueries
  /** hands a transaction to the mempool; refuses with SubmitError (or LedgerError) */
  submit: SubmitFn
  /** the refusal any client transaction would get now (the node is full), if any: a batch is then refused whole, before its body is read */
  submitRefusal?: () => SubmitError | undefined
  status: () => NodeStatus
  /** served at /metrics */
  registry: Registry
  /** records each request (route template, method, status, duration) */
  metrics?: ApiRequestObserver
  logger?: Logger
  /** testnet-only fault injection (POST /v1/admin/block, /unblock); leave out on production nodes, where those routes answer 404 ADMIN_DISABLED */
  admin?: ApiAdmin
  /** committed blocks for GET /v1/events/blocks; leave out and that route answers 404 EVENTS_DISABLED */
  blocks?: BlockFeed
}

export interface ApiServerOptions {
  /** default 127.0.0.1 */
  host?: string
  /** default 0: any free port (see address()) */
  port?: number
  /** largest request body, default 1 MiB */
  maxBodyBytes?: number
  /** largest body of POST /v1/txs/batch, default 4 MiB (or maxBodyBytes if that is larger) */
  maxBatchBodyBytes?: number
  /** the whole request (headers and body) must arrive within this, default 10 s */
  requestTimeoutMs?: number
  /** the headers must arrive within this, default 5 s (at most requestTimeoutMs) */
  headersTimeoutMs?: number
  /** idle keep-alive connections close after this, default 5 s */
  keepAliveTimeoutMs?: number
  /** a socket with no activity at all (e.g. a client that stops reading) is closed after this, default 60 s */
  idleTimeoutMs?: number
  /** default 1024 */
  maxConnections?: number
  /** how long stop() lets in-flight requests finish, default 1 s */
  shutdownGraceMs?: number
  /** how long /healthz waits for the store, default 2 s */
  healthTimeoutMs?: number
  /** an event stream sends a keep-alive comment this often, default 15 s (and at least twice per idleTimeoutMs) */
  eventKeepAliveMs?: number
  /** an event stream whose client lets more than this much output pile up is cut off, default 8 MiB */
  maxEventBufferedBytes?: number
  /** open event streams beyond this are refused (503 TOO_MANY_STREAMS), default 64 */
  maxEventStreams?: number
}

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024

export class ApiServer {
  private readonly deps: RouteDeps
  private readonly router = new Router<RouteDef>(ROUTES)
  private readonly metrics: ApiRequestObserver | undefined
  private readonly logger: Logger | undefined
  private readonly opts: Required<ApiServerOptions>
  private server: Server | undefined
  /** aborted by stop(): open event streams end */
  private shutdown = new AbortController()
  private bound: { host: string; port: number } | undefined
  private readonly responses = new WeakMap<Duplex, ServerResponse>()
  /** every open connection, so stop() can close the ones without a request at once */
  private readonly sockets = new Set<Duplex>()
  /** the server while stop() waits for it to close */
  private closing: Server | undefined

  constructor(components: ApiServerComponents, options: ApiServerOptions = {}) {
    const requestTimeoutMs = options.requestTimeoutMs ?? 10_000
    const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
    this.opts = {
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 0,
      maxBodyBytes,
      maxBatchBodyBytes: options.maxBatchBodyBytes ?? Math.max(DEFAULT_MAX_BATCH_BODY_BYTES, maxBodyBytes),
      requestTimeoutMs,
      headersTimeoutMs: Math.min(options.headersTimeoutMs ?? 5_000, requestTimeoutMs),
      keepAliveTimeoutMs: options.keepAliveTimeoutMs ?? 5_000,
      idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
      maxConnections: options.maxConnections ?? 1024,
      shutdownGraceMs: options.shutdownGraceMs ?? 1_000,
      healthTimeoutMs: options.healthTimeoutMs ?? 2_000,
      eventKeepAliveMs: options.eventKeepAliveMs ?? DEFAULT_EVENT_KEEP_ALIVE_MS,
      maxEventBufferedBytes: options.maxEventBufferedBytes ?? DEFAULT_EVENT_MAX_BUFFERED_BYTES,
      maxEventStreams: options.maxEventStreams ?? DEFAULT_MAX_EVENT_STREAMS,
    }
    const o = this.opts
    const events = new BlockEvents(
      { feed: components.blocks, logger: components.logger },
      // keep-alives at least twice per idle timeout (0: none), so a healthy stream is never idle long enough to be closed
      { keepAliveMs: o.idleTimeoutMs > 0 ? Math.max(10, Math.min(o.eventKeepAliveMs, Math.floor(o.idleTimeoutMs / 2))) : o.eventKeepAliveMs, maxBufferedBytes: o.maxEventBufferedBytes, maxStreams: o.maxEventStreams },
    )
    this.deps = {
      queries: components.queries, submit: components.submit, submitRefusal: components.submitRefusal ?? (() => undefined), status: components.status, registry: components.registry, admin: components.admin, events, logger: components.logger,
      maxBodyBytes: o.maxBodyBytes, maxBatchBodyBytes: o.maxBatchBodyBytes, healthTimeoutMs: o.healthTimeoutMs,
    }
    this.metrics = components.metrics
    this.logger = components.logger
  }

  async start(): Promise<void> {
    if (this.server !== undefined) throw new Error('ApiServer already started')
    const o = this.opts
    this.shutdown = new AbortController()
    const server = createServer({
      requestTimeout: o.requestTimeoutMs,
      headersTimeout: o.headersTimeoutMs,
      keepAliveTimeout: o.keepAliveTimeoutMs,
      // request and header timeouts are only checked this often
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(Math.min(o.requestTimeoutMs, o.headersTimeoutMs) / 4))),
    })
    server.maxConnections = o.maxConnections
    server.timeout = o.idleTimeoutMs
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res))
    server.on('connection', (socket: Duplex) => {
      this.sockets.add(socket)
      socket.once('close', () => this.sockets.delete(socket))
    })
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.onClientError(err, socket))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(o.port, o.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    server.on('error', (err) => this.logger?.error({ err }, 'api server error'))
    const addr = server.address() as AddressInfo
    this.bound = { host: addr.address, port: addr.port }
    this.server = server
  }

  /**
   * Stops accepting connections, ends open event streams and closes connections
   * without a request in flight (idle keep-alive, or opened and never used) at
   * once, lets in-flight requests finish (up to the grace period), then closes
   * every socket.
   */
  async stop(): Promise<void> {
    const server = this.server
    if (server === undefined) return
    this.server = undefined
    this.bound = undefined
    this.closing = server
    await new Promise<void>((resolve) => {
      const grace = setTimeout(() => server.closeAllConnections(), this.opts.shutdownGraceMs)
      server.close(() => {
        clearTimeout(grace)
        resolve()
      })
      server.closeIdleConnections()
      // node counts a connection that never sent a request as active, not idle
      for (const socket of this.sockets) if (!this.responses.has(socket)) socket.destroy()
      this.shutdown.abort()
    })
    this.closing = undefined
  }

  /** Where the server listens; only while started. */
  address(): { host: string; port: number; url: string } {
    if (this.bound === undefined) throw new Error('ApiServer is not started')
    const { host, port } = this.bound
    return { host, port, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}` }
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket
    this.responses.set(socket, res)
    res.once('close', () => {
      if (this.responses.get(socket) === res) this.responses.delete(socket)
      // while stopping, a keep-alive socket whose response is done is closed at once
      if (this.closing !== undefined) setImmediate(() => this.closing?.closeIdleConnections())
    })
    this.handle(req, res).catch((err: unknown) => {
      this.logger?.error({ err }, 'api request failed after its response started')
      res.destroy()
    })
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now()
    const method = req.method ?? ''
    let route = 'unmatched'
    const abort = new AbortController()
    res.once('close', () => {
      if (!res.writableFinished) abort.abort(new Error('client went away'))
    })
    try {
      const { segments, query } = splitTarget(req.url)
      const match = this.router.match(method, segments)
      if (match.kind === 'none') throw new ApiError(404, ApiErrorCode.NO_ROUTE, 'no such route (see /v1 routes in the OpenAPI document)')
      if (match.kind === 'method') {
        throw new ApiError(405, ApiErrorCode.METHOD_NOT_ALLOWED, `${method} is not allowed here; use ${match.allowed.join(' or ')}`, { headers: { allow: match.allowed.join(', ') } })
      }
      route = match.route.path
      const result = await match.route.handle(this.deps, { params: match.params, query, req, signal: abort.signal })
      if ('stream' in result) result.stream(res, this.shutdown.signal)
      else if ('text' in result) sendText(res, result.status, result.contentType, result.text)
      else if ('bytes' in result) sendBytes(res, result.status, result.contentType, result.bytes)
      else sendJson(res, result.status, result.json, result.headers)
    } catch (e) {
      const err = toApiError(e)
      if (err.code === ApiErrorCode.INTERNAL) this.logger?.error({ err: err.cause ?? e, method, route }, 'api request failed')
      sendError(res, err)
    } finally {
      this.metrics?.onApiRequest(route, method, res.statusCode, performance.now() - started)
    }
  }

  /** Connection-level failures (unparsable request, header overflow, request timeout): a JSON error if nothing was sent yet, then close. */
  private onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    const inFlight = this.responses.get(socket)
    if (err.code !== 'ECONNRESET' && socket.writable && (inFlight === undefined || !inFlight.headersSent)) {
      const [status, reason, code, message] =
        err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout', ApiErrorCode.REQUEST_TIMEOUT, `the request did not arrive within ${this.opts.requestTimeoutMs} ms`]
          : err.code === 'HPE_HEADER_OVERFLOW'
            ? [431, 'Request Header Fields Too Large', ApiErrorCode.HEADERS_TOO_LARGE, 'request headers are too large']
            : [400, 'Bad Request', ApiErrorCode.BAD_REQUEST, 'malformed HTTP request']
      socket.write(rawErrorResponse(status, reason, code, message))
      this.metrics?.onApiRequest('unmatched', 'unknown', status, 0)
    }
    socket.destroy()
  }
}
