import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createDescribeClusterHandler,
  createDescribeLogDirsHandler,
  createDescribeTopicPartitionsHandler,
} from '../../../src/broker/handlers/cluster.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import type { DescribeTopicPartitionsResponse } from '../../../src/protocol/messages/describe-topic-partitions.js';
import { ZERO_UUID } from '../../../src/protocol/primitives.js';
import { buildBatch } from '../../../src/protocol/records/index.js';
import { call, versionsOf, withFixture, type AdminFixture } from './admin-fixture.js';

const INT32_MIN = -2147483648;

async function createTopic(f: AdminFixture, name: string, partitions: number) {
  await f.controller.createTopic({ name, numPartitions: partitions, replicationFactor: 1, configs: {} }, false);
}

test('DescribeCluster lists the brokers with the endpoint of the client\'s listener', async () => {
  await withFixture(
    async (f) => {
      const handler = createDescribeClusterHandler(f);
      assert.deepEqual([handler.minVersion, handler.maxVersion], [0, 1]);
      for (const v of versionsOf(handler)) {
        const res = await call(handler, v, v >= 1 ? { includeClusterAuthorizedOperations: false, endpointType: 1 } : { includeClusterAuthorizedOperations: false });
        assert.deepEqual(
          [res.errorCode, res.errorMessage, res.clusterId, res.controllerId, res.clusterAuthorizedOperations],
          [ErrorCode.NONE, null, f.controller.clusterId, 1, INT32_MIN],
        );
        assert.deepEqual(res.brokers, [{ brokerId: 1, host: '127.0.0.1', port: 19092, rack: 'rack-a' }]);
        if (v >= 1) assert.equal(res.endpointType, 1);
      }
      const internal = await call(handler, 1, { includeClusterAuthorizedOperations: true, endpointType: 1 }, 'INTERNAL');
      assert.deepEqual(internal.brokers.map((b) => b.port), [19093]);
      const ops = internal.clusterAuthorizedOperations;
      for (const op of [5, 7, 8, 9, 10, 11, 12]) assert.ok(ops & (1 << op), `operation ${op} allowed`);
      assert.equal(ops & (1 << 3), 0, 'READ is not a cluster operation');
    },
    {
      listeners: 'PLAINTEXT://127.0.0.1:19092,INTERNAL://127.0.0.1:19093',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT',
      'broker.rack': 'rack-a',
    },
  );
});

test('DescribeCluster refuses controller and unknown endpoint types', async () => {
  await withFixture(async (f) => {
    const handler = createDescribeClusterHandler(f);
    const controllers = await call(handler, 1, { includeClusterAuthorizedOperations: false, endpointType: 2 });
    assert.equal(controllers.errorCode, ErrorCode.MISMATCHED_ENDPOINT_TYPE);
    assert.match(controllers.errorMessage!, /endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER/);
    assert.deepEqual([controllers.brokers, controllers.endpointType], [[], 2]);
    const unknown = await call(handler, 1, { includeClusterAuthorizedOperations: false, endpointType: 5 });
    assert.equal(unknown.errorCode, ErrorCode.UNSUPPORTED_ENDPOINT_TYPE);
  });
});

test('DescribeLogDirs lists every log directory with its partitions and sizes at every version', async () => {
  await withFixture(async (f) => {
    await createTopic(f, 'orders', 2);
    await createTopic(f, 'audit', 1);
    await f.replicaManager.leaderPartition('orders', 1).appendAsLeader(buildBatch([{ value: 'x'.repeat(100) }]));
    const handler = createDescribeLogDirsHandler(f);
    assert.deepEqual([handler.minVersion, handler.maxVersion], [0, 4]);
    for (const v of versionsOf(handler)) {
      const res = await call(handler, v, { topics: null });
      assert.equal(res.results.length, 1);
      const dir = res.results[0]!;
      assert.equal(dir.errorCode, ErrorCode.NONE);
      assert.equal(dir.logDir, f.logDir);
      assert.deepEqual(
        dir.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.offsetLag, p.isFutureKey])]),
        [
          ['audit', [[0, 0n, false]]],
          ['orders', [[0, 0n, false], [1, 0n, false]]],
        ],
      );
      const sizes = dir.topics[1]!.partitions.map((p) => p.partitionSize);
      assert.equal(sizes[0], 0n);
      assert.equal(sizes[1], BigInt(f.replicaManager.getPartition('orders', 1)!.log.sizeInBytes));
      assert.ok(sizes[1]! > 100n);
      if (v >= 3) assert.equal(res.errorCode, ErrorCode.NONE);
      if (v >= 4) {
        assert.ok(dir.totalBytes! > 0n, 'total bytes of the volume');
        assert.ok(dir.usableBytes! >= 0n && dir.usableBytes! <= dir.totalBytes!);
      }
    }

    const some = await call(handler, 2, { topics: [{ topic: 'orders', partitions: [1, 5] }, { topic: 'ghost', partitions: [0] }] });
    assert.deepEqual(
      some.results[0]!.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionIndex)]),
      [['orders', [1]]],
    );
    const none = await call(handler, 4, { topics: [] });
    assert.deepEqual(none.results[0]!.topics, []);
  });
});

