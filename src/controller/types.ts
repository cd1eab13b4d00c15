/**
 * Cluster metadata as the controller owns it: brokers, topics, partition
 * assignments and their leader/ISR state. Both back-ends (embedded for a
 * single node, ZooKeeper for clusters) speak these shapes.
 */
import type { Uuid } from '../protocol/primitives.js';

export interface BrokerEndpoint {
  listenerName: string;
  host: string;
  port: number;
  securityProtocol: string;
}

export interface BrokerRegistration {
  brokerId: number;
  rack: string | null;
  endpoints: BrokerEndpoint[];
}

export interface PartitionState {
  partition: number;
  /** Assigned replicas, preferred leader first. */
  replicas: number[];
  isr: number[];
  /** -1 when the partition has no leader. */
  leader: number;
  leaderEpoch: number;
  /** Bumped on every change of this partition's state. */
  partitionEpoch: number;
  /** Replicas on brokers that are down (cluster mode; Metadata's offline_replicas). */
  offlineReplicas?: number[];
}

export interface TopicRecord {
  name: string;
  topicId: Uuid;
  internal: boolean;
  partitions: PartitionState[];
  /** Per-topic overrides only; defaults come from the broker config. */
  configs: Record<string, string>;
}

export interface CreateTopicSpec {
  name: string;
  /** -1 = the broker's num.partitions */
  numPartitions: number;
  /** -1 = the broker's default.replication.factor */
  replicationFactor: number;
  /** Explicit replica lists by partition, instead of numPartitions/replicationFactor. */
  assignments?: Map<number, number[]>;
  configs: Record<string, string>;
}

/** What a broker hosting replicas is told when partition state changes. */
export interface ReplicaDelegate {
  /** Partitions this broker now leads or follows (LeaderAndIsr). */
  applyPartitionStates(topic: TopicRecord, partitions: PartitionState[]): Promise<void>;
  /** Replicas this broker must stop hosting (StopReplica), deleting their data when asked. */
  stopReplicas(topic: TopicRecord, partitions: number[], deleteData: boolean): Promise<void>;
  /** A topic's configuration overrides changed. */
  topicConfigChanged(topic: TopicRecord): void;
  /**
   * The node is shutting down (called before its logs close): stop background
   * work and persist replica state that lives beside the logs (producer-state
   * snapshots).
   */
  shutdown?(): Promise<void>;
}

/** A range of producer ids handed to one broker: [firstProducerId, firstProducerId + size). */
export interface ProducerIdBlock {
  brokerId: number;
  firstProducerId: number;
  size: number;
}

export interface Controller {
  readonly clusterId: string;
  readonly controllerId: number;
  brokers(): BrokerRegistration[];
  topics(): TopicRecord[];
  topic(name: string): TopicRecord | undefined;
  topicById(topicId: Uuid): TopicRecord | undefined;
  /** Throws KafkaError with Kafka's code when the topic cannot be created. */
  createTopic(spec: CreateTopicSpec, validateOnly: boolean): Promise<TopicRecord>;
  deleteTopic(name: string): Promise<void>;
  /** Grows a topic to `totalCount` partitions. */
  createPartitions(name: string, totalCount: number, assignments: number[][] | null, validateOnly: boolean): Promise<TopicRecord>;
  /** Replaces (`incremental` false) or patches (null value = delete) a topic's overrides. */
  alterTopicConfigs(name: string, configs: Record<string, string | null>, incremental: boolean, validateOnly: boolean): Promise<void>;
  /**
   * Hands the broker the next block of producer ids (Kafka's
   * AllocateProducerIds). Blocks never overlap, also across restarts: the
   * end of the last block handed out is persisted before the block is.
   */
  allocateProducerIds(brokerId: number): Promise<ProducerIdBlock>;
  close(): Promise<void>;
}
