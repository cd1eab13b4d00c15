/**
 * The log cleaner (compaction): what a pass keeps and drops, tombstones and
 * their delete horizon, offsets and reads across cleaned ranges, the offset
 * map's budget, the dirty-ratio and lag rules, producer state, compressed
 * batches, crash safety of the segment swap, and the LogManager's cleaner.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, readFile, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanerConfigFor, logConfigFor } from '../../src/broker/topic-log-config.js';
import { loadBrokerConfig } from '../../src/config/index.js';
import { buildBatch, type BuildOptions } from '../../src/protocol/records/builder.js';
import { buildTxnMarkerBatch } from '../../src/protocol/records/control.js';
import { RecordBatch } from '../../src/protocol/records/batch.js';
import { LogCleaner, type LogCleanerConfig } from '../../src/storage/cleaner/index.js';
import { parseCheckpoint } from '../../src/storage/checkpoint.js';
import type { LogConfig } from '../../src/storage/log-config.js';
import { LogManager } from '../../src/storage/log-manager.js';
import { PartitionLog, type PartitionLogOptions } from '../../src/storage/partition-log.js';
import { TP, smallConfig } from './helpers.js';
import { withTempDir } from './make-batch.js';

// ---- helpers -------------------------------------------------------------

const T0 = 1_700_000_000_000;

class FakeClock {
  constructor(public ms = T0) {}
  readonly now = (): number => this.ms;
}

function compactConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  return smallConfig({
    segmentBytes: 1024,
    cleanupPolicy: ['compact'],
    minCleanableDirtyRatio: 0.5,
    deleteRetentionMs: 60_000,
    retentionMs: -1,
    ...overrides,
  });
}

type KV = [string | null, string | null];

/** Appends one batch of [key, value] records (value null = tombstone) and moves the high watermark to the end. */
async function appendKeyed(log: PartitionLog, records: KV[], opts: BuildOptions = {}, timestamp = T0): Promise<void> {
  await log.append(buildBatch(records.map(([key, value]) => ({ key, value, timestamp })), opts));
  log.highWatermark = log.logEndOffset;
}

interface Rec {
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: number;
}

/** A log plus a cleaner whose host holds just that log, in `<root>/orders-0`. */
class Harness {
  log!: PartitionLog;
  cleaner!: LogCleaner;
  readonly dir: string;

  constructor(
    readonly root: string,
    public config: LogConfig,
    readonly clock = new FakeClock(),
    readonly cleanerConfig: LogCleanerConfig = {},
  ) {
    this.dir = join(root, `${TP.topic}-${TP.partition}`);
  }

  static async open(root: string, config: LogConfig, clock = new FakeClock(), cleanerConfig: LogCleanerConfig = {}): Promise<Harness> {
    const h = new Harness(root, config, clock, cleanerConfig);
    await h.reopen({});
    return h;
  }

  async reopen(opts: PartitionLogOptions): Promise<void> {
    this.log = await PartitionLog.open(this.dir, TP, this.config, { now: this.clock.now, ...opts });
    this.cleaner = new LogCleaner({ logs: () => [{ log: this.log, dir: this.root }], logDirs: [this.root] }, this.cleanerConfig, {
      now: this.clock.now,
    });
    await this.cleaner.loadCheckpoints();
  }

  append(records: KV[], opts: BuildOptions = {}, timestamp = this.clock.ms): Promise<void> {
    return appendKeyed(this.log, records, opts, timestamp);
  }

  clean(force = false) {
    return this.cleaner.cleanLog(this.log, this.root, { force });
  }
}

interface ReadBatch {
  batch: RecordBatch;
  records: Rec[];
}

