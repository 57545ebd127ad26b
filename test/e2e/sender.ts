/**
 * Submits the testnet's governance load (testnet/load.ts: signed budget re-grants
 * from gov-1, nonces counting up) to validators' APIs without ever skipping a
 * nonce: a transaction a validator refuses (down, rate-limited, partitioned) is
 * offered to the next target, the same bytes, until one takes it. One sender per
 * testnet keeps the nonces in order. A background `pump` sends at a fixed rate.
 */
import { grantLoad } from '../../testnet/index.ts'
import { txId } from '../../ledger/index.ts'
import { sleep } from './net.ts'

/** Refusals meaning the network already has this transaction. */
const KNOWN = new Set(['DUPLICATE', 'STALE_NONCE'])

async function post(api: string, bytes: Uint8Array): Promise<{ ok: boolean; detail: string }> {
  try {
    const res = await fetch(new URL('/v1/txs', api), { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: bytes, signal: AbortSignal.timeout(3_000) })
    const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } }
    if (res.ok) return { ok: true, detail: '' }
    const code = body.error?.code ?? ''
    return { ok: KNOWN.has(code), detail: `HTTP ${res.status} ${code} ${body.error?.message ?? ''}` }
  } catch (e) {
    return { ok: false, detail: (e as Error).message }
  }
}

export class TxSender {
  /** ids of every transaction handed to a validator, in nonce order */
  readonly ids: string[] = []
  readonly #next: () => Uint8Array
  /** a transaction no validator took: the next send offers it again, so a failed send never leaves a nonce gap behind for later tests */
  #unsent: Uint8Array | undefined
  #turn = 0

  private constructor(next: () => Uint8Array) {
    this.#next = next
  }

  /** The testnet runner used nonce 0 for its first block: start at 1. */
  static async open(dir: string, firstNonce = 1): Promise<TxSender> {
    const load = await grantLoad(dir, firstNonce)
    return new TxSender(() => load.next())
  }

  /** Sends the next transaction to one of `targets` (round robin), failing over to the others until `timeoutMs`. Returns its id. */
  async send(targets: readonly string[], timeoutMs = 15_000): Promise<string> {
    const bytes = this.#unsent ?? this.#next()
    this.#unsent = undefined
    const id = txId(bytes).toString()
    const deadline = Date.now() + timeoutMs
    const errors: string[] = []
    for (let attempt = 0; ; attempt++) {
      const api = targets[(this.#turn + attempt) % targets.length]!
      const r = await post(api, bytes)
      if (r.ok) break
      errors.push(`${api}: ${r.detail}`)
      if (Date.now() > deadline) {
        this.#unsent = bytes
        throw new Error(`no validator took transaction ${id}: ${errors.slice(-4).join('; ')}`)
      }
      if ((attempt + 1) % targets.length === 0) await sleep(200)
    }
    this.#turn++
    this.ids.push(id)
    return id
  }

  /** Sends `count` transactions, one every `everyMs`. */
  async sendMany(targets: readonly string[], count: number, everyMs: number): Promise<string[]> {
    const ids: string[] = []
    for (let k = 0; k < count; k++) {
      ids.push(await this.send(targets))
      await sleep(everyMs)
    }
    return ids
  }

  /** Sends one transaction every `everyMs` to whatever `targets()` returns until `stop()`; `stop` resolves with the ids sent. */
  pump(targets: () => readonly string[], everyMs: number): { stop(): Promise<string[]>; sent: string[] } {
    const sent: string[] = []
    let running = true
    let failure: unknown
    const loop = (async () => {
      while (running) {
        sent.push(await this.send(targets()))
        await sleep(everyMs)
      }
    })().catch((e: unknown) => {
      failure = e
      running = false
    })
    return {
      sent,
      async stop() {
        running = false
        await loop
        if (failure !== undefined) throw failure
        return sent
      },
    }
  }
}
