/**
 * The consumer: reads assigned partitions from their leaders with long-poll
 * fetches, and hands records out through `poll` or an async iterator.
 *
 * Fetching: one Fetch request per leader broker covers every fetchable
 * partition it leads (assigned, not paused, with a position and no buffered
 * records); the broker holds it up to `fetch.max.wait.ms` for
 * `fetch.min.bytes`. Fetches are sent as soon as a partition's buffer is
 * drained, so the next records are usually on their way while the
 * application works on the current ones. Responses are parsed as they
 * arrive: compressed batches are decompressed off the event loop, records
 * below the fetch offset (the start of a batch) and control records are
 * skipped, a truncated batch at the end is left for the next fetch, and
 * with `isolation.level=read_committed` records of aborted transactions are
 * dropped.
 *
 * Positions: `position(tp)` is the offset of the next record `poll` returns
 * for that partition; it moves when records are returned. A partition
 * without a position starts where its assignment source says (committed
 * offsets, once groups land) or per `auto.offset.reset`; OFFSET_OUT_OF_RANGE
 * also resets per `auto.offset.reset` (or fails `poll` with
 * OffsetOutOfRangeError for `none`). Resets and metadata refreshes run in
 * the background, so `poll(0)` never blocks on them.
 *
 * Errors that concern a partition (authorization, corrupt data, a reset
 * policy of `none`) are raised by the next `poll`.
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ApiKey } from '../protocol/messages/api-table.js';
import type { FetchResponse, FetchResponsePartitionData } from '../protocol/messages/fetch.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import {
  ControlRecordType,
  TimestampType,
  parseControlKey,
  splitBatches,
  type RecordHeader,
} from '../protocol/records/index.js';
import { silentLogger, type Logger } from '../logging.js';
import { listOffsetsOnLeader } from './admin.js';
import {
  ManualAssignment,
  type AssignmentContext,
  type AssignmentSource,
  type RebalanceListener,
  type TopicPartitionOffset,
} from './assignment.js';
import { Cluster, clusterOptions, type TopicMetadata } from './cluster.js';
import { resolveConsumerConfig, type ConfigInput, type ConsumerConfig, type ResolvedConfig } from './config.js';
import type { BrokerConnection } from './connection.js';
import {
  AdminError,
  ClientClosedError,
  NoOffsetForPartitionError,
  OffsetOutOfRangeError,
  TimeoutError,
} from './errors.js';
import { GroupMembership, type GroupMetadata } from './group/membership.js';
import { requestLeaders } from './leader-requests.js';
import { Signal, groupBy, tpKey, type TopicPartition } from './util.js';

/** A record as `poll` returns it. */
export interface ConsumerRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  timestampType: 'CreateTime' | 'LogAppendTime';
  key: Buffer | null;
  value: Buffer | null;
  headers: readonly RecordHeader[];
  /** Leader epoch of the batch (-1 when unknown). */
  leaderEpoch: number;
}

export type { RecordHeader };

export interface ConsumerOptions {
  logger?: Logger;
  /**
   * Where partitions come from; defaults to manual assignment (`assign`).
   * The consumer-group membership provides its own.
   */
  assignmentSource?: AssignmentSource;
}

export interface RecordsIteratorOptions {
  /** How long each underlying `poll` waits (ms). Default 1000. */
  pollTimeoutMs?: number;
}

type ResetStrategy = 'earliest' | 'latest';

interface CompletedFetch {
  records: ConsumerRecord[];
  index: number;
  /** The offset after everything this fetch covered (skipped control records included). */
  nextOffset: number;
}

interface PartitionState {
  readonly tp: TopicPartition;
  readonly key: string;
  /** Next offset to return; null until known. */
  position: number | null;
  /** A reset to perform before fetching. */
  reset: ResetStrategy | null;
  paused: boolean;
  buffer: CompletedFetch | null;
  fetchInFlight: boolean;
  /** No fetch before this time (after an error). */
  retryAt: number;
  /** Bumped by seeks and resets: responses for an older generation are dropped. */
  generation: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
}

/** Fetch errors after which the leader may have moved: refresh metadata and retry. */
const REFRESH_CODES = new Set<number>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.REPLICA_NOT_AVAILABLE,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.UNKNOWN_TOPIC_ID,
  ErrorCode.INCONSISTENT_TOPIC_ID,
  ErrorCode.OFFSET_NOT_AVAILABLE,
]);

/** Fetch versions from which topics are named by id. */
const TOPIC_ID_FETCH_VERSION = 13;

