/**
 * The follower's pure rules: where to truncate given the leader's
 * OffsetForLeaderEpoch answer (Kafka's getOffsetTruncationState), which
 * fetched bytes may be appended, and which fetcher follows a partition.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fetcherIdFor } from '../../src/broker/replication/replica-fetcher-manager.js';
import { checkFetchedRecords } from '../../src/broker/replication/fetched-records.js';
import { truncationDecision, type FollowerLogView } from '../../src/broker/replication/truncation.js';
import { LeaderEpochCache } from '../../src/storage/leader-epoch-cache.js';
import { withTempDir } from '../storage/make-batch.js';
import { recordsBatch } from '../helpers/replication-harness.js';

async function follower(dir: string, entries: Array<[number, number]>, logEndOffset: number, highWatermark: number): Promise<FollowerLogView> {
  const cache = await LeaderEpochCache.load(dir);
  for (const [epoch, start] of entries) cache.assign(epoch, start);
  return { logEndOffset, highWatermark, endOffsetForEpoch: (epoch) => cache.endOffsetFor(epoch, logEndOffset) };
}

test('truncation: the follower knows the epoch the leader answered with', () =>
  withTempDir(async (dir) => {
    // Follower: epoch 1 from 0, epoch 2 from 10, log end 15. Leader: epoch 2 ended at 12.
    const f = await follower(dir, [[1, 0], [2, 10]], 15, 5);
    assert.deepEqual(truncationDecision({ epoch: 2, endOffset: 12 }, f), { offset: 12, complete: true });
    // The leader's epoch 2 went further than ours: nothing to cut.
    assert.deepEqual(truncationDecision({ epoch: 2, endOffset: 30 }, f), { offset: 15, complete: true });
    // Leader answered epoch 1 ending at 8 (its epoch 2 never existed): cut at 8.
    assert.deepEqual(truncationDecision({ epoch: 1, endOffset: 8 }, f), { offset: 8, complete: true });
  }));

test('truncation: the follower does not know the epoch the leader answered with: cut to its own end of the epoch below, ask again', () =>
  withTempDir(async (dir) => {
    // Follower: epochs 1 (from 0) and 3 (from 10); the leader answers epoch 2 ending at 14.
    const f = await follower(dir, [[1, 0], [3, 10]], 20, 0);
    assert.deepEqual(truncationDecision({ epoch: 2, endOffset: 14 }, f), { offset: 10, complete: false });
  }));

test('truncation: the leader has no such epoch, or no epochs at all', () =>
  withTempDir(async (dir) => {
    const f = await follower(dir, [[4, 0]], 20, 7);
    // UNDEFINED offset: only the high watermark is known to be committed.
    assert.deepEqual(truncationDecision({ epoch: -1, endOffset: -1 }, f), { offset: 7, complete: true });
    // An offset without an epoch (a leader without epochs): min of both ends.
    assert.deepEqual(truncationDecision({ epoch: -1, endOffset: 12 }, f), { offset: 12, complete: true });
    // The leader answered an epoch older than all of ours: both agree up to its end at most.
    assert.deepEqual(truncationDecision({ epoch: 2, endOffset: 9 }, f), { offset: 0, complete: true });
  }));

test('fetched records: whole batches with good CRCs are kept; a cut tail or a damaged batch stops the data there', () => {
  const a = recordsBatch(3, 'a', { baseOffset: 0 });
  const b = recordsBatch(2, 'b', { baseOffset: 3 });
  const whole = Buffer.concat([a, b]);
  assert.deepEqual(checkFetchedRecords(whole), { records: whole, problem: null });
  const cut = checkFetchedRecords(whole.subarray(0, whole.length - 5));
  assert.ok(cut.records.equals(a));
  assert.equal(cut.problem, null);
  const damaged = Buffer.from(whole);
  damaged[a.length + b.length - 3]! ^= 0xff;
  const bad = checkFetchedRecords(damaged);
  assert.ok(bad.records.equals(a));
  assert.match(bad.problem ?? '', /CRC/);
  assert.deepEqual(checkFetchedRecords(Buffer.alloc(0)).records.length, 0);
});

test("fetcher ids follow Kafka's hash of topic and partition", () => {
  // Java: abs(31 * "orders".hashCode() + 3) % 4, with "orders".hashCode() = -1008770331.
  assert.equal(fetcherIdFor('orders', 3, 4), Math.abs((Math.imul(31, -1008770331) + 3) | 0) % 4);
  assert.equal(fetcherIdFor('orders', 3, 1), 0);
  const ids = new Set(Array.from({ length: 16 }, (_, p) => fetcherIdFor('t', p, 3)));
  assert.deepEqual([...ids].sort(), [0, 1, 2]);
});
