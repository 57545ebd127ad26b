/**
 * Gossip topics over gossipsub: one validator and one handler per topic.
 *
 * The validator runs as a gossipsub topic validator, before the message is
 * delivered or forwarded, and its answer maps 1:1 onto gossipsub's
 * ACCEPT / IGNORE / REJECT, so a rejected message is neither delivered nor
 * forwarded and counts against the sender in gossipsub's own peer score (every
 * subscribed topic gets topic score params with a heavy invalid-delivery weight).
 * A 'reject' is also reported to the host's penalty book as a severe offence of
 * the propagation source. A validator that throws counts as 'ignore'.
 *
 * `from` is always the propagation source: the directly connected peer that sent
 * us the message (the one gossipsub scores), not the origin that signed it; the
 * origin is in `info.origin`.
 */
import { TopicValidatorResult, type GossipSub } from '@libp2p/gossipsub'
import { createTopicScoreParams, type TopicScoreParams } from '@libp2p/gossipsub/score'
import type { Message, GossipsubMessage, SubscriptionChangeData } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { P2PError } from './errors.ts'
import type { Logger } from '../logger.ts'

export type ValidationResult = 'accept' | 'ignore' | 'reject'

export interface GossipInfo {
  topic: string
  /** the peer id that published (signed) the message */
  origin: string | undefined
}

export type GossipValidator = (
  from: string,
  data: Uint8Array,
  info: GossipInfo,
) => ValidationResult | Promise<ValidationResult>

export type GossipHandler = (from: string, data: Uint8Array, info: GossipInfo) => void

interface Subscription {
  validate: GossipValidator
  onMessage: GossipHandler
}

export interface GossipTopicsComponents {
  /** report an offence of the propagation source */
  penalise(peer: string, reason: string): void
  log: Logger
}

/**
 * Topic scoring for a small permissioned mesh: positive contributions are small
 * and capped, quiet topics are never penalised (no mesh-delivery or mesh-failure
 * penalties: consensus topics can be silent for a while), and one invalid message
 * costs −100, below the default graylist threshold (−80). Decays over ~1 min.
 */
export function validatorTopicScoreParams(): TopicScoreParams {
  return createTopicScoreParams({
    topicWeight: 1,
    timeInMeshWeight: 0.01,
    timeInMeshQuantum: 1000,
    timeInMeshCap: 300,
    firstMessageDeliveriesWeight: 0.5,
    firstMessageDeliveriesDecay: 0.9,
    firstMessageDeliveriesCap: 20,
    meshMessageDeliveriesWeight: 0,
    meshFailurePenaltyWeight: 0,
    invalidMessageDeliveriesWeight: -100,
    invalidMessageDeliveriesDecay: 0.95,
  })
}

const TO_GOSSIPSUB: Record<ValidationResult, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject,
}

/**
 * Members of gossipsub's class that its exported interface leaves out: the
 * score-params record it reads topic params from (by reference, so topics
 * subscribed after start can be scored too) and the peer score itself.
 */
interface ScoredGossipSub {
  opts?: { scoreParams?: { topics?: Record<string, TopicScoreParams> } }
  getScore?: (peer: string) => number
}

export class GossipTopics {
  readonly #components: GossipTopicsComponents
  readonly #maxMessageBytes: number
  readonly #subs = new Map<string, Subscription>()
  readonly #joined = new Set<(topic: string, peer: string) => void>()
  #gs: GossipSub | undefined

  constructor(components: GossipTopicsComponents, options: { maxMessageBytes: number }) {
    this.#components = components
    this.#maxMessageBytes = options.maxMessageBytes
  }

