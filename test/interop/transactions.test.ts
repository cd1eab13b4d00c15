/**
 * Transactions with real clients.
 *
 * confluent-kafka-python (librdkafka 2.0): a transactional producer with
 * aborts (read_committed never sees aborted records, read_uncommitted does);
 * consume-transform-produce as a subscribed group member; consume-transform-produce with send_offsets_to_transaction and injected
 * aborts while the broker process is killed with SIGKILL and restarted — a
 * read_committed reader sees each input's output exactly once and the
 * group's committed offsets cover the input; two producers with one
 * transactional.id (the older one is fenced).
 *
 * kafkajs: consume-transform-produce with a consumer group, transactions
 * and sendOffsets, aborts injected and retried.
 *
 * Scale: 2 x 3000 input records for the librdkafka pipeline (batches of
 * 100), 2 x 300 for kafkajs; each test stays under ~30 s on two cores.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import {
  LiveProcess,
  PYTHON,
  freePort,
  makeTempDir,
  removeDir,
  skipUnlessPython,
  sleep,
  startBrokerProcess,
  startTestBroker,
  type BrokerProcess,
  type TestBroker,
} from '../helpers/broker.js';
import { pyScript, runPython, topicName } from './support.js';

const SCRIPT = 'txn_client.py';
const skipPython = skipUnlessPython('confluent_kafka');

type Values = Record<string, string[]>;

async function createTopic(bootstrap: string, topic: string, partitions: number): Promise<void> {
  const kafka = new kafkajs.Kafka({ brokers: [bootstrap], logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** Plain (non-transactional) input records "in-<p>-<i>" to every partition, `chunk` per partition and batch. */