/** Every batch of the log from `from`, with its records decoded. */
async function readBatches(log: PartitionLog, from = log.logStartOffset): Promise<ReadBatch[]> {
  const out: ReadBatch[] = [];
  let offset = from;
  while (offset < log.logEndOffset) {
    const { records } = await log.read(offset, 64 * 1024);
    assert.ok(records.length > 0, `read at ${offset} returned nothing before the log end ${log.logEndOffset}`);
    let pos = 0;
    while (pos < records.length) {
      const batch = RecordBatch.at(records, pos);
      batch.validate();
      const recs: Rec[] = [];
      for (const r of await batch.recordsAsync()) {
        recs.push({
          offset: r.offset,
          key: r.key === null ? null : r.key.toString(),
          value: r.value === null ? null : r.value.toString(),
          timestamp: r.timestamp,
        });
      }
      out.push({ batch, records: recs });
      offset = batch.lastOffset + 1;
      pos += batch.sizeInBytes;
    }
  }
  return out;
}

/** Every record of the log from `from`, in offset order, checking offsets increase. */
async function readRecs(log: PartitionLog, from = log.logStartOffset): Promise<Rec[]> {
  const out: Rec[] = [];
  for (const { records } of await readBatches(log, from)) {
    for (const r of records) {
      if (r.offset < from) continue;
      if (out.length > 0) assert.ok(r.offset > out.at(-1)!.offset, `offset ${r.offset} after ${out.at(-1)!.offset}`);
      out.push(r);
    }
  }
  return out;
}

/** What a consumer reading everything ends up with: the last value per key (deleted keys absent). */
function finalView(recs: readonly Rec[]): Map<string, string> {
  const view = new Map<string, string>();
  for (const r of recs) {
    if (r.key === null) continue;
    if (r.value === null) view.delete(r.key);
    else view.set(r.key, r.value);
  }
  return view;
}

/** What compaction of [.., activeBase) must leave: the latest record per key there, then the rest untouched. */
function expectedAfterClean(original: readonly Rec[], activeBase: number, dropTombstones = false): Rec[] {
  const latest = new Map<string, Rec>();
  for (const r of original) if (r.offset < activeBase && r.key !== null) latest.set(r.key, r);
  return original.filter((r) => {
    if (r.offset >= activeBase) return true;
    if (r.key === null || latest.get(r.key) !== r) return false;
    return !(dropTombstones && r.value === null);
  });
}

function pad(value: string, size: number): string {
  return value.padEnd(size, '.');
}

/** 48 batches of 3 records over 10 keys, every 11th record a tombstone: about 12 segments of 1 KiB. */
async function fillMixed(h: Harness, batches = 48): Promise<void> {
  for (let b = 0; b < batches; b++) {
    const records: KV[] = [];
    for (let r = 0; r < 3; r++) {
      const i = b * 3 + r;
      records.push([`k${(i * 7) % 10}`, i % 11 === 5 ? null : pad(`v${i}`, 40)]);
    }
    await h.append(records);
  }
}

/** Cleaner files left in a log directory (`.deleted` ones too when asked: they go asynchronously at runtime). */
async function leftovers(dir: string, deleted = true): Promise<string[]> {
  return (await readdir(dir)).filter((n) => /\.(cleaned|swap)$/.test(n) || (deleted && n.endsWith('.deleted')));
}

// ---- what a pass keeps ------------------------------------------------------

