/**
 * Maps a topic's effective settings (topic overrides over broker defaults,
 * resolved by the config layer) onto the storage engine's LogConfig.
 */
import type { BrokerConfig, TopicConfig } from '../config/index.js';
import { resolveTopicConfig } from '../config/index.js';
import { logConfig, type CleanupPolicy, type LogConfig } from '../storage/index.js';

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
  });
}

export function logConfigFor(broker: BrokerConfig, overrides: Readonly<Record<string, string>> = {}): LogConfig {
  return toLogConfig(resolveTopicConfig(broker, overrides));
}
