/**
 * Transactions across three broker processes: __transaction_state is created
 * replicated (RF 3, min ISR 2) and FindCoordinator for a transactional id
 * answered by any broker names the leader of the id's partition. A kafkajs
 * transactional producer whose coordinator, data partitions and offsets'
 * group coordinator are different brokers: the partition leaders accept the
 * batches unverified, the coordinator sends WriteTxnMarkers to them, and a
 * read_committed consumer sees committed records and offsets only; the same
 * with confluent-kafka-python consume-transform-produce (aborts included).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/api-table.js';
import { skipUnlessPython, waitFor } from '../helpers/broker.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';
import { skipUnlessZooKeeper } from '../helpers/zookeeper.js';
import { runPython } from '../interop/support.js';
import { createTopic, waitForPartition, withBrokerLogs } from './failure-support.js';

const { Kafka, logLevel } = kafkajs;
const skip = skipUnlessZooKeeper();
const skipPython = skipUnlessPython('confluent_kafka');
/** test/interop/py/txn_client.py: confluent-kafka-python's transactional producer, reader and offsets. */
const PY_SCRIPT = 'txn_client.py';
/** FindCoordinator key types. */
const GROUP_KEY = 0;
const TRANSACTION_KEY = 1;

let cluster: TestCluster;

before(async () => {
  if (skip) return;
  cluster = await startCluster({
    brokers: 3,
    brokerConfig: {
      'transaction.state.log.replication.factor': '3',
      'transaction.state.log.min.isr': '2',
      'transaction.state.log.num.partitions': '4',
    },
  });
  await cluster.waitForController();
});

after(async () => {
  await cluster?.close();
});

test('every broker names the same transaction coordinator: the leader of the id\'s __transaction_state partition', { skip }, async () => {
  const answers: Array<{ nodeId: number; errorCode: number }> = [];
  await waitFor(
    async () => {
      answers.length = 0;
      for (const id of [0, 1, 2]) {
        const r = await cluster.request(id, ApiKey.FindCoordinator, { keyType: TRANSACTION_KEY, coordinatorKeys: ['tx-find'] });
        const c = r.coordinators![0]!;
        answers.push({ nodeId: c.nodeId, errorCode: c.errorCode });
      }
      return answers.every((a) => a.errorCode === ErrorCode.NONE);
    },
    { timeoutMs: 15_000, intervalMs: 200, what: `coordinators from every broker (${JSON.stringify(answers)})` },
  );
  assert.equal(new Set(answers.map((a) => a.nodeId)).size, 1, JSON.stringify(answers));
  const state = (await cluster.metadata(0, ['__transaction_state'])).topics[0]!;
  assert.equal(state.partitions.length, 4);
  assert.ok(state.partitions.every((p) => p.replicaNodes.length === 3));
  assert.ok(state.partitions.some((p) => p.leaderId === answers[0]!.nodeId));
});

/**
 * The broker coordinating `key` (FindCoordinator key type 0 = group, 1 =
 * transactional id), once every broker names it: each has the coordinator
 * topic in its metadata then (a client's first request may go to any).
 */
async function coordinatorFor(keyType: number, key: string): Promise<number> {
  let named: number[] = [];
  await waitFor(
    async () => {
      named = await Promise.all(
        [0, 1, 2].map(async (id) => {
          const c = (await cluster.request(id, ApiKey.FindCoordinator, { keyType, coordinatorKeys: [key] })).coordinators![0]!;
          return c.errorCode === ErrorCode.NONE ? c.nodeId : -1;
        }),
      );
      return named[0]! >= 0 && named.every((n) => n === named[0]);
    },
    { timeoutMs: 15_000, intervalMs: 200, what: `every broker to name the coordinator of ${key} (${named})` },
  );
  return named[0]!;
}

