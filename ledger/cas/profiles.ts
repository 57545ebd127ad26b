/**
 * The parameters that decide a UnixFS CID, and the named profiles of IPIP-499
 * (https://specs.ipfs.tech/ipips/ipip-0499/) as Kubo defines them
 * (`ipfs init --profile=…`, pinned by kubo/test/cli/cid_profiles_test.go):
 *
 *   |                          | unixfs-v0-2015 | unixfs-v1-2025 |
 *   |--------------------------|----------------|----------------|
 *   | CID version              | 0              | 1              |
 *   | hash                     | sha2-256       | sha2-256       |
 *   | raw leaves               | no             | yes            |
 *   | chunker                  | size-262144    | size-1048576   |
 *   | max links per file node  | 174            | 1024           |
 *   | DAG layout               | balanced       | balanced       |
 *   | HAMT threshold           | 256 KiB        | 256 KiB        |
 *   | HAMT size estimation     | links (name+CID bytes) | block (serialized dag-pb size) |
 *   | HAMT fanout              | 256            | 256            |
 *
 * Every parameter is spelled out here rather than left to the importer's
 * defaults, which have changed between releases; a changed default would
 * silently change every CID.
 */
import { LedgerError } from '../errors.ts'

export type CidProfileName = 'unixfs-v0-2015' | 'unixfs-v1-2025'
export type DagLayout = 'balanced' | 'trickle'
/** How a directory's size is estimated when deciding whether to shard it into a HAMT. */
export type ShardSizeEstimation = 'links-bytes' | 'block-bytes'

/** Everything that decides a UnixFS CID. Hash function: always sha2-256. */
export interface UnixFsParams {
  readonly cidVersion: 0 | 1
  readonly rawLeaves: boolean
  /** fixed-size chunker, bytes */
  readonly chunkSize: number
  /** max links per file node (balanced and trickle) */
  readonly maxLinksPerNode: number
  readonly layout: DagLayout
  /** trickle only: how many times each layer repeats (Kubo: 4) */
  readonly trickleLayerRepeat: number
  /** a directory whose estimated size is strictly greater becomes a HAMT */
  readonly hamtThresholdBytes: number
  readonly hamtSizeEstimation: ShardSizeEstimation
  /** log2 of the HAMT fanout (8 → 256) */
  readonly hamtFanoutBits: number
}

const MIB = 1024 * 1024
/**
 * Our cap (the unixfs-v1-2025 chunk size), not a Kubo-published one: it keeps every
 * leaf well under the 2 MiB block size IPFS peers exchange over bitswap.
 */
export const MAX_CHUNK_SIZE = MIB
/** Our cap on links per file node (a dag-pb node of 8192 CIDv1 links is about 400 KB). */
export const MAX_LINKS_PER_NODE = 8192

export const UNIXFS_V0_2015: UnixFsParams = Object.freeze({
  cidVersion: 0,
  rawLeaves: false,
  chunkSize: 256 * 1024,
  maxLinksPerNode: 174,
  layout: 'balanced',
  trickleLayerRepeat: 4,
  hamtThresholdBytes: 256 * 1024,
  hamtSizeEstimation: 'links-bytes',
  hamtFanoutBits: 8,
})

export const UNIXFS_V1_2025: UnixFsParams = Object.freeze({
  cidVersion: 1,
  rawLeaves: true,
  chunkSize: MIB,
  maxLinksPerNode: 1024,
  layout: 'balanced',
  trickleLayerRepeat: 4,
  hamtThresholdBytes: 256 * 1024,
  hamtSizeEstimation: 'block-bytes',
  hamtFanoutBits: 8,
})

export const CID_PROFILES: Readonly<Record<CidProfileName, UnixFsParams>> = Object.freeze({
  'unixfs-v0-2015': UNIXFS_V0_2015,
  'unixfs-v1-2025': UNIXFS_V1_2025,
})

/** The profile used when none is named. */
export const DEFAULT_CID_PROFILE: CidProfileName = 'unixfs-v1-2025'

/**
 * THE options of checkpoint CIDs (docs/ARCHITECTURE.md §5, "One canonical encoding"): the UnixFS directory a
 * `checkpoint` transaction anchors is imported with exactly these, so every
 * validator, and `ipfs add -r --profile=unixfs-v1-2025` (Kubo ≥ 0.40), computes
 * the same root CID. Changing any field changes every checkpoint CID: it is a
 * consensus change. Written out in full on purpose (a test checks it equals the
 * unixfs-v1-2025 profile).
 */
