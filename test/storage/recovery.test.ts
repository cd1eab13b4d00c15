import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, readdirSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { parseBatches, withTempDir } from './make-batch.js';
import { assertContiguous, batch, openLog, readAll, smallConfig } from './helpers.js';

const config = smallConfig({ segmentBytes: 2048, indexIntervalBytes: 128 });

function segmentFiles(dir: string, suffix: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(suffix))
    .sort()
    .map((f) => join(dir, f));
}

/** Fills a log: `n` batches of 2 records, 2 segments' worth or more. Returns the log end offset. */
async function fill(log: PartitionLog, n: number, tag = 'x'): Promise<number> {
  for (let i = 0; i < n; i++) await log.append(batch(2, 70, 1_700_000_000_000 + i, `${tag}${i}-`));
  return log.logEndOffset;
}

/** "Crash": close the files without flushing, final index entries or checkpoints. */
async function crash(log: PartitionLog): Promise<void> {
  await log.closeForDeletion();
}

async function reopenAfterCrash(dir: string, recoveryPoint = 0): Promise<PartitionLog> {
  return openLog(dir, config, { hadCleanShutdown: false, recoveryPoint });
}

/** Checks the log reads back contiguously and that appends continue at its end. */
async function assertHealthy(log: PartitionLog, end: number): Promise<void> {
  assert.equal(log.logEndOffset, end);
  assertContiguous(await readAll(log), log.logStartOffset, end);
  for (let o = log.logStartOffset; o < end; o += 3) {
    const [b] = parseBatches((await log.read(o, 1)).records);
    assert.ok(b!.baseOffset <= o && o <= b!.lastOffset, `lookup of ${o}`);
  }
  const r = await log.append(batch(2, 10));
  assert.equal(r.baseOffset, end);
  assertContiguous(await readAll(log), log.logStartOffset, end + 2);
}

test('restart after a clean close keeps everything and scans nothing', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, config);
    const end = await fill(log, 60);
    const segments = log.segmentCount;
    assert.ok(segments > 3);
    const size = log.sizeInBytes;
    await log.close();
    const reopened = await openLog(dir, config, { hadCleanShutdown: true, recoveryPoint: end });
    assert.deepEqual(reopened.loadStats, {
      cleanShutdown: true,
      segmentsRecovered: 0,
      batchesValidated: 0,
      bytesTruncated: 0,
      segmentsDeleted: 0,
      indexesRebuilt: 0,
    });
    assert.equal(reopened.segmentCount, segments);
    assert.equal(reopened.sizeInBytes, size);
    assert.equal(reopened.recoveryPoint, end);
    await assertHealthy(reopened, end);
    await reopened.close();
  }));

test('crash: a torn last batch is cut off', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, config);
    const end = await fill(log, 40);
    await crash(log);
    const active = segmentFiles(dir, '.log').at(-1)!;
    const batches = parseBatches(readFileSync(active));
    const last = batches.at(-1)!;
    truncateSync(active, last.position + Math.floor(last.size / 2));
    const reopened = await reopenAfterCrash(dir);
    assert.equal(reopened.loadStats.cleanShutdown, false);
    assert.ok(reopened.loadStats.bytesTruncated > 0);
    assert.equal(statSync(active).size, last.position);
    await assertHealthy(reopened, end - 2);
    await reopened.close();
  }));

test('crash: a flipped byte inside a batch truncates there and drops later segments', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, config);
    await fill(log, 60);
    await crash(log);
    const logs = segmentFiles(dir, '.log');
    assert.ok(logs.length >= 4);
    // Corrupt a batch in the middle of the second segment.
    const victim = logs[1]!;
    const data = readFileSync(victim);
    const batches = parseBatches(data);
    const bad = batches[Math.floor(batches.length / 2)]!;
    data[bad.position + bad.size - 5]! ^= 0xff;
    writeFileSync(victim, data);
    const reopened = await reopenAfterCrash(dir);
    assert.equal(reopened.logEndOffset, bad.baseOffset);
    assert.equal(reopened.segmentCount, 2);
    assert.equal(reopened.loadStats.segmentsDeleted, logs.length - 2);
    assert.deepEqual(segmentFiles(dir, '.log'), logs.slice(0, 2));
    await assertHealthy(reopened, bad.baseOffset);
    await reopened.close();
  }));

test('crash: garbage appended to the .log file is removed, nothing else', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, config);
    const end = await fill(log, 30);
    await crash(log);
    const active = segmentFiles(dir, '.log').at(-1)!;
    const size = statSync(active).size;
    appendFileSync(active, Buffer.from('this is not a record batch, just trailing junk from a torn write'));
    const reopened = await reopenAfterCrash(dir);
    assert.equal(statSync(active).size, size);
    await assertHealthy(reopened, end);
    await reopened.close();
  }));

