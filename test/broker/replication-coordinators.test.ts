/**
 * Coordinators follow partition leadership: when this broker becomes leader
 * of a __consumer_offsets / __transaction_state partition it loads it at
 * once (from its replicated copy), and when it stops leading it unloads it,
 * so leadership coming back later loads what the other leader wrote.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BrokerConnection } from '../../src/client/connection.js';
import { groupCoordinatorFor } from '../../src/broker/handlers/groups.js';
import { transactionCoordinatorFor } from '../../src/broker/handlers/transactions.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/api-table.js';
import { waitFor } from '../helpers/broker.js';
import { ReplicationHarness, connectTo } from '../helpers/replication-harness.js';

const CONFIG = {
  'replica.fetch.wait.max.ms': 100,
  'offsets.topic.replication.factor': 2,
  'transaction.state.log.replication.factor': 2,
  'transaction.state.log.num.partitions': 1,
  'transaction.state.log.min.isr': 1,
};

async function commit(conn: BrokerConnection, offset: number): Promise<number> {
  const response = await conn.request(
    ApiKey.OffsetCommit,
    {
      groupId: 'g',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [{ name: 'data', partitions: [{ partitionIndex: 0, committedOffset: BigInt(offset), committedLeaderEpoch: -1, committedMetadata: null }] }],
    },
    { version: 7 },
  );
  return response.topics[0]!.partitions[0]!.errorCode;
}

async function fetchCommitted(conn: BrokerConnection): Promise<{ errorCode: number; offset: number }> {
  const response = await conn.request(ApiKey.OffsetFetch, { groupId: 'g', topics: [{ name: 'data', partitionIndexes: [0] }] }, { version: 7 });
  const p = response.topics?.[0]?.partitions[0];
  return { errorCode: response.errorCode ?? ErrorCode.NONE, offset: Number(p?.committedOffset ?? -1n) };
}

test('the group coordinator loads __consumer_offsets where it becomes leader and unloads it where it stops', async () => {
  const h = await ReplicationHarness.start({ brokers: 2, config: CONFIG });
  const conns: BrokerConnection[] = [];
  try {
    await h.createTopic('data', [[1, 2]]);
    const one = await connectTo(h, 1);
    const two = await connectTo(h, 2);
    conns.push(one, two);
    // The first commit creates __consumer_offsets (replicas 1, 2; broker 1 leads) and waits for its replication.
    assert.equal(await commit(one, 42), ErrorCode.NONE);
    assert.deepEqual(h.state('__consumer_offsets').replicas, [1, 2]);
    assert.equal((await fetchCommitted(one)).offset, 42);
    assert.equal((await fetchCommitted(two)).errorCode, ErrorCode.NOT_COORDINATOR);

    await h.electLeader('__consumer_offsets', 0, 2);
    // Loaded on election, before any request reaches broker 2.
    await waitFor(() => groupCoordinatorFor(h.broker(2).services).isLoaded(0), { what: 'broker 2 loaded the partition' });
    assert.equal(groupCoordinatorFor(h.broker(1).services).isLoaded(0), false);
    assert.deepEqual(await fetchCommitted(two), { errorCode: ErrorCode.NONE, offset: 42 });
    assert.equal(await commit(two, 43), ErrorCode.NONE);

    // Leadership comes back to broker 1 without a request in between: it loads broker 2's commit.
    await h.electLeader('__consumer_offsets', 0, 1);
    await waitFor(() => groupCoordinatorFor(h.broker(1).services).isLoaded(0), { what: 'broker 1 loaded the partition again' });
    assert.deepEqual(await fetchCommitted(one), { errorCode: ErrorCode.NONE, offset: 43 });
    assert.equal((await fetchCommitted(two)).errorCode, ErrorCode.NOT_COORDINATOR);
  } finally {
    for (const c of conns) c.close();
    await h.close();
  }
});

test('the transaction coordinator loads __transaction_state where it becomes leader: a transactional id keeps its producer id and epoch', async () => {
  const h = await ReplicationHarness.start({ brokers: 2, config: CONFIG });
  const conns: BrokerConnection[] = [];
  try {
    const one = await connectTo(h, 1);
    const two = await connectTo(h, 2);
    conns.push(one, two);
    const find = await one.request(ApiKey.FindCoordinator, { key: 'tx', keyType: 1 }, { version: 3 });
    assert.equal(find.errorCode, ErrorCode.NONE);
    assert.equal(find.nodeId, 1);
    const init = (conn: BrokerConnection) =>
      conn.request(ApiKey.InitProducerId, { transactionalId: 'tx', transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 }, { version: 3 });
    const first = await init(one);
    assert.equal(first.errorCode, ErrorCode.NONE);

    await h.electLeader('__transaction_state', 0, 2);
    await waitFor(() => transactionCoordinatorFor(h.broker(2).services).isLoaded(0), { what: 'broker 2 loaded __transaction_state' });
    assert.equal(transactionCoordinatorFor(h.broker(1).services).isLoaded(0), false);
    const second = await init(two);
    assert.equal(second.errorCode, ErrorCode.NONE);
    assert.equal(second.producerId, first.producerId, 'the same producer id: the state came from the replicated log');
    assert.equal(second.producerEpoch, first.producerEpoch + 1);
    assert.equal((await init(one)).errorCode, ErrorCode.NOT_COORDINATOR);
  } finally {
    for (const c of conns) c.close();
    await h.close();
  }
});
