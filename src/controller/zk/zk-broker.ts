/**
 * The broker side of cluster mode (Kafka's ZooKeeper-mode broker):
 * `ZkBrokerController` is the Controller that API handlers use when
 * `zookeeper.connect` is set.
 *
 * - It registers `/brokers/ids/<id>` (again after a ZooKeeper session
 *   expiry) and answers what handlers ask from the metadata cache the active
 *   controller keeps filled with UpdateMetadata.
 * - It applies the controller's LeaderAndIsr and StopReplica to the replica
 *   manager, fenced by controller epoch and leader epoch as Kafka does.
 * - Admin changes are written to ZooKeeper (the controller's watches pick
 *   them up) and answered once the metadata cache reflects them.
 * - `link` is the replica manager's ClusterLink (AlterPartition to the
 *   controller) and `controlledShutdown` runs before the broker stops.
 *
 * LeaderAndIsr, StopReplica and UpdateMetadata are applied one at a time in
 * arrival order (Kafka's replicaStateChangeLock), so a slow log creation can
 * never let a later request overtake an earlier one.
 */
import type { BrokerConfig } from '../../config/index.js';
import type { Logger } from '../../logging.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { ZERO_UUID, type Uuid } from '../../protocol/primitives.js';
import { BrokerIdInUseError, TopicExistsError, ZkBadVersionError, type KafkaZkOperations } from '../../zookeeper/types.js';
import { PRODUCER_ID_BLOCK_SIZE } from '../embedded-controller.js';
import { INTERNAL_TOPICS } from '../topic-name.js';
import {
  addedPartitionLists,
  checkNewTopicName,
  checkTopicConfigs,
  patchedConfigs,
  replicaListsFor,
} from '../topic-validation.js';
import type {
  BrokerRegistration,
  Controller,
  CreateTopicSpec,
  PartitionState,
  ProducerIdBlock,
  ReplicaDelegate,
  TopicRecord,
} from '../types.js';
import { randomUuid } from '../uuid.js';
import { withDeadline } from '../../deadline.js';
import { controlledShutdown } from './controlled-shutdown.js';
import { ControllerClient, type ControllerTarget } from './controller-client.js';
import { ControllerLink, listenerAddress } from './controller-link.js';
import { MetadataCache, type MetadataUpdate } from './metadata-cache.js';
import { TopicConfigStore } from './topic-config-store.js';

/**
 * How long an admin request waits for the controller to act on what it wrote
 * to ZooKeeper. The Controller interface carries no per-request timeout, so
 * this stands in for the clients' usual 30 s request timeout.
 */
export const ADMIN_CHANGE_WAIT_MS = 30_000;
/** Attempts at a CreatePartitions whose assignment znode changed under it. */
const ASSIGNMENT_WRITE_ATTEMPTS = 3;

/** What the broker needs from a hosted partition to fence the controller's requests. */
export interface HostedReplica {
  readonly leaderEpoch: number;
  readonly topicId: Uuid;
}

/** The replica manager as cluster mode drives it. */
export interface ZkReplicaDelegate extends ReplicaDelegate {
  getPartition(topic: string, partition: number): HostedReplica | undefined;
}

export interface ZkBrokerControllerOptions {
  registration: BrokerRegistration;
  clusterId: string;
  zk: KafkaZkOperations;
  /** Subscribes to new ZooKeeper sessions (after an expiry); returns an unsubscribe function. */
  onNewSession(listener: () => Promise<void>): () => void;
  config: BrokerConfig;
  replicaManager: ZkReplicaDelegate;
  validateTopicConfigs(configs: Record<string, string>): string | null;
  logger: Logger;
}

/** The fields every controller-to-broker request carries. */
export interface ControlRequestHeader {
  controllerId: number;
  controllerEpoch: number;
}

export interface LeaderAndIsrTopic {
  name: string;
  /** Null before LeaderAndIsr v5 (no topic ids on the wire). */
  topicId: Uuid | null;
  partitions: PartitionState[];
}

export interface LeaderAndIsrOutcome {
  /** STALE_CONTROLLER_EPOCH for a fenced request, else NONE. */
  errorCode: number;
  /** Per topic, per partition: the partition's error code (NONE when applied). */
  partitionErrors: Map<string, Map<number, number>>;
}

