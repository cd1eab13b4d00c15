/**
 * Maps a topic's effective settings (topic overrides over broker defaults,
 * resolved by the config layer) onto the storage engine's LogConfig.
 */
import type { BrokerConfig, TopicConfig } from '../config/index.js';
import { resolveTopicConfig } from '../config/index.js';
import { logConfig, type CleanupPolicy, type LogConfig } from '../storage/index.js';
import type { LogCleanerConfig } from '../storage/cleaner/index.js';

export function toLogConfig(topic: TopicConfig): LogConfig {
  return logConfig({
    segmentBytes: topic.get('segment.bytes'),
    segmentMs: topic.get('segment.ms'),
    retentionMs: topic.get('retention.ms'),
    retentionBytes: topic.get('retention.bytes'),
    flushIntervalMessages: topic.get('flush.messages'),
    flushIntervalMs: topic.get('flush.ms'),
    indexIntervalBytes: topic.get('index.interval.bytes'),
    segmentIndexBytes: topic.get('segment.index.bytes'),
    fileDeleteDelayMs: topic.get('file.delete.delay.ms'),
    messageTimestampType: topic.get('message.timestamp.type') as LogConfig['messageTimestampType'],
    cleanupPolicy: topic.get('cleanup.policy') as readonly CleanupPolicy[],
    deleteRetentionMs: topic.get('delete.retention.ms'),
    minCleanableDirtyRatio: topic.get('min.cleanable.dirty.ratio'),
    minCompactionLagMs: topic.get('min.compaction.lag.ms'),
    maxCompactionLagMs: topic.get('max.compaction.lag.ms'),
  });
}

export function logConfigFor(broker: BrokerConfig, overrides: Readonly<Record<string, string>> = {}): LogConfig {
  return toLogConfig(resolveTopicConfig(broker, overrides));
}

/** The broker's log.cleaner.* settings for the LogManager's `cleaner` option. */
export function cleanerConfigFor(broker: BrokerConfig): LogCleanerConfig {
  return {
    enable: broker.get('log.cleaner.enable'),
    threads: broker.get('log.cleaner.threads'),
    backoffMs: broker.get('log.cleaner.backoff.ms'),
    dedupeBufferSize: broker.get('log.cleaner.dedupe.buffer.size'),
    dedupeBufferLoadFactor: broker.get('log.cleaner.io.buffer.load.factor'),
    ioBufferSize: broker.get('log.cleaner.io.buffer.size'),
    ioMaxBytesPerSecond: broker.get('log.cleaner.io.max.bytes.per.second'),
  };
}
