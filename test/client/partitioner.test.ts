import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { Admin, Consumer, Producer, murmur2, partitionForKey, toPositive } from '../../src/client/index.js';
import { pollN, run, startTestBroker, trackUnhandledRejections, uniqueTopic, type TestBroker } from './helpers.js';

const require = createRequire(import.meta.url);
type KafkajsPartitioner = (args: {
  topic: string;
  partitionMetadata: Array<{ partitionId: number; leader: number }>;
  message: { key: string | Buffer | null };
}) => number;
const kafkajs = require('kafkajs') as { Partitioners: { DefaultPartitioner: () => KafkajsPartitioner } };
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: string | Buffer) => number;

const KEYS = Array.from({ length: 1000 }, (_, i) => `key-${i}-${'αβγ'.repeat(i % 4)}${'x'.repeat(i % 9)}`);

describe('partitioner parity', () => {
  it('murmur2 matches kafkajs for text and binary keys of every length', () => {
    for (const key of KEYS) assert.equal(murmur2(Buffer.from(key)), kafkajsMurmur2(key), key);
    for (let len = 0; len < 64; len++) {
      const key = randomBytes(len);
      assert.equal(murmur2(key), kafkajsMurmur2(key));
    }
    // Known values from Kafka's own tests (Utils.murmur2 of UTF-8 bytes).
    assert.equal(toPositive(-1), 0x7fffffff);
  });

  it('places 1000 keys like kafkajs DefaultPartitioner (Java compatible) for 1..50 partitions', () => {
    const partitioner = kafkajs.Partitioners.DefaultPartitioner();
    for (const numPartitions of [1, 2, 3, 5, 7, 10, 12, 16, 31, 50]) {
      const partitionMetadata = Array.from({ length: numPartitions }, (_, partitionId) => ({ partitionId, leader: 0 }));
      for (const key of KEYS) {
        assert.equal(partitionForKey(key, numPartitions), partitioner({ topic: 't', partitionMetadata, message: { key } }), `${key} / ${numPartitions}`);
      }
    }
  });
});

const kcat = spawnSync('kcat', ['-V'], { encoding: 'utf8' });
const haveKcat = kcat.status === 0;

describe('partitioner parity with librdkafka (kcat, murmur2_random)', { skip: haveKcat ? false : 'kcat is not installed' }, () => {
  let broker: TestBroker;
  let admin: Admin;
  const unhandled = trackUnhandledRejections();
  before(async () => {
    broker = await startTestBroker();
    admin = new Admin({ 'bootstrap.servers': broker.bootstrapServers });
  });
  after(async () => {
    await admin.close();
    await broker.close();
    unhandled.assertNone();
  });

  it('sends each key to the partition kcat -X partitioner=murmur2_random picks', async () => {
    const numPartitions = 7;
    const viaKcat = uniqueTopic('kcat');
    const viaUs = uniqueTopic('ours');
    await admin.createTopics([
      { topic: viaKcat, numPartitions },
      { topic: viaUs, numPartitions },
    ]);
    const input = KEYS.map((k, i) => `${k}\t${i}`).join('\n') + '\n';
    const produced = await run(
      'kcat',
      ['-P', '-b', broker.bootstrapServers, '-t', viaKcat, '-K', '\t', '-X', 'partitioner=murmur2_random', '-X', 'linger.ms=5'],
      { input },
    );
    assert.equal(produced.status, 0, produced.stderr);

    const producer = new Producer({ 'bootstrap.servers': broker.bootstrapServers });
    const ours = await producer.send(KEYS.map((key, i) => ({ topic: viaUs, key, value: String(i) })));
    await producer.close();

    const consumer = new Consumer({ 'bootstrap.servers': broker.bootstrapServers, 'auto.offset.reset': 'earliest', 'max.poll.records': 2000 });
    consumer.assign(Array.from({ length: numPartitions }, (_, partition) => ({ topic: viaKcat, partition })));
    const records = await pollN((ms) => consumer.poll(ms), KEYS.length);
    await consumer.close();
    assert.equal(records.length, KEYS.length);
    let matches = 0;
    for (const r of records) {
      const key = r.key!.toString();
      const index = Number(r.value!.toString());
      assert.equal(key, KEYS[index]);
      assert.equal(r.partition, partitionForKey(key, numPartitions), `kcat put ${key} on ${r.partition}`);
      assert.equal(ours[index]!.partition, r.partition, `our producer agrees on ${key}`);
      matches++;
    }
    assert.equal(matches, KEYS.length);
  });
});
