/**
 * Cluster administration that only the active controller performs (what
 * Admin's electLeaders, alterPartitionReassignments and
 * listPartitionReassignments send): leader elections and partition
 * reassignments.
 *
 * Each function makes one attempt against the controller that fresh
 * metadata names. A broker that is not (or no longer) the controller
 * answers NOT_CONTROLLER, which is retriable: Admin retries, and the next
 * attempt reads the metadata again and follows the new controller.
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ApiKey } from '../protocol/messages/api-table.js';
import type { Cluster } from './cluster.js';
import type { BrokerConnection } from './connection.js';
import { groupBy, tpKey, type TopicPartition } from './util.js';

/** Kafka's election types: the preferred (first) replica, or any live replica even outside the ISR. */
export type ElectionType = 'PREFERRED' | 'UNCLEAN';

const ELECTION_TYPE_CODE: Record<ElectionType, number> = { PREFERRED: 0, UNCLEAN: 1 };

/** One partition's election outcome: null on success, else Kafka's error (ELECTION_NOT_NEEDED when the leader is already the one the election would pick). */
export interface ElectionResult extends TopicPartition {
  error: KafkaError | null;
}

/** A new replica list for a partition, or null to cancel its ongoing reassignment. */
export interface ReassignmentTarget extends TopicPartition {
  replicas: readonly number[] | null;
}

/** An ongoing reassignment, as the controller reports it. */
export interface PartitionReassignment extends TopicPartition {
  /** The current replica set: the original replicas plus those being added. */
  replicas: number[];
  addingReplicas: number[];
  removingReplicas: number[];
}

/**
 * How long the controller may take (the request's timeout_ms) and how long
 * the client waits for its answer (longer: the controller answers at its
 * timeout at the latest).
 */
export interface ControllerTimeouts {
  serverMs: number;
  clientMs: number;
}

/** A partition-level outcome before Admin turns failures into an AdminError. */
export interface PartitionFailure {
  resource: string;
  error: KafkaError;
}

/**
 * A connection to the active controller named by freshly fetched metadata.
 * No controller yet (an election in progress) is NOT_CONTROLLER too, so the
 * caller's retry waits for one.
 */
export async function controllerConnection(cluster: Cluster): Promise<BrokerConnection> {
  const metadata = await cluster.refreshMetadata();
  if (metadata.controllerId < 0) throw new KafkaError(ErrorCode.NOT_CONTROLLER, 'the cluster has no active controller right now');
  return cluster.connectionToNode(metadata.controllerId);
}

/** Throws the top-level error of a controller response (NOT_CONTROLLER stays retriable). */
function checkTopLevel(errorCode: number | undefined, errorMessage: string | null | undefined): void {
  if (errorCode !== undefined && errorCode !== ErrorCode.NONE) throw new KafkaError(errorCode, errorMessage ?? undefined);
}

/** Topic → partitions, in first-seen order. */
function byTopic(partitions: readonly TopicPartition[]): Array<{ topic: string; partitions: number[] }> {
  return [...groupBy(partitions, (tp) => tp.topic)].map(([topic, list]) => ({ topic, partitions: list.map((tp) => tp.partition) }));
}

/**
 * ElectLeaders for `partitions` (null: every partition of the cluster).
 * Resolves with one result per partition the controller answered for.
 */
export async function electLeaders(
  cluster: Cluster,
  type: ElectionType,
  partitions: readonly TopicPartition[] | null,
  timeouts: ControllerTimeouts,
): Promise<ElectionResult[]> {
  const conn = await controllerConnection(cluster);
  const response = await conn.request(
    ApiKey.ElectLeaders,
    (v) => ({
      ...(v >= 1 ? { electionType: ELECTION_TYPE_CODE[type] } : {}),
      topicPartitions: partitions === null ? null : byTopic(partitions),
      timeoutMs: timeouts.serverMs,
    }),
    // v0 knows only preferred elections.
    { minVersion: type === 'PREFERRED' ? 0 : 1, timeoutMs: timeouts.clientMs },
  );
  checkTopLevel(response.errorCode, null);
  const results: ElectionResult[] = response.replicaElectionResults.flatMap((t) =>
    t.partitionResult.map((p) => ({
      topic: t.topic,
      partition: p.partitionId,
      error: p.errorCode === ErrorCode.NONE ? null : new KafkaError(p.errorCode, p.errorMessage ?? undefined),
    })),
  );
  // v0 has no top-level error: a broker that is not the controller says so for every partition.
  if (results.length > 0 && results.every((r) => r.error?.code === ErrorCode.NOT_CONTROLLER)) {
    throw new KafkaError(ErrorCode.NOT_CONTROLLER);
  }
  return results;
}

/** AlterPartitionReassignments: starts (or, with null replicas, cancels) reassignments; returns the partitions that failed. */
export async function alterPartitionReassignments(
  cluster: Cluster,
  targets: readonly ReassignmentTarget[],
  timeouts: ControllerTimeouts,
): Promise<PartitionFailure[]> {
  const conn = await controllerConnection(cluster);
  const response = await conn.request(
    ApiKey.AlterPartitionReassignments,
    {
      timeoutMs: timeouts.serverMs,
      topics: [...groupBy(targets, (t) => t.topic)].map(([name, list]) => ({
        name,
        partitions: list.map((t) => ({ partitionIndex: t.partition, replicas: t.replicas === null ? null : [...t.replicas] })),
      })),
    },
    { timeoutMs: timeouts.clientMs },
  );
  checkTopLevel(response.errorCode, response.errorMessage);
  const answered = new Map<string, { errorCode: number; errorMessage: string | null }>();
  for (const t of response.responses) for (const p of t.partitions) answered.set(tpKey(t.name, p.partitionIndex), p);
  const failures: PartitionFailure[] = [];
  for (const t of targets) {
    const key = tpKey(t.topic, t.partition);
    const outcome = answered.get(key);
    if (outcome === undefined) {
      failures.push({ resource: key, error: new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `no result for ${key} in the response`) });
    } else if (outcome.errorCode !== ErrorCode.NONE) {
      failures.push({ resource: key, error: new KafkaError(outcome.errorCode, outcome.errorMessage ?? undefined) });
    }
  }
  return failures;
}

/** ListPartitionReassignments for `partitions` (null: all ongoing ones). */
export async function listPartitionReassignments(
  cluster: Cluster,
  partitions: readonly TopicPartition[] | null,
  timeouts: ControllerTimeouts,
): Promise<PartitionReassignment[]> {
  const conn = await controllerConnection(cluster);
  const response = await conn.request(
    ApiKey.ListPartitionReassignments,
    {
      timeoutMs: timeouts.serverMs,
      topics: partitions === null ? null : byTopic(partitions).map((t) => ({ name: t.topic, partitionIndexes: t.partitions })),
    },
    { timeoutMs: timeouts.clientMs },
  );
  checkTopLevel(response.errorCode, response.errorMessage);
  return response.topics.flatMap((t) =>
    t.partitions.map((p) => ({
      topic: t.name,
      partition: p.partitionIndex,
      replicas: p.replicas,
      addingReplicas: p.addingReplicas,
      removingReplicas: p.removingReplicas,
    })),
  );
}