test('a pass keeps exactly the latest record per key below the active segment; offsets, log start and the active segment stay', () =>
  withTempDir(async (root) => {
    const h = await Harness.open(root, compactConfig());
    await fillMixed(h);
    const original = await readRecs(h.log);
    const view = finalView(original);
    const activeBase = h.log.activeSegmentBaseOffset;
    const activeBytes = (await h.log.read(activeBase, 1 << 20)).records;
    const segmentsBefore = h.log.segmentCount;
    const sizeBefore = h.log.sizeInBytes;
    assert.ok(segmentsBefore >= 10, `${segmentsBefore} segments`);

    // Readers running through the swaps always see the same final state.
    let stop = false;
    let reads = 0;
    const reader = (async () => {
      while (!stop) {
        assert.deepEqual(finalView(await readRecs(h.log)), view);
        reads++;
      }
    })();
    const result = await h.clean();
    stop = true;
    await reader;
    assert.ok(reads > 0);

    assert.ok(result !== null);
    const after = await readRecs(h.log);
    assert.deepEqual(after, expectedAfterClean(original, activeBase));
    assert.deepEqual(finalView(after), view);
    assert.equal(result.firstDirtyOffset, 0);
    assert.equal(result.endOffset, activeBase);
    assert.equal(result.recordsRemoved, original.length - after.length);
    assert.equal(result.mapFull, false);
    assert.equal(result.mapEntries, 10);
    assert.ok(result.bytesRead > 0 && result.bytesWritten > 0 && result.bytesWritten < result.bytesRead);
    assert.equal(h.cleaner.stats.passes, 1);
    assert.equal(h.cleaner.stats.recordsRemoved, result.recordsRemoved);

    assert.equal(h.log.logStartOffset, 0);
    assert.equal(h.log.logEndOffset, original.at(-1)!.offset + 1);
    assert.equal(h.log.activeSegmentBaseOffset, activeBase);
    assert.deepEqual((await h.log.read(activeBase, 1 << 20)).records, activeBytes);
    assert.ok(h.log.segmentCount < segmentsBefore / 2, `${h.log.segmentCount} segments after ${segmentsBefore}`);
    assert.ok(h.log.sizeInBytes < sizeBefore);

    // A fetch from any offset of the cleaned range starts at the next kept record.
    for (let o = 0; o < activeBase; o++) {
      const got = (await readRecs(h.log, o))[0];
      assert.deepEqual(got, after.find((r) => r.offset >= o), `fetch at ${o}`);
    }

    const checkpoint = parseCheckpoint(await readFile(join(root, 'cleaner-offset-checkpoint'), 'utf8'));
    assert.equal(checkpoint.get('orders-0')?.offset, activeBase);
    assert.equal(await h.clean(), null, 'nothing left to clean');
    assert.deepEqual(await leftovers(h.dir, false), []);

    // The cleaned segments and their indexes survive a restart as they are.
    await h.log.close();
    await h.reopen({ hadCleanShutdown: true, recoveryPoint: h.log.logEndOffset });
    assert.deepEqual(await readRecs(h.log), after);
    assert.equal(h.log.indexRebuilds, 0);
    assert.equal(h.cleaner.checkpointOf(h.log, root), activeBase);

    // The next pass merges what it keeps of the old and new segments as long as it fits one segment.
    await fillMixed(h, 24);
    const more = await readRecs(h.log);
    const second = await h.clean();
    assert.ok(second !== null);
    assert.ok(second.segmentsReplaced > second.segmentsWritten);
    assert.deepEqual(await readRecs(h.log), expectedAfterClean(more, h.log.activeSegmentBaseOffset));
    await h.log.close();
  }));

