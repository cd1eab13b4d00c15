import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConfigError,
  ConfigSource,
  LONG_MAX,
  buildBrokerConfig,
  describeTopicConfig,
  resolveTopicConfig,
  topicConfigError,
  validateTopicConfigs,
} from '../../src/config/index.js';

const HOUR = 3600_000;

test("without overrides a topic takes Kafka's defaults through the broker", () => {
  const t = resolveTopicConfig(buildBrokerConfig(), {});
  assert.equal(t.get('retention.ms'), 168 * HOUR);
  assert.equal(t.get('segment.ms'), 168 * HOUR);
  assert.equal(t.get('segment.bytes'), 1073741824);
  assert.equal(t.get('max.message.bytes'), 1048588);
  assert.equal(t.get('flush.messages'), LONG_MAX);
  assert.equal(t.get('flush.ms'), LONG_MAX);
  assert.deepEqual(t.get('cleanup.policy'), ['delete']);
  assert.equal(t.delete, true);
  assert.equal(t.compact, false);
  assert.equal(t.source('retention.ms'), ConfigSource.DEFAULT_CONFIG);
});

test("synonym chains resolve in Kafka's order, converting units", () => {
  const b = (p: Record<string, string>) => resolveTopicConfig(buildBrokerConfig({ properties: p }), {});
  assert.equal(b({ 'log.retention.hours': '2' }).get('retention.ms'), 2 * HOUR);
  assert.equal(b({ 'log.retention.hours': '2', 'log.retention.minutes': '3' }).get('retention.ms'), 3 * 60_000);
  assert.equal(b({ 'log.retention.hours': '2', 'log.retention.minutes': '3', 'log.retention.ms': '4' }).get('retention.ms'), 4);
  assert.equal(b({ 'log.retention.hours': '-1' }).get('retention.ms'), -1);
  assert.equal(b({ 'log.retention.minutes': '-7' }).get('retention.ms'), -1);
  assert.equal(b({ 'log.roll.hours': '1' }).get('segment.ms'), HOUR);
  assert.equal(b({ 'log.roll.hours': '1', 'log.roll.ms': '99' }).get('segment.ms'), 99);
  assert.equal(b({ 'log.roll.jitter.hours': '1' }).get('segment.jitter.ms'), HOUR);
  assert.equal(b({ 'log.flush.scheduler.interval.ms': '500' }).get('flush.ms'), 500);
  assert.equal(b({ 'log.flush.scheduler.interval.ms': '500', 'log.flush.interval.ms': '50' }).get('flush.ms'), 50);
  assert.equal(b({ 'message.max.bytes': '2000' }).get('max.message.bytes'), 2000);
  assert.equal(b({ 'log.segment.bytes': '4096' }).get('segment.bytes'), 4096);
  assert.deepEqual(b({ 'log.cleanup.policy': 'compact' }).get('cleanup.policy'), ['compact']);
  assert.equal(b({ 'log.message.timestamp.type': 'LogAppendTime' }).get('message.timestamp.type'), 'LogAppendTime');
  assert.equal(b({ 'log.cleaner.min.cleanable.ratio': '0.1' }).get('min.cleanable.dirty.ratio'), 0.1);
  assert.equal(b({ 'log.retention.hours': '2' }).source('retention.ms'), ConfigSource.STATIC_BROKER_CONFIG);
});

test('topic overrides beat the broker', () => {
  const broker = buildBrokerConfig({ properties: { 'log.retention.ms': '1000', 'compression.type': 'gzip' } });
  const t = resolveTopicConfig(broker, { 'retention.ms': '-1', 'cleanup.policy': 'compact,delete', 'compression.type': 'zstd' });
  assert.equal(t.get('retention.ms'), -1);
  assert.equal(t.get('compression.type'), 'zstd');
  assert.equal(t.compact && t.delete, true);
  assert.equal(t.source('retention.ms'), ConfigSource.DYNAMIC_TOPIC_CONFIG);
  assert.ok(t.isOverridden('retention.ms'));
  assert.ok(!t.isOverridden('segment.ms'));
});

