/**
 * Cluster description: DescribeCluster v0-1, DescribeLogDirs v0-4 and
 * DescribeTopicPartitions v0.
 *
 * DescribeCluster: the brokers the controller knows, each with the endpoint
 * advertised for the listener the client came in on, the cluster id and the
 * controller id; cluster_authorized_operations is INT32_MIN unless asked for,
 * and then every cluster operation (there are no ACLs). v1's endpoint_type
 * must be 1 (brokers): 2 answers MISMATCHED_ENDPOINT_TYPE (this is a broker,
 * not a controller endpoint), anything else UNSUPPORTED_ENDPOINT_TYPE.
 *
 * DescribeLogDirs: every log directory with the partitions it holds (all, or
 * the requested ones), their size in bytes, offset_lag 0 and is_future false;
 * v3 adds the top-level error code, v4 the volume's total and usable bytes
 * (-1 when the volume cannot be queried). That statfs is the one file-system
 * call in the handlers; it moves into LogManager once storage offers it.
 *
 * DescribeTopicPartitions: the requested topics (all when none are named) in
 * name order, with leader, epoch, replicas and ISR per partition, paged by
 * response_partition_limit with Kafka's cursor rules: a topic cut short
 * returns a cursor to its next partition; a page that ends exactly at a topic
 * boundary returns a cursor to partition 0 of the next topic. Unknown or
 * invalid named topics answer UNKNOWN_TOPIC_OR_PARTITION or
 * INVALID_TOPIC_EXCEPTION; a cursor naming a topic outside the request, or
 * with a negative partition, fails the request with INVALID_REQUEST.
 *
 * Deliberately not done: ACL checks (authorized-operation bit sets report
 * everything allowed), quotas (throttle time 0), future logs (there is no
 * AlterReplicaLogDirs), eligible leader replicas (KIP-966: always empty),
 * and Kafka's max.request.partition.size.limit cap on the page size (not a
 * Ganglion setting yet: the request's limit is used, at least 1).
 */
import { statfs } from 'node:fs/promises';
import { endpointFor } from '../../controller/endpoints.js';
import { invalidTopicNameReason, INTERNAL_TOPICS } from '../../controller/topic-name.js';
import type { TopicRecord } from '../../controller/types.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/api-table.js';
import type {
  DescribeClusterResponse,
  DescribeClusterResponseDescribeClusterBroker,
} from '../../protocol/messages/describe-cluster.js';
import type {
  DescribeLogDirsResponse,
  DescribeLogDirsResponseDescribeLogDirsResult,
  DescribeLogDirsResponseDescribeLogDirsTopic,
} from '../../protocol/messages/describe-log-dirs.js';
import type {
  DescribeTopicPartitionsResponse,
  DescribeTopicPartitionsResponsePartition,
  DescribeTopicPartitionsResponseTopic,
} from '../../protocol/messages/describe-topic-partitions.js';
import { ZERO_UUID } from '../../protocol/primitives.js';
import { defineHandler } from '../handler-registry.js';
import type { BrokerServices } from '../services.js';

/** Kafka's "not requested" value for authorized-operation bit sets. */
const OPERATIONS_NOT_REQUESTED = -2147483648;

/** Kafka's AclOperation codes. */
const AclOperation = {
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
} as const;

const bits = (ops: number[]) => ops.reduce((acc, op) => acc | (1 << op), 0);
const A = AclOperation;
/** The operations Kafka supports on the CLUSTER resource, all allowed without an authorizer. */
const CLUSTER_OPERATIONS = bits([A.CREATE, A.CLUSTER_ACTION, A.DESCRIBE_CONFIGS, A.ALTER_CONFIGS, A.IDEMPOTENT_WRITE, A.ALTER, A.DESCRIBE]);
/** The operations Kafka supports on a TOPIC resource, all allowed without an authorizer. */
const TOPIC_OPERATIONS = bits([A.READ, A.WRITE, A.CREATE, A.DESCRIBE, A.DELETE, A.ALTER, A.DESCRIBE_CONFIGS, A.ALTER_CONFIGS]);

/** Orders names as Java's String.compareTo does (UTF-16 code units), independent of locale. */
const compareNames = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** DescribeCluster endpoint types (KIP-919). */
const EndpointType = { BROKER: 1, CONTROLLER: 2 } as const;

// ---- DescribeCluster ---------------------------------------------------