test('tombstones stay until delete.retention.ms after the pass that first kept them, then go', () =>
  withTempDir(async (root) => {
    const retention = 10_000;
    const h = await Harness.open(root, compactConfig({ deleteRetentionMs: retention }));
    for (let b = 0; b < 16; b++) {
      await h.append([
        [`k${b % 4}`, pad(`v${b}`, 200)],
        [`d${b % 3}`, b >= 9 ? null : pad(`x${b}`, 200)],
      ]);
    }
    const original = await readRecs(h.log);
    const activeBase = h.log.activeSegmentBaseOffset;
    assert.ok(activeBase > 20);

    await h.clean();
    const first = await readRecs(h.log);
    assert.deepEqual(first, expectedAfterClean(original, activeBase));
    const tombstones = first.filter((r) => r.value === null && r.offset < activeBase);
    assert.ok(tombstones.length > 0);
    for (const r of first) assert.equal(r.timestamp, T0, 'record timestamps survive the rewrite');
    for (const { batch, records } of await readBatches(h.log)) {
      if (batch.lastOffset >= activeBase || !records.some((r) => r.value === null)) continue;
      assert.ok(batch.hasDeleteHorizon, `batch ${batch.baseOffset} has a delete horizon`);
      assert.equal(batch.baseTimestamp, T0 + retention);
    }

    h.clock.ms = T0 + retention - 1;
    assert.equal(await h.cleaner.cleanFilthiestLog(), null, 'not due before the horizon');
    h.clock.ms = T0 + retention;
    const result = await h.cleaner.cleanFilthiestLog();
    assert.ok(result !== null, 'due once the horizon passed');
    assert.equal(result.tombstonesRemoved, tombstones.length);
    assert.equal(result.dirtyRatio, 0);
    const second = await readRecs(h.log);
    assert.deepEqual(second, expectedAfterClean(original, activeBase, true));
    assert.deepEqual(finalView(second), finalView(original));
    assert.equal(await h.cleaner.cleanFilthiestLog(), null, 'no horizon left');
    await h.log.close();
  }));

test('a full offset map makes a pass stop early; later passes finish the job', () =>
  withTempDir(async (root) => {
    // ~1000 bytes of map: about 15 short keys, i.e. 4-5 batches of 3 per pass.
    const h = await Harness.open(root, compactConfig({ minCleanableDirtyRatio: 0 }), new FakeClock(), { dedupeBufferSize: 1112 });
    for (let b = 0; b < 40; b++) {
      await h.append([0, 1, 2].map((r) => [`k${(b * 3 + r) % 30}`, pad(`v${b}.${r}`, 30)] as KV));
    }
    const original = await readRecs(h.log);
    const activeBase = h.log.activeSegmentBaseOffset;
    const results = [];
    for (let r = await h.clean(); r !== null; r = await h.clean()) {
      results.push(r);
      assert.ok(results.length < 50);
    }
    assert.ok(results.length > 2, `${results.length} passes`);
    assert.ok(results[0]!.mapFull);
    assert.ok(results[0]!.mapEntries <= 15);
    for (let i = 1; i < results.length; i++) assert.equal(results[i]!.firstDirtyOffset, results[i - 1]!.endOffset);
    assert.equal(results.at(-1)!.endOffset, activeBase);
    assert.deepEqual(await readRecs(h.log), expectedAfterClean(original, activeBase));
    await h.log.close();
  }));

// ---- which logs, which parts ------------------------------------------------

test('logs without cleanup.policy compact are never touched', () =>
  withTempDir(async (root) => {
    const h = await Harness.open(root, compactConfig({ cleanupPolicy: ['delete'] }));
    await fillMixed(h, 24);
    const before = h.log.segmentInfos();
    const records = await readRecs(h.log);
    assert.equal(await h.cleaner.examine(h.log, root), null);
    assert.equal(await h.cleaner.cleanFilthiestLog(), null);
    assert.equal(await h.clean(true), null);
    assert.deepEqual(h.log.segmentInfos(), before);
    assert.deepEqual(await readRecs(h.log), records);
    await h.log.close();
  }));

