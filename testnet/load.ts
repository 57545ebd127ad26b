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
import { readGenesis } from '../node/config.ts'
import { readKeyFile, readTestnetFile, type TestnetFile } from './layout.ts'
import { TestnetError } from './errors.ts'

export interface GrantLoad {
  file: TestnetFile
  /** the next transaction (nonces count up from `firstNonce`) */
  next(): Uint8Array
}

export async function grantLoad(dir: string, firstNonce = 0): Promise<GrantLoad> {
  const file = await readTestnetFile(dir)
  if (file.app !== 'ledger') throw new TestnetError('SCENARIO', `testnet in ${dir} runs the ${file.app} app: it has no ledger to send transactions to`)
  const key = (id: string) => {
    const m = file.members.find((x) => x.id === id)
    if (m === undefined) throw new TestnetError('SCENARIO', `testnet in ${dir} has no member '${id}'`)
    return readKeyFile(join(dir, m.key))
  }
  const [gov1, gov2] = await Promise.all([key('gov-1'), key('gov-2')])
  const genesis = await readGenesis(dir) // DIR/genesis.json, as every validator home holds it
  const budget = genesis.budgets?.[0]
  if (budget === undefined) throw new TestnetError('SCENARIO', `testnet in ${dir} grants no budget at genesis`)
  let nonce = firstNonce
  return {
    file,
    next() {
      const tx = makeTx(file.chainId, 'budget.grant', 'gov-1', nonce++, { member: budget.member, epsilon: budget.epsilon, delta: budget.delta })
      return encodeTx({ ...signTx(tx, gov1.secretKey), approvals: [approveTx(tx, 'gov-2', gov2.secretKey)] })
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
