/**
 * The admin client: topics, partitions, configs, offsets, record deletion,
 * cluster and log-dir description, leader elections and partition
 * reassignments — what Kafka's command-line tools are built on.
 *
 * Every call is bounded by its `timeoutMs` option (default
 * `default.api.timeout.ms`); connection failures and retriable errors are
 * retried with backoff within that time. Calls on several entities (topics,
 * partitions, resources) process each independently, as Kafka does: when
 * some fail, the call rejects with an AdminError (a KafkaError with the
 * first failure's code and name) listing every failure, and the others took
 * effect.
 */
import {
  alterGroupOffsets,
  deleteGroup,
  deleteGroupOffsets,
  describeGroup,
  listGroupOffsets,
  listGroups,
  type CommittedOffset,
  type GroupDeletion,
  type GroupDescription,
  type ListedGroup,
} from './admin-groups.js';
import {
  alterPartitionReassignments,
  electLeaders,
  listPartitionReassignments,
  type ControllerTimeouts,
  type ElectionResult,
  type ElectionType,
  type PartitionReassignment,
  type ReassignmentTarget,
} from './admin-cluster.js';
import type { TopicPartitionOffset } from './assignment.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ApiKey, apiByKey } from '../protocol/messages/api-table.js';
import type { CreateTopicsResponse } from '../protocol/messages/create-topics.js';
import { ZERO_UUID, type Uuid } from '../protocol/primitives.js';
import { silentLogger, type Logger } from '../logging.js';
import { Cluster, clusterOptions, type BrokerNode } from './cluster.js';
import { resolveAdminConfig, type AdminConfig, type ConfigInput, type ResolvedConfig } from './config.js';
import type { BrokerConnection } from './connection.js';
import { AdminError, ClientClosedError, TimeoutError, isRetriable } from './errors.js';
import { requestLeaders, type PartitionOutcome } from './leader-requests.js';
import { backoff, groupBy, sleep, tpKey, type TopicPartition } from './util.js';
import { clientVersionRange } from './versions.js';

// ---------------------------------------------------------------------- types

/** A topic to create. */
export interface NewTopic {
  topic: string;
  /** Partition count; omitted or -1 for the broker's `num.partitions`. Not with `replicaAssignment`. */
  numPartitions?: number;
  /** Replication factor; omitted or -1 for the broker's `default.replication.factor`. Not with `replicaAssignment`. */
  replicationFactor?: number;
  /** Explicit replicas per partition: `[[1, 2], [2, 3]]` (index = partition). */
  replicaAssignment?: ReadonlyArray<readonly number[]>;
  /** Topic configs, e.g. `{ 'cleanup.policy': 'compact' }`. */
  configs?: Readonly<Record<string, string>>;
}

export interface CreateTopicsOptions {
  /** Check the request without creating anything. */
  validateOnly?: boolean;
  timeoutMs?: number;
}

/** A created (or validated) topic, as the broker reports it. */
export interface CreatedTopic {
  topic: string;
  /** ZERO_UUID with validateOnly or brokers older than CreateTopics v7. */
  topicId: Uuid;
  /** -1 when the broker does not say (CreateTopics before v5). */
  numPartitions: number;
  replicationFactor: number;
  /** The topic's configs (CreateTopics v5+), by name. */
  configs: Record<string, string | null>;
}

export interface TimeoutOptions {
  timeoutMs?: number;
}

export interface ListTopicsOptions extends TimeoutOptions {
  /** Include internal topics such as `__consumer_offsets`. Default false. */
  listInternal?: boolean;
}

export interface PartitionDescription {
  partition: number;
  /** Leader broker id, -1 when none. */
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
}

export interface TopicDescription {
  topic: string;
  topicId: Uuid;
  isInternal: boolean;
  /** Sorted by partition. */
  partitions: PartitionDescription[];
}

/** A new total partition count for a topic. */
export interface NewPartitions {
  topic: string;
  /** The new total number of partitions (must exceed the current count). */
  count: number;
  /** Replicas of each new partition, in order: `[[1], [2]]`. */
  assignments?: ReadonlyArray<readonly number[]>;
}

export type ConfigResourceType = 'topic' | 'broker' | 'broker-logger';

/** A config resource: a topic by name, or a broker by id (`''` for the cluster-wide default). */
export interface ConfigResource {
  type: ConfigResourceType;
  name: string;
}

export interface DescribeConfigsResource extends ConfigResource {
  /** Only these keys; all when omitted. */
  keys?: readonly string[];
}

export interface DescribeConfigsOptions extends TimeoutOptions {
  includeSynonyms?: boolean;
  includeDocumentation?: boolean;
}

/** Where a config value comes from (Kafka's ConfigSource names). */
export type ConfigSource =
  | 'UNKNOWN'
  | 'DYNAMIC_TOPIC_CONFIG'
  | 'DYNAMIC_BROKER_CONFIG'
  | 'DYNAMIC_DEFAULT_BROKER_CONFIG'
  | 'STATIC_BROKER_CONFIG'
  | 'DEFAULT_CONFIG'
  | 'DYNAMIC_BROKER_LOGGER_CONFIG'
  | 'CLIENT_METRICS_CONFIG'
  | 'GROUP_CONFIG';

export interface ConfigSynonym {
  name: string;
  value: string | null;
  source: ConfigSource;
}

