/**
 * A small in-memory chain for tests: deterministic keys for a consortium
 * (governors, a coordinator, participants, an auditor, an enclave), signing with
 * automatic nonces, and one block per `exec` call.
 *
 * The attestation format `test-v1` is a test double: unsigned evidence listing
 * platform, measurement and bound keys. Real formats live in enclave/.
 */
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import { sha256 as sha256Hasher } from 'multiformats/hashes/sha2'
import {
  AttestationVerifierRegistry,
  encodeTx,
  evidenceNonce,
  executeBlock,
  genesisState,
  LedgerError,
  signTx,
  approveTx,
  type BlockOutcome,
  type Genesis,
  type LedgerState,
  type Receipt,
  type SignedTx,
  type TxBody,
  type TxType,
  type VerifiedEvidence,
} from '../../ledger/index.ts'
import {
  decode,
  DomainTag,
  encode,
  keyPairFromSeed,
  sha256,
  signPayload,
  type Ed25519KeyPair,
} from '../../primitives/index.ts'

export const CHAIN = 'test-chain'
export const MEASUREMENT = sha256(new TextEncoder().encode('enclave bundle v1'))
export const MEASUREMENT_HEX = Buffer.from(MEASUREMENT).toString('hex')

export function keysFor(name: string): Ed25519KeyPair {
  return keyPairFromSeed(sha256(new TextEncoder().encode(`fedledger test key ${name}`)))
}

export interface TestEvidence {
  platform: string
  measurement: Uint8Array
  keys: Uint8Array[]
  debug: boolean
  nonce: Uint8Array
  /** the trust anchor it claims; the verifier checks it is in the chain's policy */
  anchor: Uint8Array
  /** unix seconds; the verifier applies the policy's maximum age */
  timestamp: number
}

export const TEST_ANCHOR = keysFor('test-attestation-root').publicKey
/** TestChain's clock starts here and moves 5 s per block. */
export const GENESIS_TIME = 1_700_000_000

let defaultHash: Uint8Array | undefined
/** The hash of defaultGenesis() (round-key evidence binds the genesis; pass `genesis` for another chain). */
export function defaultGenesisHash(): Uint8Array {
  defaultHash ??= genesisState(defaultGenesis()).root
  return defaultHash
}

/** Evidence made for one purpose (the nonce binds it), with overridable facts. */
export function testEvidence(e: Partial<TestEvidence> & { keys: Uint8Array[]; for: ['enclave.register' | 'enclave.round-key', string]; genesis?: Uint8Array }): { format: string; evidence: Uint8Array } {
  const body: TestEvidence = {
    platform: e.platform ?? 'sim',
    measurement: e.measurement ?? MEASUREMENT,
    keys: e.keys,
    debug: e.debug ?? false,
    nonce: e.nonce ?? (e.for[0] === 'enclave.register' ? evidenceNonce(CHAIN, e.for[0], e.for[1]) : evidenceNonce(CHAIN, e.for[0], e.for[1], e.genesis ?? defaultGenesisHash())),
    anchor: e.anchor ?? TEST_ANCHOR,
    timestamp: e.timestamp ?? GENESIS_TIME,
  }
  return { format: 'test-v1', evidence: encode(body) }
}

export const testVerifier = new AttestationVerifierRegistry().register('test-v1', {
  supports: (format) => format === 'test-v1',
  verify(format, evidence, policy): VerifiedEvidence {
    let ev: TestEvidence
    try {
      ev = decode<TestEvidence>(evidence)
    } catch {
      throw new LedgerError('ATTESTATION_REJECTED', 'unreadable test evidence')
    }
    if (!policy.trustAnchors.some((a) => Buffer.compare(a, ev.anchor) === 0)) throw new LedgerError('ATTESTATION_REJECTED', 'test evidence from an untrusted anchor')
    if (policy.at - ev.timestamp > policy.maxAgeSeconds) throw new LedgerError('ATTESTATION_REJECTED', 'test evidence too old')
    return { format, platform: ev.platform, measurement: ev.measurement, debug: ev.debug, boundKeys: ev.keys, nonce: ev.nonce }
  },
})