export const CHECKPOINT_CID_OPTIONS: UnixFsParams = Object.freeze({
  cidVersion: 1,
  rawLeaves: true,
  chunkSize: 1_048_576,
  maxLinksPerNode: 1024,
  layout: 'balanced',
  trickleLayerRepeat: 4,
  hamtThresholdBytes: 262_144,
  hamtSizeEstimation: 'block-bytes',
  hamtFanoutBits: 8,
})

/** What a caller may choose: a profile, then any field overridden (like `ipfs add` flags over a config profile). */
export interface UnixFsOptions {
  profile?: CidProfileName
  cidVersion?: 0 | 1
  rawLeaves?: boolean
  chunkSize?: number
  maxLinksPerNode?: number
  layout?: DagLayout
}

export function isCidProfileName(name: string): name is CidProfileName {
  return Object.hasOwn(CID_PROFILES, name)
}

/** Profile, then overrides; validated (`BAD_ARGUMENT`). */
export function resolveUnixFsParams(options: UnixFsOptions = {}): UnixFsParams {
  const profileName = options.profile ?? DEFAULT_CID_PROFILE
  if (!isCidProfileName(profileName)) {
    throw new LedgerError('BAD_ARGUMENT', `unknown CID profile '${String(profileName)}' (expected ${Object.keys(CID_PROFILES).join(' or ')})`)
  }
  const base = CID_PROFILES[profileName]
  const params: UnixFsParams = {
    cidVersion: options.cidVersion ?? base.cidVersion,
    rawLeaves: options.rawLeaves ?? base.rawLeaves,
    chunkSize: options.chunkSize ?? base.chunkSize,
    maxLinksPerNode: options.maxLinksPerNode ?? base.maxLinksPerNode,
    layout: options.layout ?? base.layout,
    trickleLayerRepeat: base.trickleLayerRepeat,
    hamtThresholdBytes: base.hamtThresholdBytes,
    hamtSizeEstimation: base.hamtSizeEstimation,
    hamtFanoutBits: base.hamtFanoutBits,
  }
  return Object.freeze(checkUnixFsParams(params))
}

/** Throws `BAD_ARGUMENT` unless every parameter is usable; returns `p`. */
export function checkUnixFsParams(p: UnixFsParams): UnixFsParams {
  const bad = (message: string): never => {
    throw new LedgerError('BAD_ARGUMENT', message)
  }
  if (p.cidVersion !== 0 && p.cidVersion !== 1) bad(`CID version must be 0 or 1, got ${String(p.cidVersion)}`)
  if (typeof p.rawLeaves !== 'boolean') bad('rawLeaves must be a boolean')
  if (!Number.isInteger(p.chunkSize) || p.chunkSize < 1 || p.chunkSize > MAX_CHUNK_SIZE) {
    bad(`chunk size must be an integer from 1 to ${MAX_CHUNK_SIZE}, got ${p.chunkSize}`)
  }
  if (!Number.isInteger(p.maxLinksPerNode) || p.maxLinksPerNode < 2 || p.maxLinksPerNode > MAX_LINKS_PER_NODE) {
    bad(`max links per node must be an integer from 2 to ${MAX_LINKS_PER_NODE}, got ${p.maxLinksPerNode}`)
  }
  if (p.layout !== 'balanced' && p.layout !== 'trickle') bad(`layout must be 'balanced' or 'trickle', got '${String(p.layout)}'`)
  if (!Number.isInteger(p.trickleLayerRepeat) || p.trickleLayerRepeat < 1) bad(`trickle layer repeat must be a positive integer, got ${p.trickleLayerRepeat}`)
  if (!Number.isInteger(p.hamtThresholdBytes) || p.hamtThresholdBytes < 1) bad(`HAMT threshold must be a positive integer, got ${p.hamtThresholdBytes}`)
  if (p.hamtSizeEstimation !== 'links-bytes' && p.hamtSizeEstimation !== 'block-bytes') bad(`unknown HAMT size estimation '${String(p.hamtSizeEstimation)}'`)
  if (!Number.isInteger(p.hamtFanoutBits) || p.hamtFanoutBits < 1 || p.hamtFanoutBits > 10) bad(`HAMT fanout bits must be an integer from 1 to 10, got ${p.hamtFanoutBits}`)
  return p
}
