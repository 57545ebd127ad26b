/**
 * Signed ledger transactions for a testnet: the two governors re-affirm a bank's
 * privacy-budget cap (budget.grant, sent by gov-1 with gov-2's approval). The
 * transaction is real governance — signed, checked, executed, persisted — and
 * leaves the state as it was, so a testnet can be kept busy for as long as
 * wanted. `testnet up` sends one to get the first block committed; `npm start`
 * and the benchmarks send a steady stream.
 */
import { join } from 'node:path'
import { approveTx, encodeTx, makeTx, signTx } from '../ledger/index.ts'
import { readGenesis } from '../node/index.ts'
import { readKeyFile } from '../node/index.ts'
import { readTestnetFile, type TestnetFile } from './layout.ts'
import { TestnetError } from './errors.ts'

export interface GrantLoad {
  file: TestnetFile
  /** the next transaction (nonces count up from `firstNonce`) */
  next(): Uint8Array
}

/**
 * Budget re-affirmations sent by `sender` (a governor), nonces counting up from
 * `firstNonce`; co-signed by another governor when the chain's governance
 * threshold is 2 (a chain with load senders has threshold 1).
 */
export async function grantLoad(dir: string, firstNonce = 0, sender = 'gov-1'): Promise<GrantLoad> {
  const file = await readTestnetFile(dir)
  if (file.app !== 'ledger') throw new TestnetError('SCENARIO', `testnet in ${dir} runs the ${file.app} app: it has no ledger to send transactions to`)
  const key = (id: string) => {
    const m = file.members.find((x) => x.id === id)
    if (m === undefined) throw new TestnetError('SCENARIO', `testnet in ${dir} has no member '${id}'`)
    return readKeyFile(join(dir, m.key))
  }
  const genesis = await readGenesis(dir) // DIR/genesis.json, as every validator home holds it
  if (genesis.governanceThreshold > 2) throw new TestnetError('SCENARIO', `testnet in ${dir} needs ${genesis.governanceThreshold} governors per grant; the load sends at most 2`)
  const cosigner = sender === 'gov-2' ? 'gov-1' : 'gov-2'
  const [own, co] = await Promise.all([key(sender), genesis.governanceThreshold === 2 ? key(cosigner) : undefined])
  const budget = genesis.budgets?.[0]
  if (budget === undefined) throw new TestnetError('SCENARIO', `testnet in ${dir} grants no budget at genesis`)
  let nonce = firstNonce
  return {
    file,
    next() {
      const tx = makeTx(file.chainId, 'budget.grant', sender, nonce++, { member: budget.member, epsilon: budget.epsilon, delta: budget.delta })
      const signed = signTx(tx, own.secretKey)
      return encodeTx(co === undefined ? signed : { ...signed, approvals: [approveTx(tx, cosigner, co.secretKey)] })
    },
  }
}

/** POST <api>/v1/txs with raw DAG-CBOR; resolves to the tx id, or throws with the node's error. */
export async function submitTx(api: string, bytes: Uint8Array, signal?: AbortSignal): Promise<string> {
  const res = await fetch(new URL('/v1/txs', api), { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: bytes, signal })
  const body = (await res.json()) as { id?: string; error?: { code: string; message: string } }
  if (!res.ok || body.id === undefined) throw new TestnetError('API', `POST ${api}/v1/txs: ${res.status} ${body.error?.code ?? ''} ${body.error?.message ?? ''}`)
  return body.id
}
