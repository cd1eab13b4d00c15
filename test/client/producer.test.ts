import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  Admin,
  BufferExhaustedError,
  ClientClosedError,
  Consumer,
  KafkaError,
  Producer,
  RecordTooLargeError,
  TimeoutError,
  partitionForKey,
  type RecordMetadata,
} from '../../src/client/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { pollN, sleep, startTestBroker, trackUnhandledRejections, uniqueTopic, type TestBroker } from './helpers.js';

describe('producer', () => {
  let broker: TestBroker;
  let admin: Admin;
  const unhandled = trackUnhandledRejections();
  before(async () => {
    broker = await startTestBroker({ 'num.partitions': 3 });
    admin = new Admin({ 'bootstrap.servers': broker.bootstrapServers });
  });
  after(async () => {
    await admin.close();
    await broker.close();
    unhandled.assertNone();
  });

  function producer(config: Record<string, string | number | boolean> = {}): Producer {
    return new Producer({ 'bootstrap.servers': broker.bootstrapServers, ...config });
  }

  async function readAll(topic: string, partitions: number, expected: number) {
    const consumer = new Consumer({ 'bootstrap.servers': broker.bootstrapServers, 'auto.offset.reset': 'earliest' });
    consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition })));
    const records = await pollN((ms) => consumer.poll(ms), expected);
    await consumer.close();
    return records;
  }

  it('batches records sent within linger.ms into one request', async () => {
    const topic = uniqueTopic('linger');
    await admin.createTopics([{ topic, numPartitions: 1 }]);
    const p = producer({ 'linger.ms': 200 });
    await p.send({ topic, value: 'warm-up' }); // metadata
    const before = p.metrics().produceRequests;
    const started = Date.now();
    const sends = [];
    for (let i = 0; i < 50; i++) {
      sends.push(p.send({ topic, value: `v${i}` }));
      if (i % 10 === 0) await sleep(5);
    }
    const results = await Promise.all(sends);
    const elapsed = Date.now() - started;
    assert.equal(p.metrics().produceRequests - before, 1, 'one produce request for the whole linger window');
    assert.ok(elapsed >= 150, `records waited for linger.ms (${elapsed} ms)`);
    assert.deepEqual(
      results.map((r) => r.offset),
      results.map((_, i) => results[0]!.offset + i),
    );
    await p.close();
  });

  it('sends a batch as soon as it is full, without waiting for linger.ms', async () => {
    const topic = uniqueTopic('full');
    await admin.createTopics([{ topic, numPartitions: 1 }]);
    const p = producer({ 'linger.ms': 30000, 'batch.size': 2000 });
    await p.partitionsFor(topic);
    const started = Date.now();
    const value = Buffer.alloc(450, 'b');
    // Four of these records fit a 2000-byte batch; the fifth closes it and opens the next one.
    const sends = Array.from({ length: 4 }, () => p.send({ topic, value }));
    const last = p.send({ topic, value });
    const first = await Promise.race([Promise.all(sends), sleep(5000).then(() => null)]);
    assert.ok(first !== null, 'the full batch was sent before linger.ms');
    assert.ok(Date.now() - started < 5000);
    const raced = await Promise.race([last.then(() => 'sent'), sleep(300).then(() => 'waiting')]);
    assert.equal(raced, 'waiting', 'a batch that is not full waits for linger.ms');
    await p.flush();
    assert.equal((await last).offset, 4);
    await p.close();
  });

  it('keeps per-partition order across many records and batches', async () => {
    const topic = uniqueTopic('order');
    await admin.createTopics([{ topic, numPartitions: 3 }]);
    const p = producer({ 'linger.ms': 1, 'batch.size': 4096 });
    const n = 3000;
    const sends: Promise<RecordMetadata>[] = [];
    for (let i = 0; i < n; i++) {
      sends.push(p.send({ topic, key: `key-${i % 17}`, value: String(i) }));
      if (i % 500 === 0) await sleep(1);
    }
    const metadata = await Promise.all(sends);
    await p.close();
    const lastOffset = new Map<number, number>();
    metadata.forEach((m, i) => {
      assert.equal(m.partition, partitionForKey(`key-${i % 17}`, 3));
      const prev = lastOffset.get(m.partition) ?? -1;
      assert.ok(m.offset > prev, `offsets grow in send order on partition ${m.partition}`);
      lastOffset.set(m.partition, m.offset);
    });
    const records = await readAll(topic, 3, n);
    assert.equal(records.length, n);
    const lastSeq = new Map<number, number>();
    for (const r of records) {
      const seq = Number(r.value!.toString());
      assert.ok(seq > (lastSeq.get(r.partition) ?? -1), 'records are stored in send order');
      lastSeq.set(r.partition, seq);
    }
  });

  it('puts keyless records on one partition until the batch is sent (sticky)', async () => {
    const topic = uniqueTopic('sticky');
    await admin.createTopics([{ topic, numPartitions: 3 }]);
    const p = producer({ 'linger.ms': 50 });
    await p.send({ topic, key: 'k', value: 'metadata' });
    for (let round = 0; round < 3; round++) {
      const burst = await p.send(Array.from({ length: 20 }, (_, i) => ({ topic, value: `r${round}-${i}` })));
      assert.equal(new Set(burst.map((m) => m.partition)).size, 1, 'a burst of keyless records shares a partition');
    }
    const partitions: number[] = [];
    for (let round = 0; round < 6; round++) partitions.push((await p.send({ topic, value: `s${round}` })).partition);
    for (let i = 1; i < partitions.length; i++) assert.notEqual(partitions[i], partitions[i - 1], 'the next batch moves on');
    await p.close();
  });

  it('acks=0 resolves with offset -1; acks=1 and all with real offsets', async () => {
    const topic = uniqueTopic('acks');
    await admin.createTopics([{ topic, numPartitions: 1 }]);
    for (const acks of ['0', '1', 'all', '-1', 0, 1, -1] as const) {
      const p = producer({ acks });
      const m = await p.send({ topic, value: `acks=${acks}` });
      assert.equal(m.partition, 0);
      if (String(acks) === '0') assert.equal(m.offset, -1);
      else assert.ok(m.offset >= 0);
      await p.close();
    }
    const records = await readAll(topic, 1, 7);
    assert.equal(records.length, 7);
  });

  it('flush() sends lingering records at once; close() flushes', async () => {
    const topic = uniqueTopic('flush');
    await admin.createTopics([{ topic, numPartitions: 1 }]);
    const p = producer({ 'linger.ms': 60000 });
    await p.partitionsFor(topic);
    const a = p.send({ topic, value: 'a' });
    const started = Date.now();
    await p.flush();
    assert.ok(Date.now() - started < 5000);
    assert.equal((await a).offset, 0);
    const b = p.send({ topic, value: 'b' });
    await p.close();
    assert.equal((await b).offset, 1);
    await assert.rejects(p.send({ topic, value: 'c' }), ClientClosedError);
  });

  it('rejects records larger than max.request.size or buffer.memory at once', async () => {
    const topic = uniqueTopic('large');
    const p = producer({ 'max.request.size': 1000, 'buffer.memory': 5000 });
    const error = await p.send({ topic, value: Buffer.alloc(2000) }).catch((e: unknown) => e);
    assert.ok(error instanceof RecordTooLargeError);
    assert.equal(error.code, ErrorCode.MESSAGE_TOO_LARGE);
    assert.match(error.message, /max\.request\.size/);
    await p.close();
    const q = producer({ 'buffer.memory': 1000 });
    await assert.rejects(q.send({ topic, value: Buffer.alloc(2000) }), /buffer\.memory/);
    await q.close();
  });

  it('surfaces broker errors with their Kafka code, and splits a batch the broker finds too large', async () => {
    const topic = uniqueTopic('maxbytes');
    await admin.createTopics([{ topic, numPartitions: 1, configs: { 'max.message.bytes': '3000' } }]);
    const p = producer({ 'linger.ms': 20 });
    const error = await p.send({ topic, value: Buffer.alloc(5000) }).catch((e: unknown) => e);
    assert.ok(error instanceof KafkaError);
    assert.equal(error.errorName, 'MESSAGE_TOO_LARGE');
    // Ten 1000-byte records share a batch the topic refuses; halves go through.
    const results = await p.send(Array.from({ length: 10 }, (_, i) => ({ topic, value: Buffer.alloc(1000, i) })));
    assert.deepEqual(
      results.map((r) => r.offset),
      Array.from({ length: 10 }, (_, i) => i),
    );
    await p.close();
  });

  it('fails sends to an invalid topic name with INVALID_TOPIC_EXCEPTION', async () => {
    const p = producer({ 'max.block.ms': 5000 });
    const error = await p.send({ topic: 'bad/topic', value: 'x' }).catch((e: unknown) => e);
    assert.ok(error instanceof KafkaError, String(error));
    assert.equal(error.errorName, 'INVALID_TOPIC_EXCEPTION');
    await p.close();
  });

  it('waits max.block.ms for metadata of a topic that does not appear', async () => {
    const p = producer({ 'allow.auto.create.topics': false, 'max.block.ms': 300 });
    const started = Date.now();
    const error = await p.send({ topic: uniqueTopic('absent'), value: 'x' }).catch((e: unknown) => e);
    assert.ok(error instanceof TimeoutError);
    assert.match(error.message, /not present in metadata after 300 ms/);
    assert.ok(Date.now() - started >= 250);
    const topic = uniqueTopic('parts');
    await admin.createTopics([{ topic, numPartitions: 2 }]);
    const e2 = await p.send({ topic, partition: 5, value: 'x' }).catch((e: unknown) => e);
    assert.match(String(e2), /Partition 5 of topic .* with partition count 2/);
    await p.close();
  });

  it('uses the custom partitioner and the headers object form', async () => {
    const topic = uniqueTopic('custom');
    await admin.createTopics([{ topic, numPartitions: 4 }]);
    const p = new Producer(
      { 'bootstrap.servers': broker.bootstrapServers },
      { partitioner: ({ key, numPartitions }) => (key === null ? undefined : numPartitions - 1) },
    );
    const m = await p.send({ topic, key: 'anything', value: 'v', headers: { a: '1', b: Buffer.from([2]), c: null } });
    assert.equal(m.partition, 3);
    await p.close();
    const [r] = await readAll(topic, 4, 1);
    assert.deepEqual(
      r!.headers.map((h) => [h.key, h.value === null ? null : [...h.value]]),
      [['a', [49]], ['b', [2]], ['c', null]],
    );
  });
});

