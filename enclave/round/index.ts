/**
 * enclave/round: the enclave's round pipeline as a pure function. `aggregateRound`
 * takes the ledger's committed set (in ledger order), the envelopes members sent,
 * their keys and the round key; it checks every update (enclave/updates), runs
 * Multi-Krum (enclave/aggregate), adds discrete Gaussian noise to the quantized
 * sum of the selected updates (enclave/noise), and returns the noised mean update,
 * included and excluded members with reasons, the DP parameters and the
 * transcript hash: what round.result carries, besides the model CID.
 *
 * It is not the enclave service: it does not fetch envelopes, hold or destroy
 * keys, apply the update to the base model, store the model, or sign and submit
 * the result. No network, disk or clock (performance.now() for timings only);
 * randomness comes only through the RandomSource argument.
 */
export { RoundError, RoundErrorCode, isRoundError } from './errors.ts'
export {
  aggregateRound,
  aggregateRoundOn,
  type DistancePool,
  NO_UPDATE,
  MULTI_KRUM,
  REVOKED,
  type AggregateRoundInput,
  type RoundSpec,
  type RoundOutcome,
  type AggregatedRound,
  type InsufficientRound,
  type RoundExclusion,
  type RoundExclusionReason,
  type RoundTimings,
} from './aggregate-round.ts'
export { noisedMean, noisedMeanParts, noisedMeanWith, noisedMeanStd, quantizedSum, sampleNoise, type NoisedMeanParams } from './noised-mean.ts'
export { ROUND_TRANSCRIPT_VERSION, roundTranscript, roundTranscriptHash, compareIds, type RoundTranscriptInput, type RoundDpParams, type TranscriptExclusion } from './transcript.ts'