export interface ConfigEntry {
  name: string;
  /** Null for sensitive values and unset ones. */
  value: string | null;
  source: ConfigSource;
  isDefault: boolean;
  isReadOnly: boolean;
  isSensitive: boolean;
  synonyms: ConfigSynonym[];
  /** Kafka's type name (STRING, INT, LONG, BOOLEAN, LIST, ...), or 'UNKNOWN' before DescribeConfigs v3. */
  type: string;
  documentation: string | null;
}

export interface ConfigResourceDescription extends ConfigResource {
  entries: ConfigEntry[];
}

export interface AlterConfigsOptions extends TimeoutOptions {
  validateOnly?: boolean;
}

/** Full replacement of a resource's dynamic configs (AlterConfigs): unlisted keys revert to their defaults. */
export interface AlterConfigsResource extends ConfigResource {
  configs: Readonly<Record<string, string | null>>;
}

export type AlterConfigOpType = 'set' | 'delete' | 'append' | 'subtract';

export interface AlterConfigOp {
  name: string;
  op: AlterConfigOpType;
  /** Required for set/append/subtract. */
  value?: string | null;
}

/** Patch of a resource's configs (IncrementalAlterConfigs). */
export interface IncrementalAlterConfigsResource extends ConfigResource {
  ops: readonly AlterConfigOp[];
}

/** Which offset to look up: the first, the next to be written, the one with the largest timestamp, or the first at or after a timestamp (epoch ms). */
export type OffsetSpec = 'earliest' | 'latest' | 'max-timestamp' | { timestamp: number };

export interface ListOffsetsRequest extends TopicPartition {
  spec: OffsetSpec;
}

export interface ListOffsetsOptions extends TimeoutOptions {
  isolationLevel?: 'read_uncommitted' | 'read_committed';
}

export interface ListedOffset extends TopicPartition {
  /** -1 when no record matches a timestamp lookup. */
  offset: number;
  /** The matching record's timestamp; -1 for earliest/latest. */
  timestamp: number;
  leaderEpoch: number;
}

export interface DeleteRecordsRequest extends TopicPartition {
  /** Delete every record before this offset; -1 for the high watermark (everything). */
  offset: number;
}

export interface DeletedRecords extends TopicPartition {
  /** The partition's new log start offset. */
  lowWatermark: number;
}

export interface ClusterDescription {
  clusterId: string | null;
  controllerId: number;
  brokers: BrokerNode[];
}

export interface LogDirPartition {
  partition: number;
  size: number;
  offsetLag: number;
  isFuture: boolean;
}

export interface LogDirDescription {
  broker: number;
  logDir: string;
  /** Null when the log dir is healthy. */
  error: KafkaError | null;
  totalBytes: number;
  usableBytes: number;
  topics: Array<{ topic: string; partitions: LogDirPartition[] }>;
}

export interface ApiVersionInfo {
  apiKey: number;
  name: string;
  minVersion: number;
  maxVersion: number;
  /** The version this client would use, or -1 when it speaks none of the broker's range. */
  usableVersion: number;
}

export interface BrokerApiVersions {
  broker: BrokerNode;
  apis: ApiVersionInfo[];
}

export interface AdminOptions {
  logger?: Logger;
}

// ---------------------------------------------------------------------- codes

const RESOURCE_TYPE: Record<ConfigResourceType, number> = { topic: 2, broker: 4, 'broker-logger': 8 };
const RESOURCE_TYPE_NAME = new Map<number, ConfigResourceType>(
  Object.entries(RESOURCE_TYPE).map(([k, v]) => [v, k as ConfigResourceType]),
);
const CONFIG_SOURCES: ConfigSource[] = [
  'UNKNOWN',
  'DYNAMIC_TOPIC_CONFIG',
  'DYNAMIC_BROKER_CONFIG',
  'DYNAMIC_DEFAULT_BROKER_CONFIG',
  'STATIC_BROKER_CONFIG',
  'DEFAULT_CONFIG',
  'DYNAMIC_BROKER_LOGGER_CONFIG',
  'CLIENT_METRICS_CONFIG',
  'GROUP_CONFIG',
];
const CONFIG_TYPES = ['UNKNOWN', 'BOOLEAN', 'STRING', 'INT', 'SHORT', 'LONG', 'DOUBLE', 'LIST', 'CLASS', 'PASSWORD'];
const OP_CODE: Record<AlterConfigOpType, number> = { set: 0, delete: 1, append: 2, subtract: 3 };

/** ListOffsets timestamps with special meaning. */
export const OffsetTimestamp = { LATEST: -1, EARLIEST: -2, MAX_TIMESTAMP: -3 } as const;

function sourceName(code: number | undefined): ConfigSource {
  return CONFIG_SOURCES[code ?? 0] ?? 'UNKNOWN';
}

function specTimestamp(spec: OffsetSpec): bigint {
  if (spec === 'earliest') return BigInt(OffsetTimestamp.EARLIEST);
  if (spec === 'latest') return BigInt(OffsetTimestamp.LATEST);
  if (spec === 'max-timestamp') return BigInt(OffsetTimestamp.MAX_TIMESTAMP);
  if (typeof spec === 'object' && spec !== null && Number.isSafeInteger(spec.timestamp) && spec.timestamp >= 0) {
    return BigInt(spec.timestamp);
  }
  throw new TypeError(`invalid offset spec ${JSON.stringify(spec)}`);
}

