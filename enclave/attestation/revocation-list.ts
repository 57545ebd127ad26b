/**
 * The sim-v1 revocation list: a DAG-CBOR `{ body, sig }` whose body names an
 * issuer, a serial, a validity window (issuedAt, nextUpdate) and the revoked
 * platforms, measurements and keys, signed by the testnet root (ed25519, domain
 * tag SIM_REVOCATION_LIST). `parseRevocationList` is the one place its bytes are
 * size-limited, schema-checked and verified; `RevocationListTracker` keeps the
 * newest accepted list per issuer and refuses rollbacks, conflicting lists of one
 * serial, and stale lists. Its high-water marks export to a plain object, so a
 * participant that persists them keeps its rollback protection across restarts.
 */
import { z } from 'zod'
import { isLedgerError } from '../../ledger/index.ts'
import { bytesEqual, decode, DomainTag, encode, fromHex, sha256, signPayload, toHex, verifyPayload } from '../../primitives/index.ts'
import { AttestationError } from './errors.ts'

export const SIM_REVOCATION_LIST_FORMAT = 'sim-v1-crl'
/** upper bound of an encoded list */
export const MAX_REVOCATION_LIST_BYTES = 1024 * 1024
/** upper bound of each of the revoked platforms, measurements and keys */
export const MAX_REVOKED_ENTRIES = 10_000
/** how far ahead of the local clock a list's issuedAt may be (clock skew) */
export const REVOCATION_LIST_MAX_SKEW_SECONDS = 300

const uint = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const byteString = (min: number, max: number) => z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length >= min && v.length <= max, `expected ${min}..${max} bytes`)

const Body = z
  .strictObject({
    format: z.literal(SIM_REVOCATION_LIST_FORMAT),
    issuer: z.string().min(1).max(128),
    serial: uint,
    issuedAt: uint,
    nextUpdate: uint,
    revoked: z.strictObject({
      platforms: z.array(z.string().min(1).max(128)).max(MAX_REVOKED_ENTRIES),
      measurements: z.array(byteString(1, 64)).max(MAX_REVOKED_ENTRIES),
      keys: z.array(byteString(1, 256)).max(MAX_REVOKED_ENTRIES),
    }),
  })
  .refine((b) => b.nextUpdate > b.issuedAt, { message: 'nextUpdate must be after issuedAt', path: ['nextUpdate'] })
const Envelope = z.strictObject({ body: z.unknown(), sig: byteString(64, 64) })

export type RevocationListBody = z.infer<typeof Body>

/** A list whose signature verified against a trust anchor. */
export interface RevocationList extends RevocationListBody {
  /** the trust anchor (root public key) whose signature verified */
  readonly signer: Uint8Array
  /** SHA-256 of the body's canonical encoding: two lists of one serial differ iff their digests do */
  readonly digest: Uint8Array
}

const bad = (why: string, cause?: unknown) => new AttestationError('BAD_REVOCATION_LIST', `revocation list: ${why}`, cause === undefined ? undefined : { cause })

function checkBody(raw: unknown): RevocationListBody {
  const parsed = Body.safeParse(raw)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  throw bad(`malformed body: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`)
}

/** The testnet root issues a list (`format` may be left out). */
export function issueSimRevocationList(rootSecretKey: Uint8Array, body: Omit<RevocationListBody, 'format'> & { format?: typeof SIM_REVOCATION_LIST_FORMAT }): Uint8Array {
  const checked = checkBody({ ...body, format: SIM_REVOCATION_LIST_FORMAT })
  return encode({ body: checked, sig: signPayload(rootSecretKey, DomainTag.SIM_REVOCATION_LIST, checked) })
}

/** Decodes, checks and verifies a list: BAD_REVOCATION_LIST unless it is well formed and signed by one of `trustAnchors`. */
export function parseRevocationList(bytes: Uint8Array, trustAnchors: readonly Uint8Array[]): RevocationList {
  let raw: unknown
  try {
    raw = decode(bytes, MAX_REVOCATION_LIST_BYTES)
  } catch (e) {
    throw bad(isLedgerError(e) ? e.message : 'unreadable', e)
  }
  const envelope = Envelope.safeParse(raw)
  if (!envelope.success) throw bad('expected { body, sig } with a 64-byte signature')
  const body = checkBody(envelope.data.body)
  const signer = trustAnchors.find((root) => verifyPayload(root, DomainTag.SIM_REVOCATION_LIST, body, envelope.data.sig))
  if (signer === undefined) throw bad(`list '${body.issuer}' #${body.serial} is not signed by a trusted root`)
  return { ...body, signer, digest: sha256(encode(body)) }
}

/** One issuer's high-water mark: the newest serial accepted and its content digest (hex). */
export interface RevocationHighWaterMark {
  issuer: string
  serial: number
  digest: string
}

