/**
 * Committed offsets survive the broker: a clean restart (close, then
 * startBroker on the same directory) and kill -9 of a broker process
 * (`bin/ganglion.js server-start`, needs the compiled dist/). After each, a
 * consumer of the same group resumes exactly after its committed offsets.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { freePort, startBrokerProcess, startGroupBroker, waitFor } from '../coordinator/interop-helpers.js';

/** Reads with a group until `count` records arrived, commits, leaves. Returns the values. */
async function consumeAndCommit(bootstrap: string, groupId: string, topic: string, count: number, extraWaitMs = 0): Promise<string[]> {
  const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING, clientId: 'restart-test' });
  const consumer: Consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 300, maxWaitTimeInMs: 100 });
  const values: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value!.toString()) });
    await waitFor(() => values.length >= count, 20_000, `${count} records for ${groupId}`);
    if (extraWaitMs > 0) await new Promise((r) => setTimeout(r, extraWaitMs));
  } finally {
    await consumer.disconnect();
  }
  return values;
}

async function produce(bootstrap: string, topic: string, from: number, count: number, partitions: number, create = false): Promise<void> {
  const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING });
  if (create) {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    await admin.disconnect();
  }
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ partition: (from + i) % partitions, value: String(from + i) })) });
  await producer.disconnect();
}

async function committed(bootstrap: string, groupId: string, topic: string): Promise<[number, string][]> {
  const admin = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return t!.partitions.map((p): [number, string] => [p.partition, p.offset]).sort((a, b) => a[0] - b[0]);
  } finally {
    await admin.disconnect();
  }
}

const numbers = (values: string[]) => values.map(Number).sort((a, b) => a - b);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

test('offsets survive a clean broker restart on the same directory', async () => {
  const env = await startGroupBroker();
  try {
    await produce(env.bootstrap, 'ledger', 0, 20, 2, true);
    assert.deepEqual(numbers(await consumeAndCommit(env.bootstrap, 'ledger-readers', 'ledger', 20)), range(0, 20));
    await env.restart();
    assert.deepEqual(await committed(env.bootstrap, 'ledger-readers', 'ledger'), [
      [0, '10'],
      [1, '10'],
    ]);
    await produce(env.bootstrap, 'ledger', 20, 6, 2);
    assert.deepEqual(numbers(await consumeAndCommit(env.bootstrap, 'ledger-readers', 'ledger', 6, 300)), range(20, 26));
  } finally {
    await env.cleanup();
  }
});

test('offsets survive kill -9 of the broker process', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ganglion-groups-kill-'));
  const port = await freePort();
  let broker = await startBrokerProcess(join(dir, 'data'), port);
  try {
    await produce(broker.bootstrap, 'payments', 0, 30, 3, true);
    assert.deepEqual(numbers(await consumeAndCommit(broker.bootstrap, 'payment-service', 'payments', 30)), range(0, 30));
    broker.child.kill('SIGKILL');
    await broker.exited;
    broker = await startBrokerProcess(join(dir, 'data'), port);
    assert.deepEqual(await committed(broker.bootstrap, 'payment-service', 'payments'), [
      [0, '10'],
      [1, '10'],
      [2, '10'],
    ]);
    await produce(broker.bootstrap, 'payments', 30, 9, 3);
    assert.deepEqual(numbers(await consumeAndCommit(broker.bootstrap, 'payment-service', 'payments', 9, 300)), range(30, 39));
  } finally {
    broker.child.kill('SIGKILL');
    await broker.exited;
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  }
});