function checkResourceType(type: string): number {
  const code = RESOURCE_TYPE[type as ConfigResourceType];
  if (code === undefined) throw new TypeError(`unknown config resource type '${type}' (topic, broker or broker-logger)`);
  return code;
}

let adminCount = 0;

/**
 * A Kafka admin client.
 *
 * ```ts
 * const admin = new Admin({ 'bootstrap.servers': 'localhost:9092' });
 * await admin.createTopics([{ topic: 'events', numPartitions: 3, replicationFactor: 1 }]);
 * console.log(await admin.describeTopics(['events']));
 * await admin.close();
 * ```
 */
export class Admin {
  readonly config: ResolvedConfig;
  readonly clientId: string;
  private readonly cluster: Cluster;
  private readonly defaultTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private closed = false;

  constructor(config: ConfigInput<AdminConfig>, options: AdminOptions = {}) {
    this.config = resolveAdminConfig(config);
    this.clientId = this.config.string('client.id') || `adminclient-${++adminCount}`;
    const logger = options.logger ?? silentLogger;
    this.cluster = new Cluster(clusterOptions(this.config, this.clientId, logger, false));
    this.defaultTimeoutMs = this.config.int('default.api.timeout.ms');
    this.requestTimeoutMs = this.config.int('request.timeout.ms');
    if (this.config.unknownKeys.length > 0) logger.warn('ignoring unknown admin settings', { keys: this.config.unknownKeys });
  }

  /** Connects to the cluster and loads its metadata (calls connect on their own; this checks reachability early). */
  async connect(options: TimeoutOptions = {}): Promise<void> {
    await this.withRetries('connect', options, async () => {
      await this.cluster.refreshMetadata();
    });
  }

  /** Closes the connections; calls in progress fail with ClientClosedError. */
  async close(): Promise<void> {
    this.closed = true;
    this.cluster.close();
  }

  // ------------------------------------------------------------------ topics