/** What a participant persists: plain JSON-serialisable data. */
export interface RevocationTrackerState {
  version: 1
  marks: RevocationHighWaterMark[]
}

const State = z.strictObject({
  version: z.literal(1),
  marks: z.array(z.strictObject({ issuer: z.string().min(1).max(128), serial: uint, digest: z.string().regex(/^[0-9a-f]{64}$/) })),
})

export interface RevocationAcceptOptions {
  /** unix seconds: the local time */
  at: number
  /** root public keys the list must be signed by */
  trustAnchors: readonly Uint8Array[]
}

interface Held {
  serial: number
  digest: Uint8Array
  /** undefined after an import: the mark is known, the list must be accepted again */
  list: RevocationList | undefined
}

/** Keeps the newest accepted list per issuer; refuses rollbacks, conflicts and stale lists. */
export class RevocationListTracker {
  private readonly held = new Map<string, Held>()

  /**
   * Verifies `bytes` and makes it the issuer's current list. Refuses, in order:
   * a bad list (BAD_REVOCATION_LIST, also when issued more than 300 s ahead of `at`),
   * a lower serial than held (ROLLED_BACK), the held serial with other content
   * (CONFLICTING), a list already past its nextUpdate (STALE). Accepting the held
   * list again is a no-op that returns it.
   */
  accept(bytes: Uint8Array, options: RevocationAcceptOptions): RevocationList {
    const { at, trustAnchors } = options
    if (!Number.isSafeInteger(at)) throw bad(`time must be integer unix seconds, got ${String(at)}`)
    const list = parseRevocationList(bytes, trustAnchors)
    const held = this.held.get(list.issuer)
    if (held !== undefined) {
      if (list.serial < held.serial) throw new AttestationError('ROLLED_BACK_REVOCATION_LIST', `revocation list '${list.issuer}' #${list.serial} is older than the accepted #${held.serial}`)
      if (list.serial === held.serial && !bytesEqual(list.digest, held.digest)) {
        throw new AttestationError('CONFLICTING_REVOCATION_LIST', `revocation list '${list.issuer}' #${list.serial} differs from the accepted list of the same serial`)
      }
    }
    if (list.issuedAt > at + REVOCATION_LIST_MAX_SKEW_SECONDS) throw bad(`list '${list.issuer}' #${list.serial} is not valid before ${list.issuedAt} (now ${at})`)
    if (at > list.nextUpdate) throw staleError(list, at)
    this.held.set(list.issuer, { serial: list.serial, digest: list.digest, list })
    return list
  }

  /** The issuer's current list: NO_REVOCATION_LIST when none is held, STALE when it has expired since. */
  current(issuer: string, at: number): RevocationList {
    const list = this.held.get(issuer)?.list
    if (list === undefined) throw new AttestationError('NO_REVOCATION_LIST', `no revocation list of '${issuer}' is held`)
    if (at > list.nextUpdate) throw staleError(list, at)
    return list
  }

  /** The high-water marks, to persist. */
  exportState(): RevocationTrackerState {
    const marks = [...this.held].map(([issuer, h]) => ({ issuer, serial: h.serial, digest: toHex(h.digest) }))
    return { version: 1, marks: marks.sort((a, b) => (a.issuer < b.issuer ? -1 : a.issuer > b.issuer ? 1 : 0)) }
  }

  /**
   * Merges persisted marks (BAD_REVOCATION_LIST when malformed): a higher serial
   * replaces the held one (its list must then be accepted again), the same serial
   * with another digest is CONFLICTING. Nothing changes when any mark is refused.
   */
  importState(state: RevocationTrackerState): void {
    const parsed = State.safeParse(state)
    if (!parsed.success) throw bad(`malformed tracker state: ${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
    const updates = new Map<string, Held>()
    for (const mark of parsed.data.marks) {
      const digest = fromHex(mark.digest)
      const held = updates.get(mark.issuer) ?? this.held.get(mark.issuer)
      if (held !== undefined && held.serial > mark.serial) continue
      if (held !== undefined && held.serial === mark.serial) {
        if (!bytesEqual(held.digest, digest)) throw new AttestationError('CONFLICTING_REVOCATION_LIST', `persisted mark of '${mark.issuer}' #${mark.serial} differs from the held list`)
        continue
      }
      updates.set(mark.issuer, { serial: mark.serial, digest, list: undefined })
    }
    for (const [issuer, h] of updates) this.held.set(issuer, h)
  }
}

function staleError(list: RevocationList, at: number): AttestationError {
  return new AttestationError('STALE_REVOCATION_LIST', `revocation list '${list.issuer}' #${list.serial} expired at ${list.nextUpdate} (now ${at})`)
}
