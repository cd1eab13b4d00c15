/**
 * @platformatic/kafka against a real broker: Admin (create topic, describe
 * configs, delete records), Producer (compatibilityPartitioner = Java's
 * murmur2, headers, null and empty values, MESSAGE_TOO_LARGE), and its
 * Consumer's group-less fetch / listOffsets (by timestamp, earliest).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Admin, compatibilityPartitioner, ConfigResourceTypes, Consumer, Producer } from '@platformatic/kafka';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { clientOptions, platformaticFetchAll, toPlatformaticMessage } from './platformatic-util.js';
import { checkRoundTrip, makeRecords, topicName } from './support.js';

/** The protocol errors (apiId, apiCode) nested in a client error's `errors`. */
function apiErrors(err: any): { apiId: string; apiCode: number }[] {
  const found: { apiId: string; apiCode: number }[] = [];
  const walk = (e: any) => {
    if (!e || typeof e !== 'object') return;
    if (e.apiId !== undefined) found.push({ apiId: e.apiId, apiCode: e.apiCode });
    for (const inner of e.errors ?? []) walk(inner);
  };
  walk(err);
  return found;
}

describe('@platformatic/kafka', () => {
  let b: TestBroker;
  let admin: Admin;
  let producer: Producer;
  let consumer: Consumer;

  before(async () => {
    b = await startTestBroker({ config: { 'num.partitions': 1, 'message.max.bytes': 100_000 } });
    admin = new Admin(clientOptions(b.bootstrap));
    producer = new Producer({ ...clientOptions(b.bootstrap), partitioner: compatibilityPartitioner });
    consumer = new Consumer({ ...clientOptions(b.bootstrap), groupId: 'interop-unused' });
  });
  after(async () => {
    await producer?.close();
    await consumer?.close();
    await admin?.close();
    await b?.close();
  });

  async function createTopic(topic: string, partitions = 3, configs: { name: string; value: string }[] = []) {
    const [created] = await admin.createTopics({ topics: [topic], partitions, replicas: 1, configs });
    assert.equal(created?.name, topic);
    assert.equal(created?.partitions, partitions);
    return created!;
  }

  test('create a 3-partition topic, produce keyed records with headers, null and empty values, fetch them byte-exact', async () => {
    const topic = topicName('pk-roundtrip');
    await createTopic(topic);
    const records = makeRecords({ count: 60, tag: 'pk' });
    for (const slice of [records.slice(0, 25), records.slice(25)]) {
      const result = await producer.send({ messages: slice.map((r) => toPlatformaticMessage(topic, r)), acks: -1 });
      assert.ok((result.offsets?.length ?? 0) > 0);
    }
    const consumed = await platformaticFetchAll(consumer, topic, [0, 1, 2]);
    checkRoundTrip(records, consumed, { partitions: 3, javaPartitioner: true, label: '@platformatic/kafka' });
  });

  test('ListOffsets by timestamp (listOffsetsWithTimestamps)', async () => {
    const topic = topicName('pk-times');
    await createTopic(topic);
    const base = BigInt(Date.now() - 3_600_000);
    for (const [from, to] of [[0, 3], [3, 7], [7, 10]] as const) {
      const messages = [];
      for (let i = from; i < to; i++) messages.push({ topic, partition: 0, value: Buffer.from(`v${i}`), timestamp: base + BigInt(i * 1000) });
      await producer.send({ messages, acks: -1 });
    }
    const at = async (timestamp: bigint) => (await consumer.listOffsetsWithTimestamps({ topics: [topic], timestamp })).get(topic)!;
    assert.deepEqual((await at(base - 1n)).get(0), { offset: 0n, timestamp: base });
    assert.deepEqual((await at(base + 4500n)).get(0), { offset: 5n, timestamp: base + 5000n });
    assert.deepEqual((await at(base + 9000n)).get(0), { offset: 9n, timestamp: base + 9000n });
    assert.deepEqual((await at(base + 60_000n)).get(0), { offset: -1n, timestamp: -1n }, 'past the last record');
    assert.deepEqual((await at(base)).get(1), { offset: -1n, timestamp: -1n }, 'an empty partition');
  });

  test('DeleteRecords moves the earliest offset (admin.deleteRecords)', async () => {
    const topic = topicName('pk-delete');
    await createTopic(topic);
    await producer.send({ messages: Array.from({ length: 7 }, (_, i) => ({ topic, partition: 2, value: Buffer.from(`v${i}`) })), acks: -1 });
    // The client's types name the field partitionIndex, but its code (and validator) read `partition`.
    const deleted = await admin.deleteRecords({ topics: [{ name: topic, partitions: [{ partition: 2, offset: 3n } as any] }] });
    assert.deepEqual(deleted, [{ name: topic, partitions: [{ partition: 2, lowWatermark: 3n }] }]);
    const earliest = await consumer.listOffsets({ topics: [topic], timestamp: -2n });
    assert.equal(earliest.get(topic)![2], 3n);
    const records = await platformaticFetchAll(consumer, topic, [2], { from: { 2: 3 } });
    assert.deepEqual(records.map((r) => [r.offset, r.value?.toString()]), [[3, 'v3'], [4, 'v4'], [5, 'v5'], [6, 'v6']]);
  });

  test('DescribeConfigs shows defaults (admin.describeConfigs)', async () => {
    const topic = topicName('pk-configs');
    await createTopic(topic, 1, [{ name: 'segment.ms', value: '3600000' }]);
    const [description] = await admin.describeConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic }] });
    const get = (name: string) => description!.configs.find((c) => c.name === name);
    for (const [name, value] of [
      ['cleanup.policy', 'delete'],
      ['retention.ms', '604800000'],
      ['min.insync.replicas', '1'],
      ['message.timestamp.type', 'CreateTime'],
    ]) {
      assert.equal(get(name)?.value, value, name);
      assert.equal(get(name)?.configSource, 5, `${name} source DEFAULT_CONFIG`);
      assert.equal(get(name)?.isSensitive, false);
    }
    assert.equal(get('segment.ms')?.value, '3600000');
    assert.equal(get('segment.ms')?.configSource, 1, 'segment.ms source TOPIC_CONFIG');
  });

  test('an oversized record gets MESSAGE_TOO_LARGE, not a hang', async () => {
    const topic = topicName('pk-big');
    await createTopic(topic, 1, [{ name: 'max.message.bytes', value: '4096' }]);
    const started = Date.now();
    await assert.rejects(producer.send({ messages: [{ topic, partition: 0, key: Buffer.from('big'), value: Buffer.alloc(20_000, 1) }], acks: -1 }), (err: any) => {
      assert.deepEqual(apiErrors(err), [{ apiId: 'MESSAGE_TOO_LARGE', apiCode: 10 }], String(err));
      return true;
    });
    assert.ok(Date.now() - started < 5000, `rejected after ${Date.now() - started} ms`);
    const ok = await producer.send({ messages: [{ topic, partition: 0, value: Buffer.from('fits') }], acks: -1 });
    assert.deepEqual(ok.offsets, [{ topic, partition: 0, offset: 0n }]);
  });

  test('a fetch waiting on an empty partition gets a new record within a second of its produce', async () => {
    const topic = topicName('pk-longpoll');
    const { id } = await createTopic(topic, 1);
    await producer.send({ messages: [{ topic, partition: 0, value: Buffer.from('warm-up') }], acks: 1 });
    const pending = consumer.fetch({
      node: 0,
      maxWaitTime: 5000,
      topics: [{ topicId: id, partitions: [{ partition: 0, fetchOffset: 1n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }],
    });
    await new Promise((r) => setTimeout(r, 500));
    const sent = Date.now();
    await producer.send({ messages: [{ topic, partition: 0, value: Buffer.from('ping') }], acks: 1 });
    const response = await pending;
    const latency = Date.now() - sent;
    const batches = response.responses[0]!.partitions[0]!.records ?? [];
    assert.equal(batches.flatMap((batch) => batch.records).map((r) => r.value?.toString()).join(), 'ping');
    assert.ok(latency < 1000, `record arrived ${latency} ms after produce`);
  });
});