test('kafkajs transactions across brokers: committed records and offsets are read, aborted ones never', { skip }, async () => {
  await withBrokerLogs(cluster, async () => {
    const topic = 'txn-data';
    const transactionalId = 'tx-cluster';
    await createTopic(cluster, { topic, numPartitions: 3, replicationFactor: 3 });
    const leaders = await Promise.all([0, 1, 2].map(async (p) => (await waitForPartition(cluster, topic, p, (v) => v.leader >= 0 && v.isr.length === 3, 'a leader and a full ISR')).leader));
    const txnCoordinator = await coordinatorFor(TRANSACTION_KEY, transactionalId);
    // The point of the test: data partitions (and the offsets' group) led by brokers other than the transaction coordinator.
    assert.ok(leaders.some((l) => l !== txnCoordinator), `leaders ${leaders} vs coordinator ${txnCoordinator}`);
    let offsetsGroup = '';
    for (let i = 0; offsetsGroup === '' && i < 20; i++) {
      if ((await coordinatorFor(GROUP_KEY, `txn-offsets-${i}`)) !== txnCoordinator) offsetsGroup = `txn-offsets-${i}`;
    }
    assert.notEqual(offsetsGroup, '', 'no group found whose coordinator differs from the transaction coordinator');

    const kafka = new Kafka({
      brokers: cluster.bootstrapServers.split(','),
      clientId: 'cluster-txn',
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 2000 },
    });
    const records = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `${prefix}-${i}` }));
    const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const committed = await producer.transaction();
      await committed.send({ topic, messages: records('commit', 30) });
      await committed.sendOffsets({ consumerGroupId: offsetsGroup, topics: [{ topic, partitions: [{ partition: 0, offset: '5' }] }] });
      await committed.commit();
      const aborted = await producer.transaction();
      await aborted.send({ topic, messages: records('abort', 30) });
      await aborted.sendOffsets({ consumerGroupId: offsetsGroup, topics: [{ topic, partitions: [{ partition: 0, offset: '9' }] }] });
      await aborted.abort();
      // Readable only once every partition got the abort's marker (the last stable offset passes the aborted records).
      const after = await producer.transaction();
      await after.send({ topic, messages: records('after', 9) });
      await after.commit();
    } finally {
      await producer.disconnect();
    }

    const read = async (readUncommitted: boolean, expected: number): Promise<string[]> => {
      const got: string[] = [];
      const consumer = kafka.consumer({ groupId: `txn-reader-${readUncommitted}`, readUncommitted, maxWaitTimeInMs: 200 });
      await consumer.connect();
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ message }) => {
            got.push(message.value!.toString());
          },
        });
        await waitFor(() => got.length >= expected, { timeoutMs: 30_000, intervalMs: 100, what: `${expected} records (have ${got.length})` });
        // Time for records that should not be seen to show up, were they (wrongly) visible.
        await new Promise((resolve) => setTimeout(resolve, 1000));
      } finally {
        await consumer.disconnect();
      }
      return got.sort();
    };
    const expected = [...records('commit', 30), ...records('after', 9)].map((r) => r.value).sort();
    assert.deepEqual(await read(false, expected.length), expected);
    // The aborted records were written (and are filtered by read_committed, not lost on the way).
    assert.equal((await read(true, 69)).filter((v) => v.startsWith('abort-')).length, 30);

    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchOffsets({ groupId: offsetsGroup, topics: [topic] });
      assert.equal(offsets[0]!.partitions.find((p) => p.partition === 0)?.offset, '5');
    } finally {
      await admin.disconnect();
    }
  });
});

test('confluent-kafka-python consume-transform-produce across brokers: output and group offsets follow the committed transactions only', { skip: skip || skipPython }, async () => {
  await withBrokerLogs(cluster, async () => {
    const partitions = 3;
    const perPartition = 100;
    const [input, output, group] = ['ck-in', 'ck-out', 'ck-ctp'];
    await createTopic(cluster, { topic: input, numPartitions: partitions, replicationFactor: 3 });
    await createTopic(cluster, { topic: output, numPartitions: partitions, replicationFactor: 3 });
    const kafka = new Kafka({ brokers: cluster.bootstrapServers.split(','), logLevel: logLevel.NOTHING });
    const plain = kafka.producer();
    await plain.connect();
    try {
      const messages = [];
      for (let p = 0; p < partitions; p++) for (let i = 0; i < perPartition; i++) messages.push({ partition: p, value: `in-${p}-${i}` });
      await plain.send({ topic: input, acks: -1, messages });
    } finally {
      await plain.disconnect();
    }
    const bootstrap = cluster.bootstrapServers;
    const r = await runPython<{ done: boolean; aborts: number; errors: string[] }>(
      PY_SCRIPT,
      'ctp',
      bootstrap,
      { input, output, group, transactional_id: 'ck-ctp-tx', partitions, expected: perPartition, abort_every: 3, batch: 40, timeout_s: 60 },
      90_000,
    );
    assert.deepEqual(r.errors, []);
    assert.ok(r.done && r.aborts >= 1, JSON.stringify(r));
    const read = await runPython<{ values: Record<string, string[]> }>(PY_SCRIPT, 'consume', bootstrap, { topic: output, partitions, isolation: 'read_committed' }, 60_000);
    for (let p = 0; p < partitions; p++) {
      assert.deepEqual(read.values[String(p)], Array.from({ length: perPartition }, (_, i) => `out:in-${p}-${i}`), `partition ${p}`);
    }
    const offsets = await runPython<{ offsets: Record<string, number> }>(PY_SCRIPT, 'committed', bootstrap, { group, topic: input, partitions });
    assert.deepEqual(offsets.offsets, { '0': perPartition, '1': perPartition, '2': perPartition });
  });
});
