/**
 * An in-process cluster for replication tests, without ZooKeeper: 2-3
 * "brokers" in this process, each with its own temp dir, LogManager,
 * ReplicaManager, API handlers and SocketServer on a free port, wired as
 * startBroker wires them. The harness plays the controller: it holds the
 * topics and partition states, sends them to the brokers' replica managers
 * (the in-process form of LeaderAndIsr), elects leaders when a test says so,
 * and each broker's ClusterLink commits AlterPartition in memory (bumping
 * the partition epoch and passing the new state to the followers) as a
 * controller would. Brokers talk to each other and to clients over real
 * sockets.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AlterPartitionProposal, BrokerAddress, ClusterLink } from '../../src/broker/cluster-link.js';
import { HandlerRegistry } from '../../src/broker/handler-registry.js';
import { BrokerConnection } from '../../src/client/connection.js';
import { groupCoordinatorFor } from '../../src/broker/handlers/groups.js';
import { registerHandlers } from '../../src/broker/handlers/index.js';
import { Purgatory } from '../../src/broker/purgatory.js';
import { ReplicaManager } from '../../src/broker/replica-manager.js';
import { createRequestDispatcher } from '../../src/broker/request-dispatcher.js';
import type { BrokerServices } from '../../src/broker/services.js';
import { cleanerConfigFor, logConfigFor } from '../../src/broker/topic-log-config.js';
import { buildBrokerConfig, type BrokerConfig } from '../../src/config/index.js';
import type {
  BrokerRegistration,
  Controller,
  CreateTopicSpec,
  PartitionState,
  ProducerIdBlock,
  TopicRecord,
} from '../../src/controller/types.js';
import { randomUuid } from '../../src/controller/uuid.js';
import { createLogger, silentLogger, type Logger, type LogLevel } from '../../src/logging.js';
import { SocketServer } from '../../src/network/index.js';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/api-table.js';
import type { ProduceResponsePartitionProduceResponse } from '../../src/protocol/messages/produce.js';
import type { Uuid } from '../../src/protocol/primitives.js';
import { buildBatch, decompressAsync } from '../../src/protocol/records/index.js';
import { BATCH_LENGTH, LAST_OFFSET_DELTA, LOG_OVERHEAD, RECORD_BATCH_OVERHEAD } from '../../src/protocol/records/layout.js';
import { LogManager, type PartitionLog } from '../../src/storage/index.js';

const HOST = '127.0.0.1';
const PRODUCER_ID_BLOCK = 1000;

export interface HarnessOptions {
  /** Broker ids 1..brokers. */
  brokers: number;
  /** Settings for every broker, by Kafka name. */
  config?: Record<string, unknown>;
  logLevel?: LogLevel;
}

/** One running broker of the harness. */
export interface HarnessBroker {
  readonly id: number;
  readonly port: number;
  readonly config: BrokerConfig;
  readonly logManager: LogManager;
  readonly replicaManager: ReplicaManager;
  readonly services: BrokerServices;
  /** `host:port` for clients. */
  readonly bootstrap: string;
}

interface RunningBroker extends HarnessBroker {
  readonly purgatory: Purgatory;
  readonly server: SocketServer;
}

export class ReplicationHarness {
  private readonly running = new Map<number, RunningBroker>();
  private readonly topics = new Map<string, TopicRecord>();
  private nextProducerId = 0;
  /** Every AlterPartition a leader sent, in order, with what the harness answered. */
  readonly alterPartitionLog: Array<{ brokerId: number; proposal: AlterPartitionProposal; committed: PartitionState | null; error: number | null }> = [];
  /** When set, AlterPartition is refused with this error code (a controller that cannot commit). */
  refuseAlterPartition: number | null = null;
  readonly clusterId = randomUuid();
  private readonly logger: Logger;

  private constructor(
    readonly rootDir: string,
    private readonly options: HarnessOptions,
  ) {
    const level = options.logLevel ?? (process.env.GANGLION_TEST_LOG_LEVEL as LogLevel | undefined);
    this.logger = level ? createLogger({ level }) : silentLogger;
  }

  static async start(options: HarnessOptions): Promise<ReplicationHarness> {
    const harness = new ReplicationHarness(await mkdtemp(join(tmpdir(), 'ganglion-replication-')), options);
    try {
      for (let id = 1; id <= options.brokers; id++) await harness.startBroker(id);
    } catch (err) {
      await harness.close();
      throw err;
    }
    return harness;
  }

