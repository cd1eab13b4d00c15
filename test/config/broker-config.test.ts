import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  ConfigSource,
  LONG_MAX,
  buildBrokerConfig,
  describeBrokerConfig,
  loadBrokerConfig,
  validateBrokerConfigUpdate,
  type BrokerConfigInput,
} from '../../src/config/index.js';

/** The repository root, found from this file whether it runs from test/ or dist/test/. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
  return dir;
}

/** Asserts that building throws exactly one ConfigError problem about `key`, mentioning `value`. */
function rejects(input: BrokerConfigInput, key: string, value?: string): ConfigError {
  try {
    buildBrokerConfig(input);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    assert.equal(e.problems.length, 1, e.message);
    assert.equal(e.key, key, e.message);
    assert.ok(e.message.includes(`'${key}'`) || e.message.includes(key), e.message);
    if (value !== undefined) assert.ok(e.message.includes(value), e.message);
    assert.ok(e.expected === undefined || e.expected.length > 0);
    return e;
  }
  assert.fail(`expected a ConfigError for ${key}`);
}

test("an empty config is Kafka's defaults", () => {
  const c = buildBrokerConfig();
  assert.equal(c.get('num.partitions'), 1);
  assert.equal(c.get('log.segment.bytes'), 1073741824);
  assert.equal(c.brokerId, -1);
  assert.equal(c.logRetentionMs, 7 * 24 * 3600 * 1000);
  assert.equal(c.logRollMs, 7 * 24 * 3600 * 1000);
  assert.equal(c.logRollJitterMs, 0);
  assert.equal(c.logFlushIntervalMs, LONG_MAX);
  assert.equal(c.offsetsRetentionMs, 10080 * 60000);
  assert.equal(c.zookeeperConnectionTimeoutMs, 18000);
  assert.deepEqual(c.logDirs, ['/tmp/kafka-logs']);
  assert.equal(c.zookeeper, null);
  assert.equal(c.source('num.partitions'), ConfigSource.DEFAULT_CONFIG);
  assert.ok(c.isDefault('num.partitions'));
  assert.deepEqual(c.unknownKeys, []);
  assert.ok(Object.isFrozen(c));
});

test('log retention: ms beats minutes beats hours; negative means unlimited (-1)', () => {
  const h = 3600_000;
  assert.equal(buildBrokerConfig({ properties: { 'log.retention.hours': '24' } }).logRetentionMs, 24 * h);
  assert.equal(
    buildBrokerConfig({ properties: { 'log.retention.hours': '24', 'log.retention.minutes': '30' } }).logRetentionMs,
    30 * 60_000,
  );
  assert.equal(
    buildBrokerConfig({ properties: { 'log.retention.hours': '24', 'log.retention.minutes': '30', 'log.retention.ms': '1234' } })
      .logRetentionMs,
    1234,
  );
  assert.equal(buildBrokerConfig({ properties: { 'log.retention.ms': '-1', 'log.retention.hours': '24' } }).logRetentionMs, -1);
  assert.equal(buildBrokerConfig({ properties: { 'log.retention.hours': '-1' } }).logRetentionMs, -1);
  assert.equal(buildBrokerConfig({ properties: { 'log.retention.minutes': '-5' } }).logRetentionMs, -1);
  rejects({ properties: { 'log.retention.ms': '0' } }, 'log.retention.ms', '0');
});

test('log roll and flush fallbacks', () => {
  const c = buildBrokerConfig({
    properties: { 'log.roll.hours': '2', 'log.roll.jitter.hours': '1', 'log.flush.scheduler.interval.ms': '3000' },
  });
  assert.equal(c.logRollMs, 2 * 3600_000);
  assert.equal(c.logRollJitterMs, 3600_000);
  assert.equal(c.logFlushIntervalMs, 3000);
  const d = buildBrokerConfig({
    properties: { 'log.roll.hours': '2', 'log.roll.ms': '500', 'log.roll.jitter.ms': '7', 'log.flush.interval.ms': '10' },
  });
  assert.equal(d.logRollMs, 500);
  assert.equal(d.logRollJitterMs, 7);
  assert.equal(d.logFlushIntervalMs, 10);
  rejects({ properties: { 'log.roll.ms': '0' } }, 'log.roll.ms');
});