test('dynamic broker values flow into topics', () => {
  const broker = buildBrokerConfig().withDynamicConfigs({ clusterDefault: { 'log.retention.ms': '5000' } });
  const t = resolveTopicConfig(broker, {});
  assert.equal(t.get('retention.ms'), 5000);
  assert.equal(t.source('retention.ms'), ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
});

test('stored unknown keys are ignored; stored bad values throw', () => {
  const t = resolveTopicConfig(buildBrokerConfig(), { 'message.format.version': '3.0-IV1', 'segment.bytes': '2048' });
  assert.deepEqual(t.unknownKeys, ['message.format.version']);
  assert.deepEqual(t.overrides, { 'segment.bytes': '2048' });
  assert.throws(() => resolveTopicConfig(buildBrokerConfig(), { 'segment.bytes': '10' }), ConfigError);
});

test('validateTopicConfigs: unknown names and bad values are INVALID_CONFIG with a message', () => {
  assert.deepEqual(validateTopicConfigs({ 'retention.ms': '86400000', 'cleanup.policy': 'compact' }), []);
  const issues = validateTopicConfigs({
    'no.such.config': '1',
    'retention.ms': '-2',
    'compression.type': 'brotli',
    'cleanup.policy': 'delete,archive',
    'message.timestamp.type': 'Now',
    'min.cleanable.dirty.ratio': '2',
    'segment.bytes': 'huge',
    'unclean.leader.election.enable': 'sometimes',
    'max.message.bytes': null,
  });
  assert.deepEqual(
    issues.map((i) => i.name),
    [
      'no.such.config',
      'retention.ms',
      'compression.type',
      'cleanup.policy',
      'message.timestamp.type',
      'min.cleanable.dirty.ratio',
      'segment.bytes',
      'unclean.leader.election.enable',
      'max.message.bytes',
    ],
  );
  for (const i of issues) {
    assert.equal(i.error, 'INVALID_CONFIG');
    assert.ok(i.message.includes(i.name), i.message);
  }
  assert.match(issues[1]!.message, /'-2'.*at least -1/);
  assert.match(issues[2]!.message, /uncompressed, zstd, lz4, snappy, gzip, producer/);
});

test('validateTopicConfigs checks compaction lags against what the topic would inherit', () => {
  assert.equal(validateTopicConfigs({ 'min.compaction.lag.ms': '100', 'max.compaction.lag.ms': '50' }).length, 1);
  const broker = buildBrokerConfig({ properties: { 'log.cleaner.max.compaction.lag.ms': '1000' } });
  assert.deepEqual(validateTopicConfigs({ 'min.compaction.lag.ms': '500' }, broker), []);
  const [issue] = validateTopicConfigs({ 'min.compaction.lag.ms': '5000' }, broker);
  assert.equal(issue?.name, 'min.compaction.lag.ms');
  assert.equal(issue?.error, 'INVALID_CONFIG');
});

test('topicConfigError gives the first message or null', () => {
  assert.equal(topicConfigError({ 'retention.ms': '1' }), null);
  assert.match(topicConfigError({ 'retention.bytes': 'x' }) ?? '', /retention\.bytes/);
});

test('describeTopicConfig: values, sources, isDefault and synonyms as Kafka reports them', () => {
  const broker = buildBrokerConfig({ properties: { 'log.retention.minutes': '90', 'log.segment.bytes': '4096' } });
  const entries = describeTopicConfig(broker, { 'segment.bytes': '8192', 'cleanup.policy': 'compact' });
  const byName = new Map(entries.map((e) => [e.name, e]));
  assert.deepEqual([...byName.keys()], [...byName.keys()].sort(), 'sorted by name');

  const retention = byName.get('retention.ms')!;
  assert.equal(retention.value, String(90 * 60_000));
  assert.equal(retention.source, ConfigSource.STATIC_BROKER_CONFIG);
  assert.equal(retention.isDefault, false);
  assert.equal(retention.readOnly, false);
  assert.equal(retention.type, 5);
  assert.deepEqual(retention.synonyms, [
    { name: 'log.retention.minutes', value: '90', source: ConfigSource.STATIC_BROKER_CONFIG },
    { name: 'log.retention.hours', value: '168', source: ConfigSource.DEFAULT_CONFIG },
  ]);

  const segment = byName.get('segment.bytes')!;
  assert.equal(segment.value, '8192');
  assert.equal(segment.source, ConfigSource.DYNAMIC_TOPIC_CONFIG);
  assert.deepEqual(segment.synonyms, [
    { name: 'segment.bytes', value: '8192', source: ConfigSource.DYNAMIC_TOPIC_CONFIG },
    { name: 'log.segment.bytes', value: '4096', source: ConfigSource.STATIC_BROKER_CONFIG },
    { name: 'log.segment.bytes', value: '1073741824', source: ConfigSource.DEFAULT_CONFIG },
  ]);

  const segmentMs = byName.get('segment.ms')!;
  assert.equal(segmentMs.value, '604800000');
  assert.equal(segmentMs.isDefault, true);
  assert.deepEqual(segmentMs.synonyms, [{ name: 'log.roll.hours', value: '168', source: ConfigSource.DEFAULT_CONFIG }]);

  const policy = byName.get('cleanup.policy')!;
  assert.deepEqual([policy.value, policy.type], ['compact', 7]);

  const ratio = byName.get('min.cleanable.dirty.ratio')!;
  assert.deepEqual([ratio.value, ratio.type], ['0.5', 6]);

  const throttled = byName.get('leader.replication.throttled.replicas')!;
  assert.deepEqual([throttled.value, throttled.source, throttled.synonyms], ['', ConfigSource.DEFAULT_CONFIG, []]);

  assert.ok(entries.every((e) => e.documentation.length > 0 && e.sensitive === false));
});

test('describeTopicConfig filters by requested names', () => {
  const entries = describeTopicConfig(buildBrokerConfig(), {}, { names: ['segment.ms', 'nope', 'retention.ms'] });
  assert.deepEqual(
    entries.map((e) => e.name),
    ['segment.ms', 'retention.ms'],
  );
});
