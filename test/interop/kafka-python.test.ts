/**
 * confluent-kafka-python (librdkafka) against a real broker, driven through
 * test/interop/py/kafka_python_client.py: admin create topic and describe
 * configs, murmur2 producer with headers / null / empty values, assign()
 * consumer, offsets_for_times, watermarks after DeleteRecords, an oversized
 * record and long-poll latency. confluent-kafka 1.7 has no delete_records,
 * so the records are deleted with kafkajs and observed with librdkafka.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { skipUnlessPython, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { newKafka } from './kafkajs-util.js';
import { checkRoundTrip, fromWire, makeRecords, runPython, toWire, topicName, type Ack, type WireRecord } from './support.js';

const SCRIPT = 'kafka_python_client.py';
const skip = skipUnlessPython('kafka');

describe('kafka-python', { skip }, () => {
  let b: TestBroker;

  before(async () => {
    b = await startTestBroker({ config: { 'num.partitions': 1, 'message.max.bytes': 100_000 } });
  });
  after(async () => {
    await b?.close();
  });

  const py = <T = any>(command: string, input: unknown) => runPython<T>(SCRIPT, command, b.bootstrap, input);

  async function createTopic(topic: string, partitions = 3, configs: Record<string, string> = {}) {
    const r = await py('create_topic', { topic, partitions, configs });
    assert.deepEqual(r, { ok: true }, `create_topics ${topic}`);
  }

  test('create a 3-partition topic, produce keyed records with headers, null and empty values, consume byte-exact', async () => {
    const topic = topicName('kp-roundtrip');
    await createTopic(topic);
    const records = makeRecords({ count: 60, tag: 'kp' });
    const produced = await py<{ acks: (Ack & { error: string | null })[] }>('produce', { topic, records: records.map(toWire), acks: -1 });
    for (const a of produced.acks) assert.equal(a.error, null);
    const consumed = await py<{ records: WireRecord[]; complete: boolean; errors: string[] }>('consume', { topic, partitions: [0, 1, 2] });
    assert.ok(consumed.complete, 'reached the end of every partition');
    checkRoundTrip(records, consumed.records.map(fromWire), {
      partitions: 3,
      javaPartitioner: true,
      acks: produced.acks,
      label: 'kafka-python',
    });
  });

  test('ListOffsets by timestamp (offsets_for_times)', async () => {
    const topic = topicName('kp-times');
    await createTopic(topic);
    const base = Date.now() - 3_600_000;
    const records = Array.from({ length: 10 }, (_, i) => ({ ...toWire({ key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`), headers: [] }), partition: 0, timestamp: base + i * 1000 }));
    // Three produce calls, so partition 0 holds three batches.
    for (const slice of [records.slice(0, 3), records.slice(3, 7), records.slice(7)]) {
      await py('produce', { topic, records: slice, acks: -1, linger_ms: 0 });
    }
    const stamps = [base - 1, base, base + 4500, base + 7000, base + 9000, base + 60_000];
    const { answers } = await py<{ answers: { partition: number; offset: number | null; timestamp: number | null }[][] }>('offsets_for_times', { topic, partitions: [0, 1], timestamps: stamps });
    const p0 = answers.map((a) => a.find((x) => x.partition === 0)!);
    // Before the first record, exactly the first, between records inside the second batch, the
    // first of the last batch, the last record, and past the last record (None).
    assert.deepEqual(p0.map((a) => a.offset), [0, 0, 5, 7, 9, null]);
    // The record's own timestamp comes back with its offset.
    assert.deepEqual(p0.map((a) => a.timestamp), [base, base, base + 5000, base + 7000, base + 9000, null]);
    // An empty partition has no offset for any timestamp.
    assert.deepEqual(answers.map((a) => a.find((x) => x.partition === 1)!.offset), [null, null, null, null, null, null]);
  });

  test('DeleteRecords (by kafkajs) moves the beginning offset kafka-python sees', async () => {
    const topic = topicName('kp-delete');
    await createTopic(topic);
    const records = Array.from({ length: 8 }, (_, i) => ({ ...toWire({ key: null, value: Buffer.from(`v${i}`), headers: [] }), partition: 2 }));
    await py('produce', { topic, records, acks: -1 });
    const kafka = newKafka(b.bootstrap);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.fetchTopicOffsets(topic);
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 2, offset: '5' }] });
    } finally {
      await admin.disconnect();
    }
    const marks = await py<{ watermarks: { partition: number; low: number; high: number }[] }>('watermarks', { topic, partitions: [2] });
    assert.deepEqual(marks.watermarks, [{ partition: 2, low: 5, high: 8 }]);
    const consumed = await py<{ records: WireRecord[] }>('consume', { topic, partitions: [2] });
    assert.deepEqual(consumed.records.map((r) => [r.offset, Buffer.from(r.value!, 'base64').toString()]), [[5, 'v5'], [6, 'v6'], [7, 'v7']]);
  });

  test('DescribeConfigs shows defaults (describe_configs)', async () => {
    const topic = topicName('kp-configs');
    await createTopic(topic, 3, { 'cleanup.policy': 'compact' });
    const { configs } = await py<{ configs: Record<string, { value: string; is_default: boolean; read_only: boolean; sensitive: boolean; source: number }> }>('describe_configs', { name: topic });
    for (const [name, value] of [
      ['retention.ms', '604800000'],
      ['segment.bytes', '1073741824'],
      ['min.insync.replicas', '1'],
      ['compression.type', 'producer'],
    ]) {
      assert.equal(configs[name]?.value, value, name);
      assert.equal(configs[name]?.is_default, true, `${name} is default`);
      assert.equal(configs[name]?.source, 5, `${name} source DEFAULT_CONFIG`);
      assert.equal(configs[name]?.sensitive, false);
    }
    assert.equal(configs['cleanup.policy']?.value, 'compact');
    assert.equal(configs['cleanup.policy']?.is_default, false);
    assert.equal(configs['cleanup.policy']?.source, 1, 'cleanup.policy source DYNAMIC_TOPIC_CONFIG');
    const broker = await py<{ configs: Record<string, { value: string; is_default: boolean }> }>('describe_configs', { name: '0', type: 'broker' });
    assert.equal(broker.configs['log.retention.hours']?.value, '168');
    assert.equal(broker.configs['message.max.bytes']?.value, '100000');
  });

  test('an oversized record gets MESSAGE_TOO_LARGE, not a hang', async () => {
    const topic = topicName('kp-big');
    await createTopic(topic, 1, { 'max.message.bytes': '4096' });
    const r = await py<{ error: string; errno: number; elapsed_ms: number; after: number | string }>('oversize', { topic, size: 20_000 });
    assert.equal(r.error, 'MessageSizeTooLargeError', JSON.stringify(r));
    assert.equal(r.errno, 10);
    assert.ok(r.elapsed_ms < 5000, `failed after ${r.elapsed_ms} ms`);
    assert.equal(r.after, 0, 'a record that fits is still accepted at offset 0');
  });

  test('a consumer waiting on an empty partition gets a new record within a second of its produce', async () => {
    const topic = topicName('kp-longpoll');
    await createTopic(topic, 1);
    const r = await py<{ latency_ms: number | null; error?: string }>('latency', { topic, partition: 0, fetch_wait_max_ms: 5000 });
    assert.equal(r.error, undefined);
    assert.ok(r.latency_ms !== null, 'the record arrived');
    assert.ok(r.latency_ms < 1000, `record arrived ${r.latency_ms} ms after produce`);
  });
});
