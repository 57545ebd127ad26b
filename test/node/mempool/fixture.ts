/**
 * Mempool test fixture: a real genesis ledger (test/ledger/harness.ts) whose extra
 * members are governors under a governance threshold of 1, so that each can send
 * `budget.grant` to itself at any nonce and the ledger accepts it: a transaction
 * that always succeeds, which lets tests execute what the mempool hands out. The
 * clock is a plain counter the test moves.
 */
import { commandKey } from '../../../consensus/index.ts'
import { decodeTx, encodeTx, executeBlock, makeTx, signTx, type Receipt } from '../../../ledger/index.ts'
import { mempoolStateFrom, TxMempool, type TxMempoolOptions } from '../../../node/mempool/index.ts'
import { CHAIN, defaultGenesis, keysFor, TestChain, testVerifier } from '../../ledger/harness.ts'

export const SENDERS = ['s0', 's1', 's2', 's3']

// keysFor derives a key pair per call; signing thousands of transactions wants them once.
const secretKeys = new Map<string, Uint8Array>()
function cachedKey(id: string): Uint8Array {
  let k = secretKeys.get(id)
  if (k === undefined) secretKeys.set(id, (k = keysFor(id).secretKey))
  return k
}

export class Fixture {
  readonly chain: TestChain
  readonly clock = { t: 1_000_000 }
  pool: TxMempool

  constructor(opts: TxMempoolOptions = {}, senders: readonly string[] = SENDERS) {
    const g = defaultGenesis()
    g.members = [...g.members, ...senders.map((id) => ({ id, org: `${id} org`, roles: ['governor' as const], publicKey: keysFor(id).publicKey }))]
    this.chain = new TestChain(g)
    this.pool = this.newPool(opts)
  }

  /** A fresh pool over the chain's current committed state. */
  newPool(opts: TxMempoolOptions = {}): TxMempool {
    return new TxMempool({ state: mempoolStateFrom(this.chain.state), now: () => this.clock.t }, opts)
  }

  /** A transaction the ledger accepts whenever `nonce` is the sender's next: the sender grants itself a budget (`epsilon` varies the bytes). */
  grant(sender: string, nonce: number, opts: { epsilon?: number; chain?: string; key?: string } = {}): Uint8Array {
    const tx = makeTx(opts.chain ?? CHAIN, 'budget.grant', sender, nonce, { member: sender, epsilon: opts.epsilon ?? 1 + nonce, delta: 1e-5 })
    return encodeTx(signTx(tx, cachedKey(opts.key ?? sender)))
  }

  /** Adds and expects admission; returns the id. */
  admit(bytes: Uint8Array, from: 'local' | 'peer' = 'peer'): string {
    const r = this.pool.add(bytes, { from })
    if (!r.ok) throw new Error(`expected admission, got ${r.error.code}: ${r.error.message}`)
    return r.id
  }

  /** Executes `txs` as the next block on the real ledger and tells the pool; returns the receipts. */
  commit(txs: Uint8Array[]): Receipt[] {
    const receipts = this.chain.exec(...txs)
    this.pool.onCommit(txs, mempoolStateFrom(this.chain.state))
    return receipts
  }
}

/** What the ledger says of `txs` as the next block, without committing it. */
export function ledgerCodes(fx: Fixture, txs: Uint8Array[]): string[] {
  const { state } = fx.chain
  return executeBlock(state, { height: state.height + 1, timeSec: fx.chain.time + 5, txs }, { attestation: testVerifier }).receipts.map((r) => r.code)
}

/** "sender:nonce" of each encoded transaction, for order assertions. */
export function label(txs: readonly Uint8Array[]): string[] {
  return txs.map((b) => {
    const { tx } = decodeTx(b).signed
    return `${tx.sender}:${tx.nonce}`
  })
}

export function keysOf(txs: readonly Uint8Array[]): Set<string> {
  return new Set(txs.map((t) => commandKey(t)))
}