test('precedence: default < file < values < overrides; source tells static from default', () => {
  const c = buildBrokerConfig({
    properties: { 'num.partitions': '2', 'log.segment.bytes': '2048', 'delete.topic.enable': 'false' },
    values: { 'num.partitions': 3, 'log.segment.bytes': 4096 },
    overrides: { 'num.partitions': '4' },
  });
  assert.equal(c.get('num.partitions'), 4);
  assert.equal(c.get('log.segment.bytes'), 4096);
  assert.equal(c.get('delete.topic.enable'), false);
  assert.equal(c.source('num.partitions'), ConfigSource.STATIC_BROKER_CONFIG);
  assert.equal(c.source('num.io.threads'), ConfigSource.DEFAULT_CONFIG);
  assert.equal(c.originals.get('num.partitions'), '4');
});

test('a bad file value hidden by an override is not an error', () => {
  const c = buildBrokerConfig({ properties: { 'num.partitions': 'lots' }, overrides: { 'num.partitions': '6' } });
  assert.equal(c.get('num.partitions'), 6);
});

test('typed programmatic values: numbers, booleans, arrays; null leaves the default', () => {
  const c = buildBrokerConfig({
    values: {
      'log.cleanup.policy': ['compact', 'delete'],
      'log.preallocate': true,
      'log.retention.bytes': 10,
      'broker.rack': null,
      'log.flush.interval.messages': LONG_MAX,
    },
  });
  assert.deepEqual(c.get('log.cleanup.policy'), ['compact', 'delete']);
  assert.equal(c.get('log.preallocate'), true);
  assert.equal(c.get('log.retention.bytes'), 10);
  assert.equal(c.get('broker.rack'), null);
  assert.equal(c.text('log.flush.interval.messages'), '9223372036854775807');
  rejects({ values: { 'num.partitions': 1.5 } }, 'num.partitions', '1.5');
  rejects({ values: { 'log.preallocate': 'maybe' } }, 'log.preallocate', 'maybe');
});

test('unknown keys are collected, kept in originals and otherwise ignored', () => {
  const c = buildBrokerConfig({
    properties: { 'num.partitions': '2', 'process.roles': 'broker', 'listener.name.internal.ssl.keystore.location': '/k' },
  });
  assert.deepEqual([...c.unknownKeys].sort(), ['listener.name.internal.ssl.keystore.location', 'process.roles']);
  assert.equal(c.originals.get('process.roles'), 'broker');
  assert.deepEqual(Object.fromEntries(c.originalsWithPrefix('listener.name.internal.')), { 'ssl.keystore.location': '/k' });
});

test('every class of bad value yields one ConfigError naming key, value and expectation', () => {
  const notNumber = rejects({ properties: { 'num.io.threads': 'eight' } }, 'num.io.threads', 'eight');
  assert.match(notNumber.message, /32-bit integer/);
  const negative = rejects({ properties: { 'log.segment.bytes': '-1' } }, 'log.segment.bytes', '-1');
  assert.match(negative.message, /at least 14/);
  const tooBig = rejects(
    { properties: { 'offsets.topic.replication.factor': '40000' } },
    'offsets.topic.replication.factor',
    '40000',
  );
  assert.match(tooBig.message, /16-bit/);
  const badEnum = rejects({ properties: { 'compression.type': 'brotli' } }, 'compression.type', 'brotli');
  assert.match(badEnum.message, /uncompressed, zstd, lz4, snappy, gzip, producer/);
  const badList = rejects({ properties: { 'log.cleanup.policy': 'delete,shred' } }, 'log.cleanup.policy', 'shred');
  assert.match(badList.message, /compact, delete/);
  rejects({ properties: { 'log.message.timestamp.type': 'createtime' } }, 'log.message.timestamp.type', 'createtime');
  rejects({ properties: { 'auto.create.topics.enable': 'yes' } }, 'auto.create.topics.enable', 'yes');
  rejects({ properties: { 'log.cleaner.min.cleanable.ratio': '1.5' } }, 'log.cleaner.min.cleanable.ratio', '1.5');
  rejects({ properties: { 'log.retention.bytes': '12x' } }, 'log.retention.bytes', '12x');
  rejects({ properties: { 'compression.gzip.level': '0' } }, 'compression.gzip.level', '0');
  rejects({ properties: { listeners: 'localhost:9092' } }, 'listeners', 'localhost:9092');
  rejects({ properties: { listeners: 'PLAINTEXT://:99999' } }, 'listeners', '99999');
  rejects({ properties: { 'zookeeper.connect': 'zk1:abc' } }, 'zookeeper.connect', 'zk1:abc');
});

