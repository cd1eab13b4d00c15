import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { ErrorCode } from '../../src/protocol/errors.js';
import { OffsetOutOfRangeError, RecordBatchTooLargeError, UnexpectedAppendOffsetError } from '../../src/storage/errors.js';
import { IndexCache } from '../../src/storage/index-file.js';
import { makeBatch, makeRecords, parseBatches, withTempDir } from './make-batch.js';
import { assertContiguous, batch, openLog, readAll, smallConfig } from './helpers.js';

test('append and read round trip across many segment rolls', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir);
    const sent: Buffer[] = [];
    let expected = 0;
    for (let i = 0; i < 60; i++) {
      const b = batch(1 + (i % 5), 40 + (i % 7) * 10, 1_700_000_000_000 + i, `b${i}-`);
      const r = await log.append(b);
      assert.equal(r.baseOffset, expected);
      assert.equal(r.lastOffset, expected + (i % 5));
      assert.equal(r.logAppendTime, -1);
      assert.equal(r.recordCount, 1 + (i % 5));
      expected = r.lastOffset + 1;
      sent.push(b); // rewritten in place with its offset
    }
    assert.equal(log.logEndOffset, expected);
    assert.ok(log.segmentCount > 3, `expected several segments, got ${log.segmentCount}`);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.log'));
    assert.equal(files.length, log.segmentCount);
    for (const f of files) {
      assert.match(f, /^\d{20}\.log$/);
      assert.ok((await stat(`${dir}/${f}`)).size <= 4096);
    }
    assert.equal(log.sizeInBytes, sent.reduce((n, b) => n + b.length, 0));
    const got = await readAll(log);
    assertContiguous(got, 0, expected);
    // Bytes come back exactly as written.
    const all = Buffer.concat(sent);
    const { records } = await log.read(0, 1 << 20);
    assert.ok(all.subarray(0, records.length).equals(records));
    // Every offset reads back from its own batch.
    for (let o = 0; o < expected; o++) {
      const [first] = parseBatches((await log.read(o, 1)).records);
      assert.ok(first!.baseOffset <= o && o <= first!.lastOffset, `offset ${o}`);
    }
    await log.close();
  }));

test('concurrent appends get contiguous offsets in call order', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, smallConfig({ segmentBytes: 8192 }));
    const n = 200;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => log.append(batch(1 + (i % 3), 20, 1_700_000_000_000, `c${i}-`))));
    let expected = 0;
    results.forEach((r, i) => {
      assert.equal(r.baseOffset, expected, `append ${i}`);
      expected = r.lastOffset + 1;
    });
    assertContiguous(await readAll(log), 0, expected);
    await log.close();
  }));

test('minOneBatch returns the first batch whole even when larger than maxBytes', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, smallConfig({ segmentBytes: 1 << 20 }));
    const big = batch(10, 100);
    await log.append(big);
    await log.append(batch(2, 10));
    const one = await log.read(0, 50);
    assert.equal(one.records.length, big.length);
    assert.equal(parseBatches(one.records).length, 1);
    const none = await log.read(0, 50, { minOneBatch: false });
    assert.equal(none.records.length, 0);
    // maxBytes between one and two batches: only whole batches.
    const partial = await log.read(0, big.length + 20);
    assert.equal(parseBatches(partial.records).length, 1);
    const both = await log.read(0, 1 << 20);
    assert.equal(parseBatches(both.records).length, 2);
    // Reading mid-batch starts at the batch holding the offset.
    const mid = parseBatches((await log.read(5, 1 << 20)).records);
    assert.equal(mid[0]!.baseOffset, 0);
    assert.equal(mid.length, 2);
    await log.close();
  }));

test('maxOffset bounds what a read returns', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir);
    for (let i = 0; i < 10; i++) await log.append(batch(2, 20)); // offsets 0..19, batches of 2
    const r = await log.read(0, 1 << 20, { maxOffset: 6 });
    const bs = parseBatches(r.records);
    assert.deepEqual(bs.map((b) => b.baseOffset), [0, 2, 4]);
    assert.equal(r.logEndOffset, 20);
    // A fetch at the bound returns nothing (not an error).
    assert.equal((await log.read(6, 1 << 20, { maxOffset: 6 })).records.length, 0);
    // A batch straddling the bound is held back.
    assert.equal((await log.read(4, 1 << 20, { maxOffset: 5 })).records.length, 0);
    // Even with minOneBatch.
    assert.equal((await log.read(6, 1, { maxOffset: 6, minOneBatch: true })).records.length, 0);
    // The high watermark is reported and clamped to the log end.
    log.highWatermark = 12;
    assert.equal((await log.read(0, 10)).highWatermark, 12);
    log.highWatermark = 99;
    assert.equal(log.highWatermark, 20);
    await log.close();
  }));