  broker(id: number): HarnessBroker {
    const b = this.running.get(id);
    if (!b) throw new Error(`broker ${id} is not running`);
    return b;
  }

  isRunning(id: number): boolean {
    return this.running.has(id);
  }

  /** The log of `topic`-`partition` on broker `id`. */
  log(id: number, topic: string, partition = 0): PartitionLog {
    const log = this.broker(id).logManager.getLog(topic, partition);
    if (!log) throw new Error(`broker ${id} has no log for ${topic}-${partition}`);
    return log;
  }

  state(topic: string, partition = 0): PartitionState {
    const state = this.topics.get(topic)?.partitions.find((p) => p.partition === partition);
    if (!state) throw new Error(`no partition ${topic}-${partition}`);
    return state;
  }

  topic(name: string): TopicRecord | undefined {
    return this.topics.get(name);
  }

  allTopics(): TopicRecord[] {
    return [...this.topics.values()];
  }

  /**
   * Creates a topic with explicit replica lists (the first replica leads);
   * the ISR is every running replica. Every running replica gets the state.
   */
  async createTopic(name: string, assignment: number[][], configs: Record<string, string> = {}, internal = false): Promise<TopicRecord> {
    if (this.topics.has(name)) throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
    const partitions = assignment.map((replicas, partition) => {
      const isr = replicas.filter((r) => this.running.has(r));
      return { partition, replicas: [...replicas], isr, leader: isr[0] ?? -1, leaderEpoch: 0, partitionEpoch: 0 };
    });
    const topic: TopicRecord = { name, topicId: randomUuid(), internal, partitions, configs: { ...configs } };
    this.topics.set(name, topic);
    await this.send(topic, partitions);
    return topic;
  }

  /** Elects `leader` with a new leader epoch (and the given ISR, default: leader plus the current ISR). */
  async electLeader(topic: string, partition: number, leader: number, isr?: number[]): Promise<PartitionState> {
    const current = this.state(topic, partition);
    const next: PartitionState = {
      ...current,
      leader,
      isr: isr ?? [leader, ...current.isr.filter((r) => r !== leader)],
      leaderEpoch: current.leaderEpoch + 1,
      partitionEpoch: current.partitionEpoch + 1,
    };
    this.replaceState(topic, next);
    await this.send(this.topics.get(topic)!, [next]);
    return next;
  }

  private replaceState(topic: string, state: PartitionState): void {
    const record = this.topics.get(topic)!;
    const partitions = record.partitions.map((p) => (p.partition === state.partition ? state : p));
    this.topics.set(topic, { ...record, partitions });
  }

  /** LeaderAndIsr to the running replicas of the given partitions (all but `except`). */
  private async send(topic: TopicRecord, states: PartitionState[], except?: number): Promise<void> {
    const record = this.topics.get(topic.name) ?? topic;
    for (const broker of this.running.values()) {
      if (broker.id === except) continue;
      const mine = states.filter((s) => s.replicas.includes(broker.id));
      if (mine.length > 0) await broker.replicaManager.applyPartitionStates(record, mine);
    }
  }

  /** The ClusterLink of broker `brokerId`: addresses of running brokers, AlterPartition committed here. */
  private linkFor(brokerId: number): ClusterLink {
    return {
      brokerAddress: (id: number): BrokerAddress | undefined => {
        const b = this.running.get(id);
        return b ? { host: HOST, port: b.port } : undefined;
      },
      alterPartition: async (proposal: AlterPartitionProposal): Promise<PartitionState> => {
        const entry: (typeof this.alterPartitionLog)[number] = { brokerId, proposal, committed: null, error: null };
        this.alterPartitionLog.push(entry);
        const fail = (code: number, detail: string): never => {
          entry.error = code;
          throw new KafkaError(code, detail);
        };
        if (this.refuseAlterPartition !== null) fail(this.refuseAlterPartition, 'refused by the test');
        const current = this.state(proposal.topic, proposal.partition);
        if (current.leader !== brokerId) fail(ErrorCode.NOT_LEADER_OR_FOLLOWER, `broker ${brokerId} does not lead`);
        if (proposal.leaderEpoch !== current.leaderEpoch) fail(ErrorCode.FENCED_LEADER_EPOCH, 'stale leader epoch');
        if (proposal.partitionEpoch !== current.partitionEpoch) fail(ErrorCode.INVALID_UPDATE_VERSION, 'stale partition epoch');
        const committed: PartitionState = { ...current, isr: [...proposal.newIsr], partitionEpoch: current.partitionEpoch + 1 };
        this.replaceState(proposal.topic, committed);
        entry.committed = committed;
        // The followers hear of it as they would from the controller; the leader from this answer.
        await this.send(this.topics.get(proposal.topic)!, [committed], brokerId);
        return committed;
      },
    };
  }

