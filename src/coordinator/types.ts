/**
 * What the group coordinator needs from the broker around it, as narrow
 * interfaces: a clock and timers (fake ones in tests), the logs of the
 * __consumer_offsets partitions this broker leads, and topic lookups. The
 * broker layer adapts its replica manager and controller to these; the
 * coordinator never reaches into the broker or the file system itself.
 */

export interface TimerHandle {
  cancel(): void;
}

export interface Scheduler {
  now(): number;
  /** Runs `fn` once after `delayMs`; the timer must not keep the process alive. */
  schedule(delayMs: number, fn: () => void): TimerHandle;
}

/** Node's clock and timers; timers are unref'd (a broker's sockets keep it alive, not its groups). */
export const systemScheduler: Scheduler = {
  now: () => Date.now(),
  schedule(delayMs, fn) {
    // setTimeout fires at once for delays past int32: clamp instead.
    const timer = setTimeout(fn, Math.max(0, Math.min(delayMs, 0x7fffffff)));
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};

export interface ReadBatches {
  /** Zero or more whole record batches. */
  records: Buffer;
  /** The end of what can be read (exclusive): the high watermark. */
  highWatermark: number;
}

/** One __consumer_offsets partition this broker leads. */
export interface OffsetsLog {
  readonly partition: number;
  /** Offset of the first record still in the log. */
  readonly logStartOffset: number;
  /** Offsets below this are committed (replicated) and may be replayed. */
  readonly highWatermark: number;
  /** False once the log was closed (broker shutdown, partition moved away). */
  readonly isOpen: boolean;
  /**
   * Appends one record batch and resolves once it is committed (on a single
   * node: written to the log; in a cluster: replicated to the ISR). Rejects
   * with a KafkaError (NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT, ...).
   */
  append(batch: Buffer): Promise<void>;
  /** Committed batches starting at `offset`, at most about `maxBytes` (at least one batch). */
  read(offset: number, maxBytes: number): Promise<ReadBatches>;
}

export interface CoordinatorHost {
  /** Partitions __consumer_offsets has, or null when it does not exist yet. */
  offsetsTopicPartitionCount(): number | null;
  /** Creates __consumer_offsets when missing; resolves once it exists. */
  ensureOffsetsTopic(): Promise<void>;
  /** The partition's log when this broker leads it, else null. */
  offsetsLog(partition: number): OffsetsLog | null;
  /** Partition count of a topic, or null when the topic does not exist. */
  topicPartitionCount(topic: string): number | null;
}

/** The group settings, read once from the broker config (Kafka names in comments). */
export interface GroupCoordinatorConfig {
  /** offsets.topic.num.partitions (used until the topic exists; then its real count). */
  offsetsTopicNumPartitions: number;
  /** group.initial.rebalance.delay.ms */
  initialRebalanceDelayMs: number;
  /** group.min.session.timeout.ms */
  minSessionTimeoutMs: number;
  /** group.max.session.timeout.ms */
  maxSessionTimeoutMs: number;
  /** group.max.size */
  maxGroupSize: number;
  /** offsets.retention.minutes, in ms */
  offsetsRetentionMs: number;
  /** offsets.retention.check.interval.ms */
  offsetsRetentionCheckIntervalMs: number;
  /** offset.metadata.max.bytes (Kafka compares the string's length in UTF-16 units) */
  maxMetadataSize: number;
  /** offsets.load.buffer.size */
  loadBufferSize: number;
  /** offsets.topic.compression.codec (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd) */
  compressionCodec: number;
}

/** Kafka's timeout for a new member's first JoinGroup (it has no session yet). */
export const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;
