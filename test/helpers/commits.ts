// Commit certificates for tests: a header signed by named validators (keys from the ledger
// test harness, keysFor), each at its index in the epoch's validator set.
import { commitMessage, ed25519Scheme, ed25519Signer, type CommitCertificate, type CommitHeader } from '../../consensus/index.ts'
import { keysFor } from '../ledger/harness.ts'

/**
 * `header` signed by `signers` (validator ids) with the keys of `set` (the epoch's
 * validators in index order). A signer outside the set signs in index 0's place: a forgery.
 */
export function signCertificate(header: CommitHeader, signers: readonly string[], set: readonly string[]): CommitCertificate {
  const scheme = ed25519Scheme(set.map((id) => keysFor(id).publicKey))
  const parts = signers.map((id) => {
    const index = Math.max(0, set.indexOf(id))
    return { signer: index, signature: ed25519Signer(index, keysFor(id).secretKey).sign(commitMessage(header)) }
  })
  return { header, signatures: scheme.aggregate(parts) }
}