test('OffsetOutOfRange below the log start and past the log end', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir);
    for (let i = 0; i < 40; i++) await log.append(batch(2, 60));
    assert.equal((await log.read(80, 100)).records.length, 0); // at the log end: empty, fine
    await assert.rejects(log.read(81, 100), (err: unknown) => {
      assert.ok(err instanceof OffsetOutOfRangeError);
      assert.equal(err.code, ErrorCode.OFFSET_OUT_OF_RANGE);
      return true;
    });
    log.highWatermark = log.logEndOffset;
    await log.deleteRecordsBefore(30);
    await assert.rejects(log.read(29, 100), OffsetOutOfRangeError);
    assert.equal(parseBatches((await log.read(30, 100)).records)[0]!.baseOffset, 30);
    await log.close();
  }));

test('index lookups land on the right batch at every offset', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, smallConfig({ segmentBytes: 16 * 1024, indexIntervalBytes: 100 }));
    const bounds: Array<[number, number]> = [];
    for (let i = 0; i < 300; i++) {
      const r = await log.append(batch(1 + (i % 4), 10 + (i % 13) * 5));
      bounds.push([r.baseOffset, r.lastOffset]);
    }
    assert.ok(log.segmentCount >= 2);
    const end = log.logEndOffset;
    for (let o = 0; o < end; o++) {
      const bs = parseBatches((await log.read(o, 1)).records);
      assert.equal(bs.length, 1);
      const expected = bounds.find(([b, l]) => b <= o && o <= l)!;
      assert.equal(bs[0]!.baseOffset, expected[0], `offset ${o}`);
    }
    await log.close();
    // Again after a restart, with indexes read from disk.
    const reopened = await openLog(dir, smallConfig({ segmentBytes: 16 * 1024, indexIntervalBytes: 100 }), { hadCleanShutdown: true });
    for (let o = 0; o < end; o += 7) {
      const bs = parseBatches((await reopened.read(o, 1)).records);
      const expected = bounds.find(([b, l]) => b <= o && o <= l)!;
      assert.equal(bs[0]!.baseOffset, expected[0], `offset ${o} after restart`);
    }
    assert.equal(reopened.loadStats.indexesRebuilt, 0);
    await reopened.close();
  }));

test('offsetForTimestamp and latestTimestamp', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, smallConfig({ segmentBytes: 2048, indexIntervalBytes: 64 }));
    const t0 = 1_700_000_000_000;
    // Batch i holds records at t0 + 10i, t0 + 10i + 1, t0 + 10i + 2 (out of order inside: +2, +0, +1).
    for (let i = 0; i < 60; i++) {
      const base = t0 + 10 * i;
      await log.append(makeBatch([{ value: 'x', timestamp: base + 2 }, { value: 'y', timestamp: base }, { value: 'z', timestamp: base + 1 }]));
    }
    assert.ok(log.segmentCount > 2);
    // Exact record resolution inside the batch: first record with ts >= target.
    assert.deepEqual(await log.offsetForTimestamp(t0), { offset: 0, timestamp: t0 + 2 });
    assert.deepEqual(await log.offsetForTimestamp(t0 + 100), { offset: 30, timestamp: t0 + 102 });
    assert.deepEqual(await log.offsetForTimestamp(t0 + 103), { offset: 33, timestamp: t0 + 112 });
    assert.deepEqual(await log.offsetForTimestamp(t0 + 592), { offset: 177, timestamp: t0 + 592 });
    assert.equal(await log.offsetForTimestamp(t0 + 593), null);
    assert.equal(await log.offsetForTimestamp(t0 + 100, 30), null); // at/after maxOffset
    for (let i = 0; i < 60; i += 3) {
      const hit = await log.offsetForTimestamp(t0 + 10 * i + 1);
      assert.equal(hit!.offset, 3 * i, `batch ${i}`);
    }
    assert.deepEqual(await log.latestTimestamp(), { offset: 177, timestamp: t0 + 592 });
    await log.close();
    const reopened = await openLog(dir, smallConfig({ segmentBytes: 2048, indexIntervalBytes: 64 }), { hadCleanShutdown: true });
    assert.deepEqual(await reopened.offsetForTimestamp(t0 + 100), { offset: 30, timestamp: t0 + 102 });
    assert.deepEqual(await reopened.latestTimestamp(), { offset: 177, timestamp: t0 + 592 });
    await reopened.close();
  }));