test('DescribeLogDirs v4 reports -1 when the volume cannot be measured', async () => {
  await withFixture(async (f) => {
    const handler = createDescribeLogDirsHandler(f, {
      volumeSpace: async () => {
        throw new Error('ENOSYS');
      },
    });
    const res = await call(handler, 4, { topics: null });
    assert.deepEqual([res.results[0]!.errorCode, res.results[0]!.totalBytes, res.results[0]!.usableBytes], [0, -1n, -1n]);
  });
});

function summary(res: DescribeTopicPartitionsResponse) {
  return {
    topics: res.topics.map((t) => [t.name, t.errorCode, t.partitions.map((p) => p.partitionIndex)]),
    next: res.nextCursor && [res.nextCursor.topicName, res.nextCursor.partitionIndex],
  };
}

test('DescribeTopicPartitions describes topics in name order with leaders, replicas and ISR', async () => {
  await withFixture(async (f) => {
    await createTopic(f, 'beta', 2);
    await createTopic(f, 'alpha', 1);
    const handler = createDescribeTopicPartitionsHandler(f);
    assert.deepEqual([handler.minVersion, handler.maxVersion], [0, 0]);
    const res = await call(handler, 0, { topics: [], responsePartitionLimit: 2000, cursor: null });
    assert.deepEqual(summary(res), { topics: [['alpha', 0, [0]], ['beta', 0, [0, 1]]], next: null });
    const beta = res.topics[1]!;
    assert.equal(beta.topicId, f.controller.topic('beta')!.topicId);
    assert.equal(beta.isInternal, false);
    assert.notEqual(beta.topicAuthorizedOperations, INT32_MIN);
    assert.deepEqual(beta.partitions[1], {
      errorCode: 0,
      partitionIndex: 1,
      leaderId: 1,
      leaderEpoch: 0,
      replicaNodes: [1],
      isrNodes: [1],
      eligibleLeaderReplicas: [],
      lastKnownElr: [],
      offlineReplicas: [],
    });

    const named = await call(handler, 0, {
      topics: [{ name: 'beta' }, { name: 'ghost' }, { name: 'bad name' }],
      responsePartitionLimit: 2000,
      cursor: null,
    });
    assert.deepEqual(summary(named), {
      topics: [
        ['bad name', ErrorCode.INVALID_TOPIC_EXCEPTION, []],
        ['beta', 0, [0, 1]],
        ['ghost', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []],
      ],
      next: null,
    });
    assert.equal(named.topics[2]!.topicId, ZERO_UUID);
  });
});

test('DescribeTopicPartitions pages with response_partition_limit and cursors', async () => {
  await withFixture(async (f) => {
    await createTopic(f, 'a', 3);
    await createTopic(f, 'b', 2);
    await createTopic(f, 'c', 1);
    const handler = createDescribeTopicPartitionsHandler(f);
    const page = (limit: number, cursor: [string, number] | null) =>
      call(handler, 0, {
        topics: [],
        responsePartitionLimit: limit,
        cursor: cursor && { topicName: cursor[0], partitionIndex: cursor[1] },
      }).then(summary);

    assert.deepEqual(await page(2, null), { topics: [['a', 0, [0, 1]]], next: ['a', 2] });
    assert.deepEqual(await page(2, ['a', 2]), { topics: [['a', 0, [2]], ['b', 0, [0]]], next: ['b', 1] });
    assert.deepEqual(await page(2, ['b', 1]), { topics: [['b', 0, [1]], ['c', 0, [0]]], next: null });
    assert.deepEqual(await page(3, null), { topics: [['a', 0, [0, 1, 2]]], next: ['b', 0] }, 'a page ending at a topic boundary points at the next topic');
    assert.deepEqual(await page(0, null), { topics: [['a', 0, [0]]], next: ['a', 1] }, 'the limit is at least 1');

    const badCursor = await call(handler, 0, {
      topics: [{ name: 'a' }],
      responsePartitionLimit: 10,
      cursor: { topicName: 'b', partitionIndex: 0 },
    });
    assert.deepEqual(summary(badCursor), { topics: [['a', ErrorCode.INVALID_REQUEST, []]], next: null });
    const negative = await call(handler, 0, { topics: [{ name: 'a' }], responsePartitionLimit: 10, cursor: { topicName: 'a', partitionIndex: -1 } });
    assert.equal(negative.topics[0]!.errorCode, ErrorCode.INVALID_REQUEST);
  });
});
