import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  LEADER_EPOCH_CHECKPOINT,
  LeaderEpochCache,
  formatLeaderEpochCheckpoint,
  parseLeaderEpochCheckpoint,
} from '../../src/storage/leader-epoch-cache.js';
import { makeBatch, makeRecords, parseBatches, withTempDir } from './make-batch.js';
import { batch, openLog, smallConfig } from './helpers.js';

async function cacheWith(dir: string, entries: Array<[number, number]>): Promise<LeaderEpochCache> {
  const cache = await LeaderEpochCache.load(dir);
  for (const [epoch, start] of entries) cache.assign(epoch, start);
  return cache;
}

const list = (cache: LeaderEpochCache) => cache.all().map((e) => [e.epoch, e.startOffset]);

test('the checkpoint text is Kafka\'s: version, count, "epoch startOffset" lines', () => {
  const text = formatLeaderEpochCheckpoint([
    { epoch: 0, startOffset: 0 },
    { epoch: 3, startOffset: 1200 },
  ]);
  assert.equal(text, '0\n2\n0 0\n3 1200\n');
  assert.deepEqual(parseLeaderEpochCheckpoint(text), [
    { epoch: 0, startOffset: 0 },
    { epoch: 3, startOffset: 1200 },
  ]);
  assert.deepEqual(parseLeaderEpochCheckpoint('0\n0\n'), []);
  for (const bad of ['', '1\n0\n', '0\n2\n0 0\n', '0\n1\n0\n', '0\n1\nx 0\n', '0\n2\n3 10\n2 20\n', '0\n2\n1 10\n2 5\n']) {
    assert.throws(() => parseLeaderEpochCheckpoint(bad), /corrupt/, JSON.stringify(bad));
  }
});

test('assign keeps epochs and offsets increasing, dropping a truncated past', () =>
  withTempDir(async (dir) => {
    const cache = await cacheWith(dir, [
      [1, 0],
      [1, 5], // same epoch later: no change
      [2, 10],
      [4, 20],
    ]);
    assert.deepEqual(list(cache), [
      [1, 0],
      [2, 10],
      [4, 20],
    ]);
    assert.equal(cache.assign(4, 25), false);
    // An older epoch (or a start at or before the last one) replaces what conflicts with it.
    assert.equal(cache.assign(3, 15), true);
    assert.deepEqual(list(cache), [
      [1, 0],
      [2, 10],
      [3, 15],
    ]);
    assert.equal(cache.assign(5, 10), true);
    assert.deepEqual(list(cache), [
      [1, 0],
      [5, 10],
    ]);
    assert.equal(cache.assign(-1, 30), false);
    assert.equal(cache.latestEpoch, 5);
    assert.equal(cache.latestStartOffset, 10);
  }));

test('endOffsetFor answers as Kafka\'s LeaderEpochFileCache', () =>
  withTempDir(async (dir) => {
    const empty = await LeaderEpochCache.load(dir);
    assert.deepEqual(empty.endOffsetFor(0, 10), { epoch: -1, endOffset: -1 });
    const cache = await cacheWith(dir, [
      [2, 5],
      [4, 20],
      [7, 30],
    ]);
    const leo = 42;
    // The latest epoch ends at the log end.
    assert.deepEqual(cache.endOffsetFor(7, leo), { epoch: 7, endOffset: 42 });
    // A known older epoch ends where the next one starts.
    assert.deepEqual(cache.endOffsetFor(2, leo), { epoch: 2, endOffset: 20 });
    assert.deepEqual(cache.endOffsetFor(4, leo), { epoch: 4, endOffset: 30 });
    // An epoch between entries: the largest epoch below it, ending at the next start.
    assert.deepEqual(cache.endOffsetFor(3, leo), { epoch: 2, endOffset: 20 });
    assert.deepEqual(cache.endOffsetFor(6, leo), { epoch: 4, endOffset: 30 });
    // Older than every entry: itself, ending where the first known epoch starts.
    assert.deepEqual(cache.endOffsetFor(1, leo), { epoch: 1, endOffset: 5 });
    // Newer than the latest, or undefined: UNDEFINED.
    assert.deepEqual(cache.endOffsetFor(8, leo), { epoch: -1, endOffset: -1 });
    assert.deepEqual(cache.endOffsetFor(-1, leo), { epoch: -1, endOffset: -1 });
  }));

test('truncation from the end and from the start', () =>
  withTempDir(async (dir) => {
    const cache = await cacheWith(dir, [
      [1, 0],
      [2, 10],
      [3, 20],
    ]);
    assert.equal(cache.truncateFromEnd(25), false);
    assert.equal(cache.truncateFromEnd(20), true);
    assert.deepEqual(list(cache), [
      [1, 0],
      [2, 10],
    ]);
    cache.assign(3, 20);
    assert.equal(cache.truncateFromStart(0), false);
    // The epoch covering the new start now starts there.
    assert.equal(cache.truncateFromStart(12), true);
    assert.deepEqual(list(cache), [
      [2, 12],
      [3, 20],
    ]);
    assert.equal(cache.truncateFromStart(20), true);
    assert.deepEqual(list(cache), [[3, 20]]);
    assert.equal(cache.truncateFromStart(30), true);
    assert.deepEqual(list(cache), [[3, 30]]);
    assert.equal(cache.clear(), true);
    assert.equal(cache.isEmpty, true);
  }));

