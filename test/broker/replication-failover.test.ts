/**
 * Leader changes between in-process brokers: a follower that wrote records
 * the new leader never had truncates them through OffsetForLeaderEpoch and
 * then copies the new leader; the leader epoch checkpoint survives restarts;
 * an idempotent producer's retries are recognised by a follower promoted to
 * leader.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/api-table.js';
import { LEADER_EPOCH_CHECKPOINT } from '../../src/storage/leader-epoch-cache.js';
import { waitFor } from '../helpers/broker.js';
import { ReplicationHarness, connectTo, logBytes, produce, recordsBatch } from '../helpers/replication-harness.js';

const FAST = { 'replica.fetch.wait.max.ms': 100, 'replica.fetch.backoff.ms': 100 };

async function withHarness(brokers: number, fn: (h: ReplicationHarness) => Promise<void>, config: Record<string, unknown> = {}): Promise<void> {
  const h = await ReplicationHarness.start({ brokers, config: { ...FAST, ...config } });
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

async function produceTo(h: ReplicationHarness, id: number, topic: string, records: Buffer, acks: number) {
  const conn = await connectTo(h, id);
  try {
    return await produce(conn, topic, 0, records, acks);
  } finally {
    conn.close();
  }
}

test('a follower holding records the new leader never had truncates them by leader epoch, then copies the new leader', () =>
  withHarness(2, async (h) => {
    await h.createTopic('diverge', [[1, 2]]);
    assert.equal((await produceTo(h, 1, 'diverge', recordsBatch(10, 'both'), -1)).errorCode, ErrorCode.NONE);
    assert.equal(h.log(2, 'diverge').logEndOffset, 10);

    // Broker 2 goes away; broker 1 takes 5 more records alone (acks=1): a tail only it has. Once
    // broker 2 is out of the ISR, broker 1's high watermark covers that tail too, so truncating to
    // the high watermark (the pre-epoch rule) would keep it: only the epochs tell it diverged.
    await h.stopBroker(2);
    for (let i = 0; i < 5; i++) assert.equal((await produceTo(h, 1, 'diverge', recordsBatch(1, `only-on-1-${i}`), 1)).errorCode, ErrorCode.NONE);
    assert.equal(h.log(1, 'diverge').logEndOffset, 15);
    await waitFor(() => h.log(1, 'diverge').highWatermark === 15, { what: 'broker 1 alone in the ISR, high watermark 15', timeoutMs: 5000 });

    // Broker 1 dies, broker 2 comes back and is elected (epoch 1) and writes 3 records of its own.
    await h.stopBroker(1);
    await h.startBroker(2);
    await h.electLeader('diverge', 0, 2, [2]);
    assert.deepEqual(h.log(2, 'diverge').leaderEpochEntries(), [
      { epoch: 0, startOffset: 0 },
      { epoch: 1, startOffset: 10 },
    ]);
    assert.equal((await produceTo(h, 2, 'diverge', recordsBatch(3, 'new-leader'), 1)).errorCode, ErrorCode.NONE);
    assert.equal(h.log(2, 'diverge').logEndOffset, 13);

    // Broker 1 returns as a follower: its offsets 10-14 (epoch 0) are cut at 10, where epoch 1 starts on the leader.
    await h.startBroker(1);
    await waitFor(async () => (await logBytes(h.log(1, 'diverge'))).equals(await logBytes(h.log(2, 'diverge'))), {
      what: "broker 1's log equal to the new leader's",
      timeoutMs: 10_000,
    });
    assert.equal(h.log(1, 'diverge').logEndOffset, 13);
    assert.deepEqual(h.log(1, 'diverge').leaderEpochEntries(), [
      { epoch: 0, startOffset: 0 },
      { epoch: 1, startOffset: 10 },
    ]);
    // Caught up, it rejoins the ISR and the high watermark covers everything.
    await waitFor(() => h.state('diverge').isr.length === 2, { what: 'broker 1 back in the ISR' });
    await waitFor(() => h.log(2, 'diverge').highWatermark === 13, { what: 'high watermark 13' });
    const checkpoint = join(h.broker(1).config.logDirs[0]!, 'diverge-0', LEADER_EPOCH_CHECKPOINT);
    assert.equal(await readFile(checkpoint, 'utf8'), '0\n2\n0 0\n1 10\n');
  }, { 'replica.lag.time.max.ms': 1000 }));

test('the leader epoch checkpoint survives a restart, on the leader and on a follower', () =>
  withHarness(2, async (h) => {
    await h.createTopic('epochs', [[1, 2]]);
    assert.equal((await produceTo(h, 1, 'epochs', recordsBatch(4, 'e0'), -1)).errorCode, ErrorCode.NONE);
    await h.electLeader('epochs', 0, 1, [1, 2]);
    assert.equal((await produceTo(h, 1, 'epochs', recordsBatch(4, 'e1'), -1)).errorCode, ErrorCode.NONE);
    await h.electLeader('epochs', 0, 2, [2, 1]);
    assert.equal((await produceTo(h, 2, 'epochs', recordsBatch(4, 'e2'), -1)).errorCode, ErrorCode.NONE);
    const expected = [
      { epoch: 0, startOffset: 0 },
      { epoch: 1, startOffset: 4 },
      { epoch: 2, startOffset: 8 },
    ];
    await waitFor(() => h.log(1, 'epochs').logEndOffset === 12, { what: 'broker 1 caught up' });
    for (const id of [1, 2]) assert.deepEqual(h.log(id, 'epochs').leaderEpochEntries(), expected);
    for (const id of [1, 2]) {
      await h.stopBroker(id);
      await h.startBroker(id);
      assert.deepEqual(h.log(id, 'epochs').leaderEpochEntries(), expected, `broker ${id} after its restart`);
      const text = await readFile(join(h.broker(id).config.logDirs[0]!, 'epochs-0', LEADER_EPOCH_CHECKPOINT), 'utf8');
      assert.equal(text, '0\n3\n0 0\n1 4\n2 8\n');
    }
  }));

test("an idempotent producer's retry is recognised by the follower promoted to leader", () =>
  withHarness(3, async (h) => {
    await h.createTopic('idem', [[1, 2, 3]]);
    const first = await connectTo(h, 1);
    const init = await first.request(ApiKey.InitProducerId, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
    assert.equal(init.errorCode, ErrorCode.NONE);
    const idem = (seq: number, tag: string) =>
      recordsBatch(2, tag, { producerId: init.producerId, producerEpoch: init.producerEpoch, baseSequence: seq });
    const offsets: bigint[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await produce(first, 'idem', 0, idem(i * 2, `i${i}`), -1);
      assert.equal(r.errorCode, ErrorCode.NONE);
      offsets.push(r.baseOffset);
    }
    first.close();
    // The leader dies before the producer heard of its last batch; broker 2 takes over.
    await h.stopBroker(1);
    await h.electLeader('idem', 0, 2, [2, 3]);
    const second = await connectTo(h, 2);
    try {
      const retry = await produce(second, 'idem', 0, idem(8, 'i4'), -1);
      assert.equal(retry.errorCode, ErrorCode.NONE);
      assert.equal(retry.baseOffset, offsets[4], 'the retry is answered with the original offset');
      assert.equal(h.log(2, 'idem').logEndOffset, 10, 'nothing appended twice');
      const gap = await produce(second, 'idem', 0, idem(14, 'gap'), -1);
      assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
      const next = await produce(second, 'idem', 0, idem(10, 'i5'), -1);
      assert.equal(next.errorCode, ErrorCode.NONE);
      assert.equal(next.baseOffset, 10n);
    } finally {
      second.close();
    }
  }));

test("a follower whose log ends before the leader's log start starts over at the leader's start (OFFSET_OUT_OF_RANGE)", () =>
  withHarness(
    2,
    async (h) => {
      await h.createTopic('moved-start', [[1, 2]]);
      assert.equal((await produceTo(h, 1, 'moved-start', recordsBatch(10, 'both'), -1)).errorCode, ErrorCode.NONE);
      await h.stopBroker(2);
      for (let i = 0; i < 10; i++) assert.equal((await produceTo(h, 1, 'moved-start', recordsBatch(1, `more${i}`), 1)).errorCode, ErrorCode.NONE);
      await waitFor(() => h.log(1, 'moved-start').highWatermark === 20, { what: 'broker 2 out of the ISR', timeoutMs: 5000 });
      const conn = await connectTo(h, 1);
      try {
        const deleted = await conn.request(ApiKey.DeleteRecords, {
          topics: [{ name: 'moved-start', partitions: [{ partitionIndex: 0, offset: 15n }] }],
          timeoutMs: 5000,
        });
        assert.equal(deleted.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
      } finally {
        conn.close();
      }
      assert.equal(h.log(1, 'moved-start').logStartOffset, 15);
      await h.startBroker(2);
      await waitFor(() => h.log(2, 'moved-start').logEndOffset === 20, { what: 'broker 2 caught up', timeoutMs: 10_000 });
      const follower = h.log(2, 'moved-start');
      assert.equal(follower.logStartOffset, 15);
      assert.ok((await logBytes(follower)).equals(await logBytes(h.log(1, 'moved-start'))));
      assert.deepEqual(follower.leaderEpochEntries(), [{ epoch: 0, startOffset: 15 }]);
    },
    { 'replica.lag.time.max.ms': 1000 },
  ));

test('StopReplica without deletion stops the fetcher and keeps the replica; the same state sent again resumes it', () =>
  withHarness(2, async (h) => {
    const topic = await h.createTopic('paused', [[1, 2]]);
    assert.equal((await produceTo(h, 1, 'paused', recordsBatch(3, 'a'), -1)).errorCode, ErrorCode.NONE);
    const follower = h.broker(2).replicaManager;
    const partition = follower.getPartition('paused', 0)!;
    await follower.stopReplicas(topic, [0], false);
    assert.equal(follower.fetchers.isFollowing(partition), false);
    assert.equal(follower.getPartition('paused', 0), partition, 'still hosted');
    assert.equal((await produceTo(h, 1, 'paused', recordsBatch(3, 'b'), 1)).errorCode, ErrorCode.NONE);
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(h.log(2, 'paused').logEndOffset, 3);
    await follower.applyPartitionStates(h.topic('paused')!, [h.state('paused')]);
    assert.equal(follower.fetchers.isFollowing(partition), true);
    await waitFor(() => h.log(2, 'paused').logEndOffset === 6, { what: 'broker 2 fetching again' });
  }));
