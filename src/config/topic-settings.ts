/**
 * Every topic-level setting Ganglion supports, with its broker-level synonyms
 * in Kafka's order of precedence: a topic without an override takes its value
 * from the first synonym that is set on the broker (converted to the topic's
 * unit), falling back to the broker defaults.
 *
 * The `default` here is Kafka's topic-level default; a test checks it equals
 * what the synonym chain yields on a broker with no settings at all.
 *
 * Deliberately absent: message.format.version and message.downconversion.enable
 * (gone in Kafka 4.0), and the tiered-storage settings (remote.storage.enable,
 * local.retention.*), which Ganglion does not implement.
 */

import type { BrokerSettingName } from './broker-settings.js';
import { CLEANUP_POLICIES, COMPRESSION_TYPES, TIMESTAMP_TYPES, gzipLevel } from './broker-settings.js';
import {
  LONG_MAX,
  atLeast,
  between,
  bool,
  custom,
  defineSettings,
  double,
  int,
  list,
  listOf,
  long,
  oneOf,
  str,
  type SettingSpec,
  type ValueOf,
} from './setting.js';

export interface TopicSynonym {
  /** The broker setting. */
  readonly name: BrokerSettingName;
  /** The broker setting's unit when it differs from the topic setting's milliseconds. */
  readonly unit?: 'minutes' | 'hours';
}

export interface TopicExtras {
  /** Broker settings that supply the default, most important first. */
  readonly synonyms: readonly TopicSynonym[];
  /** A negative value inherited from the broker means "no limit" and reads as -1. */
  readonly negativeMeansUnlimited?: boolean;
}

function topic<S extends SettingSpec>(s: S, ...synonyms: (BrokerSettingName | TopicSynonym)[]): S & TopicExtras {
  return { ...s, synonyms: Object.freeze(synonyms.map((x) => Object.freeze(typeof x === 'string' ? { name: x } : x))) };
}

/** Kafka's throttled-replica list: "*" alone, or partition:brokerId pairs. */
const throttledReplicas = custom('"*" or a list of partition:brokerId pairs', (v) => {
  const items = v as readonly string[];
  if (items.length === 1 && items[0] === '*') return true;
  return items.every((x) => /^\d+:\d+$/.test(x));
});