test('min.cleanable.dirty.ratio: a log is cleaned only once its dirty share reaches the ratio', () =>
  withTempDir(async (root) => {
    const h = await Harness.open(root, compactConfig({ minCleanableDirtyRatio: 0.6 }));
    let i = 0;
    const appendSome = async (n: number) => {
      for (let b = 0; b < n; b++, i++) await h.append([[`k${i % 5}`, pad(`v${i}`, 150)]]);
    };
    await appendSome(30);
    assert.ok((await h.clean()) !== null); // everything dirty: ratio 1
    let skipped = 0;
    for (let round = 0; round < 40; round++) {
      const info = (await h.cleaner.examine(h.log, root))!;
      const segments = h.log.segmentInfos().slice(0, -1);
      const checkpoint = h.cleaner.checkpointOf(h.log, root)!;
      const clean = segments.filter((s) => s.baseOffset < checkpoint).reduce((n, s) => n + s.sizeInBytes, 0);
      const dirty = segments.filter((s) => s.baseOffset >= checkpoint).reduce((n, s) => n + s.sizeInBytes, 0);
      assert.equal(info.dirtyRatio, dirty + clean === 0 ? 0 : dirty / (clean + dirty));
      if (info.dirtyRatio < 0.6) {
        assert.equal(info.due, false);
        assert.equal(await h.cleaner.cleanFilthiestLog(), null);
        skipped++;
        await appendSome(2);
        continue;
      }
      assert.ok(info.due);
      const result = await h.cleaner.cleanFilthiestLog();
      assert.ok(result !== null);
      assert.ok(result.dirtyRatio >= 0.6);
      break;
    }
    assert.ok(skipped > 0, 'some rounds were below the ratio');
    await h.log.close();
  }));

test('min.compaction.lag.ms keeps recent records; max.compaction.lag.ms forces a clean below the ratio', () =>
  withTempDir(async (root) => {
    const h = await Harness.open(root, compactConfig({ minCompactionLagMs: 5_000 }));
    await fillMixed(h, 24);
    const original = await readRecs(h.log);
    assert.equal(await h.clean(), null, 'every segment is younger than the lag');
    h.clock.ms = T0 + 5_001;
    assert.ok((await h.clean()) !== null);
    assert.deepEqual(await readRecs(h.log), expectedAfterClean(original, h.log.activeSegmentBaseOffset));

    // Below the ratio, but the oldest dirty batch is older than max.compaction.lag.ms.
    h.config = compactConfig({ minCleanableDirtyRatio: 1, maxCompactionLagMs: 60_000 });
    h.log.updateConfig(h.config);
    await fillMixed(h, 8);
    let info = (await h.cleaner.examine(h.log, root))!;
    assert.ok(info.dirtyBytes > 0 && info.dirtyRatio < 1);
    assert.equal(info.due, false);
    h.clock.ms = T0 + 60_001;
    info = (await h.cleaner.examine(h.log, root))!;
    assert.ok(info.lagExceeded && info.due);
    assert.ok((await h.cleaner.cleanFilthiestLog()) !== null);
    await h.log.close();
  }));

test('the high watermark bounds what is cleaned', () =>
  withTempDir(async (root) => {
    const h = await Harness.open(root, compactConfig({ minCleanableDirtyRatio: 0 }));
    await fillMixed(h, 24);
    const original = await readRecs(h.log);
    const bound = h.log.segmentInfos()[3]!.baseOffset;
    h.log.highWatermark = bound;
    const result = await h.clean();
    assert.ok(result !== null);
    assert.ok(result.endOffset <= bound);
    assert.deepEqual(await readRecs(h.log), expectedAfterClean(original, result.endOffset));
    await h.log.close();
  }));

// ---- batches: producers, compression ----------------------------------------

test('an idempotent producer keeps its last batch as an empty batch; its older emptied batches go', () =>
  withTempDir(async (root) => {
    const h = await Harness.open(root, compactConfig());
    for (let s = 0; s < 4; s++) {
      await h.append(
        [
          ['a', `p${s}`],
          ['b', `p${s}`],
        ],
        { producerId: 7n, producerEpoch: 3, baseSequence: s * 2 },
      );
    }
    await h.append([
      ['a', 'final-a'],
      ['b', 'final-b'],
    ]);
    for (let f = 0; f < 6; f++) await h.append([[`f${f}`, pad('f', 400)]]);
    assert.ok(h.log.activeSegmentBaseOffset > 10);
    await h.clean();
    const batches = await readBatches(h.log);
    const fromProducer = batches.filter((b) => b.batch.producerId === 7n);
    assert.equal(fromProducer.length, 1);
    const empty = fromProducer[0]!.batch;
    assert.equal(empty.recordsCount, 0);
    assert.equal(empty.baseOffset, 6);
    assert.equal(empty.lastOffset, 7);
    assert.equal(empty.baseSequence, 6);
    assert.equal(empty.producerEpoch, 3);
    assert.equal(empty.lastSequence, 7);
    const recs = await readRecs(h.log);
    assert.deepEqual(
      recs.filter((r) => r.key === 'a' || r.key === 'b').map((r) => r.value),
      ['final-a', 'final-b'],
    );
    await h.log.close();
  }));

