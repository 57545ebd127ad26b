/**
 * node/enclave: the aggregation enclave as an operating-system process. The
 * service itself (enclave/service) is pure; this folder adds the I/O around it:
 * length-prefixed frames on a byte stream (framing.ts), the serving loop over
 * stdin/stdout (server.ts), and `ProcessEnclave`, the out-of-process twin of the
 * EnclaveClient port, which spawns an enclave process and talks to it. The
 * process's entry is the CLI's (cli/enclave-main.ts), and what a testnet's
 * enclave starts with (key, platform, measurement, sim-v1 attester) is read by
 * testnet/enclave-identity.ts. It is not the host that follows the ledger and
 * calls the enclave (node/federation).
 */
export { FRAME_HEADER_BYTES, MAX_FRAME_BYTES, FrameDecoder, encodeFrame, frameHeader, type FrameEvent } from './framing.ts'
export { serveEnclave, writeFrame, type ServeComponents, type ServeOptions } from './server.ts'
export { ProcessEnclave, DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_START_TIMEOUT_MS, DEFAULT_STOP_TIMEOUT_MS, type ProcessEnclaveOptions } from './process-enclave.ts'
