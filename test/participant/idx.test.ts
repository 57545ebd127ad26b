// IDX parsing on hand-made bytes and its errors; the real MNIST files through node/data.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { defaultMnistRoot, loadMnist, MNIST_FILES } from '../../node/data/index.ts'
import { idxDataset, isParticipantError, parseIdxImages, parseIdxLabels } from '../../participant/index.ts'
import { asyncCodeOf, codeOf } from './helpers.ts'

function u32(v: number): number[] {
  return [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]
}

function images(count: number, rows: number, cols: number, pixels: number[]): Uint8Array {
  return new Uint8Array([0, 0, 8, 3, ...u32(count), ...u32(rows), ...u32(cols), ...pixels])
}

function labels(values: number[]): Uint8Array {
  return new Uint8Array([0, 0, 8, 1, ...u32(values.length), ...values])
}

describe('parseIdxImages / parseIdxLabels', () => {
  it('parses hand-made files, scaling pixels to [0, 1]', () => {
    const img = parseIdxImages(images(2, 2, 3, [0, 255, 51, 102, 0, 0, 1, 2, 3, 4, 5, 255]))
    expect(img).toMatchObject({ count: 2, total: 2, rows: 2, cols: 3 })
    expect(Array.from(img.pixels)).toEqual([0, 1, 0.2, 0.4, 0, 0, 1 / 255, 2 / 255, 3 / 255, 4 / 255, 5 / 255, 1].map(Math.fround))
    expect(Array.from(parseIdxLabels(labels([7, 0, 9])))).toEqual([7, 0, 9])
    const ds = idxDataset(img, parseIdxLabels(labels([3, 1])), 10)
    expect(ds).toMatchObject({ n: 2, features: 6, classes: 10 })
  })

  it('parses a prefix with limit', () => {
    const img = parseIdxImages(images(3, 1, 2, [1, 2, 3, 4, 5, 6]), { limit: 2 })
    expect(img.count).toBe(2)
    expect(img.total).toBe(3)
    expect(img.pixels.length).toBe(4)
    expect(Array.from(parseIdxLabels(labels([1, 2, 3]), { limit: 1 }))).toEqual([1])
  })

  it('refuses wrong magic numbers, short headers, wrong sizes and mismatched counts', () => {
    expect(codeOf(() => parseIdxImages(labels([1, 2])))).toBe('BAD_IDX') // a label file as images
    expect(codeOf(() => parseIdxLabels(images(1, 1, 1, [0])))).toBe('BAD_IDX')
    expect(codeOf(() => parseIdxImages(new Uint8Array([0, 0, 8, 3, 0, 0])))).toBe('BAD_IDX')
    expect(codeOf(() => parseIdxImages(new Uint8Array([0, 0, 13, 3, ...u32(1), ...u32(1), ...u32(1), 0, 0, 0, 0])))).toBe('BAD_IDX') // float data
    expect(codeOf(() => parseIdxImages(images(2, 2, 2, [1, 2, 3, 4, 5, 6, 7])))).toBe('BAD_IDX') // one byte short
    expect(codeOf(() => parseIdxImages(images(1, 1, 1, [1, 2])))).toBe('BAD_IDX') // trailing byte
    expect(codeOf(() => parseIdxImages(images(1, 0, 5, [])))).toBe('BAD_IDX')
    expect(codeOf(() => parseIdxLabels(new Uint8Array([0, 0, 8, 1, ...u32(3), 1, 2])))).toBe('BAD_IDX')
    expect(codeOf(() => idxDataset(parseIdxImages(images(2, 1, 1, [1, 2])), parseIdxLabels(labels([1]))))).toBe('BAD_IDX')
    expect(codeOf(() => idxDataset(parseIdxImages(images(1, 1, 1, [1])), parseIdxLabels(labels([10])), 10))).toBe('BAD_IDX')
    expect(codeOf(() => parseIdxImages(images(1, 1, 1, [1]), { limit: -1 }))).toBe('BAD_ARGUMENT')
    try {
      parseIdxImages(labels([1]))
    } catch (e) {
      expect(isParticipantError(e) && e.message).toMatch(/magic number 0x00000801, expected 0x00000803/)
    }
  })
})

describe('the installed MNIST files', () => {
  it('have 60,000 training images of 28 × 28 and 10,000 test images, labels 0–9', async () => {
    const root = defaultMnistRoot()
    const train = parseIdxImages(new Uint8Array(await readFile(join(root, MNIST_FILES.trainImages))), { limit: 10 })
    expect(train).toMatchObject({ total: 60_000, rows: 28, cols: 28, count: 10 })
    const trainLabels = parseIdxLabels(new Uint8Array(await readFile(join(root, MNIST_FILES.trainLabels))))
    expect(trainLabels.length).toBe(60_000)
    expect(Math.max(...trainLabels)).toBe(9)
    const test = parseIdxImages(new Uint8Array(await readFile(join(root, MNIST_FILES.testImages))), { limit: 1 })
    expect(test).toMatchObject({ total: 10_000, rows: 28, cols: 28 })
  })

  it('load as Datasets with limits', async () => {
    const { train, test } = await loadMnist({ limitTrain: 500, limitTest: 200 })
    expect(train).toMatchObject({ n: 500, features: 784, classes: 10 })
    expect(test.n).toBe(200)
    expect(train.x.every((v) => v >= 0 && v <= 1)).toBe(true)
    expect(train.x.some((v) => v > 0.9)).toBe(true)
    // MNIST's first training label is a 5
    expect(train.y[0]).toBe(5)
  })

  const dirs: string[] = []
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })

  it('a missing file is a MISSING_FILE error naming it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fedledger-mnist-'))
    dirs.push(dir)
    const root = defaultMnistRoot()
    for (const f of [MNIST_FILES.trainImages, MNIST_FILES.trainLabels, MNIST_FILES.testImages]) {
      await writeFile(join(dir, f), await readFile(join(root, f)))
    }
    expect(await asyncCodeOf(loadMnist({ root: dir }))).toBe('MISSING_FILE')
    await expect(loadMnist({ root: dir })).rejects.toThrow(MNIST_FILES.testLabels)
  })
})
