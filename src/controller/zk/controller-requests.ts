/**
 * Collects what one controller event must tell the brokers (Kafka's
 * ControllerBrokerRequestBatch) and sends it when the event ends: one
 * LeaderAndIsr per broker for the partitions whose state changed there, one
 * StopReplica per broker, and an UpdateMetadata with the whole cluster to
 * every live broker. Versions: the newest each broker speaks, from the first
 * one with per-topic layout (LeaderAndIsr 2, UpdateMetadata 5, StopReplica 3).
 */
import { SECURITY_PROTOCOLS } from '../../config/broker-settings.js';
import type { Logger } from '../../logging.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/api-table.js';
import type { LeaderAndIsrRequestLeaderAndIsrTopicState } from '../../protocol/messages/leader-and-isr.js';
import type { UpdateMetadataRequestUpdateMetadataTopicState } from '../../protocol/messages/update-metadata.js';
import { endpointFor } from '../endpoints.js';
import type { ControllerChannel } from './controller-channel.js';
import type { ControllerContext, TopicContext } from './controller-context.js';
import { LEADER_DURING_DELETE } from './metadata-cache.js';

export interface RequestBatchOptions {
  controllerId: number;
  listenerName: string;
  logger: Logger;
}

export class ControllerRequestBatch {
  /** broker → topic → partitions whose state it must learn. */
  private readonly leaderAndIsr = new Map<number, Map<string, Set<number>>>();
  private readonly isNew = new Set<string>();
  /** broker → topic → partitions to stop, and whether to delete them. */
  private readonly stopReplicas = new Map<number, Map<string, Map<number, boolean>>>();
  private metadataDirty = false;
  /** Partitions of deleted topics, announced once with LEADER_DURING_DELETE. */
  private readonly deleted: Array<{ name: string; topicId: string; partitions: number[] }> = [];

  constructor(private readonly options: RequestBatchOptions) {}

  /** The partition's state goes to each of its live replicas (and metadata to everyone). */
  addLeaderAndIsr(context: ControllerContext, topic: TopicContext, partition: number, brokers?: readonly number[], isNew = false): void {
    const p = topic.partitions.get(partition);
    if (!p || !p.state) return;
    for (const brokerId of brokers ?? p.replicas) {
      if (!context.liveBrokers.has(brokerId)) continue;
      let topics = this.leaderAndIsr.get(brokerId);
      if (!topics) this.leaderAndIsr.set(brokerId, (topics = new Map()));
      let parts = topics.get(topic.name);
      if (!parts) topics.set(topic.name, (parts = new Set()));
      parts.add(partition);
    }
    if (isNew) this.isNew.add(`${topic.name}-${partition}`);
    this.metadataDirty = true;
  }

  addStopReplica(context: ControllerContext, brokerId: number, topic: string, partition: number, deletePartition: boolean): void {
    if (!context.liveBrokers.has(brokerId)) return;
    let topics = this.stopReplicas.get(brokerId);
    if (!topics) this.stopReplicas.set(brokerId, (topics = new Map()));
    let parts = topics.get(topic);
    if (!parts) topics.set(topic, (parts = new Map()));
    parts.set(partition, deletePartition || (parts.get(partition) ?? false));
  }

  addDeletedTopic(topic: TopicContext): void {
    this.deleted.push({ name: topic.name, topicId: topic.topicId, partitions: [...topic.partitions.keys()] });
    this.metadataDirty = true;
  }

  markMetadataChanged(): void {
    this.metadataDirty = true;
  }

  /** Sends everything collected and starts a new batch. */
  flush(context: ControllerContext, controllerEpoch: number, channel: ControllerChannel): void {
    const { controllerId } = this.options;
    for (const [brokerId, topics] of this.leaderAndIsr) {
      const topicStates = this.leaderAndIsrTopics(context, controllerEpoch, topics);
      if (topicStates.length === 0) continue;
      const leaders = new Set(topicStates.flatMap((t) => t.partitionStates.map((s) => s.leader)));
      const liveLeaders = [...leaders].flatMap((id) => {
        const broker = context.liveBrokers.get(id);
        const endpoint = broker && endpointFor(broker, this.options.listenerName);
        return endpoint ? [{ brokerId: id, hostName: endpoint.host, port: endpoint.port }] : [];
      });
      channel.send(
        brokerId,
        ApiKey.LeaderAndIsr,
        2,
        () => ({ controllerId, controllerEpoch, brokerEpoch: -1n, type: 0, topicStates, liveLeaders }),
        (response) => this.logPartitionErrors('LeaderAndIsr', brokerId, response.errorCode, [
          ...(response.partitionErrors ?? []),
          ...(response.topics ?? []).flatMap((t) => t.partitionErrors),
        ]),
      );
    }
    for (const [brokerId, topics] of this.stopReplicas) {
      const topicStates = [...topics].map(([topicName, parts]) => ({
        topicName,
        partitionStates: [...parts].map(([partitionIndex, deletePartition]) => ({
          partitionIndex,
          // -2: "delete regardless of epoch", as Kafka's controller sends for deletions and reassignments.
          leaderEpoch: -2,
          deletePartition,
        })),
      }));
      channel.send(brokerId, ApiKey.StopReplica, 3, () => ({ controllerId, controllerEpoch, brokerEpoch: -1n, topicStates }),
        (response) => this.logPartitionErrors('StopReplica', brokerId, response.errorCode, response.partitionErrors));
    }
    if (this.metadataDirty) this.sendUpdateMetadata(context, controllerEpoch, channel);
    this.leaderAndIsr.clear();
    this.isNew.clear();
    this.stopReplicas.clear();
    this.deleted.length = 0;
    this.metadataDirty = false;
  }

