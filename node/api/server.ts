/**
 * The validator's HTTP JSON API on fastify: the routes of routes.ts, their path and
 * query parameters validated with the routes' zod schemas, JSON errors with stable
 * codes, body caps, and timeouts against slow or partial requests. Bad input never
 * throws past a request: malformed requests get a 4xx, anything unexpected a 500
 * whose cause is logged, never sent. The OpenAPI document is generated from the
 * registered routes (@fastify/swagger, openapi.ts) and served at /openapi.json.
 * `stop()` ends open event streams at once, lets in-flight requests finish for a
 * grace period, then closes every socket, keep-alive ones included.
 *
 * Handlers read request bodies themselves (http.ts `readBody`), so that each route
 * keeps its own cap and a batch can be refused before its body is read: the server
 * registers one content-type parser that leaves the body unread.
 */
import swagger from '@fastify/swagger'
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors, validatorCompiler } from 'fastify-type-provider-zod'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Registry } from 'prom-client'
import type { Logger } from '../logger.ts'
import type { ProofLies } from './proofs.ts'
import { DEFAULT_MAX_BATCH_BODY_BYTES } from './batch.ts'
import { ApiError, ApiErrorCode, badRequest, errorBody, toApiError, type SubmitError } from './errors.ts'
import { BlockEvents, DEFAULT_EVENT_KEEP_ALIVE_MS, DEFAULT_EVENT_MAX_BUFFERED_BYTES, DEFAULT_MAX_EVENT_STREAMS, type BlockFeed } from './events.ts'
import { COMMON_HEADERS, rawErrorResponse } from './http.ts'
import type { ApiRequestObserver } from './metrics.ts'
import { fastifyPath, openApiDocumentOf, swaggerOptions, swaggerSchema } from './openapi.ts'
import type { LedgerQueries } from './queries.ts'
import { ROUTES, type ApiAdmin, type CommitSource, type RouteDef, type RouteDeps, type RouteResult, type SubmitFn } from './routes.ts'
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
  /** testnet-only fault injection (byzantine 'lying-api'): the proofs this node serves lie */
  lies?: ProofLies
  /** committed blocks for GET /v1/events/blocks; leave out and that route answers 404 EVENTS_DISABLED */
  blocks?: BlockFeed
  /** commit certificates for GET /v1/commits/…; leave out and those routes answer 404 */
  commits?: CommitSource
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

