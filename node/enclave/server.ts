/**
 * The enclave process's loop: length-prefixed request frames on `input`
 * (stdin), one response frame each on `output` (stdout), in order, one request
 * at a time. Bad input of any kind is answered with an error response
 * (handleRequest never throws for it); a frame over the request limit is skipped
 * and answered with TOO_LARGE (id 0). Nothing but frames is ever written to
 * `output`: logs go to the logger (stderr). Returns when `input` ends or
 * `signal` aborts.
 */
import type { Readable, Writable } from 'node:stream'
import { DEFAULT_MAX_MESSAGE_BYTES, encodeResponse, handleRequest, type EnclaveService } from '../../enclave/service/index.ts'
import { silentLogger, type Logger } from '../logger.ts'
import { FrameDecoder, frameHeader, MAX_FRAME_BYTES } from './framing.ts'

export interface ServeComponents {
  service: EnclaveService
  input: Readable
  output: Writable
}

export interface ServeOptions {
  maxRequestBytes?: number
  maxResponseBytes?: number
  log?: Logger
  signal?: AbortSignal
}


/** Writes one frame, waiting for the stream to drain when it asks to. */
export async function writeFrame(output: Writable, payload: Uint8Array): Promise<void> {
  const header = frameHeader(payload.length)
  output.write(header)
  if (!output.write(payload)) {
    await new Promise<void>((resolve, reject) => {
      const done = (e?: Error) => {
        output.off('drain', done)
        output.off('error', done)
        output.off('close', done)
        if (e instanceof Error) reject(e)
        else resolve()
      }
      output.on('drain', done)
      output.on('error', done)
      output.on('close', done)
    })
  }
}

export async function serveEnclave(components: ServeComponents, options: ServeOptions = {}): Promise<void> {
  const { service, input, output } = components
  const log = options.log ?? silentLogger
  const maxRequestBytes = Math.min(options.maxRequestBytes ?? DEFAULT_MAX_MESSAGE_BYTES, MAX_FRAME_BYTES)
  const maxResponseBytes = Math.min(options.maxResponseBytes ?? DEFAULT_MAX_MESSAGE_BYTES, MAX_FRAME_BYTES)
  const decoder = new FrameDecoder({ maxFrameBytes: maxRequestBytes })
  const { signal } = options
  const onAbort = () => input.destroy()
  if (signal?.aborted) return
  signal?.addEventListener('abort', onAbort, { once: true })
  let served = 0
  try {
    for await (const chunk of input) {
      for (const event of decoder.push(chunk as Uint8Array)) {
        const t0 = performance.now()
        let response: Uint8Array
        if (event.kind === 'oversized') {
          log.warn({ bytes: event.length, limit: maxRequestBytes }, 'request over the size limit skipped')
          response = encodeResponse({ id: 0, ok: false, error: { code: 'TOO_LARGE', message: `request of ${event.length} bytes, limit ${maxRequestBytes}` } })
        } else {
          response = await handleRequest(service, event.bytes, { maxRequestBytes, maxResponseBytes })
        }
        await writeFrame(output, response)
        served++
        log.debug({ requestBytes: event.kind === 'frame' ? event.bytes.length : event.length, responseBytes: response.length, ms: Math.round(performance.now() - t0) }, 'request served')
      }
    }
  } catch (e) {
    // input destroyed by the abort signal: a normal stop
    if (!signal?.aborted) throw e
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
  if (decoder.pending > 0) log.warn({ bytes: decoder.pending }, 'input ended inside a frame')
  log.info({ served }, 'input closed')
}
