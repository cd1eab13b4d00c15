/**
 * Cross-client: what the Ganglion producer writes, kafkajs and kcat
 * (librdkafka) read intact, and the Ganglion consumer reads what they write.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { Admin, Consumer, Producer, type ConsumerRecord } from '../../src/client/index.js';
import { pollN, run, startTestBroker, trackUnhandledRejections, uniqueTopic, type TestBroker } from './helpers.js';

const require = createRequire(import.meta.url);
const { Kafka, logLevel, CompressionTypes } = require('kafkajs') as typeof import('kafkajs');

const haveKcat = spawnSync('kcat', ['-V']).status === 0;
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

interface Expected {
  key: string | null;
  value: string;
  headers: Array<[string, string]>;
  timestamp: number;
}

function expectedRecords(n: number, tag: string): Expected[] {
  return Array.from({ length: n }, (_, i) => ({
    key: i % 4 === 0 ? null : `k${i % 5}`,
    value: `${tag}-${i}-ü€-${'z'.repeat(i % 30)}`,
    headers: i % 2 === 0 ? [['trace', `t${i}`]] : [],
    timestamp: 1_710_000_000_000 + i,
  }));
}

async function consumeAll(bootstrap: string, topic: string, n: number): Promise<ConsumerRecord[]> {
  const consumer = new Consumer({ 'bootstrap.servers': bootstrap, 'auto.offset.reset': 'earliest' });
  consumer.assign([{ topic, partition: 0 }]);
  const records = await pollN((ms) => consumer.poll(ms), n);
  await consumer.close();
  return records;
}

describe('interop with kafkajs and kcat', () => {
  let broker: TestBroker;
  let admin: Admin;
  const unhandled = trackUnhandledRejections();
  before(async () => {
    broker = await startTestBroker({ 'num.partitions': 1 });
    admin = new Admin({ 'bootstrap.servers': broker.bootstrapServers });
  });
  after(async () => {
    await admin.close();
    await broker.close();
    unhandled.assertNone();
  });

  async function produceOurs(topic: string, codec: (typeof CODECS)[number], records: Expected[]): Promise<void> {
    await admin.createTopics([{ topic, numPartitions: 1 }]);
    const producer = new Producer({ 'bootstrap.servers': broker.bootstrapServers, 'compression.type': codec, 'linger.ms': 5 });
    await producer.send(
      records.map((r) => ({ topic, key: r.key, value: r.value, timestamp: r.timestamp, headers: r.headers.map(([key, value]) => ({ key, value })) })),
    );
    await producer.close();
  }

  for (const codec of ['none', 'gzip'] as const) {
    it(`kafkajs consumes what the Ganglion producer wrote (${codec})`, async () => {
      const topic = uniqueTopic(`tokjs-${codec}`);
      const records = expectedRecords(200, codec);
      await produceOurs(topic, codec, records);
      const kafka = new Kafka({ brokers: [broker.bootstrapServers], logLevel: logLevel.NOTHING });
      const consumer = kafka.consumer({ groupId: uniqueTopic('g'), maxWaitTimeInMs: 200 });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const got: Array<{ key: string | null; value: string; headers: Array<[string, string]>; timestamp: number; offset: number }> = [];
      const done = new Promise<void>((resolve) => {
        void consumer.run({
          eachMessage: async ({ message }) => {
            got.push({
              key: message.key === null ? null : message.key.toString(),
              value: message.value!.toString(),
              headers: Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
              timestamp: Number(message.timestamp),
              offset: Number(message.offset),
            });
            if (got.length === records.length) resolve();
          },
        });
      });
      await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error(`kafkajs got ${got.length}`)), 30000))]);
      await consumer.disconnect();
      assert.deepEqual(
        got.map((g) => g.offset),
        records.map((_, i) => i),
      );
      assert.deepEqual(
        got.map(({ key, value, headers, timestamp }) => ({ key, value, headers, timestamp })),
        records,
      );
    });

    it(`the Ganglion consumer reads what kafkajs wrote (${codec})`, async () => {
      const topic = uniqueTopic(`fromkjs-${codec}`);
      await admin.createTopics([{ topic, numPartitions: 1 }]);
      const records = expectedRecords(200, `kjs-${codec}`);
      const kafka = new Kafka({ brokers: [broker.bootstrapServers], logLevel: logLevel.NOTHING });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({
        topic,
        compression: codec === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
        messages: records.map((r) => ({
          key: r.key,
          value: r.value,
          timestamp: String(r.timestamp),
          headers: Object.fromEntries(r.headers),
        })),
      });
      await producer.disconnect();
      const got = await consumeAll(broker.bootstrapServers, topic, records.length);
      assert.deepEqual(
        got.map((r) => ({
          key: r.key === null ? null : r.key.toString(),
          value: r.value!.toString(),
          headers: r.headers.map((h) => [h.key, h.value!.toString()]),
          timestamp: r.timestamp,
        })),
        records,
      );
    });
  }

  for (const codec of CODECS) {
    it(`kcat consumes what the Ganglion producer wrote (${codec})`, { skip: haveKcat ? false : 'kcat is not installed' }, async () => {
      const topic = uniqueTopic(`tokcat-${codec}`);
      const records = expectedRecords(100, codec);
      await produceOurs(topic, codec, records);
      const out = await run('kcat', ['-C', '-b', broker.bootstrapServers, '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-J', '-q']);
      assert.equal(out.status, 0, out.stderr);
      const lines = out.stdout
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map(
          (l) =>
            JSON.parse(l) as { offset: number; ts: number; key: string | null; payload: string; headers?: string[] },
        );
      assert.deepEqual(
        lines.map((l) => l.offset),
        records.map((_, i) => i),
      );
      assert.deepEqual(
        lines.map((l) => {
          const headers: Array<[string, string]> = [];
          for (let i = 0; i < (l.headers?.length ?? 0); i += 2) headers.push([l.headers![i]!, l.headers![i + 1]!]);
          return { key: l.key, value: l.payload, headers, timestamp: l.ts };
        }),
        records,
      );
    });

    it(`the Ganglion consumer reads what kcat wrote (${codec})`, { skip: haveKcat ? false : 'kcat is not installed' }, async () => {
      const topic = uniqueTopic(`fromkcat-${codec}`);
      await admin.createTopics([{ topic, numPartitions: 1 }]);
      const values = Array.from({ length: 300 }, (_, i) => `k${i % 7}\tkcat-${codec}-${i}-${'q'.repeat(i % 40)}`);
      const produced = await run(
        'kcat',
        ['-P', '-b', broker.bootstrapServers, '-t', topic, '-p', '0', '-K', '\t', '-z', codec, '-H', 'origin=kcat', '-X', 'linger.ms=20'],
        { input: values.join('\n') + '\n' },
      );
      assert.equal(produced.status, 0, produced.stderr);
      const got = await consumeAll(broker.bootstrapServers, topic, values.length);
      assert.deepEqual(
        got.map((r) => `${r.key!.toString()}\t${r.value!.toString()}`),
        values,
      );
      assert.ok(got.every((r) => r.headers.length === 1 && r.headers[0]!.key === 'origin' && r.headers[0]!.value!.toString() === 'kcat'));
      assert.deepEqual(
        got.map((r) => r.offset),
        values.map((_, i) => i),
      );
    });
  }
});
