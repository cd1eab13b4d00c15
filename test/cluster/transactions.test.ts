/**
 * Transactions across three broker processes: __transaction_state is created
 * replicated (RF 3, min ISR 2) and FindCoordinator for a transactional id
 * answered by any broker names the leader of the id's partition. A kafkajs
 * transactional producer whose coordinator and partitions are on different
 * brokers does not work yet (marked todo below).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { Admin } from '../../src/client/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/api-table.js';
import { waitFor } from '../helpers/broker.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';
import { skipUnlessZooKeeper } from '../helpers/zookeeper.js';

const { Kafka, logLevel } = kafkajs;
const skip = skipUnlessZooKeeper();
/** FindCoordinator key type of transactional ids. */
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

// Not yet: the partition leader checks a transactional batch against its own transaction coordinator
// and the coordinator writes markers in process only, so a transaction whose coordinator and
// partitions sit on different brokers is refused (Produce answers NOT_COORDINATOR).
const CROSS_BROKER_TRANSACTIONS = 'transactions across brokers need AddPartitionsToTxn verification and WriteTxnMarkers between brokers';

test('kafkajs transactions: committed records are read, aborted ones are not', { skip, todo: CROSS_BROKER_TRANSACTIONS }, async () => {
  const topic = 'txn-data';
  const admin = new Admin({ 'bootstrap.servers': cluster.bootstrapServers });
  try {
    await admin.createTopics([{ topic, numPartitions: 3, replicationFactor: 3 }]);
  } finally {
    await admin.close();
  }
  const kafka = new Kafka({
    brokers: cluster.bootstrapServers.split(','),
    clientId: 'cluster-txn',
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 2000 },
  });
  const producer = kafka.producer({ transactionalId: 'tx-cluster', idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const committed = await producer.transaction();
    await committed.send({ topic, messages: Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `commit-${i}` })) });
    await committed.commit();
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `abort-${i}` })) });
    await aborted.abort();
  } finally {
    await producer.disconnect();
  }

  const got: string[] = [];
  const consumer = kafka.consumer({ groupId: 'txn-reader', readUncommitted: false, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        got.push(message.value!.toString());
      },
    });
    await waitFor(() => got.length >= 30, { timeoutMs: 30_000, intervalMs: 100, what: `30 committed records (have ${got.length})` });
    // Time for aborted records to show up, were they (wrongly) visible.
    await new Promise((resolve) => setTimeout(resolve, 1000));
  } finally {
    await consumer.disconnect();
  }
  assert.deepEqual(got.sort(), Array.from({ length: 30 }, (_, i) => `commit-${i}`).sort());
});