export function createDescribeClusterHandler(services: BrokerServices) {
  const { controller } = services;

  return defineHandler({
    apiKey: ApiKey.DescribeCluster,
    minVersion: 0,
    maxVersion: 1,
    handle(request, context): DescribeClusterResponse {
      const version = context.apiVersion;
      const endpointType = version >= 1 ? (request.endpointType ?? EndpointType.BROKER) : EndpointType.BROKER;
      const base: DescribeClusterResponse = {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        clusterId: '',
        controllerId: -1,
        brokers: [],
        clusterAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
      };
      if (version >= 1) base.endpointType = endpointType;
      if (endpointType === EndpointType.CONTROLLER) {
        return {
          ...base,
          errorCode: ErrorCode.MISMATCHED_ENDPOINT_TYPE,
          errorMessage: 'The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER',
        };
      }
      if (endpointType !== EndpointType.BROKER) {
        return { ...base, errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, errorMessage: `Unsupported endpoint type ${endpointType}` };
      }
      const listener = context.connection.listenerName;
      const brokers: DescribeClusterResponseDescribeClusterBroker[] = [];
      for (const broker of controller.brokers()) {
        const endpoint = endpointFor(broker, listener);
        if (!endpoint) continue;
        brokers.push({ brokerId: broker.brokerId, host: endpoint.host, port: endpoint.port, rack: broker.rack });
      }
      const controllerId = brokers.some((b) => b.brokerId === controller.controllerId) ? controller.controllerId : -1;
      return {
        ...base,
        clusterId: controller.clusterId,
        controllerId,
        brokers,
        clusterAuthorizedOperations: request.includeClusterAuthorizedOperations ? CLUSTER_OPERATIONS : OPERATIONS_NOT_REQUESTED,
      };
    },
  });
}

// ---- DescribeLogDirs ---------------------------------------------------

export interface VolumeSpace {
  totalBytes: bigint;
  usableBytes: bigint;
}

/** Total and usable (available to this process) bytes of the volume holding `dir`. */
export async function volumeSpace(dir: string): Promise<VolumeSpace> {
  const s = await statfs(dir, { bigint: true });
  return { totalBytes: s.blocks * s.bsize, usableBytes: s.bavail * s.bsize };
}

export interface DescribeLogDirsOptions {
  /** How to measure a log directory's volume (tests replace it). */
  volumeSpace?: (dir: string) => Promise<VolumeSpace>;
}

export function createDescribeLogDirsHandler(services: BrokerServices, options: DescribeLogDirsOptions = {}) {
  const { logManager, logger } = services;
  const measure = options.volumeSpace ?? volumeSpace;

  return defineHandler({
    apiKey: ApiKey.DescribeLogDirs,
    minVersion: 0,
    maxVersion: 4,
    async handle(request, context): Promise<DescribeLogDirsResponse> {
      const version = context.apiVersion;
      let wanted: Map<string, Set<number>> | null = null;
      if (request.topics !== null) {
        wanted = new Map();
        for (const t of request.topics) {
          const set = wanted.get(t.topic) ?? new Set<number>();
          for (const p of t.partitions) set.add(p);
          wanted.set(t.topic, set);
        }
      }

      const describeDir = async (dir: string): Promise<DescribeLogDirsResponseDescribeLogDirsResult> => {
        const byTopic = new Map<string, DescribeLogDirsResponseDescribeLogDirsTopic>();
        const logs = logManager
          .logsInDir(dir)
          .filter((log) => wanted === null || wanted.get(log.topicPartition.topic)?.has(log.topicPartition.partition))
          .sort((a, b) => compareNames(a.topicPartition.topic, b.topicPartition.topic) || a.topicPartition.partition - b.topicPartition.partition);
        for (const log of logs) {
          const { topic, partition } = log.topicPartition;
          let entry = byTopic.get(topic);
          if (!entry) byTopic.set(topic, (entry = { name: topic, partitions: [] }));
          entry.partitions.push({
            partitionIndex: partition,
            partitionSize: BigInt(log.sizeInBytes),
            // Kafka reports max(high watermark - log end offset, 0) for current logs: always 0.
            offsetLag: 0n,
            isFutureKey: false,
          });
        }
        const result: DescribeLogDirsResponseDescribeLogDirsResult = { errorCode: ErrorCode.NONE, logDir: dir, topics: [...byTopic.values()] };
        if (version >= 4) {
          try {
            const space = await measure(dir);
            result.totalBytes = space.totalBytes;
            result.usableBytes = space.usableBytes;
          } catch (err) {
            logger.warn('could not measure the volume of a log directory', { dir, err: String(err) });
            result.totalBytes = -1n;
            result.usableBytes = -1n;
          }
        }
        return result;
      };

      const response: DescribeLogDirsResponse = { throttleTimeMs: 0, results: await Promise.all(logManager.logDirs.map(describeDir)) };
      if (version >= 3) response.errorCode = ErrorCode.NONE;
      return response;
    },
  });
}