  /** Topic score params for every topic subscribed so far (gossipsub construction). */
  scoredTopics(): Record<string, TopicScoreParams> {
    const topics: Record<string, TopicScoreParams> = {}
    for (const topic of this.#subs.keys()) topics[topic] = validatorTopicScoreParams()
    return topics
  }

  subscribe(topic: string, validate: GossipValidator, onMessage: GossipHandler): () => void {
    if (typeof topic !== 'string' || topic.length === 0) {
      throw new P2PError('INVALID_ARGUMENT', 'gossip topic must be a non-empty string')
    }
    if (this.#subs.has(topic)) throw new P2PError('INVALID_ARGUMENT', `already subscribed to gossip topic ${topic}`)
    const sub = { validate, onMessage }
    this.#subs.set(topic, sub)
    if (this.#gs !== undefined) this.#join(this.#gs, topic)
    return () => {
      if (this.#subs.get(topic) !== sub) return
      this.#subs.delete(topic)
      this.#gs?.topicValidators.delete(topic)
      this.#gs?.unsubscribe(topic)
    }
  }

  /** Calls `listener` each time a peer announces it subscribed to a topic (after which publishing reaches it). */
  onJoin(listener: (topic: string, peer: string) => void): () => void {
    this.#joined.add(listener)
    return () => this.#joined.delete(listener)
  }

  /** Start using a started gossipsub instance (host start). */
  attach(gs: GossipSub): void {
    this.#gs = gs
    gs.addEventListener('gossipsub:message', this.#onMessage)
    gs.addEventListener('subscription-change', this.#onSubscriptionChange)
    for (const topic of this.#subs.keys()) this.#join(gs, topic)
  }

  /** Forget the instance (host stop); subscriptions are kept for the next start. */
  detach(): void {
    this.#gs?.removeEventListener('gossipsub:message', this.#onMessage)
    this.#gs?.removeEventListener('subscription-change', this.#onSubscriptionChange)
    this.#gs = undefined
  }

  /** gossipsub's current score of a peer (retained a while after it disconnects). */
  score(peer: string): number | undefined {
    const gs = this.#gs as (GossipSub & ScoredGossipSub) | undefined
    return gs?.getScore?.(peer)
  }

  async publish(topic: string, data: Uint8Array): Promise<number> {
    const gs = this.#gs
    if (gs === undefined) throw new P2PError('NOT_STARTED', `cannot publish to ${topic}: host not started`)
    if (data.length > this.#maxMessageBytes) {
      throw new P2PError('OVERSIZED', `gossip message of ${data.length} bytes exceeds maxMessageBytes ${this.#maxMessageBytes}`)
    }
    try {
      const { recipients } = await gs.publish(topic, data)
      return recipients.length
    } catch (err) {
      throw new P2PError('PROTOCOL', `publish to ${topic} failed: ${(err as Error).message}`, { cause: err })
    }
  }

  #join(gs: GossipSub, topic: string): void {
    const topics = (gs as unknown as ScoredGossipSub).opts?.scoreParams?.topics
    if (topics !== undefined && topics[topic] === undefined) topics[topic] = validatorTopicScoreParams()
    gs.topicValidators.set(topic, (peer, msg) => this.#validate(topic, peer, msg))
    gs.subscribe(topic)
  }

  async #validate(topic: string, peer: PeerId, msg: Message): Promise<TopicValidatorResult> {
    const from = peer.toString()
    const sub = this.#subs.get(topic)
    if (sub === undefined) return TopicValidatorResult.Ignore
    if (msg.data.length > this.#maxMessageBytes) {
      this.#components.log.warn({ peer: from, topic, bytes: msg.data.length }, 'oversized gossip message rejected')
      this.#reject(from)
      return TopicValidatorResult.Reject
    }
    let result: ValidationResult
    try {
      result = await sub.validate(from, msg.data, infoOf(topic, msg))
    } catch (err) {
      this.#components.log.warn({ peer: from, topic, err: (err as Error).message }, 'gossip validator threw; message ignored')
      return TopicValidatorResult.Ignore
    }
    const mapped = TO_GOSSIPSUB[result]
    if (mapped === undefined) {
      this.#components.log.error({ topic, result }, 'gossip validator returned an unknown result; message ignored')
      return TopicValidatorResult.Ignore
    }
    if (result === 'reject') this.#reject(from)
    return mapped
  }

  /** Penalise after gossipsub has recorded the reject (disconnecting happens then). */
  #reject(peer: string): void {
    setImmediate(() => this.#components.penalise(peer, 'gossip-reject'))
  }

  readonly #onSubscriptionChange = (evt: CustomEvent<SubscriptionChangeData>): void => {
    const peer = evt.detail.peerId.toString()
    for (const { topic, subscribe } of evt.detail.subscriptions) {
      if (subscribe) for (const l of this.#joined) l(topic, peer)
    }
  }

  readonly #onMessage = (evt: CustomEvent<GossipsubMessage>): void => {
    const { propagationSource, msg } = evt.detail
    const sub = this.#subs.get(msg.topic)
    if (sub === undefined) return
    try {
      sub.onMessage(propagationSource.toString(), msg.data, infoOf(msg.topic, msg))
    } catch (err) {
      this.#components.log.error({ topic: msg.topic, err: (err as Error).message }, 'gossip message handler threw')
    }
  }
}

function infoOf(topic: string, msg: Message): GossipInfo {
  return { topic, origin: msg.type === 'signed' ? msg.from.toString() : undefined }
}
