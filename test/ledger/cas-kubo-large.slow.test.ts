/**
 * Kubo's published CIDs for 256 MiB – 1 GiB inputs (a few seconds each, hashing
 * only: nothing is kept). Slow tier. Same sources and inputs as
 * cas-kubo-vectors.test.ts:
 *   [add]      ipfs/kubo test/cli/add_test.go (TestAdd)
 *   [profiles] ipfs/kubo test/cli/cid_profiles_test.go (IPIP-499 profiles)
 */
import { describe, expect, it } from 'vitest'
import { addFile, type AddOptions } from '../../ledger/cas/index.ts'
import { deterministicStream, kuboSize } from '../fixtures/cas/deterministic.ts'
import { hashOnlyBlockstore } from '../fixtures/cas/stores.ts'

const V0: AddOptions = { profile: 'unixfs-v0-2015' }
const V1: AddOptions = { profile: 'unixfs-v1-2025' }
// Kubo's test-cid-v1-wide profile: CIDv1, raw leaves, 1 MiB chunks, 1024 links (same file shape as unixfs-v1-2025)
const TEST_CID_V1_WIDE: AddOptions = { profile: 'unixfs-v0-2015', cidVersion: 1, rawLeaves: true, chunkSize: 1024 * 1024, maxLinksPerNode: 1024 }

describe('GiB-scale Kubo vectors', () => {
  it.each([
    // [profiles] unixfs-v1-2025 FileAtMaxLinksCID / FileOverMaxLinksCID
    ['1024MiB', 'v1-2025-seed', 'unixfs-v1-2025, at max links', V1, 'bafybeihmf37wcuvtx4hpu7he5zl5qaf2ineo2lqlfrapokkm5zzw7zyhvm'],
    ['1025MiB', 'v1-2025-seed', 'unixfs-v1-2025, over max links', V1, 'bafybeihmzokxxjqwxjcryerhp5ezpcog2wcawfryb2xm64xiakgm4a5jue'],
    // [add] test-cid-v1-wide
    ['1024MiB', 'v1-seed-1024', 'test-cid-v1-wide, at max links', TEST_CID_V1_WIDE, 'bafybeiej5w63ir64oxgkr5htqmlerh5k2rqflurn2howimexrlkae64xru'],
    ['1025MiB', 'v1-seed-1024', 'test-cid-v1-wide, over max links', TEST_CID_V1_WIDE, 'bafybeieilp2qx24pe76hxrxe6bpef5meuxto3kj5dd6mhb5kplfeglskdm'],
    // [add] legacy-cid-v0 with --max-file-links 1024: 1024 × 256 KiB in one layer
    ['262144KiB', 'hello world', 'legacy-cid-v0, --max-file-links 1024', { ...V0, maxLinksPerNode: 1024 }, 'QmbBftNHWmjSWKLC49dMVrfnY8pjrJYntiAXirFJ7oJrNk'],
  ] as const)('%s seed %j (%s)', async (size, seed, _label, options, expected) => {
    const cid = await addFile(hashOnlyBlockstore(), deterministicStream(kuboSize(size), seed), options)
    expect(cid.toString()).toBe(expected)
  }, 120_000)
})