export const TOPIC_SETTINGS = defineSettings({
  'cleanup.policy': topic(
    list(['delete'], 'delete removes old segments by time or size; compact keeps the newest record per key; both may be given.', {
      validator: listOf(...CLEANUP_POLICIES),
    }),
    'log.cleanup.policy',
  ),
  'compression.type': topic(
    str('producer', 'Codec this topic stores batches with; "producer" keeps what the producer sent.', {
      validator: oneOf(...COMPRESSION_TYPES),
    }),
    'compression.type',
  ),
  'compression.gzip.level': topic(
    int(-1, 'gzip level when this topic recompresses with gzip.', { validator: gzipLevel }),
    'compression.gzip.level',
  ),
  'compression.lz4.level': topic(
    int(9, 'lz4 level when this topic recompresses with lz4.', { validator: between(1, 17) }),
    'compression.lz4.level',
  ),
  'compression.zstd.level': topic(
    int(3, 'zstd level when this topic recompresses with zstd.', { validator: between(-131072, 22) }),
    'compression.zstd.level',
  ),
  'delete.retention.ms': topic(
    long(86400000, 'How long tombstones stay readable in a compacted topic.', { validator: atLeast(0) }),
    'log.cleaner.delete.retention.ms',
  ),
  'file.delete.delay.ms': topic(
    long(60000, 'Grace period between retiring a segment and removing its files.', { validator: atLeast(0) }),
    'log.segment.delete.delay.ms',
  ),
  'flush.messages': topic(
    long(LONG_MAX, "Records written between forced fsyncs of this topic's partitions.", { validator: atLeast(1) }),
    'log.flush.interval.messages',
  ),
  'flush.ms': topic(
    long(LONG_MAX, 'Longest a record of this topic waits before an fsync.', { validator: atLeast(0) }),
    'log.flush.interval.ms',
    'log.flush.scheduler.interval.ms',
  ),
  'follower.replication.throttled.replicas': topic(
    list([], 'Replicas whose follower-side replication is throttled.', { validator: throttledReplicas }),
  ),
  'index.interval.bytes': topic(
    int(4096, 'Bytes of log between two offset index entries.', { validator: atLeast(0) }),
    'log.index.interval.bytes',
  ),
  'leader.replication.throttled.replicas': topic(
    list([], 'Replicas whose leader-side replication is throttled.', { validator: throttledReplicas }),
  ),
  'max.compaction.lag.ms': topic(
    long(LONG_MAX, 'Longest a record may stay uncompacted.', { validator: atLeast(1) }),
    'log.cleaner.max.compaction.lag.ms',
  ),
  'max.message.bytes': topic(
    int(1048588, 'Largest record batch this topic accepts (after compression).', { validator: atLeast(0) }),
    'message.max.bytes',
  ),
  'message.timestamp.after.max.ms': topic(
    long(LONG_MAX, 'How far in the future a CreateTime timestamp may be.', { validator: atLeast(0) }),
    'log.message.timestamp.after.max.ms',
  ),
  'message.timestamp.before.max.ms': topic(
    long(LONG_MAX, 'How far in the past a CreateTime timestamp may be.', { validator: atLeast(0) }),
    'log.message.timestamp.before.max.ms',
  ),
  'message.timestamp.type': topic(
    str('CreateTime', "Keep the producer's timestamps (CreateTime) or stamp records on append (LogAppendTime).", {
      validator: oneOf(...TIMESTAMP_TYPES),
    }),
    'log.message.timestamp.type',
  ),
  'min.cleanable.dirty.ratio': topic(
    double(0.5, 'Share of the log that must be uncompacted before compaction runs.', { validator: between(0, 1) }),
    'log.cleaner.min.cleanable.ratio',
  ),
  'min.compaction.lag.ms': topic(
    long(0, 'Minimum age of a record before compaction may remove it.', { validator: atLeast(0) }),
    'log.cleaner.min.compaction.lag.ms',
  ),
  'min.insync.replicas': topic(
    int(1, 'Replicas that must have a write before an acks=all produce succeeds.', { validator: atLeast(1) }),
    'min.insync.replicas',
  ),
  preallocate: topic(bool(false, 'Reserve the full segment size on disk when a segment is created.'), 'log.preallocate'),
  'retention.bytes': topic(
    long(-1, 'Size a partition may reach before its oldest segments are deleted; -1 means no size limit.'),
    'log.retention.bytes',
  ),
  'retention.ms': {
    ...topic(
      long(604800000, 'How long records are kept before their segment may be deleted; -1 keeps them forever.', {
        validator: atLeast(-1),
      }),
      'log.retention.ms',
      { name: 'log.retention.minutes', unit: 'minutes' },
      { name: 'log.retention.hours', unit: 'hours' },
    ),
    negativeMeansUnlimited: true,
  },
  'segment.bytes': topic(
    int(1073741824, 'Size at which the active segment is closed and a new one started.', { validator: atLeast(14) }),
    'log.segment.bytes',
  ),
  'segment.index.bytes': topic(
    int(10485760, "Largest size of a segment's offset index.", { validator: atLeast(4) }),
    'log.index.size.max.bytes',
  ),
  'segment.jitter.ms': topic(
    long(0, 'Random amount taken off segment.ms so segments do not all roll at once.', { validator: atLeast(0) }),
    'log.roll.jitter.ms',
    { name: 'log.roll.jitter.hours', unit: 'hours' },
  ),
  'segment.ms': topic(
    long(604800000, 'Age after which the active segment is closed even if not full.', { validator: atLeast(1) }),
    'log.roll.ms',
    { name: 'log.roll.hours', unit: 'hours' },
  ),
  'unclean.leader.election.enable': topic(
    bool(false, "Allow an out-of-sync replica to lead this topic's partitions as a last resort."),
    'unclean.leader.election.enable',
  ),
});

export type TopicSettings = typeof TOPIC_SETTINGS;
export type TopicSettingName = keyof TopicSettings;
/** The type `topicConfig.get(name)` returns. */
export type TopicSettingValue<K extends TopicSettingName> = ValueOf<TopicSettings[K]>;
