/**
 * The replica manager: which partitions this broker hosts and in what role.
 * The controller drives it through ReplicaDelegate (the in-process form of
 * LeaderAndIsr / StopReplica); handlers reach partitions only through it.
 *
 * In a cluster (setClusterLink) it also runs replication: partitions led
 * elsewhere are handed to the replica fetchers (one per source broker), and
 * every replica.lag.time.max.ms / 2 the partitions led here drop ISR
 * followers that stopped catching up. Role changes are announced to
 * onLeadershipChange listeners (the coordinators load and unload their
 * partitions there).
 */
import { resolveTopicConfig, type BrokerConfig, type TopicConfig } from '../config/index.js';
import type { PartitionState, ReplicaDelegate, TopicRecord } from '../controller/types.js';
import type { Logger } from '../logging.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import type { LogConfig, LogManager, PartitionLog } from '../storage/index.js';
import { ProducerStateManager } from '../storage/producer-state.js';
import type { ClusterLink } from './cluster-link.js';
import { Partition, type PartitionContext } from './partition.js';
import type { Purgatory } from './purgatory.js';
import { ReplicaFetcherManager } from './replication/replica-fetcher-manager.js';
import { toLogConfig } from './topic-log-config.js';

export interface ReplicaManagerOptions {
  brokerId: number;
  config: BrokerConfig;
  logManager: LogManager;
  purgatory: Purgatory;
  logger: Logger;
  /** Clock (tests). */
  now?: () => number;
}

/** A partition's role here changed: this broker now leads it, or no longer does. */
export interface LeadershipChange {
  topic: string;
  partition: number;
  isLeader: boolean;
  leaderEpoch: number;
}

export class ReplicaManager implements ReplicaDelegate {
  private readonly partitions = new Map<string, Partition>();
  /** Effective settings of each hosted topic, resolved once per change rather than per request. */
  private readonly topicConfigs = new Map<string, TopicConfig>();
  /** Forgets idle producers every producer.id.expiration.check.interval.ms. */
  private readonly expirationTimer: NodeJS.Timeout;
  /** Drops lagging followers from ISRs every replica.lag.time.max.ms / 2. */
  private readonly isrExpirationTimer: NodeJS.Timeout;
  private readonly shutdownHooks: Array<() => Promise<void>> = [];
  private readonly leadershipListeners = new Set<(change: LeadershipChange) => void>();
  private link: ClusterLink | null = null;
  private readonly partitionContext: PartitionContext;
  /** Followers' fetchers, one per source broker. */
  readonly fetchers: ReplicaFetcherManager;