let consumerCount = 0;

/**
 * A Kafka consumer with manual partition assignment.
 *
 * ```ts
 * const consumer = new Consumer({ 'bootstrap.servers': 'localhost:9092', 'auto.offset.reset': 'earliest' });
 * consumer.assign([{ topic: 'events', partition: 0 }]);
 * for await (const record of consumer) console.log(record.offset, record.value?.toString());
 * ```
 */
export class Consumer implements AsyncIterable<ConsumerRecord> {
  readonly config: ResolvedConfig;
  readonly clientId: string;
  private readonly cluster: Cluster;
  private readonly logger: Logger;
  private readonly source: AssignmentSource;
  private readonly ctx: AssignmentContext;
  /** Group membership when `group.id` is set (and no other assignment source was given). */
  private readonly group: GroupMembership | null;

  private readonly autoOffsetReset: 'earliest' | 'latest' | 'none';
  private readonly fetchMinBytes: number;
  private readonly fetchMaxBytes: number;
  private readonly partitionMaxBytes: number;
  private readonly fetchMaxWaitMs: number;
  private readonly maxPollRecords: number;
  private readonly isolationLevel: number;
  private readonly checkCrcs: boolean;
  private readonly requestTimeoutMs: number;
  private readonly defaultApiTimeoutMs: number;
  private readonly retryBackoffMs: number;
  private readonly rack: string;

  private readonly states = new Map<string, PartitionState>();
  private readonly nodeFetching = new Set<number>();
  private readonly nodeConnecting = new Set<number>();
  private readonly signal = new Signal();
  private pendingError: Error | null = null;
  private positioning: Promise<void> | null = null;
  private polling = false;
  private rotation = 0;
  private closed = false;
  private closePromise: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(config: ConfigInput<ConsumerConfig>, options: ConsumerOptions = {}) {
    this.config = resolveConsumerConfig(config);
    const c = this.config;
    this.clientId = c.string('client.id') || `consumer-${++consumerCount}`;
    this.logger = options.logger ?? silentLogger;
    this.autoOffsetReset = c.string('auto.offset.reset') as 'earliest' | 'latest' | 'none';
    this.fetchMinBytes = c.int('fetch.min.bytes');
    this.fetchMaxBytes = c.int('fetch.max.bytes');
    this.partitionMaxBytes = c.int('max.partition.fetch.bytes');
    this.fetchMaxWaitMs = c.int('fetch.max.wait.ms');
    this.maxPollRecords = c.int('max.poll.records');
    this.isolationLevel = c.string('isolation.level') === 'read_committed' ? 1 : 0;
    this.checkCrcs = c.bool('check.crcs');
    this.requestTimeoutMs = c.int('request.timeout.ms');
    this.defaultApiTimeoutMs = c.int('default.api.timeout.ms');
    this.retryBackoffMs = c.int('retry.backoff.ms');
    this.rack = c.string('client.rack');
    this.cluster = new Cluster(clusterOptions(c, this.clientId, this.logger));
    this.cluster.onMetadataUpdate(() => this.signal.notify());
    const groupId = c.nullableString('group.id');
    this.group = options.assignmentSource === undefined && groupId ? new GroupMembership(c, this.logger) : null;
    this.source = options.assignmentSource ?? this.group ?? new ManualAssignment();
    const self = this;
    this.ctx = {
      cluster: this.cluster,
      setting: (name) => self.config.value(name),
      assignment: () => self.assignment(),
      setAssignment: (tps) => self.setAssignment(tps),
      positions: () => self.currentPositions(),
      seek: (tp, offset) => self.seek(tp, offset),
      wakeup: () => self.signal.notify(),
    };
    this.group?.attach(this.ctx);
    if (c.unknownKeys.length > 0) this.logger.warn('ignoring unknown consumer settings', { keys: c.unknownKeys });
  }

  // ------------------------------------------------------------------ assignment

  /**
   * Reads exactly these partitions from now on (replacing the previous
   * assignment). Partitions that stay keep their position; new ones start
   * per `auto.offset.reset` unless sought.
   */
  assign(partitions: readonly TopicPartition[]): void {
    this.ensureOpen();
    if (this.group?.subscribed) throw new Error('Subscription to topics, partitions and pattern are mutually exclusive');
    for (const tp of partitions) {
      if (typeof tp?.topic !== 'string' || tp.topic === '' || !Number.isInteger(tp.partition) || tp.partition < 0) {
        throw new TypeError(`invalid topic partition ${JSON.stringify(tp)}`);
      }
    }
    this.setAssignment(partitions);
  }

