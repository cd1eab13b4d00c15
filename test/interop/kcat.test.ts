/**
 * kcat (librdkafka's command-line client) against a real broker. kcat has
 * no admin API, so its topics are auto-created with the broker's
 * num.partitions=3, records with timestamps and DeleteRecords come from
 * kafkajs, and there is no DescribeConfigs here (kcat cannot ask). kcat
 * produces (murmur2 partitioner, headers, -Z for null values), consumes
 * (JSON output), queries offsets (-Q) and waits on an empty partition.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Kafka, Producer } from 'kafkajs';
import { describeRun, LiveProcess, run, runOk, skipUnlessOnPath, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { newKafka } from './kafkajs-util.js';
import { kcatConsumeAll, kcatProduce } from './kcat-util.js';
import { checkRoundTrip, makeRecords, topicName, type TestRecord } from './support.js';

const skip = skipUnlessOnPath('kcat');

describe('kcat', { skip }, () => {
  let b: TestBroker;
  let kafka: Kafka;
  let producer: Producer;

  before(async () => {
    b = await startTestBroker({ config: { 'num.partitions': 3, 'message.max.bytes': 100_000 } });
    kafka = newKafka(b.bootstrap);
    producer = kafka.producer();
    await producer.connect();
  });
  after(async () => {
    await producer?.disconnect();
    await b?.close();
  });

  const kcatQuery = async (topic: string, partition: number, timestamp: number) => {
    const out = (await runOk('kcat', ['-b', b.bootstrap, '-Q', '-t', `${topic}:${partition}:${timestamp}`], { timeoutMs: 15_000 })).toString();
    const m = /\[(\d+)\] offset (-?\d+)/.exec(out);
    assert.ok(m, `kcat -Q output: ${out}`);
    return Number(m[2]);
  };

  test('produce keyed records with headers, a null and an empty value (auto-created 3 partitions), consume byte-exact', async () => {
    const topic = topicName('kcat-roundtrip');
    // kcat sets the same headers on every record of a run: two runs, with -Z (empty line value -> null) and without.
    const runA = makeRecords({ count: 30, binary: false, headers: false, nullAt: 3, emptyAt: -1, tag: 'A' });
    const runB = makeRecords({ count: 30, binary: false, headers: false, nullAt: -1, emptyAt: 4, tag: 'B' });
    const lines = (rs: TestRecord[]) => rs.map((r) => `${r.key!.toString()}\t${r.value?.toString() ?? ''}\n`).join('');
    await kcatProduce(b.bootstrap, topic, lines(runA), ['-K', '\t', '-Z', '-H', 'run=A', '-H', 'empty=']);
    await kcatProduce(b.bootstrap, topic, lines(runB), ['-K', '\t', '-H', 'run=B']);
    const expected: TestRecord[] = [
      ...runA.map((r) => ({ ...r, headers: [['run', Buffer.from('A')], ['empty', Buffer.alloc(0)]] as [string, Buffer][] })),
      ...runB.map((r) => ({ ...r, headers: [['run', Buffer.from('B')]] as [string, Buffer][] })),
    ];
    const consumed = await kcatConsumeAll(b.bootstrap, topic);
    assert.ok(consumed.some((r) => r.value === null), 'a null value came back');
    assert.ok(consumed.some((r) => r.value?.length === 0), 'an empty value came back');
    checkRoundTrip(expected, consumed, { partitions: 3, javaPartitioner: true, label: 'kcat' });
  });

  test('ListOffsets by timestamp (kcat -Q)', async () => {
    const topic = topicName('kcat-times');
    const base = Date.now() - 3_600_000;
    for (const [from, to] of [[0, 3], [3, 7], [7, 10]] as const) {
      const messages = [];
      for (let i = from; i < to; i++) messages.push({ partition: 0, value: `v${i}`, timestamp: String(base + i * 1000) });
      await producer.send({ topic, acks: -1, messages });
    }
    assert.equal(await kcatQuery(topic, 0, base - 1), 0);
    assert.equal(await kcatQuery(topic, 0, base + 4500), 5);
    assert.equal(await kcatQuery(topic, 0, base + 9000), 9);
    assert.equal(await kcatQuery(topic, 0, base + 60_000), -1, 'past the last record');
    assert.equal(await kcatQuery(topic, 0, -1), 10, 'latest');
    assert.equal(await kcatQuery(topic, 0, -2), 0, 'earliest');
  });

  test('DeleteRecords (by kafkajs) moves the earliest offset kcat sees', async () => {
    const topic = topicName('kcat-delete');
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 6 }, (_, i) => ({ partition: 1, value: `v${i}` })) });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.fetchTopicOffsets(topic);
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 1, offset: '4' }] });
    } finally {
      await admin.disconnect();
    }
    assert.equal(await kcatQuery(topic, 1, -2), 4);
    const consumed = await kcatConsumeAll(b.bootstrap, topic, ['-p', '1']);
    assert.deepEqual(consumed.map((r) => [r.offset, r.value?.toString()]), [[4, 'v4'], [5, 'v5']]);
  });

  test('an oversized record gets MESSAGE_TOO_LARGE, not a hang (broker message.max.bytes)', async () => {
    const topic = topicName('kcat-big');
    await kcatProduce(b.bootstrap, topic, 'small\n', ['-p', '0']);
    const file = join(b.dir, 'big.bin');
    await writeFile(file, Buffer.alloc(300_000, 'x'));
    const r = await run('kcat', ['-b', b.bootstrap, '-P', '-t', topic, '-p', '0', '-X', 'message.send.max.retries=0', file], { timeoutMs: 20_000 });
    const stderr = r.stderr.toString();
    assert.match(stderr, /Message size too large|MSG_SIZE_TOO_LARGE/i, describeRun('kcat -P big', r));
    assert.ok(r.durationMs < 5000, `kcat took ${r.durationMs} ms`);
    // Nothing was appended: the partition still holds just the small record.
    assert.equal(await kcatQuery(topic, 0, -1), 1);
  });

  test('a consumer waiting on an empty partition gets a new record within a second of its produce', async () => {
    const topic = topicName('kcat-longpoll');
    await producer.send({ topic, acks: 1, messages: [{ partition: 0, value: 'warm-up' }] }); // topic exists, producer warm
    const consumer = LiveProcess.start('kcat', ['-b', b.bootstrap, '-C', '-t', topic, '-p', '2', '-o', '0', '-u', '-q', '-f', '%o %s\\n', '-X', 'fetch.wait.max.ms=5000'], { label: 'kcat -C' });
    try {
      // Partition 2 is empty, so offset 0 is its end (and no offset lookup can race the produce).
      await new Promise((r) => setTimeout(r, 1500)); // kcat is connected and its fetch is parked at the broker
      assert.ok(consumer.running, consumer.output());
      assert.equal(consumer.stdoutLines.length, 0);
      const sent = Date.now();
      await producer.send({ topic, acks: 1, messages: [{ partition: 2, value: 'ping' }] });
      await consumer.waitForLine('0 ping', 10_000);
      const latency = consumer.stdoutTimes[0]! - sent;
      assert.ok(latency < 1000, `record arrived ${latency} ms after produce`);
    } finally {
      await consumer.stop(1000);
    }
  });
});