test('several bad values are reported together in one error', () => {
  assert.throws(
    () => buildBrokerConfig({ properties: { 'num.partitions': '0', 'log.segment.bytes': 'big' } }),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.problems.length === 2 &&
      /num\.partitions/.test(e.message) &&
      /log\.segment\.bytes/.test(e.message),
  );
});

test("listener parsing follows Kafka's rules", () => {
  const c = buildBrokerConfig({
    properties: {
      listeners: 'plaintext://:9092, INTERNAL://127.0.0.1:9093,EXTERNAL://[::1]:9094',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,INTERNAL:SASL_PLAINTEXT,external:ssl',
      'inter.broker.listener.name': 'internal',
    },
  });
  assert.deepEqual(c.listeners, [
    { name: 'PLAINTEXT', host: '', port: 9092, securityProtocol: 'PLAINTEXT' },
    { name: 'INTERNAL', host: '127.0.0.1', port: 9093, securityProtocol: 'SASL_PLAINTEXT' },
    { name: 'EXTERNAL', host: '::1', port: 9094, securityProtocol: 'SSL' },
  ]);
  // advertised defaults to listeners, with the wildcard host replaced
  assert.deepEqual(
    c.advertisedListeners.map((e) => `${e.name}://${e.host}:${e.port}`),
    ['PLAINTEXT://localhost:9092', 'INTERNAL://127.0.0.1:9093', 'EXTERNAL://::1:9094'],
  );
  assert.equal(c.interBrokerListenerName, 'INTERNAL');
  assert.equal(c.interBrokerSecurityProtocol, 'SASL_PLAINTEXT');
});

test('advertised listeners: explicit, subset of listener names, no 0.0.0.0', () => {
  const c = buildBrokerConfig({
    properties: { listeners: 'PLAINTEXT://0.0.0.0:9092', 'advertised.listeners': 'PLAINTEXT://broker1.example:19092' },
  });
  assert.deepEqual(c.advertisedListeners, [
    { name: 'PLAINTEXT', host: 'broker1.example', port: 19092, securityProtocol: 'PLAINTEXT' },
  ]);
  rejects({ properties: { 'advertised.listeners': 'PLAINTEXT://0.0.0.0:9092' } }, 'advertised.listeners', '0.0.0.0');
  rejects({ properties: { listeners: 'PLAINTEXT://0.0.0.0:9092' } }, 'advertised.listeners', '0.0.0.0');
  rejects({ properties: { 'advertised.listeners': 'PLAINTEXT://h:1,SSL://h:2' } }, 'advertised.listeners', 'SSL');
});

test('listener errors: unknown protocol name, duplicate name or port, both inter-broker settings', () => {
  rejects({ properties: { listeners: 'CLIENT://:9092' } }, 'listeners', 'CLIENT');
  rejects({ properties: { listeners: 'PLAINTEXT://:9092,PLAINTEXT://:9093' } }, 'listeners');
  rejects({ properties: { listeners: 'PLAINTEXT://:9092,SSL://:9092' } }, 'listeners', '9092');
  rejects(
    { properties: { 'listener.security.protocol.map': 'PLAINTEXT:TLS' } },
    'listener.security.protocol.map',
    'PLAINTEXT:TLS',
  );
  rejects(
    { properties: { 'inter.broker.listener.name': 'PLAINTEXT', 'security.inter.broker.protocol': 'PLAINTEXT' } },
    'inter.broker.listener.name',
  );
  rejects({ properties: { listeners: 'SSL://:9093' } }, 'security.inter.broker.protocol', 'PLAINTEXT');
  // one IPv4 and one IPv6 literal may share a port
  const ok = buildBrokerConfig({
    properties: { listeners: 'PLAINTEXT://127.0.0.1:9092,SSL://[::1]:9092', 'inter.broker.listener.name': 'PLAINTEXT' },
  });
  assert.equal(ok.listeners.length, 2);
});

