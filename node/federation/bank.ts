/**
 * A bank's data and model, as a federation describes them (federation.json):
 * its part of MNIST under the federation's Dirichlet(α) label split (every bank
 * computes the same split from the same seed and takes its own part), or its own
 * CSV; the model every bank trains; and the DP-SGD trainer over both.
 */
import { loadCsvDataset, loadMnist } from '../data/index.ts'
import { dirichletSplit, DpSgdTrainer, logisticRegression, mlp, seededRng, subset, type Dataset, type Model } from '../../participant/index.ts'
import { FederationError } from './errors.ts'
import type { FederationFile, ModelSpec } from './manifest.ts'

export const MNIST_FEATURES = 784
export const MNIST_CLASSES = 10

export function modelOf(spec: ModelSpec, features = MNIST_FEATURES, classes = MNIST_CLASSES): Model {
  return spec.kind === 'logreg' ? logisticRegression(features, classes) : mlp(features, spec.hidden, classes)
}

/** The bank's part of the federation's MNIST split. */
export async function bankMnistPart(fed: FederationFile, member: string, signal?: AbortSignal): Promise<Dataset> {
  const index = fed.data.members.indexOf(member)
  if (index < 0) throw new FederationError('BAD_ARGUMENT', `'${member}' is not one of the federation's banks (${fed.data.members.join(', ')})`)
  const { train } = await loadMnist({ limitTrain: fed.data.limitTrain, limitTest: 1, signal })
  const parts = dirichletSplit(train.y, fed.data.members.length, fed.data.alpha, seededRng('federation-split', fed.data.seed), { minPerMember: 50 })
  return subset(train, parts[index]!)
}

export interface BankSetup {
  data: Dataset
  model: Model
  trainer: DpSgdTrainer
}

/** The bank's trainer: its MNIST part, or its own CSV (features must match the federation's model). */
export async function bankSetup(fed: FederationFile, member: string, opts: { csv?: { path: string; labelColumn?: number | string }; signal?: AbortSignal } = {}): Promise<BankSetup> {
  const data = opts.csv === undefined ? await bankMnistPart(fed, member, opts.signal) : await loadCsvDataset(opts.csv.path, { classes: MNIST_CLASSES, labelColumn: opts.csv.labelColumn ?? 0 })
  const model = modelOf(fed.model, data.features, MNIST_CLASSES)
  return { data, model, trainer: new DpSgdTrainer(model, data, { learningRate: fed.model.learningRate }) }
}