  /** The full cluster metadata to one broker or all (a joining broker, a new controller). */
  sendUpdateMetadata(context: ControllerContext, controllerEpoch: number, channel: ControllerChannel, only?: number[]): void {
    const { controllerId } = this.options;
    const live = context.liveBrokerIds();
    const topicStates: UpdateMetadataRequestUpdateMetadataTopicState[] = [];
    for (const topic of context.topics.values()) {
      const partitionStates = [];
      for (const [partitionIndex, p] of topic.partitions) {
        if (!p.state) continue;
        partitionStates.push({
          topicName: topic.name,
          partitionIndex,
          controllerEpoch: p.state.controllerEpoch,
          leader: p.state.leader,
          leaderEpoch: p.state.leaderEpoch,
          isr: p.state.isr,
          zkVersion: p.state.zkVersion,
          replicas: p.replicas,
          offlineReplicas: p.replicas.filter((id) => !live.has(id)),
        });
      }
      topicStates.push({ topicName: topic.name, topicId: topic.topicId, partitionStates });
    }
    for (const gone of this.deleted) {
      topicStates.push({
        topicName: gone.name,
        topicId: gone.topicId,
        partitionStates: gone.partitions.map((partitionIndex) => ({
          topicName: gone.name,
          partitionIndex,
          controllerEpoch,
          leader: LEADER_DURING_DELETE,
          leaderEpoch: 0,
          isr: [],
          zkVersion: 0,
          replicas: [],
          offlineReplicas: [],
        })),
      });
    }
    const liveBrokers = [...context.liveBrokers.values()].map((b) => ({
      id: b.brokerId,
      endpoints: b.endpoints.map((e) => ({
        port: e.port,
        host: e.host,
        listener: e.listenerName,
        securityProtocol: Math.max(0, SECURITY_PROTOCOLS.indexOf(e.securityProtocol as (typeof SECURITY_PROTOCOLS)[number])),
      })),
      rack: b.rack,
    }));
    for (const brokerId of only ?? live) {
      channel.send(brokerId, ApiKey.UpdateMetadata, 5, () => ({ controllerId, controllerEpoch, brokerEpoch: -1n, type: 0, topicStates, liveBrokers }),
        (response) => this.logPartitionErrors('UpdateMetadata', brokerId, response.errorCode, []));
    }
  }

  private leaderAndIsrTopics(
    context: ControllerContext,
    controllerEpoch: number,
    topics: Map<string, Set<number>>,
  ): LeaderAndIsrRequestLeaderAndIsrTopicState[] {
    const result: LeaderAndIsrRequestLeaderAndIsrTopicState[] = [];
    for (const [name, partitions] of topics) {
      const topic = context.topics.get(name);
      if (!topic) continue;
      const partitionStates = [];
      for (const partitionIndex of partitions) {
        const p = topic.partitions.get(partitionIndex);
        if (!p?.state) continue;
        partitionStates.push({
          topicName: name,
          partitionIndex,
          controllerEpoch,
          leader: p.state.leader,
          leaderEpoch: p.state.leaderEpoch,
          isr: p.state.isr,
          partitionEpoch: p.state.zkVersion,
          replicas: p.replicas,
          addingReplicas: p.adding,
          removingReplicas: p.removing,
          isNew: this.isNew.has(`${name}-${partitionIndex}`),
          leaderRecoveryState: 0,
        });
      }
      if (partitionStates.length > 0) result.push({ topicName: name, topicId: topic.topicId, partitionStates });
    }
    return result;
  }

  private logPartitionErrors(api: string, brokerId: number, errorCode: number, errors: Array<{ partitionIndex: number; errorCode: number }>): void {
    // STALE_CONTROLLER_EPOCH for a partition means the broker already had that state (a new controller resends everything).
    const failed = errors.filter((e) => e.errorCode !== ErrorCode.NONE && e.errorCode !== ErrorCode.STALE_CONTROLLER_EPOCH);
    if (errorCode !== ErrorCode.NONE || failed.length > 0) {
      this.options.logger.warn(`a broker refused the controller's ${api}`, { brokerId, errorCode, partitionErrors: failed.slice(0, 10) });
    }
  }
}
