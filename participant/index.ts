/**
 * participant/: the machine learning of a participant peer (a bank). It is
 * pure computation over typed arrays, with randomness injected:
 *
 * - models with flat Float32Array parameters (`logisticRegression`, `mlp`)
 *   and cheap per-example gradients (`Model`, `ExampleGradient`);
 * - DP-SGD exactly as the ledger accounts it (Poisson sampling at rate q,
 *   per-example clipping to C, N(0, σ²C²) noise, ⌈E / q⌉ steps) and the
 *   round's update, w_local − w_base clipped to C (`dpSgd`, `localUpdate`);
 * - the participant's own Rényi-DP accountant and noise calibration
 *   (`PrivacyAccountant`, `calibrateNoise`), on ledger/privacy;
 * - data: IDX (MNIST) and CSV parsing from bytes/text, a Dirichlet(α)
 *   non-IID split, dataset subsets;
 * - `Trainer`s a peer calls per round: `DpSgdTrainer`, and
 *   `FileUpdateTrainer` for updates trained elsewhere;
 * - Byzantine attacks for robustness tests and benchmarks.
 *
 * It is not: the peer's networking, ledger client or file reading (node/data
 * loads MNIST and CSV files), the encryption and sealing of updates
 * (enclave/updates), aggregation (enclave/aggregate), or an autodiff
 * framework. Bad input raises a `ParticipantError` with a code.
 */
export { ParticipantError, ParticipantErrorCode, isParticipantError } from './errors.ts'
export { seededRng, cryptoRng, gaussianFrom, cryptoGaussian, shuffleInPlace, uniformInt, type Rng, type GaussianSource } from './random.ts'
export { makeDataset, checkDataset, subset, type Dataset, type Labels } from './dataset.ts'
export { denseExampleGradient, type Model, type ExampleGradient } from './models/model.ts'
export { logisticRegression } from './models/logistic.ts'
export { mlp } from './models/mlp.ts'
export { dpSgd, localUpdate, deltaUpdate, poissonSample, DpSgdRun, type DpSgdOptions, type DpSgdResult, type LocalUpdate } from './dp-sgd.ts'
export { PrivacyAccountant, calibrateNoise, roundRdp, type RoundPrivacy, type AccountantOptions, type CalibrateNoiseParams } from './accountant.ts'
export { parseIdxImages, parseIdxLabels, idxDataset, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, type IdxImages, type IdxParseOptions } from './datasets/idx.ts'
export { parseCsvDataset, type CsvOptions } from './datasets/csv.ts'
export { dirichletSplit, sampleDirichlet, sampleLogGamma, type DirichletSplitOptions } from './datasets/dirichlet.ts'
export { poison, labelFlip, littleIsEnough, littleIsEnoughZ, POISON_KINDS, type PoisonKind, type PoisonOptions } from './attacks.ts'
export { DpSgdTrainer, FileUpdateTrainer, type Trainer, type TrainResult, type TrainOptions, type RoundTraining, type DpSgdTrainerOptions, type FileUpdateTrainerOptions } from './trainer.ts'
