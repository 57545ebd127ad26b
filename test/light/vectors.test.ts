// Fixed vectors for commit certificates: the exact bytes a validator signs for a header,
// and a certificate's encoding, pinned so that a change to either is deliberate (every
// certificate already issued would stop verifying). The signature is also checked with
// @noble/curves, an ed25519 implementation independent of the node:crypto one we sign with.
import { ed25519 } from '@noble/curves/ed25519.js'
import { describe, expect, it } from 'vitest'
import { checkCertificate, commitMessage, decodeCertificate, ed25519Scheme, ed25519Signer, type CommitCertificate, type CommitHeader } from '../../consensus/index.ts'
import { cidOfBytes, encode, fromHex, keyPairFromSeed, sha256, toHex } from '../../primitives/index.ts'

const keys = [1, 2, 3, 4].map((i) => keyPairFromSeed(new Uint8Array(32).fill(i)))
const header: CommitHeader = {
  chain: 'fedledger-vectors',
  genesis: new Uint8Array(32).fill(0x11),
  epoch: 2,
  height: 1234,
  block: new Uint8Array(32).fill(0x22),
  ledgerBlock: cidOfBytes(encode({ vector: 1 })),
  stateRoot: new Uint8Array(32).fill(0x33),
}

// "fedledger/consensus/commit/v1" ‖ 0x00 ‖ DAG-CBOR(header): map keys by length, then bytewise
const SIGNING_BYTES =
  '6665646c65646765722f636f6e73656e7375732f636f6d6d69742f763100' +
  'a7' +
  '65626c6f636b' + '5820' + '22'.repeat(32) +
  '65636861696e' + '71' + '6665646c65646765722d766563746f7273' +
  '6565706f6368' + '02' +
  '666865696768' + '74' + '1904d2' +
  '6767656e65736973' + '5820' + '11'.repeat(32) +
  '697374617465526f6f74' + '5820' + '33'.repeat(32) +
  '6b6c6564676572426c6f636b' + 'd82a582500017112' + '20ef0178cce8e6ab57f13bb191744fa4133ab4fa530ea2df1b7015123f5fcce226'

describe('commit certificate vectors', () => {
  it('a header signs as the pinned bytes', () => {
    expect(header.ledgerBlock!.toString()).toBe('bafyreihpaf4mz2hgvnl7co5rsf2e7jathk2puuyoulprw4avci7v7thcey')
    expect(toHex(commitMessage(header))).toBe(SIGNING_BYTES)
  })

  it('a certificate of validators 0, 2 and 3 encodes as pinned, and its signatures verify under an independent ed25519', () => {
    const scheme = ed25519Scheme(keys.map((k) => k.publicKey))
    const msg = fromHex(SIGNING_BYTES)
    const cert: CommitCertificate = { header, signatures: scheme.aggregate([0, 2, 3].map((i) => ({ signer: i, signature: ed25519Signer(i, keys[i]!.secretKey).sign(msg) }))) }
    const bytes = encode(cert)
    expect(bytes.length).toBe(455)
    expect(toHex(sha256(bytes))).toBe('509eb2cd2ebe283ab4d6cebabd1b98a958e335bdbcc23a3f260617398a47734c')
    expect(toHex(cert.signatures.signers)).toBe('0d')
    ;[0, 2, 3].forEach((signer, k) => expect(ed25519.verify(cert.signatures.signature.subarray(64 * k, 64 * (k + 1)), msg, keys[signer]!.publicKey)).toBe(true))
    expect(checkCertificate(decodeCertificate(bytes), { chain: 'fedledger-vectors', genesis: header.genesis }, scheme)).toEqual({ ok: true })
  })
})