test('broker.id and node.id', () => {
  assert.equal(buildBrokerConfig({ properties: { 'node.id': '3' } }).brokerId, 3);
  assert.equal(buildBrokerConfig({ properties: { 'broker.id': '2', 'node.id': '2' } }).brokerId, 2);
  rejects({ properties: { 'broker.id': '1', 'node.id': '2' } }, 'node.id');
  rejects({ properties: { 'broker.id': '5000' } }, 'broker.id', '5000');
  assert.equal(buildBrokerConfig({ properties: { 'broker.id': '5000', 'broker.id.generation.enable': 'false' } }).brokerId, 5000);
});

test('log directories: log.dirs over log.dir, resolved against the working directory', () => {
  const c = buildBrokerConfig({ properties: { 'log.dir': '/ignored', 'log.dirs': ' ./a , /b ' } });
  assert.deepEqual(c.logDirs, [resolve('a'), '/b']);
  assert.deepEqual(buildBrokerConfig({ properties: { 'log.dir': 'data/one' } }).logDirs, [resolve('data/one')]);
  rejects({ properties: { 'log.dirs': '/a,/a' } }, 'log.dirs');
});

test('zookeeper.connect with a chroot', () => {
  const c = buildBrokerConfig({
    properties: { 'zookeeper.connect': 'zk1:2181,zk2:2182,zk3/kafka/prod', 'zookeeper.connection.timeout.ms': '6000' },
  });
  assert.deepEqual(c.zookeeper, {
    servers: [
      { host: 'zk1', port: 2181 },
      { host: 'zk2', port: 2182 },
      { host: 'zk3', port: 2181 },
    ],
    chroot: '/kafka/prod',
    connectString: 'zk1:2181,zk2:2182,zk3:2181',
  });
  assert.equal(c.zookeeperConnectionTimeoutMs, 6000);
  assert.equal(buildBrokerConfig({ properties: { 'zookeeper.connect': 'localhost:2181' } }).zookeeper?.chroot, '');
  rejects({ properties: { 'zookeeper.connect': 'zk1:2181/kafka/' } }, 'zookeeper.connect');
});

test('cross-setting rules of Kafka', () => {
  rejects(
    { properties: { 'replica.fetch.wait.max.ms': '40000', 'replica.lag.time.max.ms': '60000' } },
    'replica.socket.timeout.ms',
  );
  rejects(
    { properties: { 'replica.fetch.wait.max.ms': '31000', 'replica.socket.timeout.ms': '60000' } },
    'replica.fetch.wait.max.ms',
  );
  rejects({ properties: { 'log.cleaner.dedupe.buffer.size': '1000' } }, 'log.cleaner.dedupe.buffer.size');
});

test('loadBrokerConfig reads a file and applies overrides on top', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ganglion-config-'));
  try {
    const file = join(dir, 'server.properties');
    await writeFile(file, '# test\nbroker.id=7\nnum.partitions = 3\nlog.dirs=' + join(dir, 'logs') + '\nmystery.setting=1\n');
    const c = await loadBrokerConfig({ file, overrides: { 'num.partitions': '5' } });
    assert.equal(c.brokerId, 7);
    assert.equal(c.get('num.partitions'), 5);
    assert.deepEqual(c.logDirs, [join(dir, 'logs')]);
    assert.deepEqual(c.unknownKeys, ['mystery.setting']);
    await assert.rejects(loadBrokerConfig({ file: join(dir, 'nope.properties') }), ConfigError);
    await writeFile(file, 'num.partitions=zero\n');
    await assert.rejects(loadBrokerConfig({ file }), (e: unknown) => e instanceof ConfigError && e.key === 'num.partitions');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the sample config/server.properties loads cleanly', async () => {
  const c = await loadBrokerConfig({ file: join(repoRoot(), 'config', 'server.properties') });
  assert.deepEqual(c.unknownKeys, []);
  assert.equal(c.brokerId, 0);
  assert.deepEqual(c.listeners, [{ name: 'PLAINTEXT', host: '', port: 9092, securityProtocol: 'PLAINTEXT' }]);
  assert.deepEqual(c.advertisedListeners, [{ name: 'PLAINTEXT', host: 'localhost', port: 9092, securityProtocol: 'PLAINTEXT' }]);
  assert.deepEqual(c.logDirs, [resolve('data/ganglion-logs')]);
  assert.equal(c.get('offsets.topic.replication.factor'), 1);
  assert.equal(c.get('transaction.state.log.min.isr'), 1);
  assert.equal(c.get('compression.type'), 'producer');
  assert.equal(c.logRetentionMs, 168 * 3600_000);
  assert.equal(c.zookeeper, null);
});

