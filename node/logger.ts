/**
 * The one logging port of node/ and the processes built on it: the part of pino's
 * Logger that the code calls. The composition root holds a pino logger and hands
 * each module a child of it (`logger.child({ module: 'p2p' })`), so node.log stays
 * JSON lines that name where each line comes from; tests pass `silentLogger` or a
 * recording logger.
 */
export interface Logger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
  child(bindings: Record<string, unknown>): Logger
}

const noop = (): void => {}

/** Drops everything (the default where a logger is optional). */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop, child: () => silentLogger }
