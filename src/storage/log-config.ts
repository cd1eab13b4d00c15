/**
 * The settings one partition log obeys: a plain typed object. The config/
 * layer maps broker settings (log.segment.bytes, ...) and topic overrides
 * (segment.bytes, ...) onto it; storage reads nothing else. A log's config can
 * be replaced at runtime with `PartitionLog.updateConfig`.
 *
 * Times are milliseconds, sizes bytes. Kafka's "never" (Long.MAX_VALUE) is
 * represented by any value >= Number.MAX_SAFE_INTEGER; -1 means "unlimited"
 * for the two retention limits, as in Kafka.
 */

export type TimestampType = 'CreateTime' | 'LogAppendTime';

/** Kafka's cleanup.policy values; a list like Kafka's "compact,delete". */
export type CleanupPolicy = 'delete' | 'compact';

export interface LogConfig {
  /** segment.bytes: roll a new segment before the active one would exceed this. */
  readonly segmentBytes: number;
  /** segment.ms: roll when the active segment's first batch is older than this. */
  readonly segmentMs: number;
  /** retention.ms: delete segments whose largest timestamp is older; -1 = forever. */
  readonly retentionMs: number;
  /** retention.bytes: delete the oldest segments while the log is larger; -1 = no limit. */
  readonly retentionBytes: number;
  /** flush.messages: fsync after this many records since the last flush. */
  readonly flushIntervalMessages: number;
  /** flush.ms: fsync when the last flush is older than this (checked by the LogManager). */
  readonly flushIntervalMs: number;
  /** index.interval.bytes: one offset-index entry per this many bytes appended. */
  readonly indexIntervalBytes: number;
  /** segment.index.bytes: the most an index may hold; a full index rolls the segment. */
  readonly segmentIndexBytes: number;
  /** file.delete.delay.ms: how long deleted segment files linger (renamed *.deleted). */
  readonly fileDeleteDelayMs: number;
  /** message.timestamp.type. */
  readonly messageTimestampType: TimestampType;
  /** cleanup.policy; retention runs only when it includes 'delete'. */
  readonly cleanupPolicy: readonly CleanupPolicy[];
  // ---- compaction (read by the log cleaner only; optional, defaults below) ----
  /** delete.retention.ms: how long a tombstone stays readable once the cleaner has seen it. */
  readonly deleteRetentionMs?: number;
  /** min.cleanable.dirty.ratio: share of uncompacted bytes (0..1) before a log is worth cleaning. */
  readonly minCleanableDirtyRatio?: number;
  /** min.compaction.lag.ms: records younger than this are never removed. */
  readonly minCompactionLagMs?: number;
  /** max.compaction.lag.ms: a log whose oldest uncompacted record is older is cleaned whatever its ratio. */
  readonly maxCompactionLagMs?: number;
}

/** Kafka's defaults for the optional compaction settings. */
export const DEFAULT_COMPACTION = Object.freeze({
  deleteRetentionMs: 24 * 60 * 60 * 1000,
  minCleanableDirtyRatio: 0.5,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
});

/** Kafka's Long.MAX_VALUE as a JS number (any value at least this means "never"). */
export const NEVER = Number.MAX_SAFE_INTEGER;

export const DEFAULT_LOG_CONFIG: LogConfig = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 60 * 60 * 1000,
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  retentionBytes: -1,
  flushIntervalMessages: NEVER,
  flushIntervalMs: NEVER,
  indexIntervalBytes: 4096,
  segmentIndexBytes: 10 * 1024 * 1024,
  fileDeleteDelayMs: 60_000,
  messageTimestampType: 'CreateTime',
  cleanupPolicy: Object.freeze(['delete'] as CleanupPolicy[]),
});

/** The defaults with some settings replaced, validated. */
export function logConfig(overrides: Partial<LogConfig> = {}, base: LogConfig = DEFAULT_LOG_CONFIG): LogConfig {
  const config = Object.freeze({ ...base, ...overrides });
  validateLogConfig(config);
  return config;
}

/** Smallest segment that can hold a batch header; Kafka's floor is 14 bytes, ours one header. */
const MIN_SEGMENT_BYTES = 64;

export function validateLogConfig(config: LogConfig): void {
  const positiveInt = (name: keyof LogConfig, min: number) => {
    const v = config[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new RangeError(`log config ${name} must be an integer >= ${min}, got ${String(v)}`);
    }
  };
  positiveInt('segmentBytes', MIN_SEGMENT_BYTES);
  if (config.segmentBytes > 0x7fffffff) throw new RangeError('log config segmentBytes must fit in an int32');
  positiveInt('segmentMs', 1);
  positiveInt('retentionMs', -1);
  positiveInt('retentionBytes', -1);
  positiveInt('flushIntervalMessages', 1);
  positiveInt('flushIntervalMs', 0);
  positiveInt('indexIntervalBytes', 0);
  positiveInt('segmentIndexBytes', 8);
  positiveInt('fileDeleteDelayMs', 0);
  if (config.messageTimestampType !== 'CreateTime' && config.messageTimestampType !== 'LogAppendTime') {
    throw new RangeError(`log config messageTimestampType must be CreateTime or LogAppendTime`);
  }
  const optionalAtLeast = (name: 'deleteRetentionMs' | 'minCompactionLagMs' | 'maxCompactionLagMs', min: number) => {
    const v = config[name];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min)) {
      throw new RangeError(`log config ${name} must be an integer >= ${min}, got ${String(v)}`);
    }
  };
  optionalAtLeast('deleteRetentionMs', 0);
  optionalAtLeast('minCompactionLagMs', 0);
  optionalAtLeast('maxCompactionLagMs', 1);
  const ratio = config.minCleanableDirtyRatio;
  if (ratio !== undefined && (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1))) {
    throw new RangeError(`log config minCleanableDirtyRatio must be between 0 and 1, got ${String(ratio)}`);
  }
  for (const p of config.cleanupPolicy) {
    if (p !== 'delete' && p !== 'compact') throw new RangeError(`unknown cleanup policy ${String(p)}`);
  }
}

export function isNever(ms: number): boolean {
  return ms >= NEVER;
}
