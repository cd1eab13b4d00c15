/**
 * The rules a topic creation or partition increase must pass before anything
 * is written, shared by both controller back-ends (embedded and ZooKeeper):
 * topic names and '.'/'_' collisions, explicit replica lists, replication
 * factor against the live brokers, and topic config overrides. Every check
 * throws a KafkaError with Kafka's code and message.
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { assignReplicas } from './assignment.js';
import { collisionKey, hasCollisionChars, invalidTopicNameReason } from './topic-name.js';
import type { CreateTopicSpec } from './types.js';

/** What the checks need to know about the cluster. */
export interface TopicPlacementContext {
  /** Brokers replicas may be placed on (the live ones). */
  brokerIds: number[];
  /** The broker's num.partitions / default.replication.factor, for -1 in a request. */
  numPartitions: number;
  defaultReplicationFactor: number;
}

/** Checks a new topic's name: legal, not taken, not colliding with an existing name over '.' / '_'. */
export function checkNewTopicName(name: string, existing: Iterable<string>): void {
  const reason = invalidTopicNameReason(name);
  if (reason) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, reason);
  const names = [...existing];
  if (names.includes(name)) throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
  if (hasCollisionChars(name)) {
    const key = collisionKey(name);
    const clash = names.find((n) => collisionKey(n) === key);
    if (clash) {
      throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${name}' collides with existing topic: ${clash}`);
    }
  }
}

/** Throws INVALID_CONFIG with the validator's message when the overrides are not acceptable. */
export function checkTopicConfigs(configs: Record<string, string>, validate: (configs: Record<string, string>) => string | null): void {
  const configError = validate(configs);
  if (configError) throw new KafkaError(ErrorCode.INVALID_CONFIG, configError);
}

/** The replica list of every partition of a new topic: the request's explicit lists, or a fresh assignment. */
export function replicaListsFor(spec: CreateTopicSpec, context: TopicPlacementContext): number[][] {
  if (spec.assignments && spec.assignments.size > 0) {
    if (spec.numPartitions !== -1 || spec.replicationFactor !== -1) {
      throw new KafkaError(
        ErrorCode.INVALID_REQUEST,
        'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.',
      );
    }
    const lists: number[][] = [];
    for (let p = 0; p < spec.assignments.size; p++) {
      const replicas = spec.assignments.get(p);
      if (!replicas) {
        throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Partitions should be a consecutive 0-based integer sequence');
      }
      checkReplicaList(replicas, lists[0]?.length ?? replicas.length, context.brokerIds);
      lists.push(replicas);
    }
    return lists;
  }
  const numPartitions = spec.numPartitions === -1 ? context.numPartitions : spec.numPartitions;
  const replicationFactor = spec.replicationFactor === -1 ? context.defaultReplicationFactor : spec.replicationFactor;
  if (numPartitions <= 0) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, 'Number of partitions must be larger than 0.');
  if (replicationFactor <= 0) {
    throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0.');
  }
  return assignNewPartitions(numPartitions, replicationFactor, 0, context.brokerIds);
}

/**
 * Replica lists for the partitions a topic grows by (CreatePartitions): the
 * request's explicit lists, checked, or a fresh assignment continuing the
 * topic's partition numbering.
 */
export function addedPartitionLists(
  currentReplicaLists: number[][],
  totalCount: number,
  assignments: number[][] | null,
  brokerIds: number[],
): number[][] {
  const current = currentReplicaLists.length;
  if (totalCount <= current) {
    throw new KafkaError(
      ErrorCode.INVALID_PARTITIONS,
      `Topic currently has ${current} partitions, which is higher than or equal to the requested ${totalCount}.`,
    );
  }
  const added = totalCount - current;
  const replicationFactor = currentReplicaLists[0]?.length ?? 1;
  if (assignments) {
    if (assignments.length !== added) {
      throw new KafkaError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Increasing the number of partitions by ${added} but ${assignments.length} assignments provided.`,
      );
    }
    for (const replicas of assignments) checkReplicaList(replicas, replicationFactor, brokerIds);
    return assignments;
  }
  return assignNewPartitions(added, replicationFactor, current, brokerIds);
}

/** Kafka's rack-unaware placement over `brokerIds`; INVALID_REPLICATION_FACTOR when there are too few brokers. */
export function assignNewPartitions(count: number, replicationFactor: number, startPartition: number, brokerIds: number[]): number[][] {
  if (replicationFactor > brokerIds.length) {
    throw new KafkaError(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      `Replication factor: ${replicationFactor} larger than available brokers: ${brokerIds.length}.`,
    );
  }
  return assignReplicas(brokerIds, count, replicationFactor, { startPartition });
}

/** An explicit replica list: non-empty, no duplicates, the expected length, only known brokers. */
export function checkReplicaList(replicas: number[], expectedLength: number, brokerIds: number[]): void {
  if (replicas.length === 0 || new Set(replicas).size !== replicas.length) {
    throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Duplicate or empty replica list ${JSON.stringify(replicas)}.`);
  }
  if (replicas.length !== expectedLength) {
    throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'All partitions should have the same number of replicas.');
  }
  const known = new Set(brokerIds);
  const unknown = replicas.filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Unknown broker ids in assignment: ${unknown.join(', ')}.`);
  }
}

/** A topic's config overrides after an AlterConfigs (`incremental` false replaces them; null deletes a key). */
export function patchedConfigs(
  current: Record<string, string>,
  changes: Record<string, string | null>,
  incremental: boolean,
): Record<string, string> {
  const next: Record<string, string> = incremental ? { ...current } : {};
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  return next;
}
