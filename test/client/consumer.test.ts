import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  Admin,
  ClientClosedError,
  Consumer,
  NoOffsetForPartitionError,
  OffsetOutOfRangeError,
  Producer,
  type ConsumerRecord,
} from '../../src/client/index.js';
import { buildBatch, buildTxnMarkerBatch } from '../../src/protocol/records/index.js';
import { pollN, sleep, startTestBroker, trackUnhandledRejections, uniqueTopic, type TestBroker } from './helpers.js';

describe('consumer', () => {
  let broker: TestBroker;
  let admin: Admin;
  let producer: Producer;
  const unhandled = trackUnhandledRejections();
  const consumers: Consumer[] = [];

  before(async () => {
    broker = await startTestBroker({ 'num.partitions': 1 });
    admin = new Admin({ 'bootstrap.servers': broker.bootstrapServers });
    producer = new Producer({ 'bootstrap.servers': broker.bootstrapServers, 'linger.ms': 0 });
  });
  after(async () => {
    for (const c of consumers) await c.close();
    await producer.close();
    await admin.close();
    await broker.close();
    unhandled.assertNone();
  });

  function consumer(config: Record<string, string | number | boolean> = {}): Consumer {
    const c = new Consumer({ 'bootstrap.servers': broker.bootstrapServers, ...config });
    consumers.push(c);
    return c;
  }

  /** A topic with `n` records `v0..v(n-1)` on partition 0, timestamps base+i*10, sent as `batches` batches. */
  async function topicWith(n: number, base = 1_600_000_000_000, batches = 1): Promise<string> {
    const topic = uniqueTopic('c');
    await admin.createTopics([{ topic, numPartitions: 1 }]);
    const per = Math.ceil(n / batches);
    for (let i = 0; i < n; i += per) {
      await producer.send(
        Array.from({ length: Math.min(per, n - i) }, (_, j) => ({ topic, value: `v${i + j}`, timestamp: base + (i + j) * 10 })),
      );
    }
    return topic;
  }

  const values = (records: ConsumerRecord[]) => records.map((r) => r.value!.toString());

  it('auto.offset.reset=earliest starts at the log start, latest at the end, none throws', async () => {
    const topic = await topicWith(5);
    const tp = { topic, partition: 0 };
    const early = consumer({ 'auto.offset.reset': 'earliest' });
    early.assign([tp]);
    assert.deepEqual(values(await pollN((ms) => early.poll(ms), 5)), ['v0', 'v1', 'v2', 'v3', 'v4']);
    assert.equal(await early.position(tp), 5);

    const late = consumer({ 'auto.offset.reset': 'latest' });
    late.assign([tp]);
    assert.equal(await late.position(tp), 5);
    assert.deepEqual(await late.poll(200), []);
    await producer.send({ topic, value: 'v5' });
    assert.deepEqual(values(await pollN((ms) => late.poll(ms), 1)), ['v5']);

    const none = consumer({ 'auto.offset.reset': 'none' });
    none.assign([tp]);
    const error = await none.poll(1000).catch((e: unknown) => e);
    assert.ok(error instanceof NoOffsetForPartitionError, String(error));
    assert.deepEqual(error.partitions, [tp]);
    none.seek(tp, 2);
    assert.deepEqual(values(await pollN((ms) => none.poll(ms), 4)), ['v2', 'v3', 'v4', 'v5']);
  });

  it('seek, seekToBeginning, seekToEnd and seekToTimestamp', async () => {
    const base = 1_650_000_000_000;
    const topic = await topicWith(20, base, 4);
    const tp = { topic, partition: 0 };
    const c = consumer({ 'auto.offset.reset': 'earliest', 'max.poll.records': 3 });
    c.assign([tp]);
    const first = await pollN((ms) => c.poll(ms), 3);
    assert.deepEqual(values(first), ['v0', 'v1', 'v2'], 'max.poll.records caps a poll');

    c.seek(tp, 7);
    assert.equal(await c.position(tp), 7);
    assert.deepEqual(values(await c.poll(5000)), ['v7', 'v8', 'v9']);

    // Offset 12 sits inside a batch that starts at 10: records before it are skipped.
    c.seek(tp, 12);
    assert.equal((await c.poll(5000))[0]!.offset, 12);

    c.seekToBeginning([tp]);
    assert.equal(await c.position(tp), 0);
    assert.equal((await c.poll(5000))[0]!.offset, 0);

    c.seekToEnd();
    assert.equal(await c.position(tp), 20);

    await c.seekToTimestamp([tp], base + 135);
    assert.equal(await c.position(tp), 14, 'first record at or after the timestamp');
    const r = (await c.poll(5000))[0]!;
    assert.equal(r.offset, 14);
    assert.equal(r.timestamp, base + 140);

    await c.seekToTimestamp(undefined, new Date(base + 10_000_000));
    assert.equal(await c.position(tp), 20, 'past the last timestamp: the end');

    assert.deepEqual(await c.beginningOffsets([tp]), [{ ...tp, offset: 0 }]);
    assert.deepEqual(await c.endOffsets([tp]), [{ ...tp, offset: 20 }]);
    const [t] = await c.offsetsForTimes([{ ...tp, timestamp: base + 55 }]);
    assert.equal(t!.offset, 6);
    assert.equal(t!.timestamp, base + 60);
  });

  it('resets an out-of-range position per auto.offset.reset, or throws with none', async () => {
    const topic = await topicWith(10);
    const tp = { topic, partition: 0 };
    await admin.deleteRecords([{ ...tp, offset: 4 }]);
    const c = consumer({ 'auto.offset.reset': 'earliest' });
    c.assign([tp]);
    c.seek(tp, 1);
    assert.deepEqual(values(await pollN((ms) => c.poll(ms), 6)), ['v4', 'v5', 'v6', 'v7', 'v8', 'v9']);

    const latest = consumer({ 'auto.offset.reset': 'latest' });
    latest.assign([tp]);
    latest.seek(tp, 500);
    const until = Date.now() + 5000;
    while ((await latest.position(tp)) === 500 && Date.now() < until) await latest.poll(50);
    assert.equal(await latest.position(tp), 10);

    const strict = consumer({ 'auto.offset.reset': 'none' });
    strict.assign([tp]);
    strict.seek(tp, 1);
    const error = await pollN((ms) => strict.poll(ms), 1, 3000).catch((e: unknown) => e);
    assert.ok(error instanceof OffsetOutOfRangeError, String(error));
    assert.equal(error.errorName, 'OFFSET_OUT_OF_RANGE');
    assert.deepEqual(error.offsets, [{ ...tp, offset: 1 }]);
  });

  it('long-polls: a record produced while poll waits arrives at once, not after fetch.max.wait.ms', async () => {
    const topic = await topicWith(1);
    const tp = { topic, partition: 0 };
    const c = consumer({ 'auto.offset.reset': 'latest', 'fetch.max.wait.ms': 5000 });
    c.assign([tp]);
    assert.equal(await c.position(tp), 1);
    assert.deepEqual(await c.poll(100), []);
    const started = Date.now();
    setTimeout(() => void producer.send({ topic, value: 'late' }), 300);
    const got = await pollN((ms) => c.poll(ms), 1, 4000);
    const latency = Date.now() - started;
    assert.deepEqual(values(got), ['late']);
    assert.ok(latency < 2000, `arrived ${latency} ms after poll started`);
    // With nothing to read, poll returns empty after its own timeout.
    const idle = Date.now();
    assert.deepEqual(await c.poll(300), []);
    const waited = Date.now() - idle;
    assert.ok(waited >= 250 && waited < 3000, `idle poll took ${waited} ms`);
  });

  it('makes progress with a max.partition.fetch.bytes smaller than a batch', async () => {
    const topic = uniqueTopic('small');
    await admin.createTopics([{ topic, numPartitions: 1 }]);
    await producer.send(Array.from({ length: 10 }, (_, i) => ({ topic, value: Buffer.alloc(500, i) })));
    await producer.send(Array.from({ length: 10 }, (_, i) => ({ topic, value: Buffer.alloc(500, i + 10) })));
    const c = consumer({ 'auto.offset.reset': 'earliest', 'max.partition.fetch.bytes': 100, 'fetch.max.bytes': 100 });
    c.assign([{ topic, partition: 0 }]);
    const got = await pollN((ms) => c.poll(ms), 20);
    assert.deepEqual(
      got.map((r) => r.value![0]),
      Array.from({ length: 20 }, (_, i) => i),
    );
  });

  it('pause stops fetching a partition, resume continues where it was', async () => {
    const a = await topicWith(3);
    const b = await topicWith(3);
    const c = consumer({ 'auto.offset.reset': 'earliest' });
    c.assign([
      { topic: a, partition: 0 },
      { topic: b, partition: 0 },
    ]);
    c.pause([{ topic: b, partition: 0 }]);
    assert.deepEqual(c.paused(), [{ topic: b, partition: 0 }]);
    const first = await pollN((ms) => c.poll(ms), 3);
    assert.ok(first.every((r) => r.topic === a));
    assert.deepEqual(await c.poll(300), []);
    c.resume([{ topic: b, partition: 0 }]);
    const second = await pollN((ms) => c.poll(ms), 3);
    assert.ok(second.every((r) => r.topic === b));
    assert.deepEqual(c.paused(), []);
  });

  it('iterates records; leaving the loop early rewinds to the first unseen record', async () => {
    const topic = await topicWith(10);
    const tp = { topic, partition: 0 };
    const c = consumer({ 'auto.offset.reset': 'earliest' });
    c.assign([tp]);
    const seen: string[] = [];
    for await (const r of c) {
      seen.push(r.value!.toString());
      if (seen.length === 4) break;
    }
    assert.deepEqual(seen, ['v0', 'v1', 'v2', 'v3']);
    assert.equal(await c.position(tp), 4);
    const rest: string[] = [];
    for await (const r of c.records({ pollTimeoutMs: 200 })) {
      rest.push(r.value!.toString());
      if (rest.length === 6) break;
    }
    assert.deepEqual(rest, ['v4', 'v5', 'v6', 'v7', 'v8', 'v9']);
  });

  it('close ends a waiting iterator and makes further calls fail', async () => {
    const topic = await topicWith(1);
    const c = new Consumer({ 'bootstrap.servers': broker.bootstrapServers, 'auto.offset.reset': 'latest' });
    c.assign([{ topic, partition: 0 }]);
    const seen: ConsumerRecord[] = [];
    const loop = (async () => {
      for await (const r of c) seen.push(r);
    })();
    await sleep(300);
    await c.close();
    await loop;
    assert.deepEqual(seen, []);
    await assert.rejects(c.poll(10), ClientClosedError);
    assert.throws(() => c.assign([]), ClientClosedError);
  });

  it('decodes fetched data: skips records below the fetch offset, control batches and a truncated tail; read_committed drops aborted transactions', async () => {
    const c = consumer({ 'isolation.level': 'read_committed' });
    const parse = (
      c as unknown as {
        parse(tp: object, fetchOffset: number, data: Buffer, aborted: Array<{ producerId: bigint; firstOffset: bigint }> | null): Promise<{
          records: ConsumerRecord[];
          nextOffset: number;
        }>;
      }
    ).parse.bind(c);
    const tp = { topic: 't', partition: 0 };
    const plain = buildBatch([{ value: 'a' }, { value: 'b' }, { value: 'c' }], { baseOffset: 10 });
    const committed = buildBatch([{ value: 'd' }], { baseOffset: 13, producerId: 7n, producerEpoch: 0, transactional: true });
    const commit = buildTxnMarkerBatch({ commit: true, coordinatorEpoch: 0, producerId: 7n, producerEpoch: 0, baseOffset: 14 });
    const aborted = buildBatch([{ value: 'e' }, { value: 'f' }], { baseOffset: 15, producerId: 8n, producerEpoch: 0, transactional: true });
    const abort = buildTxnMarkerBatch({ commit: false, coordinatorEpoch: 0, producerId: 8n, producerEpoch: 0, baseOffset: 17 });
    const after = buildBatch([{ value: 'g' }], { baseOffset: 18 });
    const tail = buildBatch([{ value: 'h' }], { baseOffset: 19 }).subarray(0, 30);
    const data = Buffer.concat([plain, committed, commit, aborted, abort, after, tail]);
    const result = await parse(tp, 11, data, [{ producerId: 8n, firstOffset: 15n }]);
    assert.deepEqual(
      result.records.map((r) => `${r.offset}:${r.value}`),
      ['11:b', '12:c', '13:d', '18:g'],
    );
    assert.equal(result.nextOffset, 19, 'the truncated batch is fetched again');

    const uncommitted = consumer();
    const parseAll = (uncommitted as unknown as { parse: typeof parse }).parse.bind(uncommitted);
    const all = await parseAll(tp, 0, data, [{ producerId: 8n, firstOffset: 15n }]);
    assert.deepEqual(
      all.records.map((r) => r.value!.toString()),
      ['a', 'b', 'c', 'd', 'e', 'f', 'g'],
      'read_uncommitted returns aborted data too (but never control records)',
    );
  });
});