async function produceInput(bootstrap: string, topic: string, partitions: number, perPartition: number, chunk = 500): Promise<void> {
  const kafka = new kafkajs.Kafka({ brokers: [bootstrap], logLevel: kafkajs.logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (let start = 0; start < perPartition; start += chunk) {
      const messages = [];
      for (let p = 0; p < partitions; p++) {
        for (let i = start; i < Math.min(perPartition, start + chunk); i++) messages.push({ partition: p, value: `in-${p}-${i}` });
      }
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

function expectedOutput(partitions: number, perPartition: number): Values {
  const out: Values = {};
  for (let p = 0; p < partitions; p++) out[String(p)] = Array.from({ length: perPartition }, (_, i) => `out:in-${p}-${i}`);
  return out;
}

describe('confluent-kafka-python transactions', { skip: skipPython }, () => {
  let b: TestBroker;
  before(async () => {
    b = await startTestBroker({ config: { 'num.partitions': 2, 'transaction.state.log.num.partitions': 5, 'offsets.topic.num.partitions': 5, 'group.initial.rebalance.delay.ms': 0 } });
  });
  after(async () => {
    await b?.close();
  });

  test('aborted transactions: read_committed never sees their records, read_uncommitted does', async () => {
    const topic = topicName('ck-txn');
    await createTopic(b.bootstrap, topic, 2);
    const r = await runPython<{ committed: number; aborted: number }>(SCRIPT, 'produce', b.bootstrap, {
      topic,
      transactional_id: `${topic}-tx`,
      transactions: 9,
      per_txn: 20,
      abort_every: 3,
      partitions: 2,
    });
    assert.deepEqual(r, { committed: 6, aborted: 3 });
    const committed = await runPython<{ values: Values; complete: boolean }>(SCRIPT, 'consume', b.bootstrap, { topic, partitions: 2, isolation: 'read_committed' });
    const uncommitted = await runPython<{ values: Values; complete: boolean }>(SCRIPT, 'consume', b.bootstrap, { topic, partitions: 2, isolation: 'read_uncommitted' });
    assert.ok(committed.complete && uncommitted.complete, 'both readers reached the end');
    const all = (v: Values) => Object.values(v).flat();
    const abortedTxn = (value: string) => (Number(value.slice(1, value.indexOf('-'))) + 1) % 3 === 0;
    assert.equal(all(committed.values).length, 6 * 20);
    assert.ok(all(committed.values).every((v) => !abortedTxn(v)), 'no aborted record under read_committed');
    assert.equal(all(uncommitted.values).length, 9 * 20);
    assert.equal(all(uncommitted.values).filter(abortedTxn).length, 3 * 20);
    // Per partition, committed records keep their transaction order.
    for (const list of Object.values(committed.values)) {
      const txns = list.map((v) => Number(v.slice(1, v.indexOf('-'))));
      assert.deepEqual(txns, [...txns].sort((x, y) => x - y));
    }
  });

  test('consume-transform-produce as a subscribed group member (TxnOffsetCommit with member id and generation)', async () => {
    const partitions = 2;
    const perPartition = 400;
    const input = topicName('ck-sub-in');
    const output = topicName('ck-sub-out');
    const group = `${input}-group`;
    await createTopic(b.bootstrap, input, partitions);
    await createTopic(b.bootstrap, output, partitions);
    await produceInput(b.bootstrap, input, partitions, perPartition, 50);
    const r = await runPython<{ done: boolean; aborts: number; errors: string[] }>(
      SCRIPT,
      'ctp',
      b.bootstrap,
      { input, output, group, transactional_id: `${input}-tx`, partitions, expected: perPartition, abort_every: 3, batch: 60, timeout_s: 40, subscribe: true },
      60_000,
    );
    assert.deepEqual(r.errors, []);
    assert.ok(r.done && r.aborts >= 1, JSON.stringify(r));
    const committed = await runPython<{ values: Values }>(SCRIPT, 'consume', b.bootstrap, { topic: output, partitions, isolation: 'read_committed' });
    assert.deepEqual(committed.values, expectedOutput(partitions, perPartition));
    const offsets = await runPython<{ offsets: Record<string, number> }>(SCRIPT, 'committed', b.bootstrap, { group, topic: input, partitions });
    assert.deepEqual(offsets.offsets, { '0': perPartition, '1': perPartition });
  });

  test('two producers with one transactional.id: the older one is fenced, the newer commits', async () => {
    const topic = topicName('ck-fence');
    await createTopic(b.bootstrap, topic, 1);
    const r = await runPython<{ a_commit: string; a_fatal: boolean; b_commit: string }>(SCRIPT, 'fence', b.bootstrap, { topic, transactional_id: `${topic}-tx` });
    assert.equal(r.a_commit, '_FENCED');
    assert.equal(r.a_fatal, true);
    assert.equal(r.b_commit, 'ok');
    const read = await runPython<{ values: Values }>(SCRIPT, 'consume', b.bootstrap, { topic, partitions: 1, isolation: 'read_committed' });
    assert.deepEqual(read.values['0'], ['from-b'], 'the fenced producer\'s open transaction was aborted');
  });
});

describe('confluent-kafka-python consume-transform-produce across kill -9', { skip: skipPython }, () => {
  let dir = '';
  let broker: BrokerProcess | undefined;
  after(async () => {
    await broker?.process.stop(3000);
    if (dir) await removeDir(dir);
  });

  test('send_offsets_to_transaction with aborts injected, broker killed and restarted mid-stream: read_committed sees every input exactly once', { timeout: 120_000 }, async () => {
    dir = await makeTempDir('ganglion-txn-kill-');
    const port = await freePort();
    const overrides = { 'num.partitions': 2, 'group.initial.rebalance.delay.ms': 0 };
    broker = await startBrokerProcess({ logDir: join(dir, 'data'), port, overrides });
    const partitions = 2;
    const perPartition = 3000;
    const input = topicName('ctp-in');
    const output = topicName('ctp-out');
    const group = `${input}-group`;
    await createTopic(broker.bootstrap, input, partitions);
    await createTopic(broker.bootstrap, output, partitions);
    await produceInput(broker.bootstrap, input, partitions, perPartition);

    const ctp = LiveProcess.start(PYTHON, [pyScript(SCRIPT), 'ctp', broker.bootstrap], { label: 'ctp' });
    ctp.child.stdin!.end(
      JSON.stringify({ input, output, group, transactional_id: `${input}-tx`, partitions, expected: perPartition, abort_every: 4, batch: 100, timeout_s: 90 }),
    );
    let restarts = 0;
    try {
      const progress = () => {
        const last = ctp.stdoutLines.filter((l) => l.startsWith('{"txns"')).at(-1);
        return last ? (JSON.parse(last) as { txns: number }).txns : 0;
      };
      await ctp.until(() => progress() >= 20 || !ctp.running, 60_000, '20 transactions');
      if (ctp.running) {
        broker.process.kill('SIGKILL');
        await broker.process.exited;
        await sleep(500);
        broker = await startBrokerProcess({ logDir: broker.logDir, port, overrides });
        restarts++;
      }
      const { code } = await ctp.exited;
      assert.equal(code, 0, ctp.output());
    } finally {
      ctp.kill('SIGKILL');
    }
    const summary = JSON.parse(ctp.stdoutLines.filter((l) => l.startsWith('{"transactions"')).at(-1)!) as {
      transactions: number;
      aborts: number;
      records: number;
      errors: string[];
      done: boolean;
      positions: Record<string, number>;
    };
    assert.deepEqual(summary.errors, []);
    assert.ok(summary.done, `the pipeline finished: ${JSON.stringify(summary)}`);
    assert.ok(summary.aborts >= 3, 'aborts were injected');
    assert.equal(restarts, 1, 'the broker was killed mid-stream');

    const committed = await runPython<{ values: Values; complete: boolean }>(SCRIPT, 'consume', broker.bootstrap, { topic: output, partitions, isolation: 'read_committed' }, 60_000);
    assert.ok(committed.complete, 'the read_committed reader reached the end');
    assert.deepEqual(committed.values, expectedOutput(partitions, perPartition), 'read_committed: each input exactly once, in order');
    const uncommitted = await runPython<{ values: Values }>(SCRIPT, 'consume', broker.bootstrap, { topic: output, partitions, isolation: 'read_uncommitted' }, 60_000);
    const extra = Object.values(uncommitted.values).flat().length - partitions * perPartition;
    assert.ok(extra > 0, 'read_uncommitted also sees the aborted outputs');
    const offsets = await runPython<{ offsets: Record<string, number> }>(SCRIPT, 'committed', broker.bootstrap, { group, topic: input, partitions });
    for (let p = 0; p < partitions; p++) assert.equal(offsets.offsets[String(p)], perPartition, `committed offset of ${input}-${p}`);
  });
});

describe('kafkajs transactions with sendOffsets', () => {
  let b: TestBroker;
  before(async () => {
    b = await startTestBroker({ config: { 'num.partitions': 2, 'transaction.state.log.num.partitions': 5, 'offsets.topic.num.partitions': 5, 'group.initial.rebalance.delay.ms': 0 } });
  });
  after(async () => {
    await b?.close();
  });

  test('consume-transform-produce with a consumer group, aborts injected and redone: exactly once under read_committed, offsets committed', { timeout: 60_000 }, async () => {
    const partitions = 2;
    const perPartition = 300;
    const input = topicName('kjs-in');
    const output = topicName('kjs-out');
    const group = `${input}-group`;
    await createTopic(b.bootstrap, input, partitions);
    await createTopic(b.bootstrap, output, partitions);
    await produceInput(b.bootstrap, input, partitions, perPartition, 25);

    const kafka = new kafkajs.Kafka({ brokers: [b.bootstrap], clientId: 'kjs-ctp', logLevel: kafkajs.logLevel.NOTHING });
    const producer = kafka.producer({ transactionalId: `${input}-tx`, idempotent: true, maxInFlightRequests: 1 });
    const consumer = kafka.consumer({ groupId: group, readUncommitted: false, maxWaitTimeInMs: 100, maxBytesPerPartition: 600 });
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic: input, fromBeginning: true });
    let batches = 0;
    let aborts = 0;
    let processed = 0;
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        if (batch.messages.length === 0) return;
        const next = String(Number(batch.lastOffset()) + 1);
        for (let attempt = 0; ; attempt++) {
          const txn = await producer.transaction();
          await txn.send({ topic: output, messages: batch.messages.map((m) => ({ partition: batch.partition, value: `out:${m.value!.toString()}` })) });
          await txn.sendOffsets({ consumerGroupId: group, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] });
          // Every third batch is aborted once, then redone.
          if (attempt === 0 && ++batches % 3 === 0) {
            await txn.abort();
            aborts++;
            continue;
          }
          await txn.commit();
          break;
        }
        for (const m of batch.messages) resolveOffset(m.offset);
        processed += batch.messages.length;
        await heartbeat();
      },
    });
    const deadline = Date.now() + 40_000;
    while (processed < partitions * perPartition && Date.now() < deadline) await sleep(50);
    await consumer.disconnect();
    await producer.disconnect();
    assert.equal(processed, partitions * perPartition);
    assert.ok(aborts >= 1, `aborts were injected (${aborts})`);

    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchOffsets({ groupId: group, topics: [input] });
    await admin.disconnect();
    assert.deepEqual(
      offsets[0]!.partitions.map((p) => [p.partition, p.offset]).sort(),
      Array.from({ length: partitions }, (_, p) => [p, String(perPartition)]),
      'the offsets committed in the transactions',
    );

    // Read the output back with read_committed (a fresh group) and read_uncommitted.
    const read = async (readUncommitted: boolean) => {
      const reader = kafka.consumer({ groupId: `${output}-${readUncommitted}`, readUncommitted, maxWaitTimeInMs: 100 });
      await reader.connect();
      await reader.subscribe({ topic: output, fromBeginning: true });
      const values: Values = {};
      let count = 0;
      let lastSeen = Date.now();
      await reader.run({
        eachMessage: async ({ partition, message }) => {
          (values[String(partition)] ??= []).push(message.value!.toString());
          count++;
          lastSeen = Date.now();
        },
      });
      const until = Date.now() + 20_000;
      while (Date.now() < until && (count < partitions * perPartition || Date.now() - lastSeen < 1000)) await sleep(50);
      await reader.disconnect();
      return values;
    };
    assert.deepEqual(await read(false), expectedOutput(partitions, perPartition), 'read_committed: exactly once, in order');
    const all = Object.values(await read(true)).flat();
    assert.ok(all.length > partitions * perPartition, 'read_uncommitted sees the aborted outputs too');
  });
});
