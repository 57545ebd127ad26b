// Loggers for tests: one that records every line, and one built from the few methods a test cares about.
import type { Logger } from '../../node/index.ts'

export interface LogLine {
  level: string
  msg: string
  obj: object
}

/** A Logger that records (level, msg, obj) lines; its children record into the same list, their bindings merged into obj. */
export function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = []
  const make = (bindings: Record<string, unknown>): Logger => {
    const at = (level: string) => (obj: object, msg?: string): void => {
      lines.push({ level, msg: msg ?? '', obj: { ...bindings, ...obj } })
    }
    return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (more) => make({ ...bindings, ...more }) }
  }
  return Object.assign(make({}), { lines })
}

/** A Logger with these methods and the rest silent. */
export function loggerOf(methods: Partial<Omit<Logger, 'child'>>): Logger {
  const noop = (): void => {}
  const logger: Logger = { debug: noop, info: noop, warn: noop, error: noop, ...methods, child: () => logger }
  return logger
}
