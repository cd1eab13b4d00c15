import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Admin, ConfigError, Consumer, Producer, parseAddress } from '../../src/client/index.js';
import { resolveConsumerConfig, resolveProducerConfig } from '../../src/client/config.js';

describe('client settings', () => {
  it("uses the Java client's defaults", () => {
    const c = resolveProducerConfig({ 'bootstrap.servers': 'h:1' });
    assert.equal(c.string('acks'), 'all');
    assert.equal(c.int('batch.size'), 16384);
    assert.equal(c.int('linger.ms'), 5);
    assert.equal(c.int('buffer.memory'), 33554432);
    assert.equal(c.int('max.block.ms'), 60000);
    assert.equal(c.int('retries'), 2147483647);
    assert.equal(c.int('delivery.timeout.ms'), 120000);
    assert.equal(c.int('max.in.flight.requests.per.connection'), 5);
    assert.equal(c.string('compression.type'), 'none');
    const k = resolveConsumerConfig({ 'bootstrap.servers': 'h:1' });
    assert.equal(k.string('auto.offset.reset'), 'latest');
    assert.equal(k.int('fetch.max.wait.ms'), 500);
    assert.equal(k.int('fetch.max.bytes'), 52428800);
    assert.equal(k.int('max.partition.fetch.bytes'), 1048576);
    assert.equal(k.int('max.poll.records'), 500);
    assert.equal(k.string('isolation.level'), 'read_uncommitted');
  });

  it('accepts strings as a properties file gives them, and lists of servers', () => {
    const c = resolveProducerConfig({
      'bootstrap.servers': ' a:1 , b:2 ',
      acks: '1',
      'linger.ms': '20',
      'compression.type': 'ZSTD' as never,
      'partitioner.ignore.keys': 'true',
    });
    assert.deepEqual(c.list('bootstrap.servers'), ['a:1', 'b:2']);
    assert.equal(c.string('acks'), '1');
    assert.equal(c.int('linger.ms'), 20);
    assert.equal(c.string('compression.type'), 'zstd');
    assert.equal(c.bool('partitioner.ignore.keys'), true);
    const list = resolveConsumerConfig({ 'bootstrap.servers': ['a:1', 'b:2'] });
    assert.deepEqual(list.list('bootstrap.servers'), ['a:1', 'b:2']);
  });

  it('rejects bad values with ConfigError naming the setting', () => {
    assert.throws(() => new Producer({ 'bootstrap.servers': 'h:1', acks: '2' as never }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, 'Invalid value 2 for configuration acks: String must be one of: all, -1, 0, 1');
      assert.equal(e.key, 'acks');
      return true;
    });
    assert.throws(() => new Producer({ 'bootstrap.servers': 'h:1', 'linger.ms': 'soon' }), /Invalid value soon for configuration linger.ms/);
    assert.throws(() => new Producer({ 'bootstrap.servers': 'h:1', 'batch.size': -1 }), /Value must be at least 0/);
    assert.throws(() => new Consumer({ 'bootstrap.servers': 'h:1', 'auto.offset.reset': 'smallest' as never }), /earliest, latest, none/);
    assert.throws(() => new Admin({}), /Missing required configuration "bootstrap.servers"/);
    assert.throws(() => new Admin({ 'bootstrap.servers': 'nohost' }), /Invalid url in bootstrap.servers: nohost/);
    assert.throws(
      () => new Producer({ 'bootstrap.servers': 'h:1', 'enable.idempotence': true, acks: 1 }),
      /Must set acks to all in order to use the idempotent producer/,
    );
    assert.throws(
      () => new Producer({ 'bootstrap.servers': 'h:1', 'enable.idempotence': 'true', 'max.in.flight.requests.per.connection': 6 }),
      /at most 5/,
    );
    assert.throws(
      () => new Producer({ 'bootstrap.servers': 'h:1', 'delivery.timeout.ms': 1000 }),
      /delivery.timeout.ms should be equal to or larger than linger.ms \+ request.timeout.ms/,
    );
  });

  it('keeps unknown keys aside and ignores the Java serializer settings', () => {
    const c = resolveProducerConfig({
      'bootstrap.servers': 'h:1',
      'key.serializer': 'org.apache.kafka.common.serialization.StringSerializer',
      'some.unknown': 'x',
    });
    assert.deepEqual(c.unknownKeys, ['some.unknown']);
  });

  it('parses broker addresses', () => {
    assert.deepEqual(parseAddress('localhost:9092'), { host: 'localhost', port: 9092 });
    assert.deepEqual(parseAddress('PLAINTEXT://10.0.0.1:19092'), { host: '10.0.0.1', port: 19092 });
    assert.deepEqual(parseAddress('[::1]:9092'), { host: '::1', port: 9092 });
    assert.throws(() => parseAddress('host:99999'), ConfigError);
  });
});