test('LogAppendTime stamps the batch and keeps its CRC valid', () =>
  withTempDir(async (dir) => {
    let now = 1_800_000_000_000;
    const log = await openLog(dir, smallConfig({ messageTimestampType: 'LogAppendTime' }), { now: () => now });
    const r = await log.append(batch(3, 10, 1_000));
    assert.equal(r.logAppendTime, now);
    now += 5;
    await log.append(batch(3, 10, 2_000));
    const [a, b] = parseBatches((await log.read(0, 1 << 20)).records);
    assert.ok(a!.crcOk && b!.crcOk);
    assert.equal(a!.maxTimestamp, 1_800_000_000_000);
    assert.equal(b!.maxTimestamp, 1_800_000_000_005);
    assert.ok((a!.attributes & 0x08) !== 0);
    assert.deepEqual(await log.offsetForTimestamp(1_800_000_000_001), { offset: 3, timestamp: 1_800_000_000_005 });
    assert.deepEqual(await log.latestTimestamp(), { offset: 3, timestamp: 1_800_000_000_005 });
    await log.close();
  }));

test('segment.ms rolls by record timestamps', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, smallConfig({ segmentBytes: 1 << 20, segmentMs: 1000 }));
    const t0 = 1_700_000_000_000;
    await log.append(batch(1, 10, t0));
    await log.append(batch(1, 10, t0 + 500));
    assert.equal(log.segmentCount, 1);
    await log.append(batch(1, 10, t0 + 1001));
    assert.equal(log.segmentCount, 2);
    assert.equal(log.activeSegmentBaseOffset, 2);
    await log.close();
  }));

test('a full index rolls the segment', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, smallConfig({ segmentBytes: 1 << 20, indexIntervalBytes: 0, segmentIndexBytes: 8 * 4 }));
    for (let i = 0; i < 20; i++) await log.append(batch(1, 10));
    assert.ok(log.segmentCount >= 4, `segments: ${log.segmentCount}`);
    assertContiguous(await readAll(log), 0, 20);
    await log.close();
  }));

test('a batch larger than a segment is refused; a multi-batch append is split across segments', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, smallConfig({ segmentBytes: 1024 }));
    await assert.rejects(log.append(batch(20, 100)), RecordBatchTooLargeError);
    const many = Buffer.concat(Array.from({ length: 12 }, () => batch(2, 100)));
    const r = await log.append(many);
    assert.equal(r.baseOffset, 0);
    assert.equal(r.lastOffset, 23);
    assert.ok(log.segmentCount >= 3);
    for (const s of log.segmentInfos()) assert.ok(s.sizeInBytes <= 1024);
    assertContiguous(await readAll(log), 0, 24);
    await log.close();
  }));

