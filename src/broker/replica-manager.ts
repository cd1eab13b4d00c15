/**
 * The replica manager: which partitions this broker hosts and in what role.
 * The controller drives it through ReplicaDelegate (the in-process form of
 * LeaderAndIsr / StopReplica); handlers reach partitions only through it.
 */
import { resolveTopicConfig, type BrokerConfig, type TopicConfig } from '../config/index.js';
import type { PartitionState, ReplicaDelegate, TopicRecord } from '../controller/types.js';
import type { Logger } from '../logging.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { LogManager } from '../storage/index.js';
import { ProducerStateManager } from '../storage/producer-state.js';
import { Partition } from './partition.js';
import type { Purgatory } from './purgatory.js';
import { toLogConfig } from './topic-log-config.js';

export interface ReplicaManagerOptions {
  brokerId: number;
  config: BrokerConfig;
  logManager: LogManager;
  purgatory: Purgatory;
  logger: Logger;
}

export class ReplicaManager implements ReplicaDelegate {
  private readonly partitions = new Map<string, Partition>();
  /** Effective settings of each hosted topic, resolved once per change rather than per request. */
  private readonly topicConfigs = new Map<string, TopicConfig>();
  /** Forgets idle producers every producer.id.expiration.check.interval.ms. */
  private readonly expirationTimer: NodeJS.Timeout;
  private readonly shutdownHooks: Array<() => Promise<void>> = [];

  constructor(private readonly options: ReplicaManagerOptions) {
    const { config } = options;
    this.expirationTimer = setInterval(
      () => this.expireProducers(config.get('producer.id.expiration.ms')),
      Math.min(config.get('producer.id.expiration.check.interval.ms'), 0x7fffffff),
    );
    this.expirationTimer.unref();
    // Compaction stops below open transactions (their records are not settled yet).
    options.logManager.cleaner?.setFirstUnstableOffsetProvider((log) => {
      const { topic, partition } = log.topicPartition;
      return this.getPartition(topic, partition)?.producerState?.firstUnstableOffset() ?? undefined;
    });
  }

  /** Forgets producers idle for `expirationMs` on every partition; returns how many went. */
  expireProducers(expirationMs: number, now = Date.now()): number {
    let removed = 0;
    for (const partition of this.partitions.values()) removed += partition.expireProducers(expirationMs, now);
    return removed;
  }

  /** Runs `hook` at shutdown, before the producer states are snapshotted (coordinators stop there). */
  onShutdown(hook: () => Promise<void>): void {
    this.shutdownHooks.push(hook);
  }

  /** Stops the timers and writes every partition's producer-state snapshot (before the logs close). */
  async shutdown(): Promise<void> {
    clearInterval(this.expirationTimer);
    for (const hook of this.shutdownHooks.splice(0)) {
      await hook().catch((err: unknown) => this.options.logger.error('a shutdown hook failed', { err: String(err) }));
    }
    for (const partition of this.partitions.values()) {
      await partition.withAppendLock(async () => partition.producerState?.close());
    }
  }

  get purgatory(): Purgatory {
    return this.options.purgatory;
  }

  getPartition(topic: string, index: number): Partition | undefined {
    return this.partitions.get(`${topic}-${index}`);
  }

  /** The topic's effective settings (its overrides over the broker's defaults). */
  topicConfig(topic: string): TopicConfig {
    return this.topicConfigs.get(topic) ?? resolveTopicConfig(this.options.config);
  }

  allPartitions(): Partition[] {
    return [...this.partitions.values()];
  }

  /** The partition if this broker leads it; otherwise Kafka's error for why not. */
  leaderPartition(topic: string, index: number): Partition {
    const partition = this.getPartition(topic, index);
    if (!partition) {
      throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `This server does not host ${topic}-${index}.`);
    }
    if (!partition.isLeader) {
      throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `This server is not the leader of ${topic}-${index}.`);
    }
    return partition;
  }

  /**
   * Checks a client's idea of the leader epoch (KIP-320): a newer epoch than
   * ours means our metadata is behind, an older one that the client's is.
   */
  checkLeaderEpoch(partition: Partition, currentLeaderEpoch: number): void {
    if (currentLeaderEpoch < 0) return;
    if (currentLeaderEpoch > partition.leaderEpoch) {
      throw new KafkaError(ErrorCode.UNKNOWN_LEADER_EPOCH, `Leader epoch ${currentLeaderEpoch} is newer than ${partition.leaderEpoch}.`);
    }
    if (currentLeaderEpoch < partition.leaderEpoch) {
      throw new KafkaError(ErrorCode.FENCED_LEADER_EPOCH, `Leader epoch ${currentLeaderEpoch} is older than ${partition.leaderEpoch}.`);
    }
  }

  async applyPartitionStates(topic: TopicRecord, states: PartitionState[]): Promise<void> {
    const { logManager, brokerId, purgatory } = this.options;
    const topicConfig = resolveTopicConfig(this.options.config, topic.configs);
    this.topicConfigs.set(topic.name, topicConfig);
    const logConfig = toLogConfig(topicConfig);
    for (const state of states) {
      if (!state.replicas.includes(brokerId)) continue;
      let partition = this.getPartition(topic.name, state.partition);
      if (!partition) {
        const log =
          logManager.getLog(topic.name, state.partition) ?? (await logManager.createLog(topic.name, state.partition, logConfig));
        partition = new Partition(topic.name, state.partition, topic.topicId, log, brokerId, purgatory);
        partition.producerState = await ProducerStateManager.load(log, { logger: this.options.logger.child({ partition: partition.key }) });
        this.partitions.set(partition.key, partition);
      }
      partition.applyState(state, topic.topicId);
    }
    // Logs found on disk at start-up were opened with the default settings.
    logManager.updateTopicConfig(topic.name, logConfig);
  }

  async stopReplicas(topic: TopicRecord, indexes: number[], deleteData: boolean): Promise<void> {
    for (const index of indexes) {
      const partition = this.getPartition(topic.name, index);
      if (!partition) continue;
      this.partitions.delete(partition.key);
      // Wake parked fetches so they answer now rather than at their timeout.
      this.options.purgatory.notify(partition.key);
      if (deleteData) await this.options.logManager.deleteLog(topic.name, index);
    }
    if (!this.allPartitions().some((p) => p.topic === topic.name)) this.topicConfigs.delete(topic.name);
  }

  topicConfigChanged(topic: TopicRecord): void {
    const topicConfig = resolveTopicConfig(this.options.config, topic.configs);
    this.topicConfigs.set(topic.name, topicConfig);
    this.options.logManager.updateTopicConfig(topic.name, toLogConfig(topicConfig));
  }

  /** DeleteRecords: moves the log start offset; returns the new low watermark. */
  async deleteRecords(topic: string, index: number, offset: number): Promise<number> {
    const partition = this.leaderPartition(topic, index);
    const target = offset === -1 ? partition.highWatermark : offset;
    if (target < 0 || target > partition.highWatermark) {
      throw new KafkaError(
        ErrorCode.OFFSET_OUT_OF_RANGE,
        `Cannot delete records before ${offset}: it is beyond the high watermark ${partition.highWatermark}.`,
      );
    }
    return partition.log.deleteRecordsBefore(target);
  }
}
