/**
 * Compaction end to end: a broker with a small segment size and a fast
 * cleaner, a compacted topic created and written by kafkajs, and a kafkajs
 * group consumer reading it from the beginning after the cleaner ran: it
 * sees exactly the latest record per key (tombstones included, as
 * delete.retention.ms has not passed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs, { type Admin, type Consumer, type Producer } from 'kafkajs';
import { startBroker, type RunningBroker } from '../../src/broker/broker.js';
import { parseCheckpoint } from '../../src/storage/checkpoint.js';

// kafkajs is CommonJS: take its runtime exports from the default export.
const { Kafka, logLevel } = kafkajs;

const TOPIC = 'compacted-e2e';
const KEYS = 6;
const KEYED_RECORDS = 60;
const FILLERS = 8;

test('a compacted topic written and read by kafkajs holds only the latest record per key once cleaned', async (t) => {
  const logDir = await mkdtemp(join(tmpdir(), 'ganglion-cleaner-e2e-'));
  let broker: RunningBroker | undefined;
  let admin: Admin | undefined;
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;
  try {
    broker = await startBroker({
      port: 0,
      logDir,
      logLevel: 'error',
      config: {
        'log.cleaner.backoff.ms': 200,
        'log.cleanup.policy': 'compact',
        'log.segment.bytes': 1024,
        'num.partitions': 1,
        'offsets.topic.num.partitions': 1,
        'group.initial.rebalance.delay.ms': 0,
      },
    });
    const kafka = new Kafka({ brokers: [broker.bootstrapServers], clientId: 'cleaner-e2e', logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        {
          topic: TOPIC,
          numPartitions: 1,
          configEntries: [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'segment.bytes', value: '1024' },
            { name: 'min.cleanable.dirty.ratio', value: '0.1' },
          ],
        },
      ],
      waitForLeaders: true,
    });

    producer = kafka.producer();
    await producer.connect();
    const latest = new Map<string, string | null>();
    for (let i = 0; i < KEYED_RECORDS; i++) {
      const key = `k${i % KEYS}`;
      const value = i === KEYED_RECORDS - 1 ? null : `v${i}`.padEnd(100, '.');
      await producer.send({ topic: TOPIC, messages: [{ key, value }] });
      latest.set(key, value);
    }
    // Unique keys after them, enough to roll the keyed records out of the active segment.
    for (let f = 0; f < FILLERS; f++) {
      await producer.send({ topic: TOPIC, messages: [{ key: `filler-${f}`, value: 'f'.repeat(300) }] });
    }

    // The cleaner checkpoint moves past the keyed records once a pass has cleaned them.
    const checkpoint = join(logDir, 'cleaner-offset-checkpoint');
    let cleanedTo = -1;
    for (const deadline = Date.now() + 6000; Date.now() < deadline && cleanedTo < KEYED_RECORDS; await sleep(50)) {
      try {
        cleanedTo = parseCheckpoint(await readFile(checkpoint, 'utf8')).get(`${TOPIC}-0`)?.offset ?? -1;
      } catch {
        // not written yet
      }
    }
    assert.ok(cleanedTo >= KEYED_RECORDS, `the cleaner checkpoint reached ${cleanedTo}, not ${KEYED_RECORDS}, within 6 s`);

    const offsets = await admin.fetchTopicOffsets(TOPIC);
    const end = Number(offsets[0]!.high);
    const seen: Array<{ offset: number; key: string; value: string | null }> = [];
    consumer = kafka.consumer({ groupId: 'cleaner-e2e', maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push({ offset: Number(message.offset), key: message.key!.toString(), value: message.value === null ? null : message.value.toString() });
      },
    });
    for (const deadline = Date.now() + 15000; seen.at(-1)?.offset !== end - 1; await sleep(50)) {
      assert.ok(Date.now() < deadline, `consumed up to ${seen.at(-1)?.offset} of ${end - 1}`);
    }

    const keyed = seen.filter((r) => !r.key.startsWith('filler-'));
    assert.deepEqual(
      keyed.map((r) => [r.key, r.value]).sort(),
      [...latest.entries()].sort(),
      'one record per key, the latest',
    );
    assert.equal(seen.filter((r) => r.key.startsWith('filler-')).length, FILLERS);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.offset > seen[i - 1]!.offset);
    assert.equal(keyed.at(-1)!.offset, KEYED_RECORDS - 1, 'offsets are kept');
  } finally {
    await consumer?.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await broker?.close();
    await rm(logDir, { recursive: true, force: true });
  }
});