test('compressed batches are compacted and keep their codec; keyless records are removed', () =>
  withTempDir(async (root) => {
    const h = await Harness.open(root, compactConfig({ segmentBytes: 2048 }));
    const codecs = [1, 2, 3, 4]; // gzip, snappy, lz4, zstd
    for (let b = 0; b < 40; b++) {
      const records: KV[] = [0, 1, 2, 3].map((r) => [`k${(b * 4 + r) % 7}`, pad(`v${b}.${r}`, 80)]);
      if (b === 2) records.push([null, 'no key']);
      await h.append(records, { compression: codecs[b % 4] as BuildOptions['compression'] });
    }
    const originalBatches = await readBatches(h.log);
    const original = originalBatches.flatMap((b) => b.records);
    const activeBase = h.log.activeSegmentBaseOffset;
    const result = await h.clean();
    assert.ok(result !== null);
    assert.equal(result.keylessRemoved, 1);
    const after = await readBatches(h.log);
    const expected = expectedAfterClean(original, activeBase);
    assert.deepEqual(
      after.flatMap((b) => b.records),
      expected,
    );
    const codecAt = new Map(originalBatches.map((b) => [b.batch.baseOffset, b.batch.compression]));
    for (const { batch } of after) assert.equal(batch.compression, codecAt.get(batch.baseOffset));
    await h.log.close();
  }));

test('transactions: only records whose COMMIT marker was seen supersede others; markers stay', () =>
  withTempDir(async (root) => {
    const h = await Harness.open(root, compactConfig());
    const txn = (producerId: bigint) => ({ producerId, producerEpoch: 0, baseSequence: 0, transactional: true });
    const marker = async (producerId: bigint, commit: boolean) => {
      await h.log.append(buildTxnMarkerBatch({ commit, coordinatorEpoch: 0, producerId, producerEpoch: 0, timestamp: T0 }));
      h.log.highWatermark = h.log.logEndOffset;
    };
    await h.append([['aborted', 'committed-before']]); // 0
    await h.append([['aborted', 'aborted-value']], txn(5n)); // 1
    await marker(5n, false); // 2
    await h.append([['committed', 'old']]); // 3
    await h.append([['committed', 'new']], txn(6n)); // 4
    await marker(6n, true); // 5
    await h.append([['open', 'before']]); // 6
    await h.append([['open', 'in-open-transaction']], txn(7n)); // 7
    for (let f = 0; f < 6; f++) await h.append([[`f${f}`, pad('f', 400)]]);
    assert.ok(h.log.activeSegmentBaseOffset > 8);
    await h.clean();
    const batches = await readBatches(h.log);
    const kept = batches.filter((b) => !b.batch.isControl).flatMap((b) => b.records).filter((r) => !r.key!.startsWith('f'));
    assert.deepEqual(
      kept.map((r) => [r.offset, r.key, r.value]),
      [
        [0, 'aborted', 'committed-before'],
        [1, 'aborted', 'aborted-value'],
        [4, 'committed', 'new'],
        [6, 'open', 'before'],
        [7, 'open', 'in-open-transaction'],
      ],
    );
    assert.deepEqual(
      batches.filter((b) => b.batch.isControl).map((b) => b.batch.baseOffset),
      [2, 5],
    );
    await h.log.close();
  }));

// ---- crash safety -------------------------------------------------------------