test('crash: garbage that looks like a huge batch header is removed', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, config);
    const end = await fill(log, 10);
    await crash(log);
    const active = segmentFiles(dir, '.log').at(-1)!;
    const junk = Buffer.alloc(100);
    junk.writeInt32BE(50_000, 8); // batch length far past the end of the file
    junk.writeInt8(2, 16);
    appendFileSync(active, junk);
    const reopened = await reopenAfterCrash(dir);
    await assertHealthy(reopened, end);
    await reopened.close();
  }));

test('crash: a deleted .index is rebuilt', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, config);
    const end = await fill(log, 60);
    await log.flush();
    await crash(log);
    for (const f of segmentFiles(dir, '.index')) unlinkSync(f);
    const reopened = await reopenAfterCrash(dir);
    await assertHealthy(reopened, end);
    assert.ok(segmentFiles(dir, '.index').length >= reopened.segmentCount - 1);
    await reopened.close();
    // The rebuilt indexes are on disk and valid: a clean restart rebuilds nothing.
    const again = await openLog(dir, config, { hadCleanShutdown: true });
    assert.equal(again.loadStats.indexesRebuilt, 0);
    await assertHealthy(again, end + 2);
    await again.close();
  }));

test('crash: a corrupt .index below the recovery point is detected and rebuilt when used', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, config);
    const end = await fill(log, 60);
    await log.flush();
    const rp = log.recoveryPoint;
    assert.equal(rp, end);
    await crash(log);
    const indexes = segmentFiles(dir, '.index');
    // Scramble the first segment's index: entries out of order.
    const ix = readFileSync(indexes[0]!);
    assert.ok(ix.length >= 16);
    ix.writeInt32BE(0x7fff, 0);
    writeFileSync(indexes[0]!, ix);
    // And cut the second one mid-entry.
    truncateSync(indexes[1]!, statSync(indexes[1]!).size - 3);
    const reopened = await reopenAfterCrash(dir, rp);
    // Only the active segment is scanned (the rest is below the recovery point).
    assert.equal(reopened.loadStats.segmentsRecovered, 1);
    // The active segment (recovered) and the cut index (noticed by its size) so far...
    assert.equal(reopened.indexRebuilds, 2);
    await assertHealthy(reopened, end);
    // ...and the scrambled one once a read used it.
    assert.equal(reopened.indexRebuilds, 3);
    await reopened.close();
    // The rebuilt indexes were written back: nothing to rebuild next time.
    const again = await openLog(dir, config, { hadCleanShutdown: true });
    await assertHealthy(again, end + 2);
    assert.equal(again.indexRebuilds, 0);
    await again.close();
  }));

test('crash: segments below the recovery point are not rescanned', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, config);
    await fill(log, 40);
    await log.flush();
    const rp = log.recoveryPoint;
    const end = await fill(log, 40, 'y');
    await crash(log);
    const segmentsAfterRp = readdirSync(dir)
      .filter((f) => f.endsWith('.log'))
      .map((f) => Number(f.slice(0, 20)))
      .filter((base, i, all) => (all[i + 1] ?? Infinity) > rp).length;
    const reopened = await reopenAfterCrash(dir, rp);
    assert.equal(reopened.loadStats.segmentsRecovered, segmentsAfterRp);
    assert.ok(segmentsAfterRp < reopened.segmentCount);
    await assertHealthy(reopened, end);
    await reopened.close();
  }));

test('crash: an empty directory and an empty active segment recover to an empty log', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, config);
    await crash(log);
    const reopened = await reopenAfterCrash(dir);
    assert.equal(reopened.logEndOffset, 0);
    await assertHealthy(reopened, 0);
    await reopened.close();
  }));

test('a clean restart with a damaged active segment still recovers it', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, config);
    const end = await fill(log, 30);
    await log.close();
    const active = segmentFiles(dir, '.log').at(-1)!;
    appendFileSync(active, Buffer.alloc(30, 7));
    const reopened = await openLog(dir, config, { hadCleanShutdown: true });
    assert.equal(reopened.loadStats.segmentsRecovered, 1);
    await assertHealthy(reopened, end);
    await reopened.close();
  }));

test('leftover *.deleted files and orphan indexes are removed at open', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, config);
    const end = await fill(log, 10);
    await log.close();
    writeFileSync(join(dir, '00000000000000000000.log.deleted'), 'old');
    writeFileSync(join(dir, '00000000000000099999.index'), 'orphan');
    const reopened = await openLog(dir, config, { hadCleanShutdown: true });
    const names = readdirSync(dir);
    assert.ok(!names.some((n) => n.endsWith('.deleted') || n.startsWith('00000000000000099999')));
    await assertHealthy(reopened, end);
    await reopened.close();
  }));