export interface StopReplicaPartition {
  topic: string;
  partition: number;
  /** -1 (none) or -2 (deletion) stop the replica whatever its epoch. */
  leaderEpoch: number;
  deletePartition: boolean;
}

export interface StopReplicaOutcome {
  errorCode: number;
  partitionErrors: Array<{ topic: string; partition: number; errorCode: number }>;
}

/** Kafka's leader epochs in StopReplica that stop a replica regardless of its own epoch. */
const NO_EPOCH = -1;
const EPOCH_DURING_DELETE = -2;

interface MetadataWaiter {
  ready(): boolean;
  resolve(): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class ZkBrokerController implements Controller {
  readonly clusterId: string;
  /** The replica manager's ClusterLink. */
  readonly link: ControllerLink;
  private readonly cache: MetadataCache;
  private readonly configs: TopicConfigStore;
  private readonly client: ControllerClient;
  private readonly logger: Logger;
  private readonly brokerId: number;
  /** The newest controller epoch seen in a LeaderAndIsr, StopReplica or UpdateMetadata. */
  private controllerEpoch = -1;
  private stateChanges: Promise<unknown> = Promise.resolve();
  private readonly waiters = new Set<MetadataWaiter>();
  private unsubscribeSession: (() => void) | null = null;
  private closed = false;

  constructor(private readonly options: ZkBrokerControllerOptions) {
    this.clusterId = options.clusterId;
    this.brokerId = options.registration.brokerId;
    this.logger = options.logger.child({ component: 'zk-broker' });
    this.configs = new TopicConfigStore(options.zk, this.logger, (topic) => this.onTopicConfigChanged(topic));
    this.cache = new MetadataCache((topic) => this.configs.get(topic));
    this.client = new ControllerClient({
      brokerId: this.brokerId,
      requestTimeoutMs: options.config.get('controller.socket.timeout.ms'),
      maxResponseBytes: options.config.get('socket.request.max.bytes'),
      logger: this.logger,
    });
    this.link = new ControllerLink({
      brokerId: this.brokerId,
      brokerEpoch: () => -1n,
      listenerName: options.config.interBrokerListenerName,
      client: this.client,
      controllerId: () => this.cache.controllerId,
      broker: (id) => this.cache.broker(id),
      replicasOf: (topic, partition) => this.cache.partitionState(topic, partition)?.replicas ?? [],
      nextMetadataUpdate: (timeoutMs) => this.nextMetadataUpdate(timeoutMs),
      requestTimeoutMs: options.config.get('controller.socket.timeout.ms'),
      logger: this.logger,
    });
  }

  /**
   * Watches config changes and registers `/brokers/ids/<id>`; BrokerIdInUseError
   * when another live broker has the id. Registers again on every new session.
   */
  async start(): Promise<void> {
    await this.configs.start();
    await this.options.zk.registerBroker(this.options.registration);
    this.unsubscribeSession = this.options.onNewSession(async () => {
      if (this.closed) return;
      try {
        await this.options.zk.registerBroker(this.options.registration);
        this.logger.info('registered again after a new ZooKeeper session', { brokerId: this.brokerId });
      } catch (err) {
        const message = err instanceof BrokerIdInUseError ? err.message : String(err);
        this.logger.error('could not register again after a new ZooKeeper session', { brokerId: this.brokerId, err: message });
      }
      await this.configs.resync();
    });
  }

  // ---- Controller: reads -------------------------------------------------------------------

  get controllerId(): number {
    return this.cache.controllerId;
  }

  brokers(): BrokerRegistration[] {
    return this.cache.brokers();
  }

  topics(): TopicRecord[] {
    return this.cache.topics();
  }

  topic(name: string): TopicRecord | undefined {
    return this.cache.topic(name);
  }

  topicById(topicId: Uuid): TopicRecord | undefined {
    return this.cache.topicById(topicId);
  }

  // ---- Controller: admin writes ------------------------------------------------------------

  async createTopic(spec: CreateTopicSpec, validateOnly: boolean): Promise<TopicRecord> {
    const { zk, config } = this.options;
    const existing = new Set([...(await zk.getTopics()), ...this.cache.topicNames()]);
    checkNewTopicName(spec.name, existing);
    const replicaLists = replicaListsFor(spec, {
      brokerIds: this.liveBrokerIds(),
      numPartitions: config.get('num.partitions'),
      defaultReplicationFactor: config.get('default.replication.factor'),
    });
    checkTopicConfigs(spec.configs, this.options.validateTopicConfigs);
    const topicId = randomUuid();
    if (validateOnly) {
      return {
        name: spec.name,
        topicId,
        internal: INTERNAL_TOPICS.has(spec.name),
        partitions: replicaLists.map((replicas, partition) => ({
          partition,
          replicas,
          isr: [...replicas],
          leader: replicas[0]!,
          leaderEpoch: 0,
          partitionEpoch: 0,
        })),
        configs: { ...spec.configs },
      };
    }
    try {
      await zk.createTopic(spec.name, topicId, new Map(replicaLists.map((replicas, p) => [p, replicas])), spec.configs);
    } catch (err) {
      if (err instanceof TopicExistsError) throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, err.message);
      throw err;
    }
    this.logger.info('wrote a new topic to ZooKeeper', { topic: spec.name, partitions: replicaLists.length });
    await this.untilMetadata(
      () => this.hasLeaders(spec.name, replicaLists.length),
      `Timed out after ${ADMIN_CHANGE_WAIT_MS} ms waiting for the controller to create topic '${spec.name}'.`,
    );
    return this.cache.topic(spec.name)!;
  }

