// The wire: the request/response codec (schemas, limits, ids, errors) and the
// length-prefixed framing of the process twin (any chunking, oversized frames skipped).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, handleRequest } from '../../../enclave/service/index.ts'
import { encode } from '../../../primitives/index.ts'
import { encodeFrame, FrameDecoder, type FrameEvent } from '../../../node/enclave/index.ts'
import { inProcessEnclave, simEnclaveKeys, testLedgerTrust } from './factory.ts'
import { BASE_BYTES, CHAIN } from './rounds.ts'

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f()
  } catch (e) {
    return (e as { code?: string }).code
  }
  return undefined
}

describe('wire codec', () => {
  it('round-trips a request with its ledger proofs, and carries only the schema fields', () => {
    const ledger = { epochs: [[new Uint8Array([1]), new Uint8Array([2])] as [Uint8Array, Uint8Array]], certificate: new Uint8Array([3, 4]), proofs: [['round/r1', new Uint8Array([5])] as [string, Uint8Array]] }
    const body = { chain: CHAIN, round: 'r1', envelopes: [['bank-1', new Uint8Array([6])] as [string, Uint8Array]], baseModel: BASE_BYTES, ledger, nonce: 3 }
    const decoded = decodeRequest(encodeRequest({ id: 9, op: 'aggregate', body: { ...body, ledger: { ...ledger, extra: 'dropped' } as typeof ledger } }))
    expect(decoded).toEqual({ id: 9, op: 'aggregate', body })
    // a request from before ledger proofs (v1, with the round spec inline) is refused, not half-read
    expect(codeOf(() => decodeRequest(encode({ v: 2, id: 1, op: 'aggregate', body: { ...body, round: { id: 'r1' } } })))).toBe('BAD_REQUEST')
  })

  it('refuses oversized, unreadable and ill-typed requests with typed errors', () => {
    const bytes = encodeRequest({ id: 1, op: 'closeRound', body: { chain: CHAIN, round: 'r' } })
    expect(codeOf(() => decodeRequest(bytes, bytes.length - 1))).toBe('TOO_LARGE')
    expect(codeOf(() => decodeRequest(new Uint8Array([0xa1])))).toBe('BAD_REQUEST')
    expect(codeOf(() => decodeRequest(encode({ v: 1, id: 1, op: 'identity', body: {} })))).toBe('BAD_REQUEST')
    expect(codeOf(() => decodeRequest(encode({ v: 2, id: 1, op: 'closeRound', body: { chain: CHAIN, round: 'r', extra: 1 } })))).toBe('BAD_REQUEST')
    expect(codeOf(() => decodeRequest(encode({ v: 2, id: 1, op: 'toString', body: {} })))).toBe('UNKNOWN_OP')
  })

  it('checks results against the operation and rebuilds error codes, mapping unknown ones to PROTOCOL', () => {
    const ok = encodeResponse({ id: 4, ok: true, result: { destroyed: true } })
    expect(decodeResponse(ok, 'closeRound')).toEqual({ id: 4, ok: true, result: { destroyed: true } })
    expect(codeOf(() => decodeResponse(ok, 'identity'))).toBe('PROTOCOL')
    expect(codeOf(() => decodeResponse(new Uint8Array([1, 2, 3]), 'identity'))).toBe('PROTOCOL')
    expect(codeOf(() => decodeResponse(ok, 'closeRound', ok.length - 1))).toBe('TOO_LARGE')
    const odd = encode({ v: 2, id: 4, ok: false, error: { code: 'SOMETHING_NEW', message: 'm' } })
    expect(decodeResponse(odd, 'identity')).toMatchObject({ ok: false, error: { code: 'PROTOCOL' } })
  })

  it('answers with TOO_LARGE when a response exceeds the limit, and keeps serving', async () => {
    const { service } = inProcessEnclave(simEnclaveKeys(), testLedgerTrust())
    const req = encodeRequest({ id: 5, op: 'roundKey', body: { chain: CHAIN, round: 'big', nonce: 0, time: 1 } })
    expect(decodeResponse(await handleRequest(service, req, { maxResponseBytes: 200 }), 'roundKey')).toMatchObject({ id: 5, ok: false, error: { code: 'TOO_LARGE' } })
    const id = encodeRequest({ id: 6, op: 'identity', body: {} })
    expect(decodeResponse(await handleRequest(service, id), 'identity')).toMatchObject({ id: 6, ok: true })
  })
})

describe('FrameDecoder', () => {
  const frames = (decoder: FrameDecoder, stream: Uint8Array, cuts: number[]): FrameEvent[] => {
    const out: FrameEvent[] = []
    let at = 0
    for (const cut of [...cuts.filter((c) => c > 0 && c < stream.length)].sort((a, b) => a - b).concat(stream.length)) {
      out.push(...decoder.push(stream.subarray(at, cut)))
      at = cut
    }
    return out
  }

  it('gives back the same frames however the stream is cut, skipping the oversized ones', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 8 }), fc.array(fc.nat(400), { maxLength: 12 }), (payloads, cuts) => {
        const stream = Buffer.concat(payloads.map(encodeFrame))
        const events = frames(new FrameDecoder({ maxFrameBytes: 30 }), stream, cuts)
        expect(events).toEqual(payloads.map((p) => (p.length > 30 ? { kind: 'oversized', length: p.length } : { kind: 'frame', bytes: new Uint8Array(p) })))
      }),
      { numRuns: 300 },
    )
  })

  it('holds an incomplete frame until the rest arrives', () => {
    const d = new FrameDecoder({ maxFrameBytes: 100 })
    const f = encodeFrame(new Uint8Array([1, 2, 3]))
    expect(d.push(f.subarray(0, 5))).toEqual([])
    expect(d.pending).toBe(1)
    expect(d.push(f.subarray(5))).toEqual([{ kind: 'frame', bytes: new Uint8Array([1, 2, 3]) }])
    expect(d.pending).toBe(0)
  })
})
