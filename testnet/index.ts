/**
 * testnet/: local validator networks on 127.0.0.1. `generateTestnet` writes N
 * validator homes (keys, config, shared genesis of a usable consortium) plus
 * member keys and a testnet.json manifest; the runner starts them as detached
 * processes and stops, kills and restarts them by PID (checking each PID is
 * still that validator's process); scenario manifests script timed faults
 * (crash, restart, freeze, partition via the node's admin hook). It is not a
 * validator itself (that is node/, started as `fedledger node start`), does no
 * remote deployment, and never signals a process it cannot prove it started.
 */
export * from './errors.ts'
export { generateTestnet, DEFAULT_CHAIN_ID, MAX_VALIDATORS, type GenerateOptions } from './generate.ts'
export { buildConsortium, loadSenderId, CONSORTIUM_MEMBERS, ATTESTATION_ROOT, SIM_PLATFORM, REVOCATION_AUTHORITY, ENCLAVE_ID, TESTNET_MEASUREMENT, type Consortium, type ConsortiumOptions } from './consortium.ts'
export {
  TESTNET_FILE, MEMBERS_DIR, AUTHORITIES_DIR, ENCLAVES_DIR, TestnetFileSchema, readTestnetFile, homeOf, validatorAt,
  type TestnetFile, type TestnetValidator,
} from './layout.ts'
export { freePorts, checkPortsFree, LOOPBACK } from './ports.ts'
export { cliEntry, nodeLauncher, nodeBinary, repoRoot, readPid, isOurProcess, runningPid, logTail, logPath, type Launch, type Launcher, type StopOutcome } from './process.ts'
export { blockEvents, type BlockEvent, type BlockEventStream } from './events.ts'
export {
  up, status, down, kill, restart, DEFAULT_VALIDATORS, DEFAULT_UP_TIMEOUT_MS, DEFAULT_STOP_TIMEOUT_MS,
  type RunnerOptions, type UpOptions, type UpResult, type ValidatorEndpoint, type StatusRow, type DownRow, type RestartOptions,
} from './runner.ts'
export { formatEndpoints, formatStatusTable } from './format.ts'
export { ScenarioManifestSchema, ScenarioStepSchema, parseScenarioManifest, readScenarioManifest, partitionGroups, type ScenarioManifest, type ScenarioManifestInput, type ScenarioStep } from './manifest.ts'
export { runScenario, type ScenarioOptions, type ScenarioReport, type StepOutcome } from './scenario.ts'
export { grantLoad, submitTx, type GrantLoad } from './load.ts'
export { loadTestnetEnclave, PLATFORM_CERT_VALIDITY_SECONDS, type TestnetEnclaveInput } from './enclave-identity.ts'
export { runLive, type LiveOptions, type LiveReport } from './live.ts'
export { actorHome } from './federation/actors.ts'
export { runFederation, bankId, type FederationOptions, type FederationEnv, type FederationReport } from './federation/run.ts'
