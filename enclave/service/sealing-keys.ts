/**
 * Sealing keys, one per (chain, checkpoint window), and their erasure.
 *
 * A sealed record of a round must be readable until the checkpoint after the
 * round is anchored (a revocation until then re-aggregates it) and never after:
 * erasing the window's key is what makes the records of that window unreadable
 * for good, wherever the host kept copies (crypto-shredding). A key derived
 * straight from a retained master secret could always be derived again, so the
 * keys come from one-way ratchets instead:
 *
 *   master M (32 random bytes at construction)
 *   chain root:   S_c,1 = HKDF(M, "chain" ‖ c);  then M ← HKDF(M, "advance")
 *   next window:  S_c,w+1 = HKDF(S_c,w, "next" ‖ c ‖ w)
 *   window key:   K_c,w = HKDF(S_c,w, "seal" ‖ c ‖ w)    (AES-256-GCM key)
 *
 * Only M and, per chain, the state S_c,w of its first live window are kept.
 * Anchoring checkpoint seq replaces S_c,w by S_c,seq+1 and zeroes the old one;
 * HKDF is one-way, so nothing kept derives K_c,w for w ≤ seq any more. A chain
 * root is derived once, after which M moves on, so M cannot derive it again
 * either. Zeroing is best-effort in JavaScript (see enclave/updates/keys.ts).
 */
import { hkdfSync, randomBytes } from 'node:crypto'
import { EnclaveServiceError } from './errors.ts'

const SALT = new TextEncoder().encode('fedledger/enclave-sealing/v1')
/** A request may name a window at most this far past the chain's first live one (bounds the ratchet work). */
export const MAX_WINDOWS_AHEAD = 65_536

function kdf(key: Uint8Array, ...info: Array<string | number>): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', key, SALT, new TextEncoder().encode(info.join('\0')), 32))
}

interface ChainRatchet {
  /** the first window whose key can still be derived */
  window: number
  state: Uint8Array
}

export class SealingKeys {
  private master: Uint8Array
  private readonly chains = new Map<string, ChainRatchet>()

  /** `master` only for tests; by default 32 bytes from the OS CSPRNG. */
  constructor(master?: Uint8Array) {
    this.master = master === undefined ? new Uint8Array(randomBytes(32)) : master.slice()
  }

  /** The AES-256-GCM key of (chain, window ≥ 1). Throws WINDOW_ERASED for an erased window. */
  windowKey(chain: string, window: number): Uint8Array {
    if (!Number.isSafeInteger(window) || window < 1) throw new EnclaveServiceError('BAD_REQUEST', `window must be an integer ≥ 1, got ${window}`)
    const r = this.ratchet(chain)
    if (window < r.window) throw new EnclaveServiceError('WINDOW_ERASED', `the sealing key of window ${window} on '${chain}' was erased when checkpoint ${r.window - 1} was anchored`)
    if (window - r.window > MAX_WINDOWS_AHEAD) throw new EnclaveServiceError('BAD_REQUEST', `window ${window} is more than ${MAX_WINDOWS_AHEAD} past the first live window ${r.window}`)
    let state = r.state
    for (let w = r.window; w < window; w++) {
      const next = kdf(state, 'next', chain, w)
      if (state !== r.state) state.fill(0)
      state = next
    }
    const key = kdf(state, 'seal', chain, window)
    if (state !== r.state) state.fill(0)
    return key
  }

  /** Erases the keys of every window ≤ seq on `chain`; returns the highest erased window. */
  eraseThrough(chain: string, seq: number): number {
    if (!Number.isSafeInteger(seq) || seq < 0) throw new EnclaveServiceError('BAD_REQUEST', `seq must be an integer ≥ 0, got ${seq}`)
    const r = this.ratchet(chain)
    if (seq + 1 - r.window > MAX_WINDOWS_AHEAD) throw new EnclaveServiceError('BAD_REQUEST', `checkpoint ${seq} is more than ${MAX_WINDOWS_AHEAD} past the first live window ${r.window}`)
    while (r.window <= seq) {
      const next = kdf(r.state, 'next', chain, r.window)
      r.state.fill(0)
      r.state = next
      r.window++
    }
    return r.window - 1
  }

  /** The highest erased window on `chain` (0: none). */
  erasedThrough(chain: string): number {
    return (this.chains.get(chain)?.window ?? 1) - 1
  }

  private ratchet(chain: string): ChainRatchet {
    let r = this.chains.get(chain)
    if (r === undefined) {
      r = { window: 1, state: kdf(this.master, 'chain', chain) }
      const next = kdf(this.master, 'advance')
      this.master.fill(0)
      this.master = next
      this.chains.set(chain, r)
    }
    return r
  }
}