describe('producer when the broker goes away', () => {
  const unhandled = trackUnhandledRejections();
  after(() => unhandled.assertNone());

  it('waits for buffer.memory, then fails with a clear BufferExhaustedError; delivers the buffer after a restart', async () => {
    const broker = await startTestBroker({ 'num.partitions': 1 });
    try {
      const topic = uniqueTopic('buffer');
      const p = new Producer({
        'bootstrap.servers': broker.bootstrapServers,
        'buffer.memory': 20000,
        'max.block.ms': 400,
        'linger.ms': 0,
        'retry.backoff.ms': 50,
        'reconnect.backoff.ms': 50,
        'reconnect.backoff.max.ms': 200,
      });
      await p.send({ topic, value: 'first' });
      await broker.stop();
      const value = Buffer.alloc(1000, 'm');
      // 19 records of ~1 KB fill the 20000-byte buffer; the 20th has to wait.
      const buffered = Array.from({ length: 19 }, (_, i) => p.send({ topic, value, key: String(i) }));
      const started = Date.now();
      const error = await p.send({ topic, value }).catch((e: unknown) => e);
      const waited = Date.now() - started;
      assert.ok(error instanceof BufferExhaustedError, String(error));
      assert.ok(error instanceof TimeoutError);
      assert.match(error.message, /Failed to allocate \d+ bytes within the configured max blocking time 400 ms/);
      assert.match(error.message, /buffer\.memory \(20000 bytes\)/);
      assert.ok(waited >= 350, `send waited for memory (${waited} ms)`);
      assert.ok(p.metrics().bufferUsed > 19000);
      await broker.restart();
      const delivered = await Promise.all(buffered);
      assert.deepEqual(
        delivered.map((m) => m.offset),
        Array.from({ length: 19 }, (_, i) => i + 1),
      );
      assert.equal(p.metrics().bufferUsed, 0);
      await p.close();
    } finally {
      await broker.close();
    }
  });

  it('a full buffer makes send wait, not fail, while the broker keeps up', async () => {
    const broker = await startTestBroker({ 'num.partitions': 1 });
    try {
      const topic = uniqueTopic('backpressure');
      const p = new Producer({ 'bootstrap.servers': broker.bootstrapServers, 'buffer.memory': 30000, 'linger.ms': 1 });
      const results = await p.send(Array.from({ length: 300 }, (_, i) => ({ topic, value: Buffer.alloc(1000, i) })));
      assert.deepEqual(
        results.map((r) => r.offset),
        Array.from({ length: 300 }, (_, i) => i),
      );
      assert.equal(p.metrics().bufferUsed, 0);
      await p.close();
    } finally {
      await broker.close();
    }
  });

  it('retries across a broker restart without reordering', async (t) => {
    const broker = await startTestBroker({ 'num.partitions': 3 });
    try {
      const topic = uniqueTopic('restart');
      const p = new Producer({
        'bootstrap.servers': broker.bootstrapServers,
        'linger.ms': 2,
        'retry.backoff.ms': 50,
        'retry.backoff.max.ms': 200,
        'reconnect.backoff.ms': 50,
        'reconnect.backoff.max.ms': 200,
        'request.timeout.ms': 3000,
      });
      const n = 2000;
      const sends: Promise<RecordMetadata>[] = [];
      let restarted: Promise<void> | null = null;
      for (let i = 0; i < n; i++) {
        sends.push(p.send({ topic, key: `k${i % 5}`, value: String(i) }));
        if (i === 700) restarted = broker.stop().then(() => sleep(600)).then(() => broker.restart());
        if (i % 20 === 0) await sleep(2);
      }
      await restarted;
      const metadata = await Promise.all(sends);
      t.diagnostic(`retried batches: ${p.metrics().retries}`);
      await p.close();
      const last = new Map<number, number>();
      metadata.forEach((m, i) => {
        assert.equal(m.partition, partitionForKey(`k${i % 5}`, 3));
        assert.ok(m.offset > (last.get(m.partition) ?? -1), `record ${i} acknowledged in order`);
        last.set(m.partition, m.offset);
      });
      const consumer = new Consumer({ 'bootstrap.servers': broker.bootstrapServers, 'auto.offset.reset': 'earliest' });
      consumer.assign([0, 1, 2].map((partition) => ({ topic, partition })));
      const records = await pollN((ms) => consumer.poll(ms), n);
      await consumer.close();
      const seqs = new Map<number, number[]>();
      for (const r of records) {
        const list = seqs.get(r.partition) ?? [];
        list.push(Number(r.value!.toString()));
        seqs.set(r.partition, list);
      }
      for (const [partition, list] of seqs) {
        for (let i = 1; i < list.length; i++) assert.ok(list[i]! > list[i - 1]!, `partition ${partition} stays ordered`);
      }
      assert.equal(new Set(records.map((r) => r.value!.toString())).size, n, 'every record arrived');
    } finally {
      await broker.close();
    }
  });

  it('expires batches after delivery.timeout.ms; close({ timeoutMs }) fails what is left', async () => {
    const broker = await startTestBroker({ 'num.partitions': 1 });
    try {
      const topic = uniqueTopic('expire');
      const p = new Producer({
        'bootstrap.servers': broker.bootstrapServers,
        'linger.ms': 0,
        'request.timeout.ms': 500,
        'delivery.timeout.ms': 1000,
        'retry.backoff.ms': 50,
        'reconnect.backoff.ms': 50,
      });
      await p.send({ topic, value: 'first' });
      await broker.stop();
      const started = Date.now();
      const error = await p.send({ topic, value: 'lost' }).catch((e: unknown) => e);
      assert.ok(error instanceof TimeoutError, String(error));
      assert.match(error.message, /Expiring 1 record\(s\) for .*-0: \d+ ms has passed since batch creation/);
      assert.ok(Date.now() - started >= 900);
      const pending = p.send({ topic, value: 'never' });
      await p.close({ timeoutMs: 100 });
      await assert.rejects(pending, ClientClosedError);
    } finally {
      await broker.close();
    }
  });
});
