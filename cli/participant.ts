/**
 * `fedledger participant run`: a bank's participant peer (node/federation
 * ParticipantPeer) for a federation made by `fedledger start`.
 */
import { type Command, parseOptions, UsageError } from './io.ts'
import { runParticipant } from './actors.ts'

const usage = `usage: fedledger participant run --testnet DIR --member ID [--csv FILE [--label-column N|NAME] | --update-file F] [--revocation-list FILE]

Runs member ID's participant peer of the federation in DIR (testnet.json, federation.json,
members/ID.json; --home names the folder a process runner keeps its PID and log in): for every keyed round it is eligible for, it verifies the enclave's
attested round key, fetches the base model by CID over libp2p, trains with DP-SGD on its
data (its part of MNIST under the federation's Dirichlet split, or --csv: its own CSV of
features and a label column), seals the clipped update to the round key, sends it to the
enclave host and submits round.commit. A bank that trains elsewhere passes --update-file F:
each round it submits F as it is then (little-endian float32, the model's length, clipped to
the round's bound). With --revocation-list FILE (a sim-v1 revocation list signed by the testnet
root, which the bank's operator keeps current), the peer reads FILE before each round and
sends nothing to an enclave whose platform, measurement or keys it revokes, or when the list
is stale or older than one it accepted before. What it acts on (the round, its eligibility,
the chain's attestation policy, the enclave's record) it reads through the light client,
pinned to DIR/genesis.json, from any validator that proves it. Stops on SIGINT/SIGTERM.`

export const participantCommand: Command = {
  summary: "run a bank's participant peer (train with DP-SGD, seal, commit)",
  usage,
  async run(argv, io) {
    const [sub, ...rest] = argv
    if (sub !== 'run') throw new UsageError(sub === undefined ? 'missing subcommand' : `unknown subcommand '${sub}'`)
    const { values } = parseOptions(rest, { testnet: { type: 'string' }, member: { type: 'string' }, home: { type: 'string' }, csv: { type: 'string' }, 'label-column': { type: 'string' }, 'update-file': { type: 'string' }, 'revocation-list': { type: 'string' } }, false)
    if (values.testnet === undefined) throw new UsageError('--testnet DIR is required')
    if (values.member === undefined) throw new UsageError('--member ID is required')
    const label = values['label-column']
    const labelColumn = label === undefined ? undefined : /^\d+$/.test(label) ? Number(label) : label
    if (values.csv !== undefined && values['update-file'] !== undefined) throw new UsageError('--csv and --update-file exclude each other')
    return runParticipant({
      testnet: values.testnet,
      member: values.member,
      ...(values.csv === undefined ? {} : { csv: { path: values.csv, labelColumn } }),
      ...(values['update-file'] === undefined ? {} : { updateFile: values['update-file'] }),
      ...(values['revocation-list'] === undefined ? {} : { revocationList: values['revocation-list'] }),
    }, io)
  },
}
