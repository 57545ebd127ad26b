/**
 * What an enclave process of a local testnet runs with, read from the testnet
 * folder (testnet/layout.ts): the enclave's registered key from
 * DIR/enclaves/<id>.json, its platform and measurement from testnet.json, and a
 * sim-v1 attester — the simulated platform's key (DIR/authorities/<platform>.json)
 * with a platform certificate signed on the spot by the testnet root
 * (DIR/authorities/testnet-root.json). On real hardware the TEE provides both.
 * The chain it serves: DIR/genesis.json (or another genesis file), pinned by the
 * hash given, or by the file's own hash on a testnet, whose folder is trusted whole.
 */
import { join } from 'node:path'
import { certifyPlatform } from '../enclave/index.ts'
import { simAttester, type EnclaveServiceOptions } from '../enclave/service/index.ts'
import { genesisState } from '../ledger/index.ts'
import { readGenesis, readGenesisFile, readKeyFile } from '../node/index.ts'
import { bytesEqual, fromHex, keyPairFromSeed } from '../primitives/index.ts'
import { ATTESTATION_ROOT } from './consortium.ts'
import { TestnetError } from './errors.ts'
import { readTestnetFile } from './layout.ts'

/** How long the platform certificate made at start-up is valid (the testnet root could always make another). */
export const PLATFORM_CERT_VALIDITY_SECONDS = 365 * 24 * 3600

export interface TestnetEnclaveInput {
  /** the testnet folder */
  dir: string
  /** the enclave id, as in testnet.json */
  enclave: string
  /** unix seconds, for the certificate's expiry */
  now: number
  /** the genesis file of the chain the enclave serves (default DIR/genesis.json) */
  genesis?: string
  /** the genesis hash to pin (default: the genesis file's own) */
  genesisHash?: Uint8Array
}

export async function loadTestnetEnclave(input: TestnetEnclaveInput): Promise<Pick<EnclaveServiceOptions, 'identity' | 'attest' | 'ledger'>> {
  const file = await readTestnetFile(input.dir)
  const entry = file.enclaves.find((e) => e.id === input.enclave)
  if (entry === undefined) throw new TestnetError('INVALID_ARGUMENT', `no enclave '${input.enclave}' in ${input.dir}: it has ${file.enclaves.map((e) => e.id).join(', ') || 'none'}`)
  const authority = (id: string) => {
    const a = file.authorities.find((x) => x.id === id)
    if (a === undefined) throw new TestnetError('MALFORMED', `testnet.json names no authority '${id}'`)
    return readKeyFile(join(input.dir, a.key))
  }
  const [key, root, platform] = await Promise.all([readKeyFile(join(input.dir, entry.key)), authority(ATTESTATION_ROOT), authority(entry.platform)])
  if (!bytesEqual(keyPairFromSeed(key.secretKey).publicKey, key.publicKey)) throw new TestnetError('MALFORMED', `${entry.key}: the public key is not the secret key's`)
  const measurement = fromHex(entry.measurement)
  const cert = certifyPlatform(root.secretKey, entry.platform, platform.publicKey, input.now + PLATFORM_CERT_VALIDITY_SECONDS)
  const genesis = input.genesis === undefined ? await readGenesis(input.dir) : await readGenesisFile(input.genesis)
  return {
    ledger: { genesis, genesisHash: input.genesisHash ?? genesisState(genesis).root },
    identity: { enclaveId: entry.id, platform: entry.platform, measurement, secretKey: key.secretKey },
    attest: simAttester(cert, platform.secretKey, entry.platform, measurement),
  }
}
