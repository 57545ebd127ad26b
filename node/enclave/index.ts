/**
 * node/enclave: the aggregation enclave as an operating-system process. The
 * service itself (enclave/service) is pure; this folder adds the I/O around it:
 * length-prefixed frames on a byte stream (framing.ts), the serving loop over
 * stdin/stdout (server.ts), the testnet identity an enclave process starts with
 * (testnet-identity.ts: key, platform, measurement, sim-v1 attester), and
 * `ProcessEnclave`, the out-of-process twin of the EnclaveClient port, which
 * spawns `serve-main.ts` and talks to it. It is not the host that follows the
 * ledger and calls the enclave (that comes with the participant/host issue).
 */
export { FRAME_HEADER_BYTES, MAX_FRAME_BYTES, FrameDecoder, encodeFrame, frameHeader, type FrameEvent } from './framing.ts'
export { serveEnclave, writeFrame, type ServeComponents, type ServeOptions, type EnclaveLogger } from './server.ts'
export { loadTestnetEnclave, PLATFORM_CERT_VALIDITY_SECONDS, type TestnetEnclaveInput } from './testnet-identity.ts'
export { ProcessEnclave, DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_START_TIMEOUT_MS, DEFAULT_STOP_TIMEOUT_MS, type ProcessEnclaveOptions } from './process-enclave.ts'