for (const stage of ['beforeCommit', 'afterCommit', 'afterOldRenamed'] as const) {
  test(`a crash at ${stage} of a swap leaves the old segments or the new one, whole`, () =>
    withTempDir(async (root) => {
      const h = await Harness.open(root, compactConfig());
      await fillMixed(h, 32);
      const original = await readRecs(h.log);
      const activeBase = h.log.activeSegmentBaseOffset;
      const images = [join(root, 'image-a', 'orders-0'), join(root, 'image-b', 'orders-0')];
      let taken = false;
      h.cleaner.swapHooks = {
        [stage]: async () => {
          if (taken) return;
          taken = true;
          // What a crash right now leaves on disk (the files as they are, renames included).
          for (const image of images) await cp(h.dir, image, { recursive: true });
        },
      };
      await h.clean();
      assert.ok(taken);
      const cleaned = await readRecs(h.log);
      await h.log.close();

      const byOffset = new Map(original.map((r) => [r.offset, r]));
      for (const [image, recoveryPoint] of [
        [images[0]!, 0],
        [images[1]!, activeBase],
      ] as const) {
        const log = await PartitionLog.open(image, TP, h.config, { hadCleanShutdown: false, recoveryPoint, now: h.clock.now });
        log.highWatermark = log.logEndOffset;
        const recs = await readRecs(log);
        assert.deepEqual(finalView(recs), finalView(original));
        for (const r of recs) assert.deepEqual(r, byOffset.get(r.offset));
        if (stage === 'beforeCommit') {
          assert.deepEqual(recs, original);
        } else {
          assert.ok(recs.length < original.length, 'the committed swap took effect');
          const groupEnd = log.segmentInfos()[1]!.baseOffset;
          assert.deepEqual(
            recs.filter((r) => r.offset < groupEnd),
            cleaned.filter((r) => r.offset < groupEnd),
          );
          assert.deepEqual(
            recs.filter((r) => r.offset >= groupEnd),
            original.filter((r) => r.offset >= groupEnd),
          );
        }
        assert.equal(log.logStartOffset, 0);
        assert.equal(log.logEndOffset, original.at(-1)!.offset + 1);
        assert.deepEqual(await leftovers(image), []);
        // The log is whole: it can be cleaned to the end after recovery.
        const cleaner = new LogCleaner({ logs: () => [{ log, dir: join(image, '..') }], logDirs: [join(image, '..')] }, {}, { now: h.clock.now });
        await cleaner.cleanLog(log, join(image, '..'), { force: true });
        assert.deepEqual(await readRecs(log), cleaned);
        await log.close();
      }
    }));
}

test('index files still named .swap after a crash are dropped and rebuilt', () =>
  withTempDir(async (root) => {
    const h = await Harness.open(root, compactConfig());
    await fillMixed(h, 24);
    await h.clean();
    const cleaned = await readRecs(h.log);
    await h.log.close();
    const stem = join(h.dir, '0'.repeat(20));
    await rename(`${stem}.index`, `${stem}.index.swap`);
    await rename(`${stem}.timeindex`, `${stem}.timeindex.swap`);
    await h.reopen({ hadCleanShutdown: true, recoveryPoint: cleaned.at(-1)!.offset + 1 });
    assert.deepEqual(await leftovers(h.dir), []);
    assert.deepEqual(await readRecs(h.log), cleaned);
    assert.ok(h.log.indexRebuilds > 0);
    await h.log.close();
  }));

// ---- the LogManager's cleaner ------------------------------------------------