/** A raw-codec CID of `text`: a stand-in for model and ciphertext CIDs, which the ledger only records. */
export function modelCid(text: string): CID {
  return CID.createV1(raw.code, Digest.create(sha256Hasher.code, sha256(new TextEncoder().encode(text))))
}

export const PARTICIPANTS = ['bank-a', 'bank-b', 'bank-c', 'bank-d', 'bank-e', 'bank-f']

export function defaultGenesis(overrides: Partial<Genesis> = {}): Genesis {
  const member = (id: string, roles: Array<'participant' | 'coordinator' | 'auditor' | 'governor'>) => ({ id, org: `${id} org`, roles, publicKey: keysFor(id).publicKey })
  return {
    chainId: CHAIN,
    epochLength: 10,
    governanceThreshold: 1,
    revocationAuthorities: { 'attestation-service': keysFor('attestation-service').publicKey },
    attestation: { formats: ['test-v1'], trustAnchors: { 'test-v1': [TEST_ANCHOR] }, measurements: [MEASUREMENT_HEX] },
    validators: [0, 1, 2, 3].map((i) => ({ id: `val-${i}`, publicKey: keysFor(`val-${i}`).publicKey, power: 1 })),
    members: [member('gov-1', ['governor']), member('gov-2', ['governor']), member('coord', ['coordinator']), member('auditor', ['auditor']), ...PARTICIPANTS.map((p) => member(p, ['participant']))],
    enclaves: [{ id: 'enclave-1', platform: 'sim', measurement: MEASUREMENT, publicKey: keysFor('enclave-1').publicKey }],
    budgets: PARTICIPANTS.map((p) => ({ member: p, epsilon: 8, delta: 1e-5 })),
    ...overrides,
  }
}

export class TestChain {
  state: LedgerState
  time = GENESIS_TIME
  private readonly nonces = new Map<string, number>()
  last: BlockOutcome | undefined

  constructor(genesis: Genesis = defaultGenesis()) {
    this.state = genesisState(genesis)
  }

  /** Signs a transaction from `sender` with its next nonce (or an explicit one). */
  tx<T extends TxType>(sender: string, type: T, body: TxBody<T>, opts: { nonce?: number; approvers?: string[]; chain?: string; key?: string } = {}): Uint8Array {
    const nonce = opts.nonce ?? this.nonces.get(sender) ?? 0
    if (opts.nonce === undefined) this.nonces.set(sender, nonce + 1)
    const tx = { chain: opts.chain ?? CHAIN, type, sender, nonce, body }
    const signed: SignedTx<T> = signTx(tx, keysFor(opts.key ?? sender).secretKey)
    if (opts.approvers) signed.approvals = opts.approvers.map((a) => approveTx(tx, a, keysFor(a).secretKey))
    return encodeTx(signed)
  }

  /** Executes one block holding `txs`; resets the auto-nonce of senders whose transaction failed. */
  exec(...txs: Uint8Array[]): Receipt[] {
    this.time += 5
    this.last = executeBlock(this.state, { height: this.state.height + 1, timeSec: this.time, txs }, { attestation: testVerifier })
    this.state = this.last.state
    this.resyncNonces()
    return this.last.receipts
  }

  /** Runs empty blocks until the chain reaches `height`. */
  advanceTo(height: number): void {
    while (this.state.height < height) this.exec()
  }

  get<T>(key: string): T | undefined {
    return this.state.get<T>(key)
  }

  private resyncNonces(): void {
    for (const sender of this.nonces.keys()) this.nonces.set(sender, this.state.get<number>(`nonce/${sender}`) ?? 0)
  }

  statement(round: string, member: string, norm = 1): { statement: TxBody<'round.commit'>['statement']; statementSig: Uint8Array } {
    const statement = { chain: CHAIN, round, member, plaintextHash: sha256(new TextEncoder().encode(`${round}/${member}`)), declaredNorm: norm }
    return { statement, statementSig: signPayload(keysFor(member).secretKey, DomainTag.UPDATE_STATEMENT, statement) }
  }
}

export function codes(receipts: Receipt[]): string[] {
  return receipts.map((r) => r.code)
}
