/**
 * Content by CID over libp2p: a provider serves the DAG under a root CID as one
 * CAR v1 (request: DAG-CBOR { root }); a fetcher imports it into its own store,
 * where every block is checked against its CID (ledger/cas importCar), and takes
 * it only once every block of the DAG under the root is there, so a provider can
 * refuse or fail but never make the fetcher accept other bytes or part of a DAG.
 * Models are UnixFS files (ledger addModel); checkpoints are UnixFS directories.
 *
 * This is the federation's small stand-in for bitswap: one request per DAG,
 * bounded by the libp2p message limit (4 MiB by default, a model of ~10^6
 * float32 values), providers tried in order.
 */
import { z } from 'zod'
import { catFileBytes, exportCarBytes, importCar, leBytesToFloat32, linksOf, statFile, type CasBlockstore } from '../../ledger/index.ts'
import { CID, decode, encode } from '../../primitives/index.ts'
import type { P2PHost } from '../p2p/index.ts'
import { FederationError } from './errors.ts'

export function contentProtocol(chainId: string): string {
  return `/fedledger/${chainId}/content/car/1`
}

const Request = z.strictObject({ root: z.custom<CID>((v) => CID.asCID(v) !== null, 'expected a CID') })

/** Serves CARs of what `store` holds; returns the unsubscribe function. */
export function serveContent(host: P2PHost, chainId: string, store: CasBlockstore): () => void {
  return host.handle(contentProtocol(chainId), async (_from, data, signal) => {
    const parsed = Request.safeParse(decode(data, 1024))
    if (!parsed.success) throw new FederationError('REFUSED_REQUEST', 'a content request is DAG-CBOR { root: CID }')
    if (!(await store.has(parsed.data.root))) throw new FederationError('CONTENT', `not held here: ${parsed.data.root}`)
    return exportCarBytes(store, parsed.data.root, { signal })
  })
}

export interface FetchOptions {
  /** refuse a file larger than this (bytes) */
  maxBytes: number
  signal?: AbortSignal
  timeoutMs?: number
}

/** Makes sure the DAG under `root` is in `store`, asking `providers` (peer ids) in order. Returns who had it (or 'local'). */
export async function fetchContent(host: P2PHost, chainId: string, providers: readonly string[], root: CID, store: CasBlockstore, opts: FetchOptions): Promise<string> {
  if (await holdsDag(store, root, opts.signal)) return 'local'
  const errors: string[] = []
  for (const peer of providers) {
    try {
      const car = await host.request(peer, contentProtocol(chainId), encode({ root }), { signal: opts.signal, timeoutMs: opts.timeoutMs ?? 20_000 })
      const imported = await importCar(store, car, { signal: opts.signal })
      if (imported.roots.length !== 1 || !imported.roots[0]!.equals(root)) throw new FederationError('CONTENT', `provider sent a CAR rooted at ${imported.roots.join(', ')}, not ${root}`)
      if (!(await holdsDag(store, root, opts.signal))) throw new FederationError('CONTENT', `provider sent only part of the DAG under ${root}`)
      return peer
    } catch (e) {
      if (opts.signal?.aborted) throw e
      errors.push(`${peer.slice(-8)}: ${(e as Error).message}`)
    }
  }
  throw new FederationError('CONTENT', `no provider served ${root}${errors.length > 0 ? ` (${errors.join('; ')})` : ' (no providers)'}`)
}

const RAW_CODEC = 0x55

/**
 * Whether every block of the DAG under `root` is in `store` (raw leaves by presence,
 * inner nodes read for their links): a root block alone, left by a provider that sent
 * part of a DAG, must not pass for the whole of it.
 */
async function holdsDag(store: CasBlockstore, root: CID, signal?: AbortSignal): Promise<boolean> {
  const seen = new Set<string>()
  const stack = [root]
  while (stack.length > 0) {
    const cid = stack.pop()!
    const key = cid.toString()
    if (seen.has(key)) continue
    seen.add(key)
    if (!(await store.has(cid, { signal }))) return false
    if (cid.code !== RAW_CODEC) stack.push(...linksOf(cid, await store.getBytes(cid, { signal })))
  }
  return true
}

/** A model (float32-le UnixFS file) by CID: fetched if needed, size-checked, decoded. */
export async function fetchModel(host: P2PHost, chainId: string, providers: readonly string[], cid: CID, store: CasBlockstore, opts: FetchOptions): Promise<Float32Array> {
  await fetchContent(host, chainId, providers, cid, store, opts)
  return readModel(store, cid, opts.maxBytes)
}

/** A model file from the local store; CONTENT when missing, oversized or not float32. */
export async function readModel(store: CasBlockstore, cid: CID, maxBytes: number): Promise<Float32Array> {
  let size: bigint
  try {
    size = (await statFile(store, cid)).size
  } catch (e) {
    throw new FederationError('CONTENT', `model ${cid} is not readable here: ${(e as Error).message}`, { cause: e })
  }
  if (size > BigInt(maxBytes)) throw new FederationError('CONTENT', `model ${cid} is ${size} bytes, more than the ${maxBytes} allowed`)
  try {
    return leBytesToFloat32(await catFileBytes(store, cid))
  } catch (e) {
    throw new FederationError('CONTENT', `model ${cid}: ${(e as Error).message}`, { cause: e })
  }
}
