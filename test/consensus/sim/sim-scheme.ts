/**
 * A fast, test-only stand-in for the quorum-signature schemes: a "signature" is
 * sha256(secret_i || message), checked by recomputing. The verifier knows every
 * secret, so it is insecure as a real scheme, but inside the simulator a Byzantine
 * replica only ever holds its own signer, so it still cannot forge anyone else's
 * signature, and simulations run thousands of scenarios in seconds.
 */
import { bitmapOf, bitmapWellFormed, signersOf, type QuorumScheme, type QuorumSigner } from '../../../consensus/index.ts'
import { sha256 } from '../../../primitives/index.ts'

function mac(secret: Uint8Array, message: Uint8Array): Uint8Array {
  const buf = new Uint8Array(secret.length + message.length)
  buf.set(secret)
  buf.set(message, secret.length)
  return sha256(buf)
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

export function simSecrets(n: number, seed = 0): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => sha256(new TextEncoder().encode(`sim-secret-${seed}-${i}`)))
}

export function simSigner(index: number, secret: Uint8Array): QuorumSigner {
  return { scheme: 'ed25519-multisig', index, sign: (m) => mac(secret, m) }
}

export function simScheme(secrets: Uint8Array[]): QuorumScheme {
  const n = secrets.length
  return {
    name: 'ed25519-multisig',
    size: n,
    verify: (i, m, sig) => i >= 0 && i < n && equal(mac(secrets[i]!, m), sig),
    aggregate(parts) {
      const bySigner = new Map(parts.map((p) => [p.signer, p.signature]))
      const signers = [...bySigner.keys()].sort((a, b) => a - b)
      const out = new Uint8Array(signers.length * 32)
      signers.forEach((s, k) => out.set(bySigner.get(s)!, k * 32))
      return { signers: bitmapOf(signers, n), signature: out }
    },
    verifyAggregate(m, agg) {
      if (!bitmapWellFormed(agg.signers, n)) return false
      const signers = signersOf(agg.signers, n)
      if (agg.signature.length !== signers.length * 32) return false
      return signers.every((s, k) => equal(mac(secrets[s]!, m), agg.signature.subarray(k * 32, k * 32 + 32)))
    },
  }
}