  constructor(private readonly options: ReplicaManagerOptions) {
    const { config } = options;
    const now = options.now ?? Date.now;
    this.expirationTimer = setInterval(
      () => this.expireProducers(config.get('producer.id.expiration.ms')),
      Math.min(config.get('producer.id.expiration.check.interval.ms'), 0x7fffffff),
    );
    this.expirationTimer.unref();
    const lagTimeMaxMs = config.get('replica.lag.time.max.ms');
    this.isrExpirationTimer = setInterval(() => this.shrinkIsrs(lagTimeMaxMs), Math.max(1, Math.min(lagTimeMaxMs / 2, 0x7fffffff)));
    this.isrExpirationTimer.unref();
    this.partitionContext = {
      localBrokerId: options.brokerId,
      purgatory: options.purgatory,
      logger: options.logger.child({ component: 'replica-manager' }),
      clusterLink: () => this.link,
      now,
    };
    this.fetchers = new ReplicaFetcherManager({
      brokerId: options.brokerId,
      config,
      logger: options.logger.child({ component: 'replica-fetcher' }),
      clusterLink: () => this.link,
    });
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

  /**
   * Joins a cluster: broker addresses for the fetchers, AlterPartition for
   * ISR changes. Without a link (a single node) partitions led elsewhere
   * wait, and ISRs never change.
   */
  setClusterLink(link: ClusterLink | null): void {
    this.link = link;
    this.fetchers.clusterLinkChanged();
  }

  get clusterLink(): ClusterLink | null {
    return this.link;
  }

  /**
   * Calls `listener` whenever this broker becomes leader of a partition (or
   * of a new leader epoch of it) and when it stops leading or following one.
   * Returns a function that unsubscribes.
   */
  onLeadershipChange(listener: (change: LeadershipChange) => void): () => void {
    this.leadershipListeners.add(listener);
    return () => this.leadershipListeners.delete(listener);
  }

  private announce(partition: Partition, isLeader: boolean): void {
    const change: LeadershipChange = { topic: partition.topic, partition: partition.index, isLeader, leaderEpoch: partition.leaderEpoch };
    for (const listener of this.leadershipListeners) {
      try {
        listener(change);
      } catch (err) {
        this.options.logger.error('a leadership listener failed', { partition: partition.key, err: String(err) });
      }
    }
  }

  /** Partitions led here whose ISR is smaller than their replica set. */
  underReplicatedPartitions(): Partition[] {
    return this.allPartitions().filter((p) => p.isUnderReplicated);
  }

  private shrinkIsrs(lagTimeMaxMs: number): void {
    if (this.link === null) return;
    for (const partition of this.partitions.values()) partition.maybeShrinkIsr(lagTimeMaxMs);
  }

  /** Runs `hook` at shutdown, before the producer states are snapshotted (coordinators stop there). */
  onShutdown(hook: () => Promise<void>): void {
    this.shutdownHooks.push(hook);
  }

  /** Stops the timers and writes every partition's producer-state snapshot (before the logs close). */
  async shutdown(): Promise<void> {
    clearInterval(this.expirationTimer);
    clearInterval(this.isrExpirationTimer);
    // Followers stop writing before the logs close.
    await this.fetchers.shutdown();
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

  /**
   * LeaderAndIsr: partitions this broker leads start serving (and stop
   * being fetched), the others follow their leader through the fetchers.
   * States older than what the partition has (a lower leader epoch, or the
   * same epoch with a lower partition epoch) are ignored, as Kafka does.
   *
   * A log whose stored topic id (partition.metadata) is not the topic's is a
   * replica of a deleted topic of the same name that this broker missed the
   * deletion of (it was down): it is deleted and the partition starts from
   * an empty log, so none of its records reappear under the new topic.
   */
  async applyPartitionStates(topic: TopicRecord, states: PartitionState[]): Promise<void> {
    const { logManager, brokerId } = this.options;
    const topicConfig = resolveTopicConfig(this.options.config, topic.configs);
    this.topicConfigs.set(topic.name, topicConfig);
    const logConfig = toLogConfig(topicConfig);
    // Logs found on disk at start-up were opened with the default settings.
    logManager.updateTopicConfig(topic.name, logConfig);
    for (const state of states) {
      if (!state.replicas.includes(brokerId)) continue;
      let partition = this.getPartition(topic.name, state.partition);
      if (partition && belongsToAnotherTopic(partition.log, topic.topicId)) {
        this.warnStaleLog(partition.log, topic);
        await this.removePartition(partition);
        partition = undefined;
      }
      if (!partition) {
        const log = await this.localLog(topic, state.partition, logConfig);
        partition = new Partition(topic.name, state.partition, topic.topicId, log, this.partitionContext);
        partition.producerState = await ProducerStateManager.load(log, { logger: this.options.logger.child({ partition: partition.key }) });
        this.partitions.set(partition.key, partition);
      } else if (
        state.leaderEpoch < partition.leaderEpoch ||
        (state.leaderEpoch === partition.leaderEpoch && state.partitionEpoch < partition.partitionEpoch)
      ) {
        this.options.logger.info('ignoring a stale partition state', { partition: partition.key, state, leaderEpoch: partition.leaderEpoch });
        continue;
      }
      // Logs from before topic ids were stored, or whose topic had no id yet, learn it now.
      if (topic.topicId !== ZERO_UUID && partition.log.topicId === null) await partition.log.assignTopicId(topic.topicId);
      if (state.leader === brokerId) {
        // No follower write may land once this broker writes as leader.
        this.fetchers.removePartition(partition);
        const { changed } = await partition.makeLeader(state, topic.topicId);
        if (changed) this.announce(partition, true);
      } else {
        const { changed, wasLeader } = await partition.makeFollower(state, topic.topicId);
        // The same leader and epoch again: keep fetching as we are (or resume after a StopReplica).
        if (!changed && (state.leader < 0 || this.fetchers.isFollowing(partition))) continue;
        if (state.leader >= 0) this.fetchers.addPartition(partition, state.leader);
        else this.fetchers.removePartition(partition);
        if (wasLeader) this.announce(partition, false);
      }
    }
  }

  /**
   * StopReplica: the partition's fetcher stops and parked operations on it
   * answer now. With deleteData the replica goes (its log deleted);
   * without, it stays hosted but idle (Kafka's behaviour, e.g. a controlled
   * shutdown stopping a follower).
   */
  async stopReplicas(topic: TopicRecord, indexes: number[], deleteData: boolean): Promise<void> {
    for (const index of indexes) {
      const partition = this.getPartition(topic.name, index);
      if (!partition) {
        // A log on disk that no LeaderAndIsr brought back yet (e.g. since a restart) goes too.
        if (deleteData) await this.options.logManager.deleteLog(topic.name, index);
        continue;
      }
      if (deleteData) {
        await this.removePartition(partition);
      } else {
        this.fetchers.removePartition(partition);
        // Wake parked fetches so they answer now rather than at their timeout.
        this.options.purgatory.notify(partition.key);
      }
    }
    if (!this.allPartitions().some((p) => p.topic === topic.name)) this.topicConfigs.delete(topic.name);
  }

  /** Stops hosting the partition and deletes its log. */
  private async removePartition(partition: Partition): Promise<void> {
    this.fetchers.removePartition(partition);
    const wasLeader = partition.isLeader;
    this.partitions.delete(partition.key);
    await partition.stop();
    await this.options.logManager.deleteLog(partition.topic, partition.index);
    if (wasLeader) this.announce(partition, false);
  }

  /** The partition's log here: the one on disk unless it belongs to another topic of the same name, else a new one. */
  private async localLog(topic: TopicRecord, index: number, logConfig: LogConfig): Promise<PartitionLog> {
    const { logManager } = this.options;
    const existing = logManager.getLog(topic.name, index);
    if (existing !== undefined && !belongsToAnotherTopic(existing, topic.topicId)) return existing;
    if (existing !== undefined) {
      this.warnStaleLog(existing, topic);
      await logManager.deleteLog(topic.name, index);
    }
    return logManager.createLog(topic.name, index, logConfig, topic.topicId === ZERO_UUID ? undefined : topic.topicId);
  }

  private warnStaleLog(log: PartitionLog, topic: TopicRecord): void {
    this.options.logger.warn('deleting a stale replica: its log belongs to an earlier, deleted topic of the same name', {
      partition: `${topic.name}-${log.topicPartition.partition}`,
      storedTopicId: log.topicId,
      topicId: topic.topicId,
      logEndOffset: log.logEndOffset,
    });
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

/** The log stores a topic id, the topic has one, and they differ. */
function belongsToAnotherTopic(log: PartitionLog, topicId: string): boolean {
  return topicId !== ZERO_UUID && log.topicId !== null && log.topicId !== topicId;
}
