/**
 * kafkajs against a real broker: admin (create topic, offsets by timestamp,
 * delete records, describe configs), producer (Java-compatible partitioner,
 * headers, null and empty values, MESSAGE_TOO_LARGE) and Fetch long-poll.
 * kafkajs has no group-less consumer, so records are read with kafkajs's
 * own Fetch on its broker connection (see kafkajs-util.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import kafkajs, { type Admin, type Kafka, type Producer } from 'kafkajs';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { kafkajsFetchAll, kafkajsLongPoll, newKafka, toKafkajsMessage } from './kafkajs-util.js';
import { checkRoundTrip, makeRecords, murmur2, topicName } from './support.js';

const { ConfigResourceTypes, ConfigSource } = kafkajs;

describe('kafkajs', () => {
  let b: TestBroker;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;

  before(async () => {
    b = await startTestBroker({ config: { 'num.partitions': 3, 'message.max.bytes': 100_000 } });
    kafka = newKafka(b.bootstrap);
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
  });

  after(async () => {
    await producer?.disconnect();
    await admin?.disconnect();
    await b?.close();
  });

  async function createTopic(topic: string, partitions = 3, configEntries: { name: string; value: string }[] = []) {
    const created = await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1, configEntries }], waitForLeaders: true });
    assert.equal(created, true, `createTopics ${topic}`);
  }

  test("murmur2 matches Java's Utils.murmur2 test vectors", () => {
    const vectors: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [s, h] of vectors) assert.equal(murmur2(Buffer.from(s)), h, s);
  });

  test('create a 3-partition topic, produce keyed records with headers, null and empty values, read them back byte-exact', async () => {
    const topic = topicName('kjs-roundtrip');
    await createTopic(topic);
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.equal(meta.topics[0]!.partitions.length, 3);
    const records = makeRecords({ count: 60, tag: 'kjs' });
    // Two sends: one batch per partition each, in produce order.
    const first = await producer.send({ topic, acks: -1, messages: records.slice(0, 30).map(toKafkajsMessage) });
    const second = await producer.send({ topic, acks: -1, messages: records.slice(30).map(toKafkajsMessage) });
    for (const m of [...first, ...second]) assert.equal(m.errorCode, 0);
    const consumed = await kafkajsFetchAll(kafka, topic, [0, 1, 2]);
    checkRoundTrip(records, consumed, { partitions: 3, javaPartitioner: true, label: 'kafkajs' });
  });

  test('ListOffsets by timestamp (fetchTopicOffsetsByTimestamp)', async () => {
    const topic = topicName('kjs-times');
    await createTopic(topic);
    const base = Date.now() - 3_600_000;
    // Partition 0: offsets 0-9 with timestamps base + 0s .. base + 9s, in three batches.
    const ts = (i: number) => String(base + i * 1000);
    for (const [from, to] of [[0, 3], [3, 7], [7, 10]] as const) {
      const messages = [];
      for (let i = from; i < to; i++) messages.push({ partition: 0, key: `k${i}`, value: `v${i}`, timestamp: ts(i) });
      await producer.send({ topic, acks: -1, messages });
    }
    const at = async (t: number) => (await admin.fetchTopicOffsetsByTimestamp(topic, t)).find((p) => p.partition === 0)!.offset;
    assert.equal(await at(base - 1), '0', 'before the first record');
    assert.equal(await at(base), '0', 'exactly the first timestamp');
    assert.equal(await at(base + 4500), '5', 'between records, inside the second batch');
    assert.equal(await at(base + 7000), '7', 'first record of the last batch');
    assert.equal(await at(base + 9000), '9', 'the last record');
    // Past the last timestamp the broker answers -1 and kafkajs substitutes the high watermark.
    assert.equal(await at(base + 60_000), '10', 'after the last record');
    // Empty partitions have no offset for any timestamp.
    const other = (await admin.fetchTopicOffsetsByTimestamp(topic, base)).find((p) => p.partition === 1)!;
    assert.equal(other.offset, '0');
  });

  test('DeleteRecords moves the earliest offset (deleteTopicRecords)', async () => {
    const topic = topicName('kjs-delete');
    await createTopic(topic);
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ partition: 1, value: `v${i}` })) });
    // kafkajs looks up leaders in its cached metadata: load the topic's first.
    assert.equal((await admin.fetchTopicOffsets(topic)).find((p) => p.partition === 1)!.high, '10');
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 1, offset: '6' }] });
    const offsets = await admin.fetchTopicOffsets(topic);
    const p1 = offsets.find((p) => p.partition === 1)!;
    assert.equal(p1.low, '6', 'log start offset after DeleteRecords');
    assert.equal(p1.high, '10');
    const records = await kafkajsFetchAll(kafka, topic, [1], { from: { 1: 6 } });
    assert.deepEqual(records.map((r) => [r.offset, r.value?.toString()]), [[6, 'v6'], [7, 'v7'], [8, 'v8'], [9, 'v9']]);
    // Reading below the new start is out of range.
    await assert.rejects(kafkajsFetchAll(kafka, topic, [1], { from: { 1: 2 } }), /OFFSET_OUT_OF_RANGE|not within the range/i);
    // offset -1 deletes everything up to the high watermark.
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 1, offset: '-1' }] });
    assert.equal((await admin.fetchTopicOffsets(topic)).find((p) => p.partition === 1)!.low, '10');
  });

  test('DescribeConfigs shows topic defaults, overrides and broker settings', async () => {
    const topic = topicName('kjs-configs');
    await createTopic(topic, 3, [{ name: 'retention.ms', value: '123456' }]);
    const { resources } = await admin.describeConfigs({
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: topic },
        { type: ConfigResourceTypes.BROKER, name: '0' },
      ],
      includeSynonyms: false,
    });
    const topicRes = resources.find((r) => r.resourceType === ConfigResourceTypes.TOPIC)!;
    assert.equal(topicRes.errorCode, 0);
    const entry = (name: string) => {
      const e = topicRes.configEntries.find((c) => c.configName === name);
      assert.ok(e, `topic config ${name} is listed`);
      return e;
    };
    for (const [name, value] of [
      ['cleanup.policy', 'delete'],
      ['compression.type', 'producer'],
      ['segment.bytes', '1073741824'],
      ['min.insync.replicas', '1'],
      ['retention.bytes', '-1'],
    ] as const) {
      const e = entry(name);
      assert.equal(e.configValue, value, name);
      assert.equal(e.isDefault, true, `${name} is a default`);
      assert.equal(e.configSource, ConfigSource.DEFAULT_CONFIG, `${name} source`);
      assert.equal(e.isSensitive, false);
    }
    const retention = entry('retention.ms');
    assert.equal(retention.configValue, '123456');
    assert.equal(retention.isDefault, false);
    assert.equal(retention.configSource, ConfigSource.TOPIC_CONFIG);
    // message.max.bytes was set on the broker: the topic inherits it as a static broker config.
    const maxMessage = entry('max.message.bytes');
    assert.equal(maxMessage.configValue, '100000');
    assert.equal(maxMessage.configSource, ConfigSource.STATIC_BROKER_CONFIG);

    const brokerRes = resources.find((r) => r.resourceType === ConfigResourceTypes.BROKER)!;
    assert.equal(brokerRes.errorCode, 0);
    const numPartitions = brokerRes.configEntries.find((c) => c.configName === 'num.partitions');
    assert.equal(numPartitions?.configValue, '3');
    const retentionHours = brokerRes.configEntries.find((c) => c.configName === 'log.retention.hours');
    assert.equal(retentionHours?.configValue, '168');
    assert.equal(retentionHours?.isDefault, true);
  });

  test('an oversized record gets MESSAGE_TOO_LARGE, not a hang (topic max.message.bytes)', async () => {
    const topic = topicName('kjs-big');
    await createTopic(topic, 1, [{ name: 'max.message.bytes', value: '4096' }]);
    const started = Date.now();
    await assert.rejects(
      producer.send({ topic, acks: -1, messages: [{ key: 'big', value: Buffer.alloc(20_000, 7) }] }),
      (err: any) => {
        assert.equal(err.type ?? err.cause?.type, 'MESSAGE_TOO_LARGE', `error ${err.name}: ${err.message}`);
        return true;
      },
    );
    assert.ok(Date.now() - started < 5000, `rejected after ${Date.now() - started} ms`);
    // The same connection still works for a record that fits.
    const [ok] = await producer.send({ topic, acks: -1, messages: [{ key: 'small', value: 'fits' }] });
    assert.equal(ok!.errorCode, 0);
    assert.equal(ok!.baseOffset, '0');
  });

  test('a fetch waiting on an empty partition gets a new record within a second of its produce', async () => {
    const topic = topicName('kjs-longpoll');
    await createTopic(topic);
    const poll = await kafkajsLongPoll(kafka, topic, 2, 0, 5000);
    try {
      await producer.send({ topic, acks: 1, messages: [{ partition: 0, value: 'warm-up' }] }); // connection and metadata warm
      const pending = poll.start();
      await new Promise((r) => setTimeout(r, 500)); // the fetch is parked at the broker by now
      const sent = Date.now();
      await producer.send({ topic, acks: 1, messages: [{ partition: 2, value: 'ping' }] });
      const { at, count } = await pending;
      const latency = at - sent;
      assert.equal(count, 1);
      assert.ok(latency < 1000, `record arrived ${latency} ms after produce`);
    } finally {
      await poll.close();
    }
  });
});
