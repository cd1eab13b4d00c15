/**
 * The controller's requests to brokers (cluster mode only): LeaderAndIsr
 * v0-7, UpdateMetadata v0-8 and StopReplica v0-4. This file turns each wire
 * layout into the broker controller's version-independent form and its
 * outcome back into the response layout of the request's version:
 *
 * - LeaderAndIsr: partition states ungrouped with topic names (v0-1), grouped
 *   by topic (v2+), with topic ids (v5+); errors per partition with topic
 *   names (v0-4) or grouped by topic id (v5+).
 * - UpdateMetadata: brokers with one PLAINTEXT host/port (v0) or endpoints
 *   (v1+) named by security protocol until listener names arrive (v3);
 *   racks from v2, offline replicas from v4, topic grouping from v5, topic
 *   ids from v7.
 * - StopReplica: one delete flag for the whole request (v0-2), partitions
 *   ungrouped (v0) or by topic (v1-2), per-partition leader epoch and delete
 *   flag (v3+).
 *
 * A request from an older controller epoch than the newest seen answers
 * STALE_CONTROLLER_EPOCH and changes nothing. The broker epoch in the
 * requests is not checked: this broker does not learn its own (the czxid of
 * its registration) from the ZooKeeper layer, and the controller sends -1.
 */
import { groupBy } from '../../client/util.js';
import { SECURITY_PROTOCOLS } from '../../config/broker-settings.js';
import type { CachedPartitionState, MetadataUpdate, MetadataUpdateTopic } from '../../controller/zk/metadata-cache.js';
import type { LeaderAndIsrTopic, StopReplicaPartition, ZkBrokerController } from '../../controller/zk/zk-broker.js';
import type { BrokerEndpoint, BrokerRegistration } from '../../controller/types.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/api-table.js';
import type {
  LeaderAndIsrRequestLeaderAndIsrPartitionState,
  LeaderAndIsrResponse,
} from '../../protocol/messages/leader-and-isr.js';
import type {
  UpdateMetadataRequest,
  UpdateMetadataRequestUpdateMetadataBroker,
  UpdateMetadataRequestUpdateMetadataPartitionState,
} from '../../protocol/messages/update-metadata.js';
import type { StopReplicaRequest } from '../../protocol/messages/stop-replica.js';
import { ZERO_UUID } from '../../protocol/primitives.js';
import { defineHandler, type ApiHandler } from '../handler-registry.js';

/** LeaderAndIsr: topic grouping from v2, topic ids from v5. */
const LAI_GROUPED_VERSION = 2;
const LAI_TOPIC_ID_VERSION = 5;
/** UpdateMetadata: endpoints from v1, listener names from v3, topic grouping from v5. */
const UM_ENDPOINTS_VERSION = 1;
const UM_LISTENER_VERSION = 3;
const UM_GROUPED_VERSION = 5;
/** StopReplica: per-partition states from v3. */
const SR_STATES_VERSION = 3;

export function createInterBrokerHandlers(broker: ZkBrokerController): ApiHandler<any>[] {
  return [leaderAndIsrHandler(broker), updateMetadataHandler(broker), stopReplicaHandler(broker)];
}

/** Partition states of the old ungrouped layouts (each names its topic), grouped by topic in arrival order. */
function groupByTopicName<S extends { topicName?: string }, P>(
  states: readonly S[],
  convert: (state: S) => P,
): Array<{ name: string; topicId: null; partitions: P[] }> {
  return [...groupBy(states, (s) => s.topicName ?? '')].map(([name, list]) => ({ name, topicId: null, partitions: list.map(convert) }));
}

// ---- LeaderAndIsr --------------------------------------------------------------------------

function toPartitionState(s: LeaderAndIsrRequestLeaderAndIsrPartitionState) {
  return {
    partition: s.partitionIndex,
    replicas: s.replicas,
    isr: s.isr,
    leader: s.leader,
    leaderEpoch: s.leaderEpoch,
    partitionEpoch: s.partitionEpoch,
  };
}

function leaderAndIsrHandler(broker: ZkBrokerController) {
  return defineHandler({
    apiKey: ApiKey.LeaderAndIsr,
    minVersion: 0,
    maxVersion: 7,
    async handle(request, context): Promise<LeaderAndIsrResponse> {
      const version = context.apiVersion;
      let topics: LeaderAndIsrTopic[];
      if (version < LAI_GROUPED_VERSION) {
        topics = groupByTopicName(request.ungroupedPartitionStates ?? [], toPartitionState);
      } else {
        topics = (request.topicStates ?? []).map((t) => ({
          name: t.topicName,
          topicId: version >= LAI_TOPIC_ID_VERSION && t.topicId !== undefined && t.topicId !== ZERO_UUID ? t.topicId : null,
          partitions: t.partitionStates.map(toPartitionState),
        }));
      }
      const outcome = await broker.applyLeaderAndIsr(request, topics);
      const codeOf = (topic: string, partition: number) =>
        outcome.errorCode !== ErrorCode.NONE ? outcome.errorCode : (outcome.partitionErrors.get(topic)?.get(partition) ?? ErrorCode.NONE);
      if (version < LAI_TOPIC_ID_VERSION) {
        return {
          errorCode: outcome.errorCode,
          partitionErrors: topics.flatMap((t) =>
            t.partitions.map((p) => ({ topicName: t.name, partitionIndex: p.partition, errorCode: codeOf(t.name, p.partition) })),
          ),
        };
      }
      return {
        errorCode: outcome.errorCode,
        topics: topics.map((t) => ({
          topicId: t.topicId ?? ZERO_UUID,
          partitionErrors: t.partitions.map((p) => ({ partitionIndex: p.partition, errorCode: codeOf(t.name, p.partition) })),
        })),
      };
    },
  });
}

