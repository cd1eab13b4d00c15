/**
 * Transactional offsets in __consumer_offsets (TxnOffsetCommit): the group
 * coordinator's replay applies them only when their transaction's COMMIT
 * marker follows, drops them on ABORT and leaves open transactions out;
 * materializeTransactionalOffsets makes committed ones visible at once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupCoordinator, encodeOffsetCommitKey, encodeOffsetCommitValue, offsetKey } from '../../../src/coordinator/index.js';
import { buildBatch, buildTxnMarkerBatch } from '../../../src/protocol/records/index.js';
import { FakeScheduler, MemoryHost, TEST_CONFIG, makeCoordinator } from '../fakes.js';

function txnOffsets(group: string, producerId: bigint, offsets: Array<[string, number, number]>): Buffer {
  return buildBatch(
    offsets.map(([topic, partition, offset]) => ({
      key: encodeOffsetCommitKey(group, topic, partition),
      value: encodeOffsetCommitValue({ offset, leaderEpoch: -1, metadata: '', commitTimestamp: 1000, expireTimestamp: null }),
    })),
    { producerId, producerEpoch: 0, transactional: true },
  );
}

const marker = (producerId: bigint, commit: boolean) => buildTxnMarkerBatch({ commit, coordinatorEpoch: 0, producerId, producerEpoch: 0 });

test('replay applies committed transactional offsets, drops aborted ones and leaves open ones out', async () => {
  const { host, coordinator } = await makeCoordinator();
  const p = coordinator.partitionFor('g');
  const log = host.logs.get(p)!;
  await coordinator.commitOffsets({ groupId: 'g', memberId: '', groupInstanceId: null, generationId: -1, apiVersion: 8, entries: [{ topic: 'orders', partition: 0, offset: 5, leaderEpoch: -1, metadata: null, commitTimestamp: -1, expireTimestamp: null }] });
  await log.append(txnOffsets('g', 1n, [['orders', 0, 10], ['orders', 1, 11]]));
  await log.append(txnOffsets('g', 2n, [['orders', 2, 99]]));
  await log.append(marker(1n, true));
  await log.append(marker(2n, false));
  await log.append(txnOffsets('g', 3n, [['orders', 3, 33]])); // still open
  const scheduler = new FakeScheduler();
  const restarted = new GroupCoordinator({ host, scheduler, config: TEST_CONFIG });
  restarted.startup();
  await restarted.onBecomeLeader(p);
  const offsets = restarted.getGroup('g')!.offsets;
  assert.equal(offsets.get(offsetKey('orders', 0))?.offset, 10, 'committed in the transaction');
  assert.equal(offsets.get(offsetKey('orders', 1))?.offset, 11);
  assert.equal(offsets.has(offsetKey('orders', 2)), false, 'aborted');
  assert.equal(offsets.has(offsetKey('orders', 3)), false, 'transaction still open');
  await restarted.materializeTransactionalOffsets('g', new Map([[offsetKey('orders', 3), { offset: 33, leaderEpoch: -1, metadata: '', commitTimestamp: 1000, expireTimestamp: null }]]));
  assert.equal(restarted.getGroup('g')!.offsets.get(offsetKey('orders', 3))?.offset, 33);
  const fetched = await restarted.fetchOffsets('g', [{ topic: 'orders', partition: 3 }], false);
  assert.equal(fetched.offsets[0]!.offset, 33);
  restarted.close();
  coordinator.close();
});

test('materializeTransactionalOffsets creates the group when it has no state yet', async () => {
  const host = new MemoryHost(3);
  const { coordinator } = await makeCoordinator({ host });
  await coordinator.materializeTransactionalOffsets('fresh', new Map([[offsetKey('orders', 0), { offset: 7, leaderEpoch: 3, metadata: 'm', commitTimestamp: 1, expireTimestamp: null }]]));
  const fetched = await coordinator.fetchOffsets('fresh', [{ topic: 'orders', partition: 0 }], false);
  assert.deepEqual(fetched.offsets[0], { topic: 'orders', partition: 0, offset: 7, leaderEpoch: 3, metadata: 'm', errorCode: 0 });
  coordinator.close();
});
