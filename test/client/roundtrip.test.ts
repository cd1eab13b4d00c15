import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Admin, Consumer, Producer, type ConsumerRecord } from '../../src/client/index.js';
import { startTestBroker, uniqueTopic, type TestBroker } from './helpers.js';

async function consumeN(consumer: Consumer, n: number, timeoutMs = 10000): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = [];
  const end = Date.now() + timeoutMs;
  while (out.length < n && Date.now() < end) out.push(...(await consumer.poll(Math.max(1, end - Date.now()))));
  return out;
}

describe('produce/consume round trip', () => {
  let broker: TestBroker;
  let admin: Admin;
  before(async () => {
    broker = await startTestBroker();
    admin = new Admin({ 'bootstrap.servers': broker.bootstrapServers });
  });
  after(async () => {
    await admin.close();
    await broker.close();
  });

  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
    it(`round-trips keys, values, headers, timestamps and nulls with compression.type=${codec}`, async () => {
      const topic = uniqueTopic(codec);
      await admin.createTopics([{ topic, numPartitions: 2 }]);
      const producer = new Producer({ 'bootstrap.servers': broker.bootstrapServers, 'compression.type': codec, 'linger.ms': 5 });
      const sent = Array.from({ length: 300 }, (_, i) => ({
        topic,
        key: i % 7 === 0 ? null : `key-${i % 13}`,
        value: i % 11 === 0 ? null : `value-${i}-${'x'.repeat(i % 50)}`,
        headers: i % 3 === 0 ? [{ key: 'h', value: `hv${i}` }, { key: 'h', value: null }] : undefined,
        timestamp: 1_700_000_000_000 + i,
      }));
      const metadata = await producer.send(sent);
      await producer.close();
      assert.equal(metadata.length, sent.length);
      for (const m of metadata) assert.ok(m.offset >= 0);

      const consumer = new Consumer({ 'bootstrap.servers': broker.bootstrapServers, 'auto.offset.reset': 'earliest' });
      consumer.assign([{ topic, partition: 0 }, { topic, partition: 1 }]);
      const got = await consumeN(consumer, sent.length);
      await consumer.close();
      assert.equal(got.length, sent.length);
      const byPosition = new Map(got.map((r) => [`${r.partition}:${r.offset}`, r]));
      sent.forEach((s, i) => {
        const m = metadata[i]!;
        const r = byPosition.get(`${m.partition}:${m.offset}`);
        assert.ok(r, `record ${i} missing`);
        assert.equal(r.key?.toString() ?? null, s.key);
        assert.equal(r.value?.toString() ?? null, s.value);
        assert.equal(r.timestamp, s.timestamp);
        assert.equal(m.timestamp, s.timestamp);
        assert.equal(r.timestampType, 'CreateTime');
        assert.deepEqual(
          r.headers.map((h) => [h.key, h.value?.toString() ?? null]),
          (s.headers ?? []).map((h) => [h.key, h.value]),
        );
      });
    });
  }
});