// ---- DescribeTopicPartitions -------------------------------------------

export function createDescribeTopicPartitionsHandler(services: BrokerServices) {
  const { controller } = services;

  function partitionsOf(topic: TopicRecord, start: number, count: number): DescribeTopicPartitionsResponsePartition[] {
    return topic.partitions.slice(start, start + count).map((p) => ({
      // As Kafka: a partition without a leader says so with leader id -1, not an error code.
      errorCode: ErrorCode.NONE,
      partitionIndex: p.partition,
      leaderId: p.leader,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: [...p.replicas],
      isrNodes: [...p.isr],
      eligibleLeaderReplicas: [],
      lastKnownElr: [],
      offlineReplicas: [...(p.offlineReplicas ?? [])],
    }));
  }

  function topicEntry(name: string, errorCode: number, topic?: TopicRecord): DescribeTopicPartitionsResponseTopic {
    return {
      errorCode,
      name,
      topicId: topic?.topicId ?? ZERO_UUID,
      isInternal: topic?.internal ?? INTERNAL_TOPICS.has(name),
      partitions: [],
      // Kafka fills these in for every topic it answers, known or not; a failed request keeps the default.
      topicAuthorizedOperations: errorCode === ErrorCode.INVALID_REQUEST ? OPERATIONS_NOT_REQUESTED : TOPIC_OPERATIONS,
    };
  }

  return defineHandler({
    apiKey: ApiKey.DescribeTopicPartitions,
    minVersion: 0,
    maxVersion: 0,
    handle(request): DescribeTopicPartitionsResponse {
      const all = request.topics.length === 0;
      const names = new Set(all ? controller.topics().map((t) => t.name) : request.topics.map((t) => t.name));
      const cursor = request.cursor;

      const invalid = (message: string): DescribeTopicPartitionsResponse => {
        services.logger.debug('invalid DescribeTopicPartitions request', { message });
        return {
          throttleTimeMs: 0,
          topics: request.topics.map((t) => topicEntry(t.name, ErrorCode.INVALID_REQUEST)),
          nextCursor: null,
        };
      };
      if (cursor !== null && !names.has(cursor.topicName)) {
        return invalid(`DescribeTopicPartitionsRequest topic list should contain the cursor topic: ${cursor.topicName}`);
      }
      if (cursor !== null && cursor.partitionIndex < 0) {
        return invalid(`DescribeTopicPartitionsRequest cursor partition must be valid: ${cursor.partitionIndex}`);
      }

      const ordered = [...names].filter((n) => cursor === null || n >= cursor.topicName).sort(compareNames);
      let remaining = Math.max(request.responsePartitionLimit, 1);
      const topics: DescribeTopicPartitionsResponseTopic[] = [];
      let nextCursor: DescribeTopicPartitionsResponse['nextCursor'] = null;
      for (const name of ordered) {
        if (remaining === 0) {
          nextCursor = { topicName: name, partitionIndex: 0 };
          break;
        }
        const topic = controller.topic(name);
        if (!topic) {
          if (!all) {
            const code = invalidTopicNameReason(name) ? ErrorCode.INVALID_TOPIC_EXCEPTION : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
            topics.push(topicEntry(name, code));
          }
          continue;
        }
        const start = cursor !== null && name === cursor.topicName ? cursor.partitionIndex : 0;
        const partitions = partitionsOf(topic, start, remaining);
        topics.push({ ...topicEntry(name, ErrorCode.NONE, topic), partitions });
        const end = Math.min(topic.partitions.length, start + remaining);
        if (end < topic.partitions.length) {
          nextCursor = { topicName: name, partitionIndex: end };
          break;
        }
        remaining -= partitions.length;
      }
      return { throttleTimeMs: 0, topics, nextCursor };
    },
  });
}