describe('consumer when the broker restarts', () => {
  const unhandled = trackUnhandledRejections();
  after(() => unhandled.assertNone());

  it('reconnects and goes on from its position', async () => {
    const broker = await startTestBroker({ 'num.partitions': 1 });
    try {
      const topic = uniqueTopic('restart');
      const settings = { 'bootstrap.servers': broker.bootstrapServers, 'reconnect.backoff.ms': 50, 'reconnect.backoff.max.ms': 200, 'retry.backoff.ms': 50 };
      const producer = new Producer({ ...settings, 'linger.ms': 0 });
      await producer.send(Array.from({ length: 5 }, (_, i) => ({ topic, value: `a${i}` })));
      const c = new Consumer({ ...settings, 'auto.offset.reset': 'earliest', 'fetch.max.wait.ms': 200 });
      c.assign([{ topic, partition: 0 }]);
      assert.equal((await pollN((ms) => c.poll(ms), 5)).length, 5);
      await broker.stop();
      assert.deepEqual(await c.poll(300), [], 'polling while the broker is down returns nothing');
      await broker.restart();
      await producer.send(Array.from({ length: 5 }, (_, i) => ({ topic, value: `b${i}` })));
      const rest = await pollN((ms) => c.poll(ms), 5);
      assert.deepEqual(
        rest.map((r) => `${r.offset}:${r.value}`),
        ['5:b0', '6:b1', '7:b2', '8:b3', '9:b4'],
      );
      await c.close();
      await producer.close();
    } finally {
      await broker.close();
    }
  });
});