  async deleteTopic(name: string): Promise<void> {
    if (!this.cache.hasTopic(name)) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist.`);
    if (!this.options.config.get('delete.topic.enable')) {
      throw new KafkaError(ErrorCode.TOPIC_DELETION_DISABLED, 'Topic deletion is disabled (delete.topic.enable=false).');
    }
    await this.options.zk.markTopicForDeletion(name);
    this.logger.info('marked a topic for deletion', { topic: name });
    await this.untilMetadata(
      () => !this.cache.hasTopic(name),
      `Timed out after ${ADMIN_CHANGE_WAIT_MS} ms waiting for the controller to delete topic '${name}'.`,
    );
  }

  async createPartitions(
    name: string,
    totalCount: number,
    assignments: number[][] | null,
    validateOnly: boolean,
  ): Promise<TopicRecord> {
    const { zk } = this.options;
    for (let attempt = 1; ; attempt++) {
      const current = await zk.getTopicAssignment(name);
      if (!current) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist.`);
      if ((await zk.getTopicsMarkedForDeletion()).includes(name)) {
        throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `The topic '${name}' is queued for deletion.`);
      }
      if (current.addingReplicas.size > 0 || current.removingReplicas.size > 0) {
        throw new KafkaError(ErrorCode.REASSIGNMENT_IN_PROGRESS, `A partition reassignment is in progress for the topic '${name}'.`);
      }
      const lists = [...current.partitions.entries()].sort(([a], [b]) => a - b).map(([, replicas]) => replicas);
      const added = addedPartitionLists(lists, totalCount, assignments, this.liveBrokerIds());
      const partitions = new Map(current.partitions);
      added.forEach((replicas, i) => partitions.set(lists.length + i, replicas));
      if (validateOnly) return this.grownRecord(name, current.topicId ?? ZERO_UUID, lists.length, added);
      try {
        await zk.setTopicAssignment({ ...current, partitions }, current.zkVersion);
        break;
      } catch (err) {
        if (!(err instanceof ZkBadVersionError) || attempt >= ASSIGNMENT_WRITE_ATTEMPTS) throw err;
      }
    }
    this.logger.info('wrote new partitions to ZooKeeper', { topic: name, totalCount });
    await this.untilMetadata(
      () => this.hasLeaders(name, totalCount),
      `Timed out after ${ADMIN_CHANGE_WAIT_MS} ms waiting for the controller to create the new partitions of '${name}'.`,
    );
    return this.cache.topic(name)!;
  }

  async alterTopicConfigs(
    name: string,
    changes: Record<string, string | null>,
    incremental: boolean,
    validateOnly: boolean,
  ): Promise<void> {
    const { zk } = this.options;
    if (!this.cache.hasTopic(name) && !(await zk.getTopicAssignment(name))) {
      throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist.`);
    }
    const next = patchedConfigs(await zk.getTopicConfig(name), changes, incremental);
    checkTopicConfigs(next, this.options.validateTopicConfigs);
    if (validateOnly) return;
    await zk.setTopicConfig(name, next);
    // Other brokers learn it from the notification; this one answers with it applied.
    if (this.configs.tracks(name)) {
      this.configs.set(name, next);
      this.onTopicConfigChanged(name);
    }
  }

  allocateProducerIds(brokerId: number): Promise<ProducerIdBlock> {
    return this.options.zk.allocateProducerIdBlock(brokerId, PRODUCER_ID_BLOCK_SIZE);
  }

  // ---- requests from the controller --------------------------------------------------------

  /** UpdateMetadata: NONE, or STALE_CONTROLLER_EPOCH when an older controller sent it. */
  applyUpdateMetadata(header: ControlRequestHeader, update: MetadataUpdate): Promise<number> {
    return this.serially(async () => {
      if (this.isStale(header, 'UpdateMetadata')) return ErrorCode.STALE_CONTROLLER_EPOCH;
      // A topic's configs are read before it becomes visible, so handlers never see it without them.
      for (const topic of update.topics) {
        const appears = topic.partitions.some((p) => p.leader !== -2);
        if (appears && !this.configs.tracks(topic.name)) await this.configs.load(topic.name);
      }
      const changes = this.cache.apply(update);
      for (const topic of changes.removed) this.configs.forget(topic);
      if (changes.added.size > 0 || changes.removed.size > 0) {
        this.logger.debug('metadata updated', { added: [...changes.added], removed: [...changes.removed] });
      }
      this.metadataChanged();
      return ErrorCode.NONE;
    });
  }

  /** LeaderAndIsr: applies the partition states that are newer than what this broker has. */
  applyLeaderAndIsr(header: ControlRequestHeader, topics: LeaderAndIsrTopic[]): Promise<LeaderAndIsrOutcome> {
    return this.serially(async () => {
      const partitionErrors = new Map<string, Map<number, number>>();
      if (this.isStale(header, 'LeaderAndIsr')) return { errorCode: ErrorCode.STALE_CONTROLLER_EPOCH, partitionErrors };
      const { replicaManager } = this.options;
      for (const topic of topics) {
        const errors = new Map<number, number>();
        partitionErrors.set(topic.name, errors);
        const topicId = topic.topicId ?? this.cache.topic(topic.name)?.topicId ?? ZERO_UUID;
        const accepted: PartitionState[] = [];
        for (const state of topic.partitions) {
          const hosted = replicaManager.getPartition(topic.name, state.partition);
          const code = this.leaderAndIsrVerdict(topic.name, topicId, state, hosted);
          errors.set(state.partition, code);
          if (code === ErrorCode.NONE) accepted.push(state);
        }
        if (accepted.length === 0) continue;
        try {
          if (!this.configs.tracks(topic.name)) await this.configs.load(topic.name);
          await replicaManager.applyPartitionStates(this.recordFor(topic.name, topicId, accepted), accepted);
        } catch (err) {
          const code = err instanceof KafkaError ? err.code : ErrorCode.KAFKA_STORAGE_ERROR;
          this.logger.error('could not apply partition states', { topic: topic.name, err: String(err) });
          for (const state of accepted) errors.set(state.partition, code);
        }
      }
      return { errorCode: ErrorCode.NONE, partitionErrors };
    });
  }

  /** StopReplica: stops (and with deletePartition deletes) replicas unless their epoch is newer. */
  applyStopReplica(header: ControlRequestHeader, partitions: StopReplicaPartition[]): Promise<StopReplicaOutcome> {
    return this.serially(async () => {
      if (this.isStale(header, 'StopReplica')) return { errorCode: ErrorCode.STALE_CONTROLLER_EPOCH, partitionErrors: [] };
      const { replicaManager } = this.options;
      const results: StopReplicaOutcome['partitionErrors'] = [];
      // topic → delete? → partitions
      const batches = new Map<string, Map<boolean, number[]>>();
      for (const p of partitions) {
        const hosted = replicaManager.getPartition(p.topic, p.partition);
        const unfenced = p.leaderEpoch === NO_EPOCH || p.leaderEpoch === EPOCH_DURING_DELETE || !hosted || p.leaderEpoch >= hosted.leaderEpoch;
        if (!unfenced) {
          results.push({ topic: p.topic, partition: p.partition, errorCode: ErrorCode.FENCED_LEADER_EPOCH });
          continue;
        }
        let byMode = batches.get(p.topic);
        if (!byMode) batches.set(p.topic, (byMode = new Map()));
        byMode.set(p.deletePartition, [...(byMode.get(p.deletePartition) ?? []), p.partition]);
      }
      for (const [topic, byMode] of batches) {
        for (const [deleteData, indexes] of byMode) {
          let errorCode: number = ErrorCode.NONE;
          try {
            const hostedId = indexes.map((i) => replicaManager.getPartition(topic, i)?.topicId).find((id) => id !== undefined);
            const record = this.recordFor(topic, this.cache.topic(topic)?.topicId ?? hostedId ?? ZERO_UUID, []);
            await replicaManager.stopReplicas(record, indexes, deleteData);
          } catch (err) {
            errorCode = err instanceof KafkaError ? err.code : ErrorCode.KAFKA_STORAGE_ERROR;
            this.logger.error('could not stop replicas', { topic, partitions: indexes, err: String(err) });
          }
          for (const partition of indexes) results.push({ topic, partition, errorCode });
        }
      }
      return { errorCode: ErrorCode.NONE, partitionErrors: results };
    });
  }

  // ---- shutdown ----------------------------------------------------------------------------

  /**
   * Asks the controller to move leadership off this broker
   * (controlled.shutdown.enable); the controller is looked up in ZooKeeper at
   * each attempt, as Kafka does. Returns whether the controller confirmed it.
   */
  async controlledShutdown(): Promise<boolean> {
    const { config, zk } = this.options;
    if (!config.get('controlled.shutdown.enable')) return false;
    return controlledShutdown({
      brokerId: this.brokerId,
      brokerEpoch: -1n,
      maxRetries: config.get('controlled.shutdown.max.retries'),
      retryBackoffMs: config.get('controlled.shutdown.retry.backoff.ms'),
      client: this.client,
      logger: this.logger,
      locateController: async (): Promise<ControllerTarget | undefined> => {
        // ZooKeeper reads wait for a lost connection to come back: bound them so a broker
        // stopping while ZooKeeper is gone gives up on the controller instead of hanging.
        const brokerId = await withDeadline(zk.getControllerId(), config.zookeeperConnectionTimeoutMs, 'looking up the controller in ZooKeeper');
        if (brokerId === null) return undefined;
        const registration =
          this.cache.broker(brokerId) ??
          (await withDeadline(zk.getBroker(brokerId), config.zookeeperConnectionTimeoutMs, 'reading the controller registration')) ??
          undefined;
        const address = listenerAddress(registration, config.interBrokerListenerName);
        return address ? { brokerId, ...address } : undefined;
      },
    });
  }

  /**
   * Stops talking to the controller, fails pending admin waits and shuts the
   * replica manager down (before the logs close). The ZooKeeper session is
   * the broker's to close.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribeSession?.();
    this.configs.close();
    this.link.close();
    this.client.close();
    for (const waiter of [...this.waiters]) {
      clearTimeout(waiter.timer);
      this.waiters.delete(waiter);
      waiter.reject(new KafkaError(ErrorCode.BROKER_NOT_AVAILABLE, 'The broker is shutting down.'));
    }
    await this.stateChanges.catch(() => undefined);
    await this.options.replicaManager.shutdown?.();
  }

  // ---- internals ---------------------------------------------------------------------------

  private liveBrokerIds(): number[] {
    return this.cache.brokers().map((b) => b.brokerId);
  }

  /** Kafka's fencing of controller requests: an older controller epoch than the newest seen is refused. */
  private isStale(header: ControlRequestHeader, api: string): boolean {
    if (header.controllerEpoch < this.controllerEpoch) {
      this.logger.warn(`ignoring ${api} from an older controller`, {
        controllerId: header.controllerId,
        controllerEpoch: header.controllerEpoch,
        newestEpoch: this.controllerEpoch,
      });
      return true;
    }
    this.controllerEpoch = header.controllerEpoch;
    return false;
  }

  /** Kafka's per-partition rules for a LeaderAndIsr state. */
  private leaderAndIsrVerdict(topic: string, topicId: Uuid, state: PartitionState, hosted: HostedReplica | undefined): number {
    if (!state.replicas.includes(this.brokerId)) {
      this.logger.warn('ignoring a partition state whose replicas do not include this broker', { topic, partition: state.partition });
      return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    }
    if (!hosted) return ErrorCode.NONE;
    if (topicId !== ZERO_UUID && hosted.topicId !== ZERO_UUID && hosted.topicId !== topicId) {
      this.logger.error('the controller names another topic id than the hosted replica has', { topic, partition: state.partition });
      return ErrorCode.INCONSISTENT_TOPIC_ID;
    }
    if (state.leaderEpoch > hosted.leaderEpoch) return ErrorCode.NONE;
    // An equal epoch is a repeat (a new controller resends every state); an older one is stale.
    if (state.leaderEpoch < hosted.leaderEpoch) {
      this.logger.warn('ignoring a partition state with an older leader epoch', {
        topic,
        partition: state.partition,
        leaderEpoch: state.leaderEpoch,
        current: hosted.leaderEpoch,
      });
    }
    return ErrorCode.STALE_CONTROLLER_EPOCH;
  }

  private recordFor(name: string, topicId: Uuid, partitions: PartitionState[]): TopicRecord {
    const cached = this.cache.topic(name);
    return {
      name,
      topicId,
      internal: INTERNAL_TOPICS.has(name),
      partitions: cached?.partitions ?? partitions,
      configs: this.configs.get(name),
    };
  }

  private grownRecord(name: string, topicId: Uuid, current: number, added: number[][]): TopicRecord {
    const cached = this.cache.topic(name);
    const fresh = added.map((replicas, i) => ({
      partition: current + i,
      replicas,
      isr: [...replicas],
      leader: replicas[0]!,
      leaderEpoch: 0,
      partitionEpoch: 0,
    }));
    return {
      name,
      topicId,
      internal: INTERNAL_TOPICS.has(name),
      partitions: [...(cached?.partitions ?? []), ...fresh],
      configs: this.configs.get(name),
    };
  }

  /** The topic has `count` partitions in the cache and every one has a leader. */
  private hasLeaders(name: string, count: number): boolean {
    const topic = this.cache.topic(name);
    return topic !== undefined && topic.partitions.length >= count && topic.partitions.every((p) => p.leader >= 0);
  }

  private onTopicConfigChanged(name: string): void {
    this.cache.configsChanged(name);
    const record = this.cache.topic(name);
    if (record) this.options.replicaManager.topicConfigChanged(record);
    this.metadataChanged();
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.stateChanges.then(task);
    this.stateChanges = run.catch(() => undefined);
    return run;
  }

  /** Resolves once `ready()` holds after a metadata change; REQUEST_TIMED_OUT after ADMIN_CHANGE_WAIT_MS. */
  private untilMetadata(ready: () => boolean, timeoutMessage: string): Promise<void> {
    if (ready()) return Promise.resolve();
    return this.waitFor(ready, ADMIN_CHANGE_WAIT_MS, () => new KafkaError(ErrorCode.REQUEST_TIMED_OUT, timeoutMessage));
  }

  /** Resolves at the next metadata change or after `timeoutMs`, whichever comes first. */
  private nextMetadataUpdate(timeoutMs: number): Promise<void> {
    // Waiters are consulted only when the metadata changes: "always ready" means "the next change".
    return this.waitFor(() => true, timeoutMs, null).catch(() => undefined);
  }

  private waitFor(ready: () => boolean, timeoutMs: number, onTimeout: (() => Error) | null): Promise<void> {
    if (this.closed) return Promise.reject(new KafkaError(ErrorCode.BROKER_NOT_AVAILABLE, 'The broker is shutting down.'));
    return new Promise<void>((resolve, reject) => {
      const waiter: MetadataWaiter = {
        ready,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          if (onTimeout) reject(onTimeout());
          else resolve();
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  private metadataChanged(): void {
    for (const waiter of [...this.waiters]) {
      if (!waiter.ready()) continue;
      clearTimeout(waiter.timer);
      this.waiters.delete(waiter);
      waiter.resolve();
    }
  }
}
