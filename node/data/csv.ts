/**
 * Loads a bank's own CSV dataset from disk (UTF-8), parsed by participant/'s
 * `parseCsvDataset` (see there for the format and its errors).
 */
import { parseCsvDataset, type CsvOptions, type Dataset } from '../../participant/index.ts'
import { readDataFile } from './mnist.ts'

export async function loadCsvDataset(path: string, options: CsvOptions & { signal?: AbortSignal }): Promise<Dataset> {
  const bytes = await readDataFile(path, 'CSV dataset', options.signal)
  const { signal: _signal, ...csv } = options
  return parseCsvDataset(new TextDecoder('utf-8', { fatal: false }).decode(bytes), csv)
}