  /** Starts broker `id` (again: its directory is kept across stops) and sends it its partitions' states. */
  async startBroker(id: number): Promise<HarnessBroker> {
    if (this.running.has(id)) throw new Error(`broker ${id} is already running`);
    const logger = this.logger.child({ broker: id });
    const config = buildBrokerConfig({
      values: {
        'broker.id': id,
        'log.dirs': join(this.rootDir, `broker-${id}`),
        listeners: `PLAINTEXT://${HOST}:0`,
        'offsets.topic.num.partitions': 1,
        ...this.options.config,
      },
    });
    const logManager = await LogManager.open(config.logDirs, logConfigFor(config), {
      recoveryThreadsPerDataDir: config.get('num.recovery.threads.per.data.dir'),
      logger: logger.child({ component: 'storage' }),
      decompress: decompressAsync,
      cleaner: cleanerConfigFor(config),
    });
    const purgatory = new Purgatory();
    const replicaManager = new ReplicaManager({ brokerId: id, config, logManager, purgatory, logger });
    const registry = new HandlerRegistry();
    const server = new SocketServer({
      listeners: config.listeners.map((l) => ({ name: l.name, host: l.host, port: l.port })),
      handler: createRequestDispatcher({ registry, logger }),
      maxRequestBytes: config.get('socket.request.max.bytes'),
      connectionsMaxIdleMs: config.get('connections.max.idle.ms'),
      maxConnections: config.get('max.connections'),
      logger: logger.child({ component: 'network' }),
    });
    const bound = await server.start();
    const port = bound[0]!.port;
    const controller = new HarnessController(this, id);
    const services: BrokerServices = { brokerId: id, config, controller, replicaManager, logManager, registry, logger };
    registerHandlers(registry, services);
    replicaManager.setClusterLink(this.linkFor(id));
    const broker: RunningBroker = { id, port, config, logManager, replicaManager, services, purgatory, server, bootstrap: `${HOST}:${port}` };
    this.running.set(id, broker);
    for (const topic of this.topics.values()) await this.send(topic, topic.partitions.filter((p) => p.replicas.includes(id)));
    return broker;
  }

  /** Stops broker `id` as startBroker's close does (its state stays in the harness and on disk). */
  async stopBroker(id: number): Promise<void> {
    const b = this.running.get(id);
    if (!b) return;
    this.running.delete(id);
    groupCoordinatorFor(b.services).close();
    b.purgatory.close();
    await b.server.stop({ graceMs: 0 });
    await b.replicaManager.shutdown();
    await b.logManager.close();
  }

  registration(id: number): BrokerRegistration {
    const b = this.broker(id);
    return { brokerId: id, rack: null, endpoints: [{ listenerName: 'PLAINTEXT', host: HOST, port: b.port, securityProtocol: 'PLAINTEXT' }] };
  }

  liveBrokerIds(): number[] {
    return [...this.running.keys()].sort((a, b) => a - b);
  }

  /** Topic creation asked for by a broker (the coordinators' internal topics): replicas spread over the running brokers. */
  async createTopicFromSpec(spec: CreateTopicSpec): Promise<TopicRecord> {
    const live = this.liveBrokerIds();
    const count = spec.numPartitions > 0 ? spec.numPartitions : 1;
    const rf = Math.min(spec.replicationFactor > 0 ? spec.replicationFactor : 1, live.length);
    const assignment = Array.from({ length: count }, (_, p) => Array.from({ length: rf }, (_, r) => live[(p + r) % live.length]!));
    return this.createTopic(spec.name, assignment, spec.configs, spec.name.startsWith('__'));
  }

  allocateProducerIds(brokerId: number): ProducerIdBlock {
    const block = { brokerId, firstProducerId: this.nextProducerId, size: PRODUCER_ID_BLOCK };
    this.nextProducerId += PRODUCER_ID_BLOCK;
    return block;
  }

  async close(): Promise<void> {
    for (const id of [...this.running.keys()]) await this.stopBroker(id);
    await rm(this.rootDir, { recursive: true, force: true, maxRetries: 3 });
  }
}

/** What a broker's handlers see of the cluster: the harness's brokers and topics. */
class HarnessController implements Controller {
  constructor(
    private readonly harness: ReplicationHarness,
    private readonly brokerId: number,
  ) {}