test('retention by time deletes whole expired segments and moves the log start offset', () =>
  withTempDir(async (dir) => {
    const t0 = 1_700_000_000_000;
    const log = await openLog(dir, smallConfig({ segmentBytes: 1024, retentionMs: 60_000 }));
    for (let i = 0; i < 30; i++) await log.append(batch(2, 60, t0 + i * 1000));
    const before = log.segmentInfos();
    assert.ok(before.length > 4);
    // Nothing is deleted above the high watermark.
    assert.equal((await log.applyRetention(t0 + 10_000_000)).deletedSegments, 0);
    log.highWatermark = log.logEndOffset;
    // Segments whose newest record is older than 60 s at now = t0 + 75 s.
    const now = t0 + 75_000;
    const expired = before.filter((s) => now - s.largestTimestamp > 60_000);
    assert.ok(expired.length > 0 && expired.length < before.length);
    const r = await log.applyRetention(now);
    assert.equal(r.deletedSegments, expired.length);
    assert.deepEqual(r.reasons, ['retention.ms']);
    assert.equal(log.logStartOffset, before[expired.length]!.baseOffset);
    assert.equal(r.logStartOffset, log.logStartOffset);
    assert.equal(log.segmentCount, before.length - expired.length);
    await assert.rejects(log.read(0, 100), OffsetOutOfRangeError);
    assertContiguous(await readAll(log), log.logStartOffset, log.logEndOffset);
    // Everything expired: the log rolls an empty active segment and keeps its end offset.
    const end = log.logEndOffset;
    const all = await log.applyRetention(t0 + 10_000_000);
    assert.ok(all.deletedSegments > 0);
    assert.equal(log.segmentCount, 1);
    assert.equal(log.logStartOffset, end);
    assert.equal(log.logEndOffset, end);
    assert.equal(log.sizeInBytes, 0);
    const next = await log.append(batch(1, 10, t0 + 10_000_000));
    assert.equal(next.baseOffset, end);
    await log.close();
    const logs = (await readdir(dir)).filter((f) => f.endsWith('.log') || f.endsWith('.deleted'));
    assert.equal(logs.length, 1);
  }));

test('retention by size keeps the log under retention.bytes, whole segments only', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, smallConfig({ segmentBytes: 1024, retentionBytes: 3000, retentionMs: -1 }));
    for (let i = 0; i < 40; i++) await log.append(batch(2, 60));
    log.highWatermark = log.logEndOffset;
    const total = log.sizeInBytes;
    const r = await log.applyRetention(Date.now());
    assert.deepEqual(r.reasons, ['retention.bytes']);
    assert.equal(r.deletedBytes, total - log.sizeInBytes);
    assert.ok(log.sizeInBytes <= 3000 + 1024, `size ${log.sizeInBytes}`);
    // Deleting one more segment would have gone below the limit.
    assert.ok(log.sizeInBytes - log.segmentInfos()[0]!.sizeInBytes < 3000);
    assertContiguous(await readAll(log), log.logStartOffset, log.logEndOffset);
    await log.close();
  }));

test('deleteRecordsBefore advances the log start offset and drops segments below it', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, smallConfig({ segmentBytes: 1024 }));
    for (let i = 0; i < 30; i++) await log.append(batch(2, 60));
    await assert.rejects(log.deleteRecordsBefore(10), OffsetOutOfRangeError); // above the high watermark (0)
    log.highWatermark = log.logEndOffset;
    const segs = log.segmentInfos();
    const target = segs[2]!.baseOffset + 1;
    assert.equal(await log.deleteRecordsBefore(target), target);
    assert.equal(log.logStartOffset, target);
    assert.equal(log.segmentInfos()[0]!.baseOffset, segs[2]!.baseOffset);
    // The first batch returned may start below the log start offset (whole batches).
    const bs = parseBatches((await log.read(target, 100)).records);
    assert.ok(bs[0]!.baseOffset <= target && target <= bs[0]!.lastOffset);
    // Not backwards.
    assert.equal(await log.deleteRecordsBefore(1), target);
    await log.close();
    const reopened = await openLog(dir, smallConfig({ segmentBytes: 1024 }), { hadCleanShutdown: true, logStartOffset: target });
    assert.equal(reopened.logStartOffset, target);
    await reopened.close();
  }));

test('truncateTo removes the tail; appends continue from the new end', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, smallConfig({ segmentBytes: 1024 }));
    for (let i = 0; i < 30; i++) await log.append(batch(2, 60));
    const segs = log.segmentInfos();
    assert.ok(segs.length > 3);
    log.highWatermark = 50;
    assert.equal(await log.truncateTo(21), true); // mid-batch: the batch [20, 21] goes whole
    assert.equal(log.logEndOffset, 20);
    assert.equal(log.highWatermark, 20);
    assertContiguous(await readAll(log), 0, 20);
    const r = await log.append(batch(2, 60));
    assert.equal(r.baseOffset, 20);
    // Truncating exactly at a segment boundary.
    const boundary = log.segmentInfos()[1]!.baseOffset;
    await log.truncateTo(boundary);
    assert.equal(log.logEndOffset, boundary);
    assertContiguous(await readAll(log), 0, boundary);
    // Below the first segment: start afresh.
    await log.truncateFullyAndStartAt(500);
    assert.equal(log.logStartOffset, 500);
    assert.equal(log.logEndOffset, 500);
    assert.equal((await log.append(batch(1, 10))).baseOffset, 500);
    await log.close();
  }));