test('flush writes the file atomically and load reads it back; a corrupt file loads empty', () =>
  withTempDir(async (dir) => {
    const cache = await cacheWith(dir, [
      [0, 0],
      [2, 7],
    ]);
    await cache.flush();
    const path = join(dir, LEADER_EPOCH_CHECKPOINT);
    assert.equal(await readFile(path, 'utf8'), '0\n2\n0 0\n2 7\n');
    assert.deepEqual(list(await LeaderEpochCache.load(dir)), [
      [0, 0],
      [2, 7],
    ]);
    await writeFile(path, '0\n3\n0 0\n');
    assert.deepEqual(list(await LeaderEpochCache.load(dir)), []);
  }));

// ---- in the partition log ------------------------------------------------

function epochBatch(count: number, epoch: number, baseOffset = 0): Buffer {
  return makeBatch(makeRecords(count, 20, 1_700_000_000_000, `e${epoch}-`), { partitionLeaderEpoch: epoch, baseOffset });
}

const checkpointOf = async (dir: string) => readFile(join(dir, LEADER_EPOCH_CHECKPOINT), 'utf8');

test('leader appends stamp the epoch and start a cache entry for each new epoch, on disk before the batch', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, smallConfig());
    assert.equal(log.latestEpoch, -1);
    await log.append(batch(3), { leaderEpoch: 0 });
    await log.append(batch(2), { leaderEpoch: 0 });
    await log.append(batch(4), { leaderEpoch: 3 });
    assert.deepEqual(log.leaderEpochEntries(), [
      { epoch: 0, startOffset: 0 },
      { epoch: 3, startOffset: 5 },
    ]);
    assert.equal(await checkpointOf(dir), '0\n2\n0 0\n3 5\n');
    assert.deepEqual(log.endOffsetForEpoch(0), { epoch: 0, endOffset: 5 });
    assert.deepEqual(log.endOffsetForEpoch(3), { epoch: 3, endOffset: 9 });
    // The epoch is in the stored batches.
    const stored = (await log.read(5, 1 << 20)).records;
    assert.equal(stored.readInt32BE(12), 3, 'partitionLeaderEpoch of the stored batch');
    await log.close();
  }));

test('follower appends take the epochs from the batches, several in one append', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, smallConfig());
    await log.appendAsFollower(Buffer.concat([epochBatch(2, 1, 0), epochBatch(2, 1, 2), epochBatch(3, 4, 4), epochBatch(1, 6, 7)]));
    assert.deepEqual(log.leaderEpochEntries(), [
      { epoch: 1, startOffset: 0 },
      { epoch: 4, startOffset: 4 },
      { epoch: 6, startOffset: 7 },
    ]);
    assert.equal(await checkpointOf(dir), '0\n3\n1 0\n4 4\n6 7\n');
    await log.close();
  }));

test('truncateTo, truncateFullyAndStartAt and a moving log start keep the cache in step', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, smallConfig({ segmentBytes: 1024 }));
    for (let i = 0; i < 10; i++) await log.append(batch(5, 40), { leaderEpoch: i < 5 ? 1 : 2 });
    for (let i = 0; i < 10; i++) await log.append(batch(5, 40), { leaderEpoch: 4 });
    assert.deepEqual(log.leaderEpochEntries(), [
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 25 },
      { epoch: 4, startOffset: 50 },
    ]);
    assert.equal(await log.truncateTo(50), true);
    assert.deepEqual(log.leaderEpochEntries(), [
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 25 },
    ]);
    assert.equal(await checkpointOf(dir), '0\n2\n1 0\n2 25\n');
    log.highWatermark = log.logEndOffset;
    await log.deleteRecordsBefore(30);
    assert.deepEqual(log.leaderEpochEntries(), [{ epoch: 2, startOffset: 30 }]);
    assert.equal(await checkpointOf(dir), '0\n1\n2 30\n');
    await log.assignEpochStartOffset(5);
    assert.deepEqual(log.leaderEpochEntries(), [
      { epoch: 2, startOffset: 30 },
      { epoch: 5, startOffset: 50 },
    ]);
    await log.truncateFullyAndStartAt(100);
    assert.deepEqual(log.leaderEpochEntries(), []);
    assert.equal(await checkpointOf(dir), '0\n0\n');
    await log.close();
  }));

test('the cache survives a restart and is cut to the log after crash recovery truncated it', () =>
  withTempDir(async (dir) => {
    const config = smallConfig({ segmentBytes: 1 << 20 });
    const log = await openLog(dir, config);
    await log.append(batch(3), { leaderEpoch: 1 });
    await log.append(batch(3), { leaderEpoch: 2 });
    await log.close();
    const reopened = await openLog(dir, config, { hadCleanShutdown: true, recoveryPoint: 6 });
    assert.deepEqual(reopened.leaderEpochEntries(), [
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 3 },
    ]);
    await reopened.append(batch(2), { leaderEpoch: 3 });
    // "Crash" and tear the epoch-3 batch: recovery cuts it, and the epoch goes with it.
    await reopened.closeForDeletion();
    const segment = join(dir, `${'0'.repeat(20)}.log`);
    const batches = parseBatches(await readFile(segment));
    await truncate(segment, batches.at(-1)!.position + 10);
    assert.equal(await checkpointOf(dir), '0\n3\n1 0\n2 3\n3 6\n');
    const recovered = await openLog(dir, config, { hadCleanShutdown: false, recoveryPoint: 0 });
    assert.equal(recovered.logEndOffset, 6);
    assert.deepEqual(recovered.leaderEpochEntries(), [
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 3 },
    ]);
    assert.equal(await checkpointOf(dir), '0\n2\n1 0\n2 3\n');
    await recovered.close();
  }));