  /** Creates topics; resolves with what the broker reports for each. */
  async createTopics(topics: readonly NewTopic[], options: CreateTopicsOptions = {}): Promise<CreatedTopic[]> {
    for (const t of topics) {
      if (t.replicaAssignment !== undefined && ((t.numPartitions ?? -1) !== -1 || (t.replicationFactor ?? -1) !== -1)) {
        throw new TypeError(`topic '${t.topic}': give either replicaAssignment or numPartitions/replicationFactor, not both`);
      }
    }
    const deadline = this.deadline(options);
    const results = await this.perEntity(
      'createTopics',
      deadline,
      topics.map((t) => t.topic),
      async (conn, names) => {
        const wanted = topics.filter((t) => names.includes(t.topic));
        const response: CreateTopicsResponse = await conn.request(ApiKey.CreateTopics, (v) => ({
          topics: wanted.map((t) => ({
            name: t.topic,
            numPartitions: t.replicaAssignment !== undefined ? -1 : (t.numPartitions ?? -1),
            replicationFactor: t.replicaAssignment !== undefined ? -1 : (t.replicationFactor ?? -1),
            assignments: (t.replicaAssignment ?? []).map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds: [...brokerIds] })),
            configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
          })),
          timeoutMs: this.remaining(deadline),
          ...(v >= 1 ? { validateOnly: options.validateOnly ?? false } : {}),
        }), { minVersion: options.validateOnly ? 1 : 0 });
        return response.topics.map((r) => ({
          resource: r.name,
          errorCode: r.errorCode,
          errorMessage: r.errorMessage ?? null,
          result: {
            topic: r.name,
            topicId: r.topicId ?? ZERO_UUID,
            numPartitions: r.numPartitions ?? -1,
            replicationFactor: r.replicationFactor ?? -1,
            configs: Object.fromEntries((r.configs ?? []).map((c) => [c.name, c.value])),
          } satisfies CreatedTopic,
        }));
      },
    );
    return topics.map((t) => results.get(t.topic)!);
  }

  /** Deletes topics by name. */
  async deleteTopics(topics: readonly string[], options: TimeoutOptions = {}): Promise<void> {
    const deadline = this.deadline(options);
    await this.perEntity('deleteTopics', deadline, topics, async (conn, names) => {
      const response = await conn.request(ApiKey.DeleteTopics, (v) =>
        v >= 6
          ? { topics: names.map((name) => ({ name, topicId: ZERO_UUID })), timeoutMs: this.remaining(deadline) }
          : { topicNames: names, timeoutMs: this.remaining(deadline) },
      );
      return response.responses.map((r) => ({
        resource: r.name ?? '',
        errorCode: r.errorCode,
        errorMessage: r.errorMessage ?? null,
        result: null,
      }));
    });
    this.cluster.untrackTopics(topics);
  }

  /** Names of the cluster's topics, sorted. */
  async listTopics(options: ListTopicsOptions = {}): Promise<string[]> {
    return this.withRetries('listTopics', options, async () => {
      const conn = await this.cluster.anyConnection();
      const response = await this.cluster.fetchMetadata(conn, null, false);
      return response.topics
        .filter((t) => t.errorCode === ErrorCode.NONE && t.name !== null && (options.listInternal || !t.isInternal))
        .map((t) => t.name!)
        .sort();
    });
  }

  /** Topic ids, partitions, leaders, replicas and ISR. Unknown topics reject with UNKNOWN_TOPIC_OR_PARTITION. */
  async describeTopics(topics: readonly string[], options: TimeoutOptions = {}): Promise<TopicDescription[]> {
    const response = await this.withRetries('describeTopics', options, async () => {
      const conn = await this.cluster.anyConnection();
      const r = await this.cluster.fetchMetadata(conn, topics, false);
      for (const t of r.topics) {
        if (t.errorCode === ErrorCode.LEADER_NOT_AVAILABLE) throw new KafkaError(t.errorCode, `topic '${t.name}'`);
      }
      return r;
    });
    const failures: Array<{ resource: string; error: KafkaError }> = [];
    const byName = new Map<string, TopicDescription>();
    for (const t of response.topics) {
      if (t.name === null) continue;
      if (t.errorCode !== ErrorCode.NONE) {
        failures.push({ resource: t.name, error: new KafkaError(t.errorCode) });
        continue;
      }
      byName.set(t.name, {
        topic: t.name,
        topicId: t.topicId ?? ZERO_UUID,
        isInternal: t.isInternal ?? false,
        partitions: t.partitions
          .map((p) => ({
            partition: p.partitionIndex,
            leader: p.leaderId,
            leaderEpoch: p.leaderEpoch ?? -1,
            replicas: p.replicaNodes,
            isr: p.isrNodes,
            offlineReplicas: p.offlineReplicas ?? [],
          }))
          .sort((a, b) => a.partition - b.partition),
      });
    }
    for (const name of topics) {
      if (!byName.has(name) && !failures.some((f) => f.resource === name)) {
        failures.push({ resource: name, error: new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) });
      }
    }
    if (failures.length > 0) throw new AdminError(failures);
    return topics.map((name) => byName.get(name)!);
  }

  /** Raises topics' partition counts. */
  async createPartitions(requests: readonly NewPartitions[], options: AlterConfigsOptions = {}): Promise<void> {
    const deadline = this.deadline(options);
    await this.perEntity('createPartitions', deadline, requests.map((r) => r.topic), async (conn, names) => {
      const wanted = requests.filter((r) => names.includes(r.topic));
      const response = await conn.request(ApiKey.CreatePartitions, {
        topics: wanted.map((r) => ({
          name: r.topic,
          count: r.count,
          assignments: r.assignments === undefined ? null : r.assignments.map((ids) => ({ brokerIds: [...ids] })),
        })),
        timeoutMs: this.remaining(deadline),
        validateOnly: options.validateOnly ?? false,
      });
      return response.results.map((r) => ({ resource: r.name, errorCode: r.errorCode, errorMessage: r.errorMessage, result: null }));
    });
    this.cluster.requestUpdate();
  }

  // ------------------------------------------------------------------ configs

  /** Configs of topics and brokers, with their sources (and synonyms/documentation on request). */
  async describeConfigs(
    resources: readonly DescribeConfigsResource[],
    options: DescribeConfigsOptions = {},
  ): Promise<ConfigResourceDescription[]> {
    for (const r of resources) checkResourceType(r.type);
    const deadline = this.deadline(options);
    const results = await this.perResource('describeConfigs', deadline, resources, async (conn, group) => {
      const version = conn.version(ApiKey.DescribeConfigs, options.includeDocumentation ? 3 : options.includeSynonyms ? 1 : 0);
      const response = await conn.request(
        ApiKey.DescribeConfigs,
        {
          resources: group.map((r) => ({
            resourceType: RESOURCE_TYPE[r.type],
            resourceName: r.name,
            configurationKeys: r.keys === undefined ? null : [...r.keys],
          })),
          ...(version >= 1 ? { includeSynonyms: options.includeSynonyms ?? false } : {}),
          ...(version >= 3 ? { includeDocumentation: options.includeDocumentation ?? false } : {}),
        },
        { version },
      );
      return response.results.map((r) => {
        const type = RESOURCE_TYPE_NAME.get(r.resourceType) ?? 'topic';
        return {
          resource: resourceKey({ type, name: r.resourceName }),
          errorCode: r.errorCode,
          errorMessage: r.errorMessage,
          result: {
            type,
            name: r.resourceName,
            entries: r.configs.map((c) => {
              // v0 has is_default; v1+ has the source instead.
              const source = version >= 1 ? sourceName(c.configSource) : c.isDefault ? 'DEFAULT_CONFIG' : 'UNKNOWN';
              return {
                name: c.name,
                value: c.value,
                source,
                isDefault: version >= 1 ? source === 'DEFAULT_CONFIG' : (c.isDefault ?? false),
                isReadOnly: c.readOnly,
                isSensitive: c.isSensitive,
                synonyms: (c.synonyms ?? []).map((s) => ({ name: s.name, value: s.value, source: sourceName(s.source) })),
                type: CONFIG_TYPES[c.configType ?? 0] ?? 'UNKNOWN',
                documentation: c.documentation ?? null,
              } satisfies ConfigEntry;
            }),
          } satisfies ConfigResourceDescription,
        };
      });
    });
    return resources.map((r) => results.get(resourceKey(r))!);
  }

  /** Replaces resources' dynamic configs (keys not given revert to defaults). Prefer incrementalAlterConfigs. */
  async alterConfigs(resources: readonly AlterConfigsResource[], options: AlterConfigsOptions = {}): Promise<void> {
    for (const r of resources) checkResourceType(r.type);
    const deadline = this.deadline(options);
    await this.perResource('alterConfigs', deadline, resources, async (conn, group) => {
      const response = await conn.request(ApiKey.AlterConfigs, {
        resources: group.map((r) => ({
          resourceType: RESOURCE_TYPE[r.type],
          resourceName: r.name,
          configs: Object.entries(r.configs).map(([name, value]) => ({ name, value })),
        })),
        validateOnly: options.validateOnly ?? false,
      });
      return response.responses.map((r) => ({
        resource: resourceKey({ type: RESOURCE_TYPE_NAME.get(r.resourceType) ?? 'topic', name: r.resourceName }),
        errorCode: r.errorCode,
        errorMessage: r.errorMessage,
        result: null,
      }));
    });
  }

  /** Sets, deletes, appends to or subtracts from individual configs. */
  async incrementalAlterConfigs(
    resources: readonly IncrementalAlterConfigsResource[],
    options: AlterConfigsOptions = {},
  ): Promise<void> {
    for (const r of resources) {
      checkResourceType(r.type);
      for (const op of r.ops) {
        if (OP_CODE[op.op] === undefined) throw new TypeError(`unknown config operation '${op.op}' (set, delete, append, subtract)`);
      }
    }
    const deadline = this.deadline(options);
    await this.perResource('incrementalAlterConfigs', deadline, resources, async (conn, group) => {
      const response = await conn.request(ApiKey.IncrementalAlterConfigs, {
        resources: group.map((r) => ({
          resourceType: RESOURCE_TYPE[r.type],
          resourceName: r.name,
          configs: r.ops.map((op) => ({ name: op.name, configOperation: OP_CODE[op.op], value: op.value ?? null })),
        })),
        validateOnly: options.validateOnly ?? false,
      });
      return response.responses.map((r) => ({
        resource: resourceKey({ type: RESOURCE_TYPE_NAME.get(r.resourceType) ?? 'topic', name: r.resourceName }),
        errorCode: r.errorCode,
        errorMessage: r.errorMessage,
        result: null,
      }));
    });
  }

  // ------------------------------------------------------------------ offsets and records

  /** Offsets by spec: earliest, latest, max-timestamp (ListOffsets v7+), or first at/after a timestamp. */
  async listOffsets(requests: readonly ListOffsetsRequest[], options: ListOffsetsOptions = {}): Promise<ListedOffset[]> {
    const timestamps = requests.map((r) => specTimestamp(r.spec));
    const isolation = options.isolationLevel === 'read_committed' ? 1 : 0;
    // A request names each partition once: several specs for one partition take several rounds.
    const rounds: number[][] = [];
    const seen = new Map<string, number>();
    requests.forEach((r, i) => {
      const key = tpKey(r.topic, r.partition);
      const round = seen.get(key) ?? 0;
      seen.set(key, round + 1);
      (rounds[round] ??= []).push(i);
    });
    const out: ListedOffset[] = new Array(requests.length);
    for (const round of rounds) {
      const specs = new Map(round.map((i) => [tpKey(requests[i]!.topic, requests[i]!.partition), timestamps[i]!]));
      const needsMaxTimestamp = round.some((i) => requests[i]!.spec === 'max-timestamp');
      const tps = round.map((i) => requests[i]!);
      const results = await this.leaders('listOffsets', tps, options, (conn, group) =>
        listOffsetsOnLeader(conn, group, (tp) => specs.get(tpKey(tp.topic, tp.partition))!, isolation, needsMaxTimestamp ? 7 : undefined),
      );
      for (const i of round) {
        const r = requests[i]!;
        out[i] = { topic: r.topic, partition: r.partition, ...results.get(tpKey(r.topic, r.partition))! };
      }
    }
    return out;
  }

  /** Deletes records before the given offsets (advances the log start offset). */
  async deleteRecords(requests: readonly DeleteRecordsRequest[], options: TimeoutOptions = {}): Promise<DeletedRecords[]> {
    const offsets = new Map(requests.map((r) => [tpKey(r.topic, r.partition), r.offset]));
    const deadline = this.deadline(options);
    const results = await this.leaders('deleteRecords', requests, options, async (conn, tps) => {
      const response = await conn.request(ApiKey.DeleteRecords, {
        topics: [...groupBy(tps, (tp) => tp.topic)].map(([name, list]) => ({
          name,
          partitions: list.map((tp) => ({ partitionIndex: tp.partition, offset: BigInt(offsets.get(tpKey(tp.topic, tp.partition))!) })),
        })),
        timeoutMs: this.remaining(deadline),
      });
      return response.topics.flatMap((t) =>
        t.partitions.map((p) => ({
          topic: t.name,
          partition: p.partitionIndex,
          errorCode: p.errorCode,
          result: { lowWatermark: Number(p.lowWatermark) },
        })),
      );
    });
    return requests.map((r) => ({ topic: r.topic, partition: r.partition, ...results.get(tpKey(r.topic, r.partition))! }));
  }

  // ------------------------------------------------------------------ cluster

  /** Cluster id, controller and brokers (DescribeCluster when served, else Metadata). */
  async describeCluster(options: TimeoutOptions = {}): Promise<ClusterDescription> {
    return this.withRetries('describeCluster', options, async () => {
      const conn = await this.cluster.anyConnection();
      if (conn.supports(ApiKey.DescribeCluster)) {
        const r = await conn.request(ApiKey.DescribeCluster, { includeClusterAuthorizedOperations: false });
        if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, r.errorMessage ?? undefined);
        return {
          clusterId: r.clusterId,
          controllerId: r.controllerId,
          brokers: r.brokers.map((b) => ({ nodeId: b.brokerId, host: b.host, port: b.port, rack: b.rack })),
        };
      }
      const r = await this.cluster.fetchMetadata(conn, [], false);
      return {
        clusterId: r.clusterId ?? null,
        controllerId: r.controllerId ?? -1,
        brokers: r.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack ?? null })),
      };
    });
  }

  /** Log directories of brokers (all brokers by default) with their partitions' sizes. */
  async describeLogDirs(brokerIds?: readonly number[], options: TimeoutOptions = {}): Promise<LogDirDescription[]> {
    const ids = brokerIds ?? (await this.describeCluster(options)).brokers.map((b) => b.nodeId);
    if (brokerIds !== undefined) await this.ensureBrokers(options);
    const perBroker = await Promise.all(
      ids.map((id) =>
        this.withRetries('describeLogDirs', options, async () => {
          const conn = await this.cluster.connectionToNode(id);
          const r = await conn.request(ApiKey.DescribeLogDirs, { topics: null });
          if (r.errorCode !== undefined && r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, `broker ${id}`);
          return r.results.map((d) => ({
            broker: id,
            logDir: d.logDir,
            error: d.errorCode === ErrorCode.NONE ? null : new KafkaError(d.errorCode, d.logDir),
            totalBytes: d.totalBytes === undefined ? -1 : Number(d.totalBytes),
            usableBytes: d.usableBytes === undefined ? -1 : Number(d.usableBytes),
            topics: d.topics.map((t) => ({
              topic: t.name,
              partitions: t.partitions.map((p) => ({
                partition: p.partitionIndex,
                size: Number(p.partitionSize),
                offsetLag: Number(p.offsetLag),
                isFuture: p.isFutureKey,
              })),
            })),
          }));
        }),
      ),
    );
    return perBroker.flat();
  }

  /** The API versions each broker serves, and the version this client would use (kafka-broker-api-versions). */
  async describeApiVersions(options: TimeoutOptions = {}): Promise<BrokerApiVersions[]> {
    const cluster = await this.describeCluster(options);
    await this.ensureBrokers(options);
    return Promise.all(
      cluster.brokers.map((broker) =>
        this.withRetries('describeApiVersions', options, async () => {
          const conn = await this.cluster.connectionToNode(broker.nodeId);
          const apis: ApiVersionInfo[] = [...conn.brokerApiVersions]
            .sort((a, b) => a[0] - b[0])
            .map(([apiKey, range]) => {
              const ours = clientVersionRange(apiKey);
              const usable = Math.min(ours.max, range.max);
              return {
                apiKey,
                name: apiByKey(apiKey)?.name ?? `Unknown(${apiKey})`,
                minVersion: range.min,
                maxVersion: range.max,
                usableVersion: usable >= Math.max(ours.min, range.min) ? usable : -1,
              };
            });
          return { broker, apis };
        }),
      ),
    );
  }

  // ------------------------------------------------------------------ leaders and reassignments (the controller)

  /**
   * Elects leaders (ElectLeaders, sent to the active controller): `PREFERRED`
   * moves leadership back to each partition's first replica, `UNCLEAN` picks
   * any live replica for partitions without a leader. `partitions` null
   * means every partition. Resolves with each partition's outcome; an
   * outcome's error is ELECTION_NOT_NEEDED when the leader is already the
   * one the election would pick (not a failure).
   */
  async electLeaders(type: ElectionType, partitions: readonly TopicPartition[] | null, options: TimeoutOptions = {}): Promise<ElectionResult[]> {
    if (type !== 'PREFERRED' && type !== 'UNCLEAN') throw new TypeError(`unknown election type '${String(type)}' (PREFERRED or UNCLEAN)`);
    const deadline = this.deadline(options);
    return this.withRetries('electLeaders', options, () => electLeaders(this.cluster, type, partitions, this.controllerTimeouts(deadline)));
  }

  /**
   * Starts partition reassignments (AlterPartitionReassignments, sent to the
   * active controller): each partition's replicas become the given list,
   * preferred leader first; `replicas: null` cancels the partition's
   * ongoing reassignment. Rejects with an AdminError naming the partitions
   * that failed (e.g. NO_REASSIGNMENT_IN_PROGRESS, INVALID_REPLICA_ASSIGNMENT);
   * the others were started.
   */
  async alterPartitionReassignments(targets: readonly ReassignmentTarget[], options: TimeoutOptions = {}): Promise<void> {
    const deadline = this.deadline(options);
    const failures = await this.withRetries('alterPartitionReassignments', options, () =>
      alterPartitionReassignments(this.cluster, targets, this.controllerTimeouts(deadline)),
    );
    if (failures.length > 0) throw new AdminError(failures);
  }

  /** Ongoing reassignments (ListPartitionReassignments, from the active controller), of `partitions` or all. */
  async listPartitionReassignments(
    options: TimeoutOptions & { partitions?: readonly TopicPartition[] } = {},
  ): Promise<PartitionReassignment[]> {
    const deadline = this.deadline(options);
    return this.withRetries('listPartitionReassignments', options, () =>
      listPartitionReassignments(this.cluster, options.partitions ?? null, this.controllerTimeouts(deadline)),
    );
  }

  // ------------------------------------------------------------------ consumer groups

  /** Groups known to the brokers, optionally only those in `states` (e.g. ['Stable', 'Empty']). */
  async listGroups(options: TimeoutOptions & { states?: readonly string[] } = {}): Promise<ListedGroup[]> {
    return this.withRetries('listGroups', options, () => listGroups(this.cluster, options.states));
  }

  /** Describes groups (state, assignor, members with their assignments, coordinator). */
  async describeGroups(groupIds: readonly string[], options: TimeoutOptions = {}): Promise<GroupDescription[]> {
    const deadline = this.deadline(options);
    return Promise.all(groupIds.map((g) => this.withRetries('describeGroups', options, () => describeGroup(this.cluster, g, deadline))));
  }

  /** A group's committed offsets (OffsetFetch): for `partitions`, or all it has. */
  async listConsumerGroupOffsets(groupId: string, options: TimeoutOptions & { partitions?: readonly TopicPartition[] } = {}): Promise<CommittedOffset[]> {
    const deadline = this.deadline(options);
    return this.withRetries('listConsumerGroupOffsets', options, () => listGroupOffsets(this.cluster, groupId, options.partitions, deadline));
  }

  /** Sets a group's committed offsets (the group must have no active members). */
  async alterConsumerGroupOffsets(groupId: string, offsets: readonly TopicPartitionOffset[], options: TimeoutOptions = {}): Promise<void> {
    const deadline = this.deadline(options);
    await this.withRetries('alterConsumerGroupOffsets', options, () => alterGroupOffsets(this.cluster, groupId, offsets, deadline));
  }

  /** Deletes groups; each result carries its error (NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND, ...) or null. */
  async deleteGroups(groupIds: readonly string[], options: TimeoutOptions = {}): Promise<GroupDeletion[]> {
    const deadline = this.deadline(options);
    return Promise.all(
      groupIds.map(async (groupId) => {
        try {
          await this.withRetries('deleteGroups', options, () => deleteGroup(this.cluster, groupId, deadline));
          return { groupId, error: null };
        } catch (error) {
          if (error instanceof KafkaError) return { groupId, error };
          throw error;
        }
      }),
    );
  }

  /** Deletes a group's committed offsets for partitions (refused with GROUP_SUBSCRIBED_TO_TOPIC while consumed). */
  async deleteConsumerGroupOffsets(groupId: string, partitions: readonly TopicPartition[], options: TimeoutOptions = {}): Promise<void> {
    const deadline = this.deadline(options);
    await this.withRetries('deleteConsumerGroupOffsets', options, () => deleteGroupOffsets(this.cluster, groupId, partitions, deadline));
  }

  // ------------------------------------------------------------------ plumbing

  private deadline(options: TimeoutOptions): number {
    return Date.now() + (options.timeoutMs ?? this.defaultTimeoutMs);
  }

  private remaining(deadline: number): number {
    return Math.max(1, Math.min(deadline - Date.now(), this.requestTimeoutMs));
  }

  /** The controller may use what is left of the call (within request.timeout.ms); the client waits a little longer for its answer. */
  private controllerTimeouts(deadline: number): ControllerTimeouts {
    const serverMs = this.remaining(deadline);
    return { serverMs, clientMs: serverMs + this.requestTimeoutMs };
  }

  private ensureOpen(): void {
    if (this.closed) throw new ClientClosedError('the admin client is closed');
  }

  private async ensureBrokers(options: TimeoutOptions): Promise<void> {
    if (this.cluster.metadata.brokers.size > 0) return;
    await this.withRetries('metadata', options, () => this.cluster.refreshMetadata());
  }

  /** Runs `fn`, retrying retriable failures with backoff until the call's deadline. */
  private async withRetries<T>(what: string, options: TimeoutOptions, fn: () => Promise<T>): Promise<T> {
    this.ensureOpen();
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    // The deadline often strikes during a retry: its message names the error that made the call retry.
    let lastError: Error | null = null;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.cluster.raceDeadline(fn(), deadline);
      } catch (error) {
        if (this.closed) throw new ClientClosedError('the admin client is closed');
        if (error instanceof TimeoutError) throw this.timeout(what, timeoutMs, lastError);
        if (!isRetriable(error)) throw error;
        lastError = error as Error;
        const delay = backoff(attempt, this.cluster.options.retryBackoffMs, this.cluster.options.retryBackoffMaxMs);
        if (Date.now() + delay >= deadline) throw this.timeout(what, timeoutMs, lastError);
        await sleep(delay, this.cluster.signal);
      }
    }
  }

  private timeout(what: string, timeoutMs: number, cause: Error | null): TimeoutError {
    const error = new TimeoutError(
      `${what} timed out after ${timeoutMs} ms${cause !== null ? `: ${cause.message}` : ''}`,
    );
    if (cause !== null) (error as Error & { cause?: unknown }).cause = cause;
    return error;
  }

  /**
   * A call on named entities sent to any broker: entities with retriable
   * errors are resent (alone) until the deadline; others are settled.
   */
  private async perEntity<R>(
    what: string,
    deadline: number,
    names: readonly string[],
    send: (conn: BrokerConnection, names: string[]) => Promise<Array<{ resource: string; errorCode: number; errorMessage: string | null; result: R }>>,
  ): Promise<Map<string, R>> {
    this.ensureOpen();
    const timeoutMs = deadline - Date.now();
    const results = new Map<string, R>();
    const failures: Array<{ resource: string; error: KafkaError }> = [];
    let pending = [...new Set(names)];
    let lastError: Error | null = null;
    for (let attempt = 1; pending.length > 0; attempt++) {
      try {
        const conn = await this.cluster.raceDeadline(this.cluster.anyConnection(), deadline);
        const outcomes = await this.cluster.raceDeadline(send(conn, pending), deadline);
        const next: string[] = [];
        for (const name of pending) {
          const o = outcomes.find((x) => x.resource === name);
          if (o === undefined) {
            failures.push({ resource: name, error: new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `no result for '${name}' in the response`) });
          } else if (o.errorCode === ErrorCode.NONE) {
            results.set(name, o.result);
          } else {
            const error = new KafkaError(o.errorCode, o.errorMessage ?? undefined);
            if (error.retriable && o.errorCode !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
              next.push(name);
              lastError = error;
            } else {
              failures.push({ resource: name, error });
            }
          }
        }
        pending = next;
      } catch (error) {
        if (this.closed) throw new ClientClosedError('the admin client is closed');
        if (error instanceof TimeoutError) throw this.timeout(what, timeoutMs, lastError);
        if (!isRetriable(error)) throw error;
        lastError = error as Error;
      }
      if (pending.length === 0) break;
      const delay = backoff(attempt, this.cluster.options.retryBackoffMs, this.cluster.options.retryBackoffMaxMs);
      if (Date.now() + delay >= deadline) {
        throw new TimeoutError(`${what} timed out for ${pending.join(', ')}${lastError ? `: ${lastError.message}` : ''}`);
      }
      await sleep(delay, this.cluster.signal);
    }
    if (failures.length > 0) throw new AdminError(failures);
    return results;
  }

  /** Config resources: broker resources go to that broker, the rest to any broker. */
  private async perResource<T extends ConfigResource, R>(
    what: string,
    deadline: number,
    resources: readonly T[],
    send: (conn: BrokerConnection, group: T[]) => Promise<Array<{ resource: string; errorCode: number; errorMessage: string | null; result: R }>>,
  ): Promise<Map<string, R>> {
    this.ensureOpen();
    const groups = groupBy(resources, (r) =>
      (r.type === 'broker' || r.type === 'broker-logger') && /^\d+$/.test(r.name) ? Number(r.name) : -1,
    );
    const results = new Map<string, R>();
    const failures: Array<{ resource: string; error: KafkaError }> = [];
    await Promise.all(
      [...groups].map(async ([node, group]) => {
        const timeoutMs = Math.max(1, deadline - Date.now());
        const outcomes = await this.withRetries(what, { timeoutMs }, async () => {
          if (node >= 0 && this.cluster.metadata.brokers.size === 0) await this.cluster.refreshMetadata();
          const conn = node >= 0 ? await this.cluster.connectionToNode(node) : await this.cluster.anyConnection();
          return send(conn, group);
        });
        for (const r of group) {
          const key = resourceKey(r);
          const o = outcomes.find((x) => x.resource === key);
          if (o === undefined) failures.push({ resource: key, error: new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `no result for ${key}`) });
          else if (o.errorCode !== ErrorCode.NONE) failures.push({ resource: key, error: new KafkaError(o.errorCode, o.errorMessage ?? undefined) });
          else results.set(key, o.result);
        }
      }),
    );
    if (failures.length > 0) throw new AdminError(failures);
    return results;
  }

  private async leaders<R>(
    what: string,
    tps: readonly TopicPartition[],
    options: TimeoutOptions,
    send: (conn: BrokerConnection, tps: TopicPartition[]) => Promise<Array<PartitionOutcome<R>>>,
  ): Promise<Map<string, R>> {
    this.ensureOpen();
    const { results, failures } = await requestLeaders(this.cluster, tps, this.deadline(options), send, {
      failUnknownTopics: true,
      what,
    });
    if (failures.length > 0) throw new AdminError(failures);
    return results;
  }
}

