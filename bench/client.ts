/**
 * Client throughput against an in-process broker: the Ganglion producer (and
 * kafkajs for comparison) sending 1 KB records with acks=1, then the
 * Ganglion consumer reading them back.
 *
 *   npx tsx bench/client.ts [records=200000] [recordSize=1024] [producer.setting=value ...]
 *
 * With BOOTSTRAP=host:port it uses that broker instead (a broker in another
 * process measures the client without sharing its event loop).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../src/broker/broker.js';
import { Admin, Consumer, Producer } from '../src/client/index.js';

const records = Number(process.argv[2] ?? 200000);
const recordSize = Number(process.argv[3] ?? 1024);
const extra = Object.fromEntries(process.argv.slice(4).map((kv) => kv.split('=', 2) as [string, string]));

const logDir = await mkdtemp(join(tmpdir(), 'ganglion-bench-'));
const broker = process.env.BOOTSTRAP ? null : await startBroker({ port: 0, logDir, logLevel: 'silent' });
const bootstrap = process.env.BOOTSTRAP ?? broker!.bootstrapServers;
const admin = new Admin({ 'bootstrap.servers': bootstrap });
const topic = `bench-${Date.now()}`;
await admin.createTopics([{ topic, numPartitions: 1 }]);

function report(what: string, count: number, bytes: number, ms: number): void {
  console.log(
    `${what}: ${count} records in ${ms.toFixed(0)} ms, ${((count * 1000) / ms).toFixed(0)} records/s, ${((bytes * 1000) / ms / 1024 / 1024).toFixed(1)} MB/s`,
  );
}

const value = Buffer.alloc(recordSize, 'x');
if (!process.env.ONLY || process.env.ONLY === 'producer' || process.env.ONLY === 'consumer') {
  const producer = new Producer({ 'bootstrap.servers': bootstrap, acks: '1', ...extra });
  const start = performance.now();
  let failed = 0;
  const window = 20000;
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < records; i++) {
    pending.push(producer.send({ topic, value }).catch(() => failed++));
    if (pending.length >= window) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  const ms = performance.now() - start;
  report('ganglion producer', records, records * recordSize, ms);
  console.log('  ', producer.metrics(), 'failed', failed);
  await producer.close();
}

if (!process.env.ONLY || process.env.ONLY === 'kafkajs') {
  const { Kafka, logLevel } = await import('kafkajs');
  const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  const start = performance.now();
  const batch = 1000;
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < records; i += batch) {
    pending.push(producer.send({ topic, acks: 1, messages: Array.from({ length: batch }, () => ({ value })) }));
    if (pending.length >= 20) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  report('kafkajs producer (1000-record sends)', records, records * recordSize, performance.now() - start);
  await producer.disconnect();
}

if (!process.env.ONLY || process.env.ONLY === 'consumer') {
  const consumer = new Consumer({ 'bootstrap.servers': bootstrap, 'auto.offset.reset': 'earliest', 'max.poll.records': 5000 });
  consumer.assign([{ topic, partition: 0 }]);
  const start = performance.now();
  let n = 0;
  const total = records * 2;
  while (n < total) {
    const got = await consumer.poll(2000);
    if (got.length === 0) break;
    n += got.length;
  }
  report('ganglion consumer', n, n * recordSize, performance.now() - start);
  await consumer.close();
}

await admin.close();
await broker?.close();
await rm(logDir, { recursive: true, force: true });
