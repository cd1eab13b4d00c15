/**
 * A cluster-mode broker's view of the cluster, as the active controller
 * describes it in UpdateMetadata requests (Kafka's ZkMetadataCache): the live
 * brokers with their endpoints and racks, the controller's id, and every
 * partition's leader, leader epoch, ISR, replicas and offline replicas, with
 * topic ids. Handlers read it through the Controller interface.
 *
 * An update replaces the live brokers and the controller id, and upserts the
 * partition states it carries; a state whose leader is -2 (Kafka's
 * LeaderDuringDelete) removes the partition, and a topic left without
 * partitions is gone. Topic configs are not part of UpdateMetadata: they come
 * from `configsOf` (ZooKeeper), and `configsChanged` drops the topic's cached
 * record so the next read sees them.
 */
import { ZERO_UUID, type Uuid } from '../../protocol/primitives.js';
import { INTERNAL_TOPICS } from '../topic-name.js';
import type { BrokerRegistration, PartitionState, TopicRecord } from '../types.js';

/** Kafka's leader id for partitions of a topic being deleted (LeaderAndIsr.LeaderDuringDelete). */
export const LEADER_DURING_DELETE = -2;

export interface CachedPartitionState extends PartitionState {
  /** Replicas whose broker is down, as the controller saw it. */
  offlineReplicas: number[];
  /** The epoch of the controller that made the last leadership decision. */
  controllerEpoch: number;
}

export interface MetadataUpdateTopic {
  name: string;
  /** Null when the request carries no topic id (UpdateMetadata before v7): the cached one stays. */
  topicId: Uuid | null;
  partitions: CachedPartitionState[];
}

/** An UpdateMetadata request, independent of its wire version. */
export interface MetadataUpdate {
  controllerId: number;
  liveBrokers: BrokerRegistration[];
  topics: MetadataUpdateTopic[];
}

export interface MetadataChanges {
  /** Topics that gained, lost or changed partitions (and still exist). */
  updated: Set<string>;
  /** Topics that are gone from the cache. */
  removed: Set<string>;
  /** Topics seen for the first time. */
  added: Set<string>;
}

interface CachedTopic {
  topicId: Uuid;
  partitions: Map<number, CachedPartitionState>;
  /** The TopicRecord handlers get, built on first read after a change. */
  record: TopicRecord | null;
}

export class MetadataCache {
  private liveBrokers = new Map<number, BrokerRegistration>();
  private readonly topicsByName = new Map<string, CachedTopic>();
  private readonly namesById = new Map<Uuid, string>();
  private controller = -1;

  constructor(private readonly configsOf: (topic: string) => Record<string, string>) {}

  /** The active controller's id as the last UpdateMetadata named it; -1 before the first. */
  get controllerId(): number {
    return this.controller;
  }

  brokers(): BrokerRegistration[] {
    return [...this.liveBrokers.values()];
  }

  broker(brokerId: number): BrokerRegistration | undefined {
    return this.liveBrokers.get(brokerId);
  }

  isAlive(brokerId: number): boolean {
    return this.liveBrokers.has(brokerId);
  }

  topicNames(): string[] {
    return [...this.topicsByName.keys()];
  }

  hasTopic(name: string): boolean {
    return this.topicsByName.has(name);
  }

  topic(name: string): TopicRecord | undefined {
    const cached = this.topicsByName.get(name);
    if (!cached) return undefined;
    cached.record ??= this.recordOf(name, cached);
    return cached.record;
  }

  topicById(topicId: Uuid): TopicRecord | undefined {
    const name = this.namesById.get(topicId);
    return name === undefined ? undefined : this.topic(name);
  }

  topics(): TopicRecord[] {
    return this.topicNames().map((name) => this.topic(name)!);
  }

  /** A partition's state with its offline replicas, or undefined when unknown. */
  partitionState(topic: string, partition: number): CachedPartitionState | undefined {
    return this.topicsByName.get(topic)?.partitions.get(partition);
  }

  /** The topic's config overrides changed: its record is rebuilt on the next read. */
  configsChanged(topic: string): void {
    const cached = this.topicsByName.get(topic);
    if (cached) cached.record = null;
  }

  apply(update: MetadataUpdate): MetadataChanges {
    this.controller = update.controllerId;
    this.liveBrokers = new Map(update.liveBrokers.map((b) => [b.brokerId, b]));
    const changes: MetadataChanges = { updated: new Set(), removed: new Set(), added: new Set() };
    for (const topic of update.topics) {
      let cached = this.topicsByName.get(topic.name);
      for (const state of topic.partitions) {
        if (state.leader === LEADER_DURING_DELETE) {
          if (cached?.partitions.delete(state.partition)) changes.updated.add(topic.name);
          continue;
        }
        if (!cached) {
          cached = { topicId: ZERO_UUID, partitions: new Map(), record: null };
          this.topicsByName.set(topic.name, cached);
          changes.added.add(topic.name);
        }
        cached.partitions.set(state.partition, state);
        changes.updated.add(topic.name);
      }
      if (!cached) continue;
      if (topic.topicId !== null && topic.topicId !== ZERO_UUID && topic.topicId !== cached.topicId) {
        this.namesById.delete(cached.topicId);
        cached.topicId = topic.topicId;
        this.namesById.set(topic.topicId, topic.name);
        changes.updated.add(topic.name);
      }
      cached.record = null;
      if (cached.partitions.size === 0) {
        this.topicsByName.delete(topic.name);
        this.namesById.delete(cached.topicId);
        changes.updated.delete(topic.name);
        changes.added.delete(topic.name);
        changes.removed.add(topic.name);
      }
    }
    return changes;
  }

  private recordOf(name: string, cached: CachedTopic): TopicRecord {
    const partitions = [...cached.partitions.values()]
      .sort((a, b) => a.partition - b.partition)
      .map(({ partition, replicas, isr, leader, leaderEpoch, partitionEpoch, offlineReplicas }) => ({
        partition,
        replicas,
        isr,
        leader,
        leaderEpoch,
        partitionEpoch,
        offlineReplicas,
      }));
    return { name, topicId: cached.topicId, internal: INTERNAL_TOPICS.has(name), partitions, configs: this.configsOf(name) };
  }
}