  get clusterId(): string {
    return this.harness.clusterId;
  }

  get controllerId(): number {
    return this.harness.liveBrokerIds()[0] ?? this.brokerId;
  }

  brokers(): BrokerRegistration[] {
    return this.harness.liveBrokerIds().map((id) => this.harness.registration(id));
  }

  topics(): TopicRecord[] {
    return this.harness.allTopics();
  }

  topic(name: string): TopicRecord | undefined {
    return this.harness.topic(name);
  }

  topicById(topicId: Uuid): TopicRecord | undefined {
    return this.topics().find((t) => t.topicId === topicId);
  }

  createTopic(spec: CreateTopicSpec, validateOnly: boolean): Promise<TopicRecord> {
    if (validateOnly) return Promise.reject(new KafkaError(ErrorCode.INVALID_REQUEST, 'validateOnly is not supported by the test harness'));
    return this.harness.createTopicFromSpec(spec);
  }

  deleteTopic(): Promise<void> {
    return Promise.reject(new KafkaError(ErrorCode.INVALID_REQUEST, 'the test harness does not delete topics'));
  }

  createPartitions(): Promise<TopicRecord> {
    return Promise.reject(new KafkaError(ErrorCode.INVALID_REQUEST, 'the test harness does not add partitions'));
  }

  alterTopicConfigs(): Promise<void> {
    return Promise.reject(new KafkaError(ErrorCode.INVALID_REQUEST, 'the test harness does not alter configs'));
  }

  async allocateProducerIds(brokerId: number): Promise<ProducerIdBlock> {
    return this.harness.allocateProducerIds(brokerId);
  }

  async close(): Promise<void> {}
}

// ---- client-side helpers for the replication tests ---------------------------

/** A client connection (the project's own, with version negotiation) to broker `id`. */
export function connectTo(harness: ReplicationHarness, id: number, clientId = 'replication-test'): Promise<BrokerConnection> {
  return BrokerConnection.open({
    host: HOST,
    port: harness.broker(id).port,
    clientId,
    requestTimeoutMs: 30_000,
    connectTimeoutMs: 5000,
    maxResponseBytes: 64 << 20,
  });
}

/** Produces `records` (one batch, or several back to back) to one partition; returns that partition's answer. */
export async function produce(
  conn: BrokerConnection,
  topic: string,
  partition: number,
  records: Buffer,
  acks: number,
  timeoutMs = 10_000,
): Promise<ProduceResponsePartitionProduceResponse> {
  const response = await conn.request(
    ApiKey.Produce,
    { transactionalId: null, acks, timeoutMs, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] },
    { timeoutMs: timeoutMs + 10_000 },
  );
  return response.responses[0]!.partitionResponses[0]!;
}

/** A batch of `count` small records. */
export function recordsBatch(count: number, tag: string, options: Parameters<typeof buildBatch>[1] = {}): Buffer {
  return buildBatch(
    Array.from({ length: count }, (_, i) => ({ key: `${tag}-k${i}`, value: `${tag}-value-${i}` })),
    options,
  );
}

/** Every byte of the log from its start to its end, as stored. */
export async function logBytes(log: PartitionLog): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const { records } = await log.read(offset, 1 << 20, { maxOffset: log.logEndOffset });
    if (records.length === 0) break;
    chunks.push(Buffer.from(records));
    offset = batchEnds(records).at(-1)!;
  }
  return Buffer.concat(chunks);
}

/** The end offset (last offset + 1) of each whole batch in `records`. */
export function batchEnds(records: Buffer): number[] {
  const ends: number[] = [];
  for (let at = 0; at + RECORD_BATCH_OVERHEAD <= records.length; ) {
    const size = LOG_OVERHEAD + records.readInt32BE(at + BATCH_LENGTH);
    if (at + size > records.length) break;
    ends.push(Number(records.readBigInt64BE(at)) + records.readInt32BE(at + LAST_OFFSET_DELTA) + 1);
    at += size;
  }
  return ends;
}

/** A consumer's fetch (replica id -1) of one partition from `offset`; returns the partition's data. */
export async function consumerFetch(conn: BrokerConnection, topic: TopicRecord, partition: number, offset: number) {
  const response = await conn.request(ApiKey.Fetch, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 16 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic: topic.name,
        topicId: topic.topicId,
        partitions: [
          { partition, currentLeaderEpoch: -1, fetchOffset: BigInt(offset), lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 16 << 20 },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  });
  return response.responses[0]!.partitions[0]!;
}
