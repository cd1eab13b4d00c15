/**
 * The single-node controller: this broker is the whole cluster. It owns the
 * topic metadata, persists it in the log directory, and tells the local
 * replica manager what it hosts through the same ReplicaDelegate calls a
 * remote controller's LeaderAndIsr / StopReplica requests turn into — so the
 * broker has one code path whether it is alone or in a cluster.
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { Uuid } from '../protocol/primitives.js';
import { MetadataFileWriter, readMetadataFile } from './metadata-file.js';
import { INTERNAL_TOPICS } from './topic-name.js';
import { addedPartitionLists, checkNewTopicName, checkTopicConfigs, patchedConfigs, replicaListsFor } from './topic-validation.js';
import type {
  BrokerRegistration,
  Controller,
  CreateTopicSpec,
  PartitionState,
  ProducerIdBlock,
  ReplicaDelegate,
  TopicRecord,
} from './types.js';
import { randomUuid } from './uuid.js';

export interface EmbeddedControllerOptions {
  broker: BrokerRegistration;
  /** Where the metadata document lives (the first log directory). */
  metadataDir: string;
  numPartitions: number;
  defaultReplicationFactor: number;
  deleteTopicEnable: boolean;
  /** Returns an error message for invalid topic overrides, or null. */
  validateTopicConfigs(configs: Record<string, string>): string | null;
  delegate: ReplicaDelegate;
}

/** Producer ids handed out per AllocateProducerIds, as Kafka's controller does. */
export const PRODUCER_ID_BLOCK_SIZE = 1000;

export class EmbeddedController implements Controller {
  private readonly byName = new Map<string, TopicRecord>();
  private readonly byId = new Map<Uuid, TopicRecord>();
  private readonly writer: MetadataFileWriter;
  private nextProducerId: number;

  private constructor(
    private readonly options: EmbeddedControllerOptions,
    readonly clusterId: string,
    topics: TopicRecord[],
    nextProducerId = 0,
  ) {
    this.writer = new MetadataFileWriter(options.metadataDir);
    this.nextProducerId = nextProducerId;
    for (const topic of topics) this.index(topic);
  }

  /** Loads (or creates) the metadata and hands every partition to the local replica manager. */
  static async open(options: EmbeddedControllerOptions): Promise<EmbeddedController> {
    const doc = await readMetadataFile(options.metadataDir);
    const controller = new EmbeddedController(options, doc?.clusterId ?? randomUuid(), doc?.topics ?? [], doc?.nextProducerId ?? 0);
    if (!doc) await controller.persist();
    for (const topic of controller.byName.values()) {
      await options.delegate.applyPartitionStates(topic, topic.partitions);
    }
    return controller;
  }

  get controllerId(): number {
    return this.options.broker.brokerId;
  }

  brokers(): BrokerRegistration[] {
    return [this.options.broker];
  }

  topics(): TopicRecord[] {
    return [...this.byName.values()];
  }

  topic(name: string): TopicRecord | undefined {
    return this.byName.get(name);
  }

  topicById(topicId: Uuid): TopicRecord | undefined {
    return this.byId.get(topicId);
  }

  async createTopic(spec: CreateTopicSpec, validateOnly: boolean): Promise<TopicRecord> {
    checkNewTopicName(spec.name, this.byName.keys());
    const replicaLists = replicaListsFor(spec, {
      brokerIds: this.brokerIds(),
      numPartitions: this.options.numPartitions,
      defaultReplicationFactor: this.options.defaultReplicationFactor,
    });
    checkTopicConfigs(spec.configs, this.options.validateTopicConfigs);

    const topic: TopicRecord = {
      name: spec.name,
      topicId: randomUuid(),
      internal: INTERNAL_TOPICS.has(spec.name),
      partitions: replicaLists.map((replicas, partition) => this.initialState(partition, replicas)),
      configs: { ...spec.configs },
    };
    if (validateOnly) return topic;
    this.index(topic);
    await this.persist();
    await this.options.delegate.applyPartitionStates(topic, topic.partitions);
    return topic;
  }

  async deleteTopic(name: string): Promise<void> {
    const topic = this.byName.get(name);
    if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist.`);
    if (!this.options.deleteTopicEnable) {
      throw new KafkaError(ErrorCode.TOPIC_DELETION_DISABLED, 'Topic deletion is disabled (delete.topic.enable=false).');
    }
    this.byName.delete(name);
    this.byId.delete(topic.topicId);
    await this.persist();
    await this.options.delegate.stopReplicas(topic, topic.partitions.map((p) => p.partition), true);
  }

  async createPartitions(
    name: string,
    totalCount: number,
    assignments: number[][] | null,
    validateOnly: boolean,
  ): Promise<TopicRecord> {
    const topic = this.byName.get(name);
    if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist.`);
    const current = topic.partitions.length;
    const lists = addedPartitionLists(
      topic.partitions.map((p) => p.replicas),
      totalCount,
      assignments,
      this.brokerIds(),
    );
    const newStates = lists.map((replicas, i) => this.initialState(current + i, replicas));
    const grown: TopicRecord = { ...topic, partitions: [...topic.partitions, ...newStates] };
    if (validateOnly) return grown;
    this.index(grown);
    await this.persist();
    await this.options.delegate.applyPartitionStates(grown, newStates);
    return grown;
  }

  async alterTopicConfigs(
    name: string,
    configs: Record<string, string | null>,
    incremental: boolean,
    validateOnly: boolean,
  ): Promise<void> {
    const topic = this.byName.get(name);
    if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist.`);
    const next = patchedConfigs(topic.configs, configs, incremental);
    checkTopicConfigs(next, this.options.validateTopicConfigs);
    if (validateOnly) return;
    const updated: TopicRecord = { ...topic, configs: next };
    this.index(updated);
    await this.persist();
    this.options.delegate.topicConfigChanged(updated);
  }

  async allocateProducerIds(brokerId: number): Promise<ProducerIdBlock> {
    const firstProducerId = this.nextProducerId;
    if (firstProducerId + PRODUCER_ID_BLOCK_SIZE > Number.MAX_SAFE_INTEGER) {
      throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, 'The producer id space is exhausted.');
    }
    this.nextProducerId = firstProducerId + PRODUCER_ID_BLOCK_SIZE;
    // Persisted before the block is used: a restart never hands out these ids again.
    await this.persist();
    return { brokerId, firstProducerId, size: PRODUCER_ID_BLOCK_SIZE };
  }

  async close(): Promise<void> {
    await this.options.delegate.shutdown?.();
    await this.persist();
  }

  private brokerIds(): number[] {
    return this.brokers().map((b) => b.brokerId);
  }

  /** A new partition is led by its preferred replica, with every replica in sync. */
  private initialState(partition: number, replicas: number[]): PartitionState {
    return { partition, replicas, isr: [...replicas], leader: replicas[0]!, leaderEpoch: 0, partitionEpoch: 0 };
  }

  private index(topic: TopicRecord): void {
    this.byName.set(topic.name, topic);
    this.byId.set(topic.topicId, topic);
  }

  private persist(): Promise<void> {
    return this.writer.write({ clusterId: this.clusterId, topics: this.topics(), nextProducerId: this.nextProducerId });
  }
}
