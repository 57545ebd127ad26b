/**
 * The logging port of the p2p layer: the subset of pino's API it uses, so a pino
 * logger (or a child of one) can be passed as is. Defaults to a silent logger.
 */

export interface P2PLogger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

const noop = (): void => {}

export const silentLogger: P2PLogger = { debug: noop, info: noop, warn: noop, error: noop }