function resourceKey(r: ConfigResource): string {
  return `${r.type}:${r.name}`;
}

/** A ListOffsets request to one leader; shared with the consumer. */
export async function listOffsetsOnLeader(
  conn: BrokerConnection,
  tps: TopicPartition[],
  timestampOf: (tp: TopicPartition) => bigint,
  isolationLevel: number,
  minVersion?: number,
): Promise<Array<PartitionOutcome<{ offset: number; timestamp: number; leaderEpoch: number }>>> {
  const response = await conn.request(
    ApiKey.ListOffsets,
    (v) => ({
      replicaId: -1,
      ...(v >= 2 ? { isolationLevel } : {}),
      topics: [...groupBy(tps, (tp) => tp.topic)].map(([name, list]) => ({
        name,
        partitions: list.map((tp) => ({ partitionIndex: tp.partition, timestamp: timestampOf(tp) })),
      })),
    }),
    { minVersion: Math.max(minVersion ?? 1, isolationLevel === 1 ? 2 : 1) },
  );
  return response.topics.flatMap((t) =>
    t.partitions.map((p) => ({
      topic: t.name,
      partition: p.partitionIndex,
      errorCode: p.errorCode,
      result: {
        offset: p.offset === undefined ? -1 : Number(p.offset),
        timestamp: p.timestamp === undefined ? -1 : Number(p.timestamp),
        leaderEpoch: p.leaderEpoch ?? -1,
      },
    })),
  );
}