test('the LogManager runs the cleaner on its timer, keeps the checkpoint, and forgets deleted logs', () =>
  withTempDir(async (root) => {
    const config = compactConfig();
    const manager = await LogManager.open([root], config, {
      cleaner: { backoffMs: 20 },
      retentionCheckIntervalMs: 1e9,
      recoveryPointCheckpointIntervalMs: 1e9,
      logStartOffsetCheckpointIntervalMs: 1e9,
      highWatermarkCheckpointIntervalMs: 1e9,
    });
    assert.ok(manager.cleaner?.isRunning);
    const plain = await manager.createLog('plain', 0, compactConfig({ cleanupPolicy: ['delete'] }));
    const log = await manager.createLog('compacted', 0);
    const original: Rec[] = [];
    for (let b = 0; b < 40; b++) {
      const records: KV[] = [0, 1, 2].map((r) => [`k${(b * 3 + r) % 6}`, pad(`v${b}.${r}`, 40)]);
      await appendKeyed(log, records);
      await appendKeyed(plain, records);
    }
    original.push(...(await readRecs(log)));
    const activeBase = log.activeSegmentBaseOffset;
    const plainSegments = plain.segmentInfos();
    for (let waited = 0; manager.cleaner!.checkpointOf(log, root) !== activeBase; waited += 10) {
      assert.ok(waited < 5000, 'the cleaner caught up within 5 s');
      await sleep(10);
    }
    assert.deepEqual(await readRecs(log), expectedAfterClean(original, activeBase));
    assert.deepEqual(plain.segmentInfos(), plainSegments);
    await manager.close();
    assert.equal(manager.cleaner!.isRunning, false);
    const checkpoint = parseCheckpoint(await readFile(join(root, 'cleaner-offset-checkpoint'), 'utf8'));
    assert.equal(checkpoint.get('compacted-0')?.offset, activeBase);
    assert.equal(checkpoint.has('plain-0'), false);

    const again = await LogManager.open([root], config, { timers: false });
    const reopened = again.getLog('compacted', 0)!;
    assert.deepEqual(await readRecs(reopened), expectedAfterClean(original, activeBase));
    assert.equal(again.cleaner!.checkpointOf(reopened, root), activeBase);
    assert.equal(again.cleaner!.isRunning, false, 'no timers, no cleaner loop');
    await again.deleteLog('compacted', 0);
    const after = parseCheckpoint(await readFile(join(root, 'cleaner-offset-checkpoint'), 'utf8'));
    assert.equal(after.has('compacted-0'), false);
    await again.close();

    const none = await LogManager.open([root], config, { timers: false, cleaner: false });
    assert.equal(none.cleaner, null);
    await none.close();
  }));

test('topic settings and broker log.cleaner.* settings map onto the cleaner', async () => {
  const broker = await loadBrokerConfig({
    values: { 'log.dirs': '/nonexistent', 'log.cleaner.backoff.ms': 200, 'log.cleaner.threads': 2, 'log.cleaner.min.cleanable.ratio': 0.3 },
  });
  const config = logConfigFor(broker, {
    'cleanup.policy': 'compact,delete',
    'delete.retention.ms': '1000',
    'min.compaction.lag.ms': '5',
    'max.compaction.lag.ms': '600000',
  });
  assert.deepEqual(config.cleanupPolicy, ['compact', 'delete']);
  assert.equal(config.deleteRetentionMs, 1000);
  assert.equal(config.minCleanableDirtyRatio, 0.3, 'from the broker synonym');
  assert.equal(config.minCompactionLagMs, 5);
  assert.equal(config.maxCompactionLagMs, 600000);
  const defaults = logConfigFor(broker);
  assert.equal(defaults.deleteRetentionMs, 86_400_000);
  assert.ok(defaults.maxCompactionLagMs! >= Number.MAX_SAFE_INTEGER);
  const cleaner = cleanerConfigFor(broker);
  assert.equal(cleaner.enable, true);
  assert.equal(cleaner.backoffMs, 200);
  assert.equal(cleaner.threads, 2);
  assert.equal(cleaner.dedupeBufferSize, 128 * 1024 * 1024);
  assert.equal(cleaner.ioBufferSize, 512 * 1024);
  assert.equal(cleaner.dedupeBufferLoadFactor, 0.9);
});
