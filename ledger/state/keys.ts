/**
 * The state's key layout. Every key is a printable path; the Merkle trie hashes
 * it, so the layout is part of the state root and of inclusion proofs.
 */
export const StateKey = {
  params: 'params',
  /** the genesis hash (the state root at height 0), written by block 1: what round-key evidence binds */
  genesis: 'genesis',
  member: (id: string) => `member/${id}`,
  enclave: (id: string) => `enclave/${id}`,
  nonce: (sender: string) => `nonce/${sender}`,
  round: (id: string) => `round/${id}`,
  /** worst-case RDP curve (number[], per ChainParams.rdpOrders) one participant spends in the round; kept apart from the round record, which every commit rewrites */
  roundRdp: (id: string) => `round-rdp/${id}`,
  /** the round's eligible members (string[], in the order of round.open); read when budgets change */
  roundEligible: (id: string) => `round-eligible/${id}`,
  /** present (true) iff the member is eligible for the round: an O(1) check for commits */
  eligible: (round: string, member: string) => `eligible/${round}/${member}`,
  commit: (round: string, member: string) => `commit/${round}/${member}`,
  budget: (member: string) => `budget/${member}`,
  /** ids of the unrevoked governors (string[]), so a revocation cannot leave fewer than the threshold */
  governors: 'governors',
  validators: 'validators',
  pendingValidators: 'validators/pending',
  revocationSerial: (authority: string) => `revocation-serial/${authority}`,
  checkpointLatest: 'checkpoint/latest',
  checkpoint: (seq: number) => `checkpoint/${seq}`,
  /** rounds resulted since the latest checkpoint, in order (re-aggregation window) */
  roundsSinceCheckpoint: 'rounds-since-checkpoint',
} as const
