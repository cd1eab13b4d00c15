import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BROKER_SETTINGS,
  BROKER_SETTING_NAMES,
  CONFIG_TYPE_CODE,
  ConfigSource,
  ConfigType,
  LONG_MAX,
  TOPIC_SETTINGS,
  TOPIC_SETTING_NAMES,
  brokerSetting,
  buildBrokerConfig,
  checkValue,
  formatDouble,
  formatLong,
  formatValue,
  isBrokerSetting,
  parseValue,
  resolveTopicConfig,
  topicSetting,
  validValues,
} from '../../src/config/index.js';

test('every declaration is complete and its default passes its own validator', () => {
  for (const table of [BROKER_SETTINGS, TOPIC_SETTINGS]) {
    for (const [name, s] of Object.entries(table)) {
      assert.equal(s.name, name);
      assert.ok(s.doc.length > 10 && !s.doc.includes('\n'), `${name} needs a one-line meaning`);
      assert.ok(['high', 'medium', 'low'].includes(s.importance), name);
      assert.ok(['read-only', 'per-broker', 'cluster-wide'].includes(s.updateMode), name);
      assert.equal(s.sensitive, s.type === 'password', name);
      assert.equal(checkValue(s, s.default), null, `default of ${name} fails its validator`);
      // The default survives a round trip through its printed form.
      const text = formatValue(s, s.default);
      if (text !== null) {
        const r = parseValue(s, text);
        assert.ok(r.ok, `${name}: cannot parse its own default ${text}`);
        assert.deepEqual(r.value, s.default, name);
      }
    }
  }
});

test('every topic synonym is a broker setting, and every topic default equals what a default broker yields', () => {
  const broker = buildBrokerConfig();
  const topic = resolveTopicConfig(broker, {});
  for (const name of TOPIC_SETTING_NAMES) {
    const def = topicSetting(name);
    for (const syn of def.synonyms) assert.ok(isBrokerSetting(syn.name), `${name} -> ${syn.name}`);
    assert.deepEqual(topic.get(name), def.default, name);
  }
});

test('Kafka defaults for a sample of broker settings', () => {
  const expected: Record<string, unknown> = {
    'broker.id': -1,
    listeners: 'PLAINTEXT://:9092',
    'advertised.listeners': null,
    'log.dir': '/tmp/kafka-logs',
    'log.dirs': null,
    'num.partitions': 1,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    'auto.create.topics.enable': true,
    'delete.topic.enable': true,
    'compression.type': 'producer',
    'message.max.bytes': 1048588,
    'log.retention.hours': 168,
    'log.retention.minutes': null,
    'log.retention.ms': null,
    'log.retention.bytes': -1,
    'log.segment.bytes': 1073741824,
    'log.roll.hours': 168,
    'log.roll.ms': null,
    'log.retention.check.interval.ms': 300000,
    'log.flush.interval.messages': LONG_MAX,
    'log.flush.interval.ms': null,
    'log.flush.scheduler.interval.ms': LONG_MAX,
    'log.flush.offset.checkpoint.interval.ms': 60000,
    'log.index.interval.bytes': 4096,
    'log.index.size.max.bytes': 10485760,
    'log.segment.delete.delay.ms': 60000,
    'log.cleanup.policy': ['delete'],
    'log.cleaner.enable': true,
    'log.cleaner.delete.retention.ms': 86400000,
    'log.cleaner.min.cleanable.ratio': 0.5,
    'log.cleaner.backoff.ms': 15000,
    'log.message.timestamp.type': 'CreateTime',
    'num.network.threads': 3,
    'num.io.threads': 8,
    'socket.request.max.bytes': 104857600,
    'socket.send.buffer.bytes': 102400,
    'queued.max.requests': 500,
    'queued.max.request.bytes': -1,
    'connections.max.idle.ms': 600000,
    'max.connections': 2147483647,
    'offsets.topic.num.partitions': 50,
    'offsets.topic.replication.factor': 3,
    'offsets.topic.segment.bytes': 104857600,
    'offsets.retention.minutes': 10080,
    'offsets.retention.check.interval.ms': 600000,
    'offsets.load.buffer.size': 5242880,
    'offsets.commit.timeout.ms': 5000,
    'offset.metadata.max.bytes': 4096,
    'group.initial.rebalance.delay.ms': 3000,
    'group.min.session.timeout.ms': 6000,
    'group.max.session.timeout.ms': 1800000,
    'transaction.state.log.num.partitions': 50,
    'transaction.state.log.replication.factor': 3,
    'transaction.state.log.min.isr': 2,
    'transaction.max.timeout.ms': 900000,
    'transactional.id.expiration.ms': 604800000,
    'producer.id.expiration.ms': 86400000,
    'unclean.leader.election.enable': false,
    'auto.leader.rebalance.enable': true,
    'leader.imbalance.check.interval.seconds': 300,
    'replica.lag.time.max.ms': 30000,
    'replica.fetch.max.bytes': 1048576,
    'replica.fetch.wait.max.ms': 500,
    'replica.fetch.min.bytes': 1,
    'num.replica.fetchers': 1,
    'replica.socket.timeout.ms': 30000,
    'controlled.shutdown.enable': true,
    'controlled.shutdown.max.retries': 3,
    'zookeeper.connect': null,
    'zookeeper.session.timeout.ms': 18000,
    'zookeeper.connection.timeout.ms': null,
  };
  for (const [name, value] of Object.entries(expected)) {
    assert.deepEqual(brokerSetting(name)?.default, value, name);
  }
});