  /** The assigned partitions. */
  assignment(): TopicPartition[] {
    return [...this.states.values()].map((s) => ({ ...s.tp }));
  }

  /** Stops fetching these partitions (records already buffered are kept for `resume`). */
  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.state(tp).paused = true;
  }

  /** Resumes fetching paused partitions. */
  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.state(tp).paused = false;
    this.signal.notify();
  }

  /** The paused partitions. */
  paused(): TopicPartition[] {
    return [...this.states.values()].filter((s) => s.paused).map((s) => ({ ...s.tp }));
  }

  // ------------------------------------------------------------------ positions

  /** The next offset `poll` fetches from this partition. */
  seek(partition: TopicPartition, offset: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`seek offset must be a non-negative integer, got ${offset}`);
    const s = this.state(partition);
    s.position = offset;
    s.reset = null;
    this.invalidate(s);
  }

  /** Moves to the first available offset of these partitions (all assigned when omitted); applied lazily. */
  seekToBeginning(partitions?: readonly TopicPartition[]): void {
    this.requestReset(partitions, 'earliest');
  }

  /** Moves to the end of these partitions (all assigned when omitted); applied lazily. */
  seekToEnd(partitions?: readonly TopicPartition[]): void {
    this.requestReset(partitions, 'latest');
  }

  /**
   * Moves each partition to the first record with a timestamp at or after
   * `timestamp` (epoch ms or Date); partitions with no such record move to
   * their end.
   */
  async seekToTimestamp(partitions: readonly TopicPartition[] | undefined, timestamp: number | Date): Promise<void> {
    const ts = timestamp instanceof Date ? timestamp.getTime() : timestamp;
    const tps = partitions ?? this.assignment();
    for (const tp of tps) this.state(tp);
    const found = await this.offsetsForTimes(tps.map((tp) => ({ ...tp, timestamp: ts })));
    const missing = found.filter((f) => f.offset < 0);
    const ends = missing.length > 0 ? await this.endOffsets(missing) : [];
    for (const f of found) if (f.offset >= 0) this.seek(f, f.offset);
    for (const e of ends) this.seek(e, e.offset);
  }

  /** The offset of the next record `poll` returns for a partition; resolves a pending reset first. */
  async position(partition: TopicPartition, options: { timeoutMs?: number } = {}): Promise<number> {
    const s = this.state(partition);
    const deadline = Date.now() + (options.timeoutMs ?? this.defaultApiTimeoutMs);
    while (s.position === null || s.reset !== null) {
      this.ensureOpen();
      if (this.pendingError !== null) this.throwPending();
      this.startPositioning();
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(`Timeout of ${options.timeoutMs ?? this.defaultApiTimeoutMs} ms expired before the position for partition ${s.key} could be determined`);
      await this.signal.wait(Math.min(left, 100));
      if (!this.states.has(s.key)) throw new Error(`partition ${s.key} is no longer assigned`);
    }
    return s.position;
  }

  /** First offsets of partitions (log start). */
  async beginningOffsets(partitions: readonly TopicPartition[], options: { timeoutMs?: number } = {}): Promise<TopicPartitionOffset[]> {
    return this.listOffsets(partitions, -2n, options.timeoutMs);
  }

  /** End offsets of partitions (high watermark, or last stable offset with read_committed). */
  async endOffsets(partitions: readonly TopicPartition[], options: { timeoutMs?: number } = {}): Promise<TopicPartitionOffset[]> {
    return this.listOffsets(partitions, -1n, options.timeoutMs);
  }

  /** For each partition, the first offset with a timestamp at or after the given one (-1 when none). */
  async offsetsForTimes(
    requests: ReadonlyArray<TopicPartition & { timestamp: number }>,
    options: { timeoutMs?: number } = {},
  ): Promise<Array<TopicPartitionOffset & { timestamp: number }>> {
    this.ensureOpen();
    const times = new Map(requests.map((r) => [tpKey(r.topic, r.partition), BigInt(r.timestamp)]));
    const results = await this.leaderOffsets(requests, (tp) => times.get(tpKey(tp.topic, tp.partition))!, options.timeoutMs);
    return requests.map((r) => {
      const x = results.get(tpKey(r.topic, r.partition))!;
      return { topic: r.topic, partition: r.partition, offset: x.offset, timestamp: x.timestamp };
    });
  }

  /** The partitions of a topic (waits for metadata up to `default.api.timeout.ms`). */
  async partitionsFor(topic: string, options: { timeoutMs?: number } = {}): Promise<TopicMetadata> {
    this.ensureOpen();
    return this.cluster.waitForTopic(topic, Date.now() + (options.timeoutMs ?? this.defaultApiTimeoutMs));
  }

  // ------------------------------------------------------------------ consumer groups

  /**
   * Joins the group `group.id` and reads the partitions of `topics` it is
   * assigned (replacing an earlier subscription). The join happens in
   * `poll`; `listener` hears about revoked, assigned and lost partitions.
   */
  subscribe(topics: readonly string[], listener?: RebalanceListener): void {
    this.ensureOpen();
    const group = this.requireGroup('subscribe');
    if (!group.subscribed && this.states.size > 0) throw new Error('Subscription to topics, partitions and pattern are mutually exclusive');
    if (topics.length === 0) {
      void this.unsubscribe();
      return;
    }
    for (const t of topics) if (typeof t !== 'string' || t.trim() === '') throw new TypeError(`invalid topic ${JSON.stringify(t)}`);
    group.subscribe(topics, listener);
  }

  /** The subscribed topics. */
  subscription(): string[] {
    return this.group?.subscription() ?? [];
  }

  /** Leaves the group (after revoking and, with auto-commit, committing). */
  async unsubscribe(): Promise<void> {
    if (this.group === null) {
      this.setAssignment([]);
      return;
    }
    await this.group.unsubscribe();
    this.setAssignment([]);
  }

  /**
   * Commits `offsets` (the next offset to read per partition), or the
   * current positions of every assigned partition, and waits for the
   * coordinator. Fails with CommitFailedError when the group rebalanced
   * away from this member.
   */
  async commitSync(offsets?: readonly TopicPartitionOffset[], options: { timeoutMs?: number } = {}): Promise<void> {
    this.ensureOpen();
    await this.requireGroup('commit').commitSync(offsets ?? this.currentPositions(), options.timeoutMs);
  }

  /**
   * Commits like `commitSync` without blocking the caller; commits are sent
   * in order. The promise (and `callback`) report the outcome.
   */
  commitAsync(offsets?: readonly TopicPartitionOffset[], callback?: (error: Error | null) => void): Promise<void> {
    this.ensureOpen();
    const p = this.requireGroup('commit').commitAsync(offsets ?? this.currentPositions());
    p.then(
      () => callback?.(null),
      (error: Error) => callback?.(error),
    );
    if (callback !== undefined) p.catch(() => undefined);
    return p;
  }

  /** The group's committed offsets for these partitions (null when none). */
  async committed(partitions: readonly TopicPartition[], options: { timeoutMs?: number } = {}): Promise<Array<TopicPartitionOffset | null>> {
    this.ensureOpen();
    return this.requireGroup('committed').committed(partitions, options.timeoutMs);
  }

  /** The member's group id, member id, generation and instance id. */
  groupMetadata(): GroupMetadata {
    return this.requireGroup('groupMetadata').metadata();
  }

  private requireGroup(what: string): GroupMembership {
    if (this.group === null) throw new KafkaError(ErrorCode.INVALID_GROUP_ID, `To use the group management or offset commit APIs (${what}), you must provide a valid group.id in the consumer configuration.`);
    return this.group;
  }

  // ------------------------------------------------------------------ poll

  /**
   * Returns up to `max.poll.records` records, waiting up to `timeoutMs` for
   * some to arrive (an empty array after that). Raises errors recorded for
   * partitions since the last poll. Not reentrant.
   */
  async poll(timeoutMs: number): Promise<ConsumerRecord[]> {
    this.ensureOpen();
    if (this.polling) throw new Error('poll is already in progress on this consumer (it is not reentrant)');
    this.polling = true;
    try {
      const deadline = Date.now() + Math.max(0, timeoutMs);
      await this.source.onPoll(this.ctx);
      for (;;) {
        if (this.closed) return [];
        if (this.pendingError !== null) this.throwPending();
        this.startPositioning();
        const records = this.drain();
        this.sendFetches();
        if (records.length > 0) return records;
        const left = deadline - Date.now();
        if (left <= 0) return [];
        await this.signal.wait(left);
      }
    } finally {
      this.polling = false;
    }
  }

  /**
   * Records one by one, polling as needed, until the consumer is closed or
   * the loop is left. Leaving the loop early rewinds to the first record it
   * did not see, so nothing is skipped.
   */
  async *records(options: RecordsIteratorOptions = {}): AsyncGenerator<ConsumerRecord, void, undefined> {
    const pollTimeoutMs = options.pollTimeoutMs ?? 1000;
    let batch: ConsumerRecord[] = [];
    let i = 0;
    try {
      while (!this.closed) {
        batch = await this.poll(pollTimeoutMs);
        for (i = 0; i < batch.length; i++) {
          if (this.closed) return;
          yield batch[i]!;
        }
      }
    } finally {
      if (!this.closed) this.rewind(batch, i + 1);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<ConsumerRecord> {
    return this.records();
  }

  /** Wakes a waiting `poll` (which then returns what it has, possibly nothing, once its timeout allows). */
  wakeup(): void {
    this.signal.notify();
  }

  /** Stops fetching, lets the assignment source finish (group: leave), closes connections. Idempotent. */
  close(): Promise<void> {
    if (this.closePromise !== null) return this.closePromise;
    this.closePromise = (async () => {
      try {
        await this.source.close(this.ctx);
      } catch (error) {
        this.logger.warn('assignment source failed to close', { error: (error as Error).message });
      }
      this.closed = true;
      if (this.retryTimer !== null) clearTimeout(this.retryTimer);
      this.signal.notify();
      this.cluster.close();
    })();
    return this.closePromise;
  }

  // ------------------------------------------------------------------ internals: state

  private ensureOpen(): void {
    if (this.closed || this.closePromise !== null) throw new ClientClosedError('the consumer is closed');
  }

  private state(tp: TopicPartition): PartitionState {
    const s = this.states.get(tpKey(tp.topic, tp.partition));
    if (s === undefined) throw new Error(`partition ${tpKey(tp.topic, tp.partition)} is not assigned to this consumer`);
    return s;
  }

  private setAssignment(partitions: readonly TopicPartition[]): void {
    const next = new Map<string, PartitionState>();
    for (const tp of partitions) {
      const key = tpKey(tp.topic, tp.partition);
      const existing = this.states.get(key) ?? next.get(key);
      next.set(
        key,
        existing ?? {
          tp: { topic: tp.topic, partition: tp.partition },
          key,
          position: null,
          reset: null,
          paused: false,
          buffer: null,
          fetchInFlight: false,
          retryAt: 0,
          generation: 0,
          highWatermark: -1,
          lastStableOffset: -1,
          logStartOffset: -1,
        },
      );
    }
    const removed = [...this.states.values()].filter((s) => !next.has(s.key)).map((s) => s.tp.topic);
    this.states.clear();
    for (const [k, s] of next) this.states.set(k, s);
    const topics = new Set(partitions.map((tp) => tp.topic));
    this.cluster.untrackTopics(removed.filter((t) => !topics.has(t)));
    this.cluster.trackTopics(topics);
    this.signal.notify();
  }

  private currentPositions(): TopicPartitionOffset[] {
    const out: TopicPartitionOffset[] = [];
    for (const s of this.states.values()) if (s.position !== null && s.reset === null) out.push({ ...s.tp, offset: s.position });
    return out;
  }

  private invalidate(s: PartitionState): void {
    s.buffer = null;
    s.generation++;
    s.retryAt = 0;
    this.signal.notify();
  }

  private requestReset(partitions: readonly TopicPartition[] | undefined, strategy: ResetStrategy): void {
    const list = partitions === undefined ? [...this.states.values()] : partitions.map((tp) => this.state(tp));
    for (const s of list) {
      s.reset = strategy;
      this.invalidate(s);
    }
  }

  private throwPending(): never {
    const error = this.pendingError!;
    this.pendingError = null;
    throw error;
  }

  /** Seeks back to the first unseen record of each partition in `batch` from index `from`. */
  private rewind(batch: readonly ConsumerRecord[], from: number): void {
    const seen = new Set<string>();
    for (let i = from; i < batch.length; i++) {
      const r = batch[i]!;
      const key = tpKey(r.topic, r.partition);
      if (seen.has(key)) continue;
      seen.add(key);
      const s = this.states.get(key);
      if (s !== undefined) {
        s.position = r.offset;
        s.reset = null;
        this.invalidate(s);
      }
    }
  }

  // ------------------------------------------------------------------ internals: positions

  /** Starts (in the background) finding positions for partitions that need one. */
  private startPositioning(): void {
    if (this.positioning !== null || this.closed) return;
    const needing = [...this.states.values()].filter((s) => s.position === null || s.reset !== null);
    if (needing.length === 0) return;
    this.positioning = this.resolvePositions(needing)
      .catch((error: Error) => {
        if (this.closed || error instanceof ClientClosedError) return;
        if (error instanceof TimeoutError) {
          this.logger.debug('offset reset timed out; will retry', { error: error.message });
          return;
        }
        this.pendingError = error;
      })
      .finally(() => {
        this.positioning = null;
        this.signal.notify();
      });
  }

  private async resolvePositions(needing: PartitionState[]): Promise<void> {
    // Partitions without a position: ask the assignment source first (committed offsets).
    const fresh = needing.filter((s) => s.position === null && s.reset === null);
    if (fresh.length > 0 && this.source.initialPositions !== undefined) {
      const generations = new Map(fresh.map((s) => [s.key, s.generation]));
      const found = await this.source.initialPositions(this.ctx, fresh.map((s) => s.tp));
      for (const f of found) {
        const s = this.states.get(tpKey(f.topic, f.partition));
        if (s !== undefined && s.generation === generations.get(s.key) && s.position === null && s.reset === null && f.offset >= 0) {
          s.position = f.offset;
        }
      }
    }
    const undefinedPositions: TopicPartition[] = [];
    for (const s of needing) {
      if (s.position === null && s.reset === null) {
        if (this.autoOffsetReset === 'none') undefinedPositions.push(s.tp);
        else s.reset = this.autoOffsetReset;
      }
    }
    if (undefinedPositions.length > 0) throw new NoOffsetForPartitionError(undefinedPositions);
    const resetting = [...this.states.values()].filter((s) => s.reset !== null);
    if (resetting.length === 0) return;
    const requested = new Map(resetting.map((s) => [s.key, { strategy: s.reset!, generation: s.generation }]));
    const results = await this.leaderOffsets(
      resetting.map((s) => s.tp),
      (tp) => (requested.get(tpKey(tp.topic, tp.partition))!.strategy === 'earliest' ? -2n : -1n),
    );
    for (const [key, r] of results) {
      const s = this.states.get(key);
      const req = requested.get(key);
      if (s === undefined || req === undefined || s.generation !== req.generation || s.reset !== req.strategy) continue;
      s.position = r.offset;
      s.reset = null;
      this.logger.debug('reset position', { partition: key, strategy: req.strategy, offset: r.offset });
    }
  }

  private async listOffsets(partitions: readonly TopicPartition[], timestamp: bigint, timeoutMs?: number): Promise<TopicPartitionOffset[]> {
    this.ensureOpen();
    const results = await this.leaderOffsets(partitions, () => timestamp, timeoutMs);
    return partitions.map((tp) => ({ topic: tp.topic, partition: tp.partition, offset: results.get(tpKey(tp.topic, tp.partition))!.offset }));
  }

  private async leaderOffsets(
    partitions: readonly TopicPartition[],
    timestampOf: (tp: TopicPartition) => bigint,
    timeoutMs?: number,
  ): Promise<Map<string, { offset: number; timestamp: number; leaderEpoch: number }>> {
    const { results, failures } = await requestLeaders(
      this.cluster,
      partitions,
      Date.now() + (timeoutMs ?? this.defaultApiTimeoutMs),
      (conn, tps) => listOffsetsOnLeader(conn, tps, timestampOf, this.isolationLevel),
      { failUnknownTopics: false, what: 'ListOffsets' },
    );
    if (failures.length > 0) throw new AdminError(failures);
    return results;
  }

  // ------------------------------------------------------------------ internals: records out

  private drain(): ConsumerRecord[] {
    const out: ConsumerRecord[] = [];
    const states = [...this.states.values()];
    const n = states.length;
    if (n === 0) return out;
    const start = this.rotation++ % n;
    for (let k = 0; k < n && out.length < this.maxPollRecords; k++) {
      const s = states[(start + k) % n]!;
      const b = s.buffer;
      if (b === null || s.paused) continue;
      const take = Math.min(this.maxPollRecords - out.length, b.records.length - b.index);
      for (let i = 0; i < take; i++) out.push(b.records[b.index + i]!);
      b.index += take;
      if (take > 0) s.position = b.records[b.index - 1]!.offset + 1;
      if (b.index >= b.records.length) {
        s.position = Math.max(s.position ?? 0, b.nextOffset);
        s.buffer = null;
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ internals: fetching

  private sendFetches(): void {
    if (this.closed) return;
    this.cluster.maybeRefresh();
    const metadata = this.cluster.metadata;
    const now = Date.now();
    let nextRetry = Infinity;
    let needMetadata = false;
    const byNode = new Map<number, PartitionState[]>();
    for (const s of this.states.values()) {
      if (s.paused || s.position === null || s.reset !== null || s.buffer !== null || s.fetchInFlight) continue;
      if (s.retryAt > now) {
        nextRetry = Math.min(nextRetry, s.retryAt);
        continue;
      }
      const leader = metadata.leaderFor(s.tp.topic, s.tp.partition);
      if (leader < 0) {
        needMetadata = true;
        continue;
      }
      if (this.nodeFetching.has(leader)) continue;
      const list = byNode.get(leader);
      if (list === undefined) byNode.set(leader, [s]);
      else list.push(s);
    }
    if (needMetadata) this.cluster.requestUpdate();
    if (nextRetry !== Infinity && this.retryTimer === null) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.signal.notify();
      }, Math.max(1, nextRetry - now));
    }
    for (const [node, states] of byNode) {
      const conn = this.cluster.readyConnection(node);
      if (conn === null) {
        this.connectTo(node);
        continue;
      }
      this.nodeFetching.add(node);
      for (const s of states) s.fetchInFlight = true;
      this.fetch(conn, states)
        .catch((error: Error) => {
          if (this.closed) return;
          this.logger.debug('fetch failed', { broker: conn.address, error: error.message });
          this.cluster.requestUpdate();
          const at = Date.now() + this.retryBackoffMs;
          for (const s of states) s.retryAt = at;
        })
        .finally(() => {
          this.nodeFetching.delete(node);
          for (const s of states) s.fetchInFlight = false;
          this.signal.notify();
        });
    }
  }

  private connectTo(node: number): void {
    if (this.nodeConnecting.has(node)) return;
    this.nodeConnecting.add(node);
    this.cluster.connectionToNode(node).then(
      () => {
        this.nodeConnecting.delete(node);
        this.signal.notify();
      },
      (error: Error) => {
        this.nodeConnecting.delete(node);
        if (this.closed) return;
        this.logger.debug('cannot connect to partition leader', { node, error: error.message });
        const at = Date.now() + this.retryBackoffMs;
        for (const s of this.states.values()) {
          if (this.cluster.metadata.leaderFor(s.tp.topic, s.tp.partition) === node) s.retryAt = at;
        }
        this.signal.notify();
      },
    );
  }

  private async fetch(conn: BrokerConnection, states: PartitionState[]): Promise<void> {
    const metadata = this.cluster.metadata;
    const useIds = states.every((s) => (metadata.topics.get(s.tp.topic)?.topicId ?? ZERO_UUID) !== ZERO_UUID);
    const version = conn.version(ApiKey.Fetch, undefined, useIds ? undefined : TOPIC_ID_FETCH_VERSION - 1);
    const sent = new Map(states.map((s) => [s.key, { generation: s.generation, offset: s.position! }]));
    const byTopic = groupBy(states, (s) => s.tp.topic);
    const response: FetchResponse = await conn.request(
      ApiKey.Fetch,
      {
        maxWaitMs: this.fetchMaxWaitMs,
        minBytes: this.fetchMinBytes,
        maxBytes: this.fetchMaxBytes,
        isolationLevel: this.isolationLevel,
        ...(version >= 7 ? { sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [] } : {}),
        ...(version >= 11 ? { rackId: this.rack } : {}),
        topics: [...byTopic].map(([topic, list]) => ({
          topic,
          topicId: metadata.topics.get(topic)?.topicId ?? ZERO_UUID,
          partitions: list.map((s) => ({
            partition: s.tp.partition,
            fetchOffset: BigInt(s.position!),
            partitionMaxBytes: this.partitionMaxBytes,
          })),
        })),
      },
      { version, timeoutMs: this.requestTimeoutMs + this.fetchMaxWaitMs },
    );
    if (response.errorCode !== undefined && response.errorCode !== ErrorCode.NONE) {
      throw new KafkaError(response.errorCode, `fetch from ${conn.address}`);
    }
    const answered = new Set<string>();
    for (const t of response.responses) {
      const topic = version >= TOPIC_ID_FETCH_VERSION ? metadata.topicsById.get(t.topicId ?? ZERO_UUID)?.name : t.topic;
      if (topic === undefined) continue;
      for (const p of t.partitions) {
        const key = tpKey(topic, p.partitionIndex);
        answered.add(key);
        const s = this.states.get(key);
        const req = sent.get(key);
        if (s === undefined || req === undefined || s.generation !== req.generation || s.position !== req.offset) continue;
        await this.handlePartition(s, req.offset, p);
      }
    }
    // Partitions the response does not speak of (e.g. a topic id metadata no longer knows): back off, refresh.
    const missing = states.filter((s) => !answered.has(s.key));
    if (missing.length > 0) {
      this.cluster.requestUpdate();
      const at = Date.now() + this.retryBackoffMs;
      for (const s of missing) s.retryAt = at;
    }
  }

  private async handlePartition(s: PartitionState, fetchOffset: number, p: FetchResponsePartitionData): Promise<void> {
    const code = p.errorCode;
    if (code === ErrorCode.NONE) {
      s.highWatermark = Number(p.highWatermark);
      if (p.lastStableOffset !== undefined) s.lastStableOffset = Number(p.lastStableOffset);
      if (p.logStartOffset !== undefined) s.logStartOffset = Number(p.logStartOffset);
      const records = p.records;
      if (records === null || records.length === 0) return;
      const generation = s.generation;
      let parsed: CompletedFetch;
      try {
        parsed = await this.parse(s.tp, fetchOffset, records, p.abortedTransactions ?? null);
      } catch (error) {
        this.pendingError = error instanceof KafkaError ? error : new KafkaError(ErrorCode.CORRUPT_MESSAGE, `${s.key}: ${(error as Error).message}`);
        return;
      }
      // A seek may have happened while decompressing.
      if (s.generation !== generation || s.position !== fetchOffset || !this.states.has(s.key)) return;
      if (parsed.records.length > 0 || parsed.nextOffset > fetchOffset) s.buffer = parsed;
      return;
    }
    if (code === ErrorCode.OFFSET_OUT_OF_RANGE) {
      if (this.autoOffsetReset === 'none') {
        this.pendingError = new OffsetOutOfRangeError([{ ...s.tp, offset: fetchOffset }]);
        s.retryAt = Date.now() + this.retryBackoffMs;
      } else {
        this.logger.info('fetch position out of range; resetting', { partition: s.key, offset: fetchOffset, strategy: this.autoOffsetReset });
        s.reset = this.autoOffsetReset;
        s.generation++;
      }
      return;
    }
    if (REFRESH_CODES.has(code)) {
      this.cluster.requestUpdate();
      s.retryAt = Date.now() + this.retryBackoffMs;
      return;
    }
    const error = new KafkaError(code, `${s.key}`);
    if (error.retriable) {
      s.retryAt = Date.now() + this.retryBackoffMs;
      return;
    }
    this.pendingError = error;
    s.retryAt = Date.now() + this.retryBackoffMs;
  }

  /** Decodes a fetched `records` field from `fetchOffset` on. */
  private async parse(
    tp: TopicPartition,
    fetchOffset: number,
    data: Buffer,
    aborted: ReadonlyArray<{ producerId: bigint; firstOffset: bigint }> | null,
  ): Promise<CompletedFetch> {
    const out: ConsumerRecord[] = [];
    let nextOffset = fetchOffset;
    const readCommitted = this.isolationLevel === 1;
    const abortedQueue = readCommitted && aborted !== null ? [...aborted].sort((a, b) => Number(a.firstOffset - b.firstOffset)) : [];
    const abortedProducers = new Set<bigint>();
    for (const batch of splitBatches(data)) {
      if (batch.lastOffset < fetchOffset) continue;
      if (this.checkCrcs) batch.validate();
      nextOffset = batch.nextOffset;
      if (readCommitted) {
        while (abortedQueue.length > 0 && Number(abortedQueue[0]!.firstOffset) <= batch.lastOffset) {
          abortedProducers.add(abortedQueue.shift()!.producerId);
        }
        if (batch.isControl) {
          if (abortedProducers.has(batch.producerId)) {
            for (const r of batch.records()) {
              if (parseControlKey(r.key).type === ControlRecordType.Abort) abortedProducers.delete(batch.producerId);
            }
          }
          continue;
        }
        if (batch.isTransactional && abortedProducers.has(batch.producerId)) continue;
      }
      if (batch.isControl) continue;
      const timestampType = batch.timestampType === TimestampType.LogAppendTime ? 'LogAppendTime' : 'CreateTime';
      const leaderEpoch = batch.partitionLeaderEpoch;
      for (const r of await batch.recordsAsync()) {
        if (r.offset < fetchOffset) continue;
        out.push({
          topic: tp.topic,
          partition: tp.partition,
          offset: r.offset,
          timestamp: r.timestamp,
          timestampType,
          key: r.key,
          value: r.value,
          headers: r.headers,
          leaderEpoch,
        });
      }
    }
    return { records: out, index: 0, nextOffset };
  }
}