// ---- UpdateMetadata ------------------------------------------------------------------------

function toCachedState(s: UpdateMetadataRequestUpdateMetadataPartitionState): CachedPartitionState {
  return {
    partition: s.partitionIndex,
    replicas: s.replicas,
    isr: s.isr,
    leader: s.leader,
    leaderEpoch: s.leaderEpoch,
    partitionEpoch: s.zkVersion,
    offlineReplicas: s.offlineReplicas ?? [],
    controllerEpoch: s.controllerEpoch,
  };
}

function toRegistration(b: UpdateMetadataRequestUpdateMetadataBroker, version: number): BrokerRegistration {
  let endpoints: BrokerEndpoint[];
  if (version < UM_ENDPOINTS_VERSION) {
    endpoints = [{ listenerName: 'PLAINTEXT', host: b.v0Host ?? '', port: b.v0Port ?? 0, securityProtocol: 'PLAINTEXT' }];
  } else {
    endpoints = (b.endpoints ?? []).map((e) => {
      const securityProtocol = SECURITY_PROTOCOLS[e.securityProtocol] ?? `UNKNOWN(${e.securityProtocol})`;
      // Before listener names existed, each security protocol was its own listener.
      const listenerName = version >= UM_LISTENER_VERSION && e.listener ? e.listener : securityProtocol;
      return { listenerName, host: e.host, port: e.port, securityProtocol };
    });
  }
  return { brokerId: b.id, rack: b.rack ? b.rack : null, endpoints };
}

export function toMetadataUpdate(request: UpdateMetadataRequest, version: number): MetadataUpdate {
  let topics: MetadataUpdateTopic[];
  if (version < UM_GROUPED_VERSION) {
    topics = groupByTopicName(request.ungroupedPartitionStates ?? [], toCachedState);
  } else {
    topics = (request.topicStates ?? []).map((t) => ({
      name: t.topicName,
      topicId: t.topicId !== undefined && t.topicId !== ZERO_UUID ? t.topicId : null,
      partitions: t.partitionStates.map(toCachedState),
    }));
  }
  return {
    controllerId: request.controllerId,
    liveBrokers: request.liveBrokers.map((b) => toRegistration(b, version)),
    topics,
  };
}

function updateMetadataHandler(broker: ZkBrokerController) {
  return defineHandler({
    apiKey: ApiKey.UpdateMetadata,
    minVersion: 0,
    maxVersion: 8,
    async handle(request, context) {
      const errorCode = await broker.applyUpdateMetadata(request, toMetadataUpdate(request, context.apiVersion));
      return { errorCode };
    },
  });
}

// ---- StopReplica ---------------------------------------------------------------------------

export function toStopReplicaPartitions(request: StopReplicaRequest, version: number): StopReplicaPartition[] {
  if (version >= SR_STATES_VERSION) {
    return (request.topicStates ?? []).flatMap((t) =>
      t.partitionStates.map((p) => ({
        topic: t.topicName,
        partition: p.partitionIndex,
        leaderEpoch: p.leaderEpoch,
        deletePartition: p.deletePartition,
      })),
    );
  }
  // Before v3 there are no epochs: -1 stops the replica whatever its epoch.
  const deletePartition = request.deletePartitions ?? false;
  const ungrouped = (request.ungroupedPartitions ?? []).map((p) => ({ topic: p.topicName, partition: p.partitionIndex }));
  const grouped = (request.topics ?? []).flatMap((t) => t.partitionIndexes.map((partition) => ({ topic: t.name, partition })));
  return [...ungrouped, ...grouped].map((p) => ({ ...p, leaderEpoch: -1, deletePartition }));
}

function stopReplicaHandler(broker: ZkBrokerController) {
  return defineHandler({
    apiKey: ApiKey.StopReplica,
    minVersion: 0,
    maxVersion: 4,
    async handle(request, context) {
      const outcome = await broker.applyStopReplica(request, toStopReplicaPartitions(request, context.apiVersion));
      return {
        errorCode: outcome.errorCode,
        partitionErrors: outcome.partitionErrors.map((p) => ({ topicName: p.topic, partitionIndex: p.partition, errorCode: p.errorCode })),
      };
    },
  });
}
