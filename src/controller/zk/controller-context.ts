/**
 * The active controller's view of the cluster, loaded from ZooKeeper when it
 * wins the election and kept current by its own writes and watches: live
 * brokers, each topic's assignment (with a reassignment's adding/removing
 * replicas) and each partition's leader/ISR state with its znode version.
 */
import type { Uuid } from '../../protocol/primitives.js';
import type { LeaderIsrState, TopicAssignment } from '../../zookeeper/types.js';
import type { BrokerRegistration } from '../types.js';

export interface PartitionContext {
  /** The full replica set; during a reassignment the target plus the replicas being removed. */
  replicas: number[];
  adding: number[];
  removing: number[];
  /** Null until the partition has been given a leader (no replica was live at creation). */
  state: LeaderIsrState | null;
}

export interface TopicContext {
  name: string;
  topicId: Uuid;
  /** Version of `/brokers/topics/<t>`, for conditional assignment writes. */
  assignmentZkVersion: number;
  partitions: Map<number, PartitionContext>;
}

export class ControllerContext {
  readonly liveBrokers = new Map<number, BrokerRegistration>();
  /** Brokers in controlled shutdown: never elected leader again until they re-register. */
  readonly shuttingDown = new Set<number>();
  private readonly byName = new Map<string, TopicContext>();
  /** The same topics by id (AlterPartition v2+ names them so); kept in step by addTopic/removeTopic. */
  private readonly byId = new Map<Uuid, TopicContext>();

  get topics(): ReadonlyMap<string, TopicContext> {
    return this.byName;
  }

  addTopic(topic: TopicContext): void {
    this.removeTopic(topic.name);
    this.byName.set(topic.name, topic);
    this.byId.set(topic.topicId, topic);
  }

  removeTopic(name: string): void {
    const topic = this.byName.get(name);
    if (!topic) return;
    this.byName.delete(name);
    this.byId.delete(topic.topicId);
  }

  liveBrokerIds(): Set<number> {
    return new Set(this.liveBrokers.keys());
  }

  topicById(topicId: Uuid): TopicContext | undefined {
    return this.byId.get(topicId);
  }

  /** Every partition, as [topic, partition index, partition]. */
  *allPartitions(): Generator<[TopicContext, number, PartitionContext]> {
    for (const topic of this.topics.values()) {
      for (const [index, partition] of topic.partitions) yield [topic, index, partition];
    }
  }

  /** The target replicas of a partition (its replicas without those being removed). */
  static targetReplicas(partition: PartitionContext): number[] {
    return partition.replicas.filter((id) => !partition.removing.includes(id));
  }

  /** The assignment znode content for a topic, as the context holds it. */
  static assignmentOf(topic: TopicContext): TopicAssignment {
    const partitions = new Map<number, number[]>();
    const addingReplicas = new Map<number, number[]>();
    const removingReplicas = new Map<number, number[]>();
    for (const [index, p] of topic.partitions) {
      partitions.set(index, p.replicas);
      if (p.adding.length > 0) addingReplicas.set(index, p.adding);
      if (p.removing.length > 0) removingReplicas.set(index, p.removing);
    }
    return {
      topic: topic.name,
      topicId: topic.topicId,
      partitions,
      addingReplicas,
      removingReplicas,
      zkVersion: topic.assignmentZkVersion,
    };
  }

  clear(): void {
    this.liveBrokers.clear();
    this.shuttingDown.clear();
    this.byName.clear();
    this.byId.clear();
  }
}