test('types, update modes and printed defaults match Kafka for a sample', () => {
  const cfg = buildBrokerConfig();
  assert.equal(brokerSetting('offsets.topic.replication.factor').type, 'short');
  assert.equal(brokerSetting('log.cleanup.policy').type, 'list');
  assert.equal(brokerSetting('ssl.keystore.password').type, 'password');
  assert.equal(brokerSetting('listeners').updateMode, 'per-broker');
  assert.equal(brokerSetting('log.retention.ms').updateMode, 'cluster-wide');
  assert.equal(brokerSetting('log.retention.hours').updateMode, 'read-only');
  assert.equal(brokerSetting('broker.id').updateMode, 'read-only');
  assert.equal(cfg.text('log.flush.interval.messages'), '9223372036854775807');
  assert.equal(cfg.text('log.cleaner.io.max.bytes.per.second'), '1.7976931348623157E308');
  assert.equal(cfg.text('log.cleaner.min.cleanable.ratio'), '0.5');
  assert.equal(validValues(brokerSetting('compression.type')), '[uncompressed, zstd, lz4, snappy, gzip, producer]');
  assert.equal(validValues(brokerSetting('log.cleaner.min.cleanable.ratio')), '[0,...,1]');
  assert.equal(validValues(brokerSetting('num.partitions')), '[1,...]');
});

test('DescribeConfigs codes follow Kafka numbering', () => {
  assert.deepEqual(
    [
      ConfigSource.DYNAMIC_TOPIC_CONFIG,
      ConfigSource.DYNAMIC_BROKER_CONFIG,
      ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
      ConfigSource.STATIC_BROKER_CONFIG,
      ConfigSource.DEFAULT_CONFIG,
    ],
    [1, 2, 3, 4, 5],
  );
  assert.deepEqual(
    ['boolean', 'string', 'int', 'short', 'long', 'double', 'list', 'class', 'password'].map(
      (t) => CONFIG_TYPE_CODE[t as keyof typeof CONFIG_TYPE_CODE],
    ),
    [1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.equal(ConfigType.PASSWORD, 9);
});

test('value parsing: trimming, ranges and canonical text', () => {
  const int = brokerSetting('num.partitions');
  assert.deepEqual(parseValue(int, ' 12 '), { ok: true, value: 12, text: '12' });
  assert.equal(parseValue(int, '1.5').ok, false);
  assert.equal(parseValue(int, '2147483648').ok, false);
  assert.equal(parseValue(int, '').ok, false);
  const long = brokerSetting('log.retention.ms');
  assert.deepEqual(parseValue(long, '+0009223372036854775807'), { ok: true, value: LONG_MAX, text: '9223372036854775807' });
  assert.equal(parseValue(long, '9223372036854775808').ok, false);
  assert.deepEqual(parseValue(long, LONG_MAX), { ok: true, value: LONG_MAX, text: '9223372036854775807' });
  const bool = brokerSetting('auto.create.topics.enable');
  assert.deepEqual(parseValue(bool, ' TRUE '), { ok: true, value: true, text: 'true' });
  assert.equal(parseValue(bool, 'yes').ok, false);
  const dbl = brokerSetting('log.cleaner.min.cleanable.ratio');
  assert.deepEqual(parseValue(dbl, '1'), { ok: true, value: 1, text: '1.0' });
  assert.deepEqual(parseValue(dbl, '.25'), { ok: true, value: 0.25, text: '0.25' });
  const list = brokerSetting('log.cleanup.policy');
  assert.deepEqual(parseValue(list, ' compact , delete '), { ok: true, value: ['compact', 'delete'], text: 'compact,delete' });
  assert.deepEqual(parseValue(list, ''), { ok: true, value: [], text: '' });
});

test('Java-style number printing', () => {
  assert.equal(formatDouble(0.9), '0.9');
  assert.equal(formatDouble(2), '2.0');
  assert.equal(formatDouble(1e7), '1.0E7');
  assert.equal(formatDouble(0.0001), '1.0E-4');
  assert.equal(formatDouble(Number.MAX_VALUE), '1.7976931348623157E308');
  assert.equal(formatLong(-1), '-1');
  assert.equal(formatLong(LONG_MAX), '9223372036854775807');
  assert.equal(formatLong(-LONG_MAX), '-9223372036854775808');
});

test('name lists are sorted and complete', () => {
  assert.equal(BROKER_SETTING_NAMES.length, Object.keys(BROKER_SETTINGS).length);
  assert.deepEqual([...BROKER_SETTING_NAMES], [...BROKER_SETTING_NAMES].sort());
  assert.equal(TOPIC_SETTING_NAMES.length, Object.keys(TOPIC_SETTINGS).length);
  assert.ok(!isBrokerSetting('message.downconversion.enable'));
  assert.ok(!isBrokerSetting('toString'));
});

test('typed getters: types come from the declarations', () => {
  const c = buildBrokerConfig();
  const partitions: number = c.get('num.partitions');
  const retention: number | null = c.get('log.retention.ms');
  const policy: readonly string[] = c.get('log.cleanup.policy');
  const enabled: boolean = c.get('auto.create.topics.enable');
  const listeners: string = c.get('listeners');
  // @ts-expect-error a nullable setting is not a plain number
  const notNullable: number = c.get('log.retention.ms');
  // @ts-expect-error unknown names do not compile
  assert.throws(() => c.get('no.such.setting'), RangeError);
  const t = resolveTopicConfig(c, {});
  const retentionMs: number = t.get('retention.ms');
  const tsType: string = t.get('message.timestamp.type');
  assert.deepEqual(
    [partitions, retention, policy, enabled, listeners, notNullable, retentionMs, tsType],
    [1, null, ['delete'], true, 'PLAINTEXT://:9092', null, 604800000, 'CreateTime'],
  );
  assert.ok(Object.isFrozen(policy));
});