/** Methods a path may be asked for; those a path does not serve answer 405 with Allow. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const

export class ApiServer {
  private readonly deps: RouteDeps
  private readonly metrics: ApiRequestObserver | undefined
  private readonly logger: Logger | undefined
  private readonly opts: Required<ApiServerOptions>
  private app: FastifyInstance | undefined
  private server: Server | undefined
  /** aborted by stop(): open event streams end */
  private shutdown = new AbortController()
  private bound: { host: string; port: number } | undefined
  /** the response in flight on each connection (none: idle or never used) */
  private readonly responses = new WeakMap<Duplex, ServerResponse>()
  /** every open connection, so stop() can close the ones without a request at once */
  private readonly sockets = new Set<Duplex>()
  private closing = false
  /** the document of this server's routes, and its bytes as GET /openapi.json sends them (built by start) */
  private document: Record<string, unknown> | undefined
  private documentBytes: Uint8Array | undefined

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
      queries: components.queries, commits: components.commits, submit: components.submit, submitRefusal: components.submitRefusal ?? (() => undefined), status: components.status, registry: components.registry, admin: components.admin, lies: components.lies, events, logger: components.logger,
      maxBodyBytes: o.maxBodyBytes, maxBatchBodyBytes: o.maxBatchBodyBytes, healthTimeoutMs: o.healthTimeoutMs,
      openapi: () => this.openapi().document,
      openapiBytes: () => this.openapi().bytes,
    }
    this.metrics = components.metrics
    this.logger = components.logger
  }

  async start(): Promise<void> {
    if (this.app !== undefined) throw new Error('ApiServer already started')
    const o = this.opts
    this.shutdown = new AbortController()
    this.closing = false
    this.document = undefined
    const app = Fastify({
      serverFactory: (handler) => {
        const server = createServer({
          requestTimeout: o.requestTimeoutMs,
          headersTimeout: o.headersTimeoutMs,
          keepAliveTimeout: o.keepAliveTimeoutMs,
          // request and header timeouts are only checked this often
          connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(Math.min(o.requestTimeoutMs, o.headersTimeoutMs) / 4))),
        }, handler)
        server.maxConnections = o.maxConnections
        server.timeout = o.idleTimeoutMs
        return server
      },
      clientErrorHandler: (err, socket) => this.onClientError(err, socket),
      // a path fastify cannot decode or a parameter past maxParamLength: the API's JSON error, never the path echoed
      frameworkErrors: (e, _req, reply) => {
        const tooLong = e.code === 'FST_ERR_MAX_PARAM_LENGTH'
        sendError(reply, badRequest(tooLong ? 'a path segment is too long' : 'the path is not valid percent-encoded UTF-8'))
      },
      // stop() closes connections itself (idle ones at once, the rest after the grace period);
      // a request that arrives meanwhile on an open connection is answered as usual
      forceCloseConnections: false,
      return503OnClosing: false,
      exposeHeadRoutes: false,
      routerOptions: { ignoreTrailingSlash: true, maxParamLength: 8192 },
      logger: false,
    })
    app.server.on('connection', (socket: Duplex) => {
      this.sockets.add(socket)
      socket.once('close', () => this.sockets.delete(socket))
    })
    // beside fastify's own request listener: which connection has a response in flight
    app.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const socket = req.socket
      this.responses.set(socket, res)
      res.once('close', () => {
        if (this.responses.get(socket) === res) this.responses.delete(socket)
        // while stopping, a keep-alive socket whose response is done is closed at once
        if (this.closing) setImmediate(() => this.server?.closeIdleConnections())
      })
    })
    const shutdown = this.shutdown
    await buildRoutes(app, this.deps, {
      closing: () => shutdown.signal,
      observe: (req, reply, route, elapsedMs) => this.metrics?.onApiRequest(route, req.method, reply.statusCode, elapsedMs),
      logFailure: (err, route, method) => this.logger?.error({ err, method, route }, 'api request failed'),
    })
    try {
      await app.listen({ port: o.port, host: o.host })
    } catch (e) {
      await app.close()
      throw e
    }
    app.server.on('error', (err) => this.logger?.error({ err }, 'api server error'))
    const addr = app.server.address() as AddressInfo
    this.bound = { host: addr.address, port: addr.port }
    this.app = app
    this.server = app.server
    // built once, here, rather than by the first client that asks
    this.document = openApiDocumentOf(app)
    this.documentBytes = new TextEncoder().encode(JSON.stringify(this.document))
  }

  /**
   * Stops accepting connections, ends open event streams and closes connections
   * without a request in flight (idle keep-alive, or opened and never used) at
   * once, lets in-flight requests finish (up to the grace period), then closes
   * every socket.
   */
  async stop(): Promise<void> {
    const app = this.app
    const server = this.server
    if (app === undefined || server === undefined) return
    this.app = undefined
    this.bound = undefined
    this.closing = true
    const grace = setTimeout(() => server.closeAllConnections(), this.opts.shutdownGraceMs)
    const closed = app.close()
    server.closeIdleConnections()
    // node counts a connection that never sent a request as active, not idle
    for (const socket of this.sockets) if (!this.responses.has(socket)) socket.destroy()
    this.shutdown.abort()
    try {
      await closed
    } finally {
      clearTimeout(grace)
      this.server = undefined
    }
  }

  /** Where the server listens; only while started. */
  address(): { host: string; port: number; url: string } {
    if (this.bound === undefined) throw new Error('ApiServer is not started')
    const { host, port } = this.bound
    return { host, port, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}` }
  }

  /** The OpenAPI document of the routes this server serves. */
  private openapi(): { document: Record<string, unknown>; bytes: Uint8Array } {
    if (this.document === undefined || this.documentBytes === undefined) throw new ApiError(503, ApiErrorCode.NOT_READY, 'the server is not started')
    return { document: this.document, bytes: this.documentBytes }
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

export interface RouteHooks {
  /** aborted when the server stops: open event streams end */
  closing(): AbortSignal
  /** each finished request: its route template (or 'unmatched') and how long it took (ms) */
  observe?(req: FastifyRequest, reply: FastifyReply, route: string, elapsedMs: number): void
  /** an unexpected failure (the client got a 500 'internal error') */
  logFailure?(err: unknown, route: string, method: string): void
}

/**
 * Registers the API on a fastify instance: the routes (with their schemas, for
 * validation and the document), 405 with Allow for the other methods of a served
 * path, 404 NO_ROUTE for any other path, one error handler that answers with the
 * API's JSON errors, and the document generator. `openapi.ts` builds a document
 * from an instance set up the same way.
 */
export async function buildRoutes(app: FastifyInstance, deps: RouteDeps, hooks: RouteHooks): Promise<void> {
  app.setValidatorCompiler(validatorCompiler)
  // bodies are read and parsed by the handlers; responses are sent as serialized bytes
  app.setSerializerCompiler(() => (data) => JSON.stringify(data))
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined))
  await app.register(swagger, swaggerOptions())

  const observe = hooks.observe
  if (observe !== undefined) {
    app.addHook('onResponse', (req, reply, done) => {
      observe(req, reply, routeOf(req), reply.elapsedTime)
      done()
    })
  }

  app.setErrorHandler((e: FastifyError, req, reply) => {
    const err = fromFastify(e)
    if (err.code === ApiErrorCode.INTERNAL) hooks.logFailure?.(err.cause ?? e, routeOf(req), req.method)
    return sendError(reply, err)
  })
  const noRoute = () => new ApiError(404, ApiErrorCode.NO_ROUTE, 'no such route (see the routes at /v1 and the OpenAPI document at /openapi.json)')
  app.setNotFoundHandler((_req, reply) => sendError(reply, noRoute()))
  // The router decodes the whole path before matching; a route's fixed words must arrive as
  // written (`/v1/%61dmin/block` is not `/v1/admin/block`), so that a proxy rule on the
  // plain path cannot be sidestepped by encoding it.
  app.addHook('onRequest', (req, reply, done) => {
    const template = req.routeOptions.url
    if (template !== undefined && !literalsAsWritten(template, req.raw.url ?? '')) return void sendError(reply, noRoute())
    done()
  })

  const served = new Map<string, Set<string>>()
  for (const def of ROUTES) served.set(def.path, (served.get(def.path) ?? new Set()).add(def.method))
  for (const def of ROUTES) {
    app.route({
      method: def.method,
      url: fastifyPath(def.path),
      schema: swaggerSchema(def.doc),
      handler: (req, reply) => serve(def, deps, hooks.closing(), req, reply),
    })
  }
  for (const [path, methods] of served) {
    const allowed = [...methods].sort()
    const others = METHODS.filter((m) => !methods.has(m))
    app.route({
      method: others,
      url: fastifyPath(path),
      schema: { hide: true },
      handler: async (req) => {
        throw new ApiError(405, ApiErrorCode.METHOD_NOT_ALLOWED, `${req.method} is not allowed here; use ${allowed.join(' or ')}`, { headers: { allow: allowed.join(', ') } })
      },
    })
  }
}

/** Whether every fixed word of a fastify route template appears unencoded at its place in the raw request target. */
function literalsAsWritten(template: string, target: string): boolean {
  let path = target.split('?', 1)[0]!
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(path) // absolute-form: the path after the authority
  if (scheme !== null) path = path.slice(scheme[0].length) || '/'
  const raw = path.split('/')
  if (raw.length > 1 && raw.at(-1) === '') raw.pop() // one trailing slash is tolerated
  const parts = template.split('/')
  if (raw.length !== parts.length) return false
  return parts.every((p, i) => p.startsWith(':') || p === raw[i])
}

/** The route template a request matched (the metrics label), or 'unmatched'. */
function routeOf(req: FastifyRequest): string {
  const url = req.routeOptions.url
  return url === undefined ? 'unmatched' : url.replace(/:([A-Za-z]+)/g, '{$1}')
}

async function serve(def: RouteDef, deps: RouteDeps, closing: AbortSignal, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  const abort = new AbortController()
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) abort.abort(new Error('client went away'))
  })
  // the query as fastify parsed and the route's schema checked it
  const query = new URLSearchParams()
  for (const [k, v] of Object.entries((req.query ?? {}) as Record<string, unknown>)) {
    for (const x of Array.isArray(v) ? v : [v]) if (x !== undefined) query.append(k, String(x))
  }
  const result: RouteResult = await def.handle(deps, { params: req.params as Record<string, string>, query, req: req.raw, signal: abort.signal })
  if ('stream' in result) {
    // the route writes the response itself from here on
    reply.hijack()
    try {
      result.stream(reply.raw, closing)
    } catch (e) {
      const err = toApiError(e)
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(err.status, { ...COMMON_HEADERS, ...err.headers, 'content-type': 'application/json; charset=utf-8' })
        reply.raw.end(JSON.stringify(errorBody(err)))
      } else reply.raw.destroy()
    }
    return undefined
  }
  reply.code(result.status).headers(COMMON_HEADERS)
  if ('text' in result) return reply.type(result.contentType).send(result.text)
  if ('bytes' in result) return reply.type(result.contentType).send(Buffer.from(result.bytes.buffer, result.bytes.byteOffset, result.bytes.byteLength))
  if (result.headers !== undefined) reply.headers(result.headers)
  return reply.type('application/json; charset=utf-8').send(JSON.stringify(result.json))
}

function sendError(reply: FastifyReply, err: ApiError): FastifyReply {
  return reply.code(err.status).headers({ ...COMMON_HEADERS, ...err.headers }).type('application/json; charset=utf-8').send(JSON.stringify(errorBody(err)))
}

/** An error a handler threw, or one fastify raised before the handler (validation, framing), as the API's error. */
function fromFastify(e: FastifyError): ApiError {
  if (e instanceof ApiError) return e
  if (hasZodFastifySchemaValidationErrors(e)) {
    const issue = e.validation[0]
    const where = `${e.validationContext ?? 'request'}${issue?.instancePath ? issue.instancePath.replaceAll('/', '.') : ''}`
    return badRequest(`${issue?.message ?? 'invalid'} (${where})`)
  }
  if (typeof e.code === 'string' && e.code.startsWith('FST_ERR_') && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code = e.statusCode === 413 ? ApiErrorCode.PAYLOAD_TOO_LARGE : e.statusCode === 415 ? ApiErrorCode.UNSUPPORTED_MEDIA_TYPE : ApiErrorCode.BAD_REQUEST
    return new ApiError(e.statusCode, code, e.message, { cause: e })
  }
  return toApiError(e)
}