test('dynamic layers: per-broker beats cluster default beats static', () => {
  const base = buildBrokerConfig({ properties: { 'log.retention.hours': '24', 'num.io.threads': '4' } });
  const c = base.withDynamicConfigs({
    clusterDefault: { 'num.io.threads': '6', 'log.retention.ms': '1000' },
    perBroker: { 'num.io.threads': '10' },
  });
  assert.equal(c.get('num.io.threads'), 10);
  assert.equal(c.source('num.io.threads'), ConfigSource.DYNAMIC_BROKER_CONFIG);
  assert.equal(c.logRetentionMs, 1000);
  assert.equal(c.source('log.retention.ms'), ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
  assert.equal(base.get('num.io.threads'), 4, 'the original is unchanged');
  assert.throws(() => base.withDynamicConfigs({ perBroker: { 'broker.id': '3' } }), ConfigError);
  assert.throws(() => base.withDynamicConfigs({ clusterDefault: { listeners: 'PLAINTEXT://:1' } }), ConfigError);
});

test('validateBrokerConfigUpdate classifies AlterConfigs entries', () => {
  const issues = validateBrokerConfigUpdate(
    {
      'num.io.threads': '0',
      'broker.id': '1',
      'no.such': 'x',
      'log.retention.ms': '100',
      listeners: 'PLAINTEXT://:1',
      'max.connections': null,
    },
    'cluster-default',
  );
  const byName = Object.fromEntries(issues.map((i) => [i.name, i.error]));
  assert.deepEqual(byName, {
    'num.io.threads': 'INVALID_CONFIG',
    'broker.id': 'INVALID_REQUEST',
    'no.such': 'INVALID_CONFIG',
    listeners: 'INVALID_REQUEST',
  });
});

test('describeBrokerConfig reports source, synonyms, read-only and hides passwords', () => {
  const c = buildBrokerConfig({
    properties: { 'log.retention.hours': '24', 'num.partitions': '3', 'ssl.keystore.password': 'secret' },
  }).withDynamicConfigs({
    clusterDefault: { 'min.insync.replicas': '2' },
  });
  const byName = new Map(
    describeBrokerConfig(c, {
      names: [
        'log.retention.ms',
        'log.retention.hours',
        'num.partitions',
        'num.io.threads',
        'ssl.keystore.password',
        'min.insync.replicas',
        'bogus',
      ],
    }).map((e) => [e.name, e]),
  );
  assert.equal(byName.size, 6);
  const ms = byName.get('log.retention.ms')!;
  assert.deepEqual([ms.value, ms.source, ms.isDefault, ms.synonyms], [null, ConfigSource.DEFAULT_CONFIG, true, []]);
  const hours = byName.get('log.retention.hours')!;
  assert.equal(hours.value, '24');
  assert.equal(hours.source, ConfigSource.STATIC_BROKER_CONFIG);
  assert.equal(hours.readOnly, true);
  assert.deepEqual(hours.synonyms, [
    { name: 'log.retention.hours', value: '24', source: ConfigSource.STATIC_BROKER_CONFIG },
    { name: 'log.retention.hours', value: '168', source: ConfigSource.DEFAULT_CONFIG },
  ]);
  assert.equal(byName.get('num.io.threads')!.readOnly, false);
  assert.equal(byName.get('num.io.threads')!.type, 3);
  const pw = byName.get('ssl.keystore.password')!;
  assert.deepEqual([pw.value, pw.sensitive, pw.type, pw.source], [null, true, 9, ConfigSource.STATIC_BROKER_CONFIG]);
  assert.ok(pw.synonyms.every((s) => s.value === null));
  const isr = byName.get('min.insync.replicas')!;
  assert.deepEqual(
    isr.synonyms.map((s) => s.source),
    [ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG, ConfigSource.DEFAULT_CONFIG],
  );
  assert.equal(isr.value, '2');

  const defaults = describeBrokerConfig(c, { scope: 'cluster-default' });
  assert.deepEqual(
    defaults.map((e) => [e.name, e.value, e.source]),
    [['min.insync.replicas', '2', ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG]],
  );
  assert.ok(describeBrokerConfig(c).length > 100);
  assert.ok(!c.toLoggableString().includes('secret'));
});
