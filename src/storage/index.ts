/** The storage engine: partition logs on disk and the manager of a broker's log directories. */
export { LogManager, CLEAN_SHUTDOWN_FILE, type LogManagerOptions } from './log-manager.js';
export {
  PartitionLog,
  type AppendOptions,
  type AppendResult,
  type LoadStats,
  type PartitionLogOptions,
  type ReadOptions,
  type ReadResult,
  type RetentionResult,
  type SegmentInfo,
  type TimestampAndOffset,
} from './partition-log.js';
export {
  DEFAULT_LOG_CONFIG,
  NEVER,
  logConfig,
  validateLogConfig,
  type CleanupPolicy,
  type LogConfig,
  type TimestampType,
} from './log-config.js';
export {
  CorruptCheckpointError,
  CorruptRecordError,
  LogClosedError,
  OffsetOutOfRangeError,
  RecordBatchTooLargeError,
  UnexpectedAppendOffsetError,
} from './errors.js';
export {
  LOG_START_OFFSET_CHECKPOINT,
  RECOVERY_POINT_CHECKPOINT,
  REPLICATION_OFFSET_CHECKPOINT,
  formatCheckpoint,
  parseCheckpoint,
  readCheckpointFile,
  writeCheckpointFile,
  type CheckpointEntry,
} from './checkpoint.js';
export { IndexCache } from './index-file.js';
export type { Decompressor } from './batch-header.js';
export { type TopicPartition, tpKey } from './topic-partition.js';
