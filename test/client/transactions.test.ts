/** The transactional producer against the Ganglion broker. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBroker, type RunningBroker } from '../../src/broker/broker.js';
import { Admin, ConfigError, Consumer, KafkaError, Producer, ProducerFencedError, type ConsumerRecord } from '../../src/client/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { sleep, uniqueTopic } from './helpers.js';

describe('transactional producer', () => {
  let broker: RunningBroker;
  let logDir: string;
  let bootstrap: string;
  let admin: Admin;

  before(async () => {
    logDir = await mkdtemp(join(tmpdir(), 'ganglion-client-txn-'));
    broker = await startBroker({
      port: 0,
      logDir,
      logLevel: 'silent',
      config: {
        'transaction.state.log.replication.factor': 1,
        'transaction.state.log.min.isr': 1,
        'offsets.topic.replication.factor': 1,
      },
    });
    bootstrap = broker.bootstrapServers;
    admin = new Admin({ 'bootstrap.servers': bootstrap });
  });
  after(async () => {
    await admin.close();
    await broker.close();
    await rm(logDir, { recursive: true, force: true });
  });

  function txnProducer(id: string): Producer {
    return new Producer({ 'bootstrap.servers': bootstrap, 'transactional.id': id, 'linger.ms': 0 });
  }

  /** Reads from the start of the partitions until `quietMs` passes without new records. */
  async function readAll(topic: string, partitions: number, isolation: 'read_committed' | 'read_uncommitted', quietMs = 1500): Promise<ConsumerRecord[]> {
    const consumer = new Consumer({ 'bootstrap.servers': bootstrap, 'auto.offset.reset': 'earliest', 'isolation.level': isolation });
    consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition })));
    const out: ConsumerRecord[] = [];
    let quietSince = Date.now();
    try {
      while (Date.now() - quietSince < quietMs) {
        const got = await consumer.poll(200);
        if (got.length > 0) {
          out.push(...got);
          quietSince = Date.now();
        }
      }
    } finally {
      await consumer.close();
    }
    return out;
  }

  it('transactional.id implies idempotence and refuses enable.idempotence=false', async () => {
    assert.throws(
      () => new Producer({ 'bootstrap.servers': bootstrap, 'transactional.id': 'x', 'enable.idempotence': false }),
      ConfigError,
    );
    const p = new Producer({ 'bootstrap.servers': bootstrap, 'transactional.id': 'x', acks: 'all' });
    assert.equal(p.metrics().idempotent, true);
    await p.close();
  });

  it('refuses sends outside a transaction and calls before initTransactions', async () => {
    const producer = txnProducer(uniqueTopic('tid'));
    try {
      assert.throws(() => producer.beginTransaction(), (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.INVALID_TXN_STATE);
      await producer.initTransactions();
      await assert.rejects(producer.send({ topic: 'x', value: 'v' }), (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.INVALID_TXN_STATE);
      await assert.rejects(producer.commitTransaction(), (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.INVALID_TXN_STATE);
      assert.ok(producer.metrics().producerId >= 0n);
    } finally {
      await producer.close();
    }
  });

  it('commit: a read_committed consumer sees the records', async () => {
    const topic = uniqueTopic('commit');
    await admin.createTopics([{ topic, numPartitions: 2, replicationFactor: 1 }]);
    const producer = txnProducer(uniqueTopic('tid'));
    try {
      await producer.initTransactions();
      for (let t = 0; t < 2; t++) {
        producer.beginTransaction();
        await Promise.all(Array.from({ length: 10 }, (_, i) => producer.send({ topic, partition: i % 2, value: `t${t}-${i}` })));
        await producer.commitTransaction();
      }
    } finally {
      await producer.close();
    }
    const records = await readAll(topic, 2, 'read_committed');
    assert.equal(records.length, 20);
    assert.deepEqual(new Set(records.map((r) => r.value?.toString())).size, 20);
  });

  it('abort: read_committed sees none, read_uncommitted sees them', async () => {
    const topic = uniqueTopic('abort');
    await admin.createTopics([{ topic, numPartitions: 1, replicationFactor: 1 }]);
    const producer = txnProducer(uniqueTopic('tid'));
    try {
      await producer.initTransactions();
      producer.beginTransaction();
      await Promise.all(Array.from({ length: 5 }, (_, i) => producer.send({ topic, value: `aborted-${i}` })));
      await producer.abortTransaction();
      producer.beginTransaction();
      await producer.send({ topic, value: 'committed' });
      await producer.commitTransaction();
    } finally {
      await producer.close();
    }
    const committed = await readAll(topic, 1, 'read_committed');
    assert.deepEqual(committed.map((r) => r.value?.toString()), ['committed']);
    const uncommitted = await readAll(topic, 1, 'read_uncommitted');
    assert.deepEqual(
      uncommitted.map((r) => r.value?.toString()),
      ['aborted-0', 'aborted-1', 'aborted-2', 'aborted-3', 'aborted-4', 'committed'],
    );
  });

  it('abort drops records not yet sent', async () => {
    const topic = uniqueTopic('drop');
    await admin.createTopics([{ topic, numPartitions: 1, replicationFactor: 1 }]);
    const producer = new Producer({ 'bootstrap.servers': bootstrap, 'transactional.id': uniqueTopic('tid'), 'linger.ms': 60000 });
    try {
      await producer.initTransactions();
      producer.beginTransaction();
      const pending = producer.send({ topic, value: 'never' });
      await producer.abortTransaction();
      await assert.rejects(pending, KafkaError);
    } finally {
      await producer.close();
    }
    assert.equal((await readAll(topic, 1, 'read_uncommitted', 800)).length, 0);
  });

  it('a second producer with the same transactional.id fences the first', async () => {
    const topic = uniqueTopic('fence');
    await admin.createTopics([{ topic, numPartitions: 1, replicationFactor: 1 }]);
    const id = uniqueTopic('tid');
    const first = txnProducer(id);
    const second = txnProducer(id);
    try {
      await first.initTransactions();
      first.beginTransaction();
      await first.send({ topic, value: 'zombie' });
      await second.initTransactions(); // aborts the first one's transaction and bumps the epoch
      second.beginTransaction();
      await second.send({ topic, value: 'winner' });
      await second.commitTransaction();
      await assert.rejects(first.commitTransaction(), ProducerFencedError);
      // The fenced producer stays unusable.
      assert.throws(() => first.beginTransaction(), ProducerFencedError);
      await assert.rejects(first.send({ topic, value: 'again' }), ProducerFencedError);
    } finally {
      await first.close();
      await second.close();
    }
    const committed = await readAll(topic, 1, 'read_committed');
    assert.deepEqual(committed.map((r) => r.value?.toString()), ['winner']);
  });

  it('a fenced producer fails its next send in a transaction', async () => {
    const topic = uniqueTopic('fence-send');
    await admin.createTopics([{ topic, numPartitions: 1, replicationFactor: 1 }]);
    const id = uniqueTopic('tid');
    const first = txnProducer(id);
    const second = txnProducer(id);
    try {
      await first.initTransactions();
      await second.initTransactions();
      first.beginTransaction();
      await assert.rejects(first.send({ topic, value: 'zombie' }), ProducerFencedError);
      await assert.rejects(first.abortTransaction(), ProducerFencedError);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('sendOffsetsToTransaction commits offsets only when the transaction commits', async () => {
    const input = uniqueTopic('in');
    const output = uniqueTopic('out');
    await admin.createTopics([
      { topic: input, numPartitions: 1, replicationFactor: 1 },
      { topic: output, numPartitions: 1, replicationFactor: 1 },
    ]);
    const seed = new Producer({ 'bootstrap.servers': bootstrap });
    await Promise.all(Array.from({ length: 6 }, (_, i) => seed.send({ topic: input, value: `in-${i}` })));
    await seed.close();

    const group = uniqueTopic('g');
    const consumer = new Consumer({
      'bootstrap.servers': bootstrap,
      'group.id': group,
      'enable.auto.commit': false,
      'auto.offset.reset': 'earliest',
      'isolation.level': 'read_committed',
    });
    const producer = txnProducer(uniqueTopic('tid'));
    try {
      consumer.subscribe([input]);
      const got: ConsumerRecord[] = [];
      const end = Date.now() + 15000;
      while (got.length < 6 && Date.now() < end) got.push(...(await consumer.poll(500)));
      assert.equal(got.length, 6);
      await producer.initTransactions();

      // Aborted: offsets 0..3 are not committed.
      producer.beginTransaction();
      for (const r of got.slice(0, 3)) await producer.send({ topic: output, value: `out-${r.value?.toString()}` });
      await producer.sendOffsetsToTransaction([{ topic: input, partition: 0, offset: 3 }], consumer.groupMetadata());
      await producer.abortTransaction();
      const afterAbort = await admin.listConsumerGroupOffsets(group);
      assert.equal(afterAbort.filter((o) => o.topic === input && o.offset >= 0).length, 0);

      // Committed: offset 6.
      producer.beginTransaction();
      for (const r of got) await producer.send({ topic: output, value: `out-${r.value?.toString()}` });
      await producer.sendOffsetsToTransaction([{ topic: input, partition: 0, offset: 6 }], consumer.groupMetadata());
      await producer.commitTransaction();
      let offsets = await admin.listConsumerGroupOffsets(group);
      for (let i = 0; i < 20 && !offsets.some((o) => o.topic === input && o.offset === 6); i++) {
        await sleep(100);
        offsets = await admin.listConsumerGroupOffsets(group);
      }
      assert.deepEqual(
        offsets.filter((o) => o.topic === input).map((o) => ({ partition: o.partition, offset: o.offset })),
        [{ partition: 0, offset: 6 }],
      );
    } finally {
      await producer.close();
      await consumer.close();
    }
    const out = await readAll(output, 1, 'read_committed');
    assert.equal(out.length, 6);
  });
});