test('appendAsFollower keeps offsets and refuses to go backwards', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir);
    await log.appendAsFollower(makeBatch(makeRecords(3), { baseOffset: 0 }));
    await log.appendAsFollower(makeBatch(makeRecords(2), { baseOffset: 5 })); // gaps are allowed
    assert.equal(log.logEndOffset, 7);
    await assert.rejects(log.appendAsFollower(makeBatch(makeRecords(1), { baseOffset: 6 })), UnexpectedAppendOffsetError);
    const bs = parseBatches((await log.read(3, 1000)).records);
    assert.equal(bs[0]!.baseOffset, 5);
    await log.close();
  }));

test('updateConfig takes effect on the next append', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, smallConfig({ segmentBytes: 1 << 20 }));
    for (let i = 0; i < 10; i++) await log.append(batch(2, 60));
    assert.equal(log.segmentCount, 1);
    log.updateConfig(smallConfig({ segmentBytes: 1024 }));
    for (let i = 0; i < 10; i++) await log.append(batch(2, 60));
    assert.ok(log.segmentCount > 1);
    await log.close();
  }));

test('flush advances the recovery point; flushIntervalMessages flushes on append', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, smallConfig({ segmentBytes: 1 << 20, flushIntervalMessages: 5 }));
    await log.append(batch(2));
    assert.equal(log.recoveryPoint, 0);
    await log.append(batch(3));
    assert.equal(log.recoveryPoint, 5);
    await log.append(batch(1));
    assert.equal(log.recoveryPoint, 5);
    await log.flush();
    assert.equal(log.recoveryPoint, 6);
    await log.close();
  }));

test('appends and reads fail after close', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir);
    await log.append(batch());
    await log.close();
    await log.close(); // idempotent
    await assert.rejects(log.append(batch()), (err: unknown) => (err as { code: number }).code === ErrorCode.KAFKA_STORAGE_ERROR);
    await assert.rejects(log.read(0, 10));
  }));

test('reads racing appends and retention see whole batches or OffsetOutOfRange, never a closed file', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir, smallConfig({ segmentBytes: 1024, retentionBytes: 4096, retentionMs: -1 }));
    for (let i = 0; i < 20; i++) await log.append(batch(2, 60));
    let stop = false;
    const readers = Array.from({ length: 4 }, async () => {
      let reads = 0;
      while (!stop) {
        const from = log.logStartOffset;
        try {
          const { records } = await log.read(from, 2048);
          for (const b of parseBatches(records)) assert.ok(b.crcOk);
          reads++;
        } catch (err) {
          assert.ok(err instanceof OffsetOutOfRangeError, String(err));
        }
      }
      return reads;
    });
    for (let i = 0; i < 100; i++) {
      await log.append(batch(2, 60));
      log.highWatermark = log.logEndOffset;
      if (i % 5 === 0) await log.applyRetention(Date.now());
    }
    stop = true;
    const counts = await Promise.all(readers);
    assert.ok(counts.every((n) => n > 0));
    assert.ok(log.logStartOffset > 0);
    assertContiguous(await readAll(log), log.logStartOffset, log.logEndOffset);
    await log.close();
  }));

test('inactive indexes are evicted under a small memory budget and reload on demand', () =>
  withTempDir(async (dir) => {
    const cache = new IndexCache(256);
    const config = smallConfig({ segmentBytes: 2048, indexIntervalBytes: 64 });
    const log = await openLog(dir, config, { indexCache: cache });
    for (let i = 0; i < 80; i++) await log.append(batch(2, 60));
    await log.close();
    const reopened = await openLog(dir, config, { indexCache: cache, hadCleanShutdown: true });
    const end = reopened.logEndOffset;
    for (let round = 0; round < 2; round++) {
      for (let o = 0; o < end; o += 5) {
        const [b] = parseBatches((await reopened.read(o, 1)).records);
        assert.ok(b!.baseOffset <= o && o <= b!.lastOffset);
        assert.ok(cache.loadedBytes <= 256 + 2048, `cache holds ${cache.loadedBytes}`);
      }
    }
    assert.equal(reopened.indexRebuilds, 0);
    await reopened.close();
  }));
