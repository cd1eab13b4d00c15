import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CompressionType,
  RecordBatch,
  RecordError,
  TimestampType,
  buildBatch,
  scanBatches,
  splitBatches,
} from '../../../src/protocol/records/index.js';
import { crc32c } from '../../../src/protocol/records/crc32c.js';
import { CRC, CRC_START, MAGIC, RECORDS_COUNT } from '../../../src/protocol/records/layout.js';
import { ErrorCode, KafkaError } from '../../../src/protocol/errors.js';

const T0 = 1_700_000_000_000;

function sample(compression = CompressionType.None, baseOffset = 0): Buffer {
  return buildBatch(
    [
      { key: 'a', value: 'one', timestamp: T0, headers: [{ key: 'h', value: 'v' }] },
      { key: null, value: 'two', timestamp: T0 + 10 },
      { key: 'c', value: null, timestamp: T0 + 5 },
    ],
    { compression, baseOffset, producerId: 7n, producerEpoch: 1, baseSequence: 0 },
  );
}

function fixCrc(buf: Buffer): void {
  buf.writeUInt32BE(crc32c(buf.subarray(CRC_START)), CRC);
}

const corruptMessage = (err: unknown): boolean =>
  err instanceof RecordError && err instanceof KafkaError && err.code === ErrorCode.CORRUPT_MESSAGE;

test('a flipped bit anywhere in the CRC-covered range is caught', () => {
  for (const compression of [CompressionType.None, CompressionType.Zstd]) {
    const original = sample(compression);
    for (let at = CRC_START; at < original.length; at++) {
      for (const bit of [0x01, 0x80]) {
        const buf = Buffer.from(original);
        buf[at]! ^= bit;
        assert.throws(() => new RecordBatch(buf).validate(), corruptMessage, `byte ${at} bit ${bit}`);
      }
    }
  }
});

test('a flipped bit in the stored CRC is caught', () => {
  for (let at = CRC; at < CRC + 4; at++) {
    const buf = sample();
    buf[at]! ^= 0x10;
    assert.throws(() => new RecordBatch(buf).validate(), /CRC mismatch/);
  }
});

test('setBaseOffset and setPartitionLeaderEpoch keep the CRC valid', () => {
  const buf = sample(CompressionType.Gzip);
  const batch = new RecordBatch(buf);
  const crc = batch.crc;
  batch.setBaseOffset(2 ** 45 + 3);
  batch.setPartitionLeaderEpoch(12);
  batch.validate();
  assert.equal(batch.crc, crc);
  assert.equal(batch.baseOffset, 2 ** 45 + 3);
  assert.equal(batch.lastOffset, 2 ** 45 + 5);
  assert.equal(batch.partitionLeaderEpoch, 12);
  assert.deepEqual(
    [...batch.records()].map((r) => r.offset),
    [2 ** 45 + 3, 2 ** 45 + 4, 2 ** 45 + 5],
  );
  assert.throws(() => batch.setBaseOffset(2 ** 53), RangeError);
});

test('setLogAppendTime sets the type and max timestamp and recomputes the CRC', () => {
  const batch = new RecordBatch(sample(CompressionType.Lz4));
  const before = batch.crc;
  batch.setLogAppendTime(T0 + 99_999);
  batch.validate();
  assert.notEqual(batch.crc, before);
  assert.equal(batch.timestampType, TimestampType.LogAppendTime);
  assert.equal(batch.maxTimestamp, T0 + 99_999);
  assert.equal(batch.baseTimestamp, T0);
  assert.equal(batch.compression, CompressionType.Lz4);
  assert.equal(batch.isTransactional, false);
  assert.deepEqual(
    [...batch.records()].map((r) => r.timestamp),
    [T0 + 99_999, T0 + 99_999, T0 + 99_999],
  );
  // Idempotent: the same time again changes nothing.
  const crc = batch.crc;
  batch.setLogAppendTime(T0 + 99_999);
  assert.equal(batch.crc, crc);
});

test('validate checks sizes: truncated, padded, tiny, impossible batchLength', () => {
  const buf = sample();
  assert.throws(() => new RecordBatch(buf.subarray(0, buf.length - 1)).validate(), corruptMessage);
  assert.throws(() => new RecordBatch(Buffer.concat([buf, Buffer.alloc(1)])).validate(), corruptMessage);
  assert.throws(() => new RecordBatch(buf.subarray(0, 10)).validate(), corruptMessage);
  assert.throws(() => new RecordBatch(buf.subarray(0, 40)).validate(), corruptMessage);
  const small = Buffer.from(buf);
  small.writeInt32BE(10, 8);
  assert.throws(() => new RecordBatch(small).validate(), /smaller than a batch header/);
});

test('validate checks record count against lastOffsetDelta and the bytes available', () => {
  const tooMany = sample();
  tooMany.writeInt32BE(4, RECORDS_COUNT);
  fixCrc(tooMany);
  assert.throws(() => new RecordBatch(tooMany).validate(), /exceeds the 3 offsets/);

  const negative = sample();
  negative.writeInt32BE(-1, RECORDS_COUNT);
  fixCrc(negative);
  assert.throws(() => new RecordBatch(negative).validate(), /negative record count/);

  const huge = sample();
  huge.writeInt32BE(0x7ffffff0, RECORDS_COUNT);
  huge.writeInt32BE(0x7ffffff0, 23); // lastOffsetDelta
  fixCrc(huge);
  assert.throws(() => new RecordBatch(huge).validate(), /cannot fit/);
});

test('produce rules: count must match the offset range and be positive', () => {
  const fewer = sample();
  fewer.writeInt32BE(2, RECORDS_COUNT);
  fixCrc(fewer);
  new RecordBatch(fewer).validate(); // fine in a compacted log
  assert.throws(() => new RecordBatch(fewer).validate({ produce: true }), { code: ErrorCode.INVALID_RECORD });
});

test('unknown compression codec ids are corrupt', () => {
  const buf = sample();
  buf[22] = (buf[22]! & ~0x07) | 5;
  fixCrc(buf);
  assert.throws(() => new RecordBatch(buf).validate(), /compression codec id 5/);
  assert.throws(() => [...new RecordBatch(buf).records()], corruptMessage);
});

test('legacy magic 0/1 is rejected with INVALID_RECORD and a clear message', () => {
  for (const magic of [0, 1]) {
    const buf = sample();
    buf[MAGIC] = magic;
    assert.throws(
      () => new RecordBatch(buf).validate(),
      (err: unknown) =>
        err instanceof RecordError &&
        err.code === ErrorCode.INVALID_RECORD &&
        /message format v[01]/.test(err.message) &&
        /magic 2/.test(err.message),
    );
    assert.throws(() => scanBatches(buf), { code: ErrorCode.INVALID_RECORD });
    assert.throws(() => [...splitBatches(buf)], { code: ErrorCode.INVALID_RECORD });
    assert.throws(() => new RecordBatch(buf).records(), { code: ErrorCode.INVALID_RECORD });
  }
  // A real v1 message set: offset, size, crc, magic 1, attributes, timestamp, key, value.
  const v1 = Buffer.alloc(8 + 4 + 4 + 1 + 1 + 8 + 4 + 4 + 3);
  v1.writeInt32BE(v1.length - 12, 8);
  v1[16] = 1;
  v1.writeInt32BE(-1, 26);
  v1.writeInt32BE(3, 30);
  assert.throws(() => scanBatches(v1), { code: ErrorCode.INVALID_RECORD });
  assert.throws(() => new RecordBatch(v1).validate(), { code: ErrorCode.INVALID_RECORD });
  const other = sample();
  other[MAGIC] = 3;
  assert.throws(() => new RecordBatch(other).validate(), { code: ErrorCode.CORRUPT_MESSAGE });
});

test('splitBatches yields views and stops cleanly at a truncated trailing batch', () => {
  const a = sample(CompressionType.None, 0);
  const b = sample(CompressionType.Snappy, 3);
  const c = sample(CompressionType.Zstd, 6);
  const all = Buffer.concat([a, b, c]);
  for (let cut = 0; cut <= all.length; cut++) {
    const splitter = splitBatches(all.subarray(0, cut));
    const batches = [...splitter];
    const complete = [a, b, c].filter((_, i) => [a, b, c].slice(0, i + 1).reduce((n, x) => n + x.length, 0) <= cut);
    assert.equal(batches.length, complete.length, `cut at ${cut}`);
    const consumed = complete.reduce((n, x) => n + x.length, 0);
    assert.equal(splitter.position, cut);
    assert.equal(splitter.truncatedBytes, cut - consumed);
    for (const batch of batches) {
      batch.validate();
      assert.equal(batch.buffer.buffer, all.buffer, 'a view, not a copy');
    }
  }
});

test('scanBatches sums headers without decoding records', () => {
  const a = buildBatch([{ value: 'x', timestamp: T0 + 50 }, { value: 'y', timestamp: T0 }], { baseOffset: 0 });
  const b = buildBatch([{ value: 'z', timestamp: T0 + 20 }], { baseOffset: 2, compression: CompressionType.Gzip });
  const scan = scanBatches(Buffer.concat([a, b]));
  assert.equal(scan.batches.length, 2);
  assert.equal(scan.recordCount, 3);
  assert.equal(scan.validBytes, a.length + b.length);
  assert.equal(scan.truncatedBytes, 0);
  assert.equal(scan.firstOffset, 0);
  assert.equal(scan.lastOffset, 2);
  assert.equal(scan.maxTimestamp, T0 + 50);
  for (const batch of scan.batches) batch.validate();

  const partial = scanBatches(Buffer.concat([a, b.subarray(0, 30)]));
  assert.equal(partial.batches.length, 1);
  assert.equal(partial.validBytes, a.length);
  assert.equal(partial.truncatedBytes, 30);

  const empty = scanBatches(Buffer.alloc(0));
  assert.deepEqual(
    { n: empty.batches.length, first: empty.firstOffset, last: empty.lastOffset, max: empty.maxTimestamp },
    { n: 0, first: -1, last: -1, max: -1 },
  );
});

test('scanBatches refuses a length no batch can have', () => {
  const buf = Buffer.concat([sample(), sample()]);
  buf.writeInt32BE(5, buf.length / 2 + 8);
  assert.throws(() => scanBatches(buf), corruptMessage);
  const negative = sample();
  negative.writeInt32BE(-100, 8);
  assert.throws(() => scanBatches(negative), corruptMessage);
});

test('RecordBatch.at sizes the view from batchLength', () => {
  const a = sample();
  const b = sample(CompressionType.Gzip, 3);
  const all = Buffer.concat([a, b]);
  const second = RecordBatch.at(all, a.length);
  second.validate();
  assert.equal(second.baseOffset, 3);
  assert.throws(() => RecordBatch.at(all.subarray(0, all.length - 1), a.length), corruptMessage);
});

test('records() of a truncated or padded record area is corrupt', () => {
  const buf = sample();
  // Claim one byte less of batch: the last record no longer fits.
  const short = Buffer.from(buf.subarray(0, buf.length - 1));
  short.writeInt32BE(short.length - 12, 8);
  assert.throws(() => [...new RecordBatch(short).records()], corruptMessage);
  const padded = Buffer.concat([buf, Buffer.from([0])]);
  padded.writeInt32BE(padded.length - 12, 8);
  assert.throws(() => [...new RecordBatch(padded).records()], /after the last record/);
});

test('empty batches (left by compaction) iterate to nothing', () => {
  for (const compression of [CompressionType.None, CompressionType.Gzip]) {
    const buf = Buffer.from(sample(compression).subarray(0, 61));
    buf.writeInt32BE(61 - 12, 8);
    buf.writeInt32BE(0, RECORDS_COUNT);
    fixCrc(buf);
    const batch = new RecordBatch(buf);
    batch.validate();
    assert.deepEqual([...batch.records()], []);
    assert.throws(() => batch.validate({ produce: true }), { code: ErrorCode.INVALID_RECORD });
  }
});

test('isValid mirrors validate', () => {
  const buf = sample();
  assert.equal(new RecordBatch(buf).isValid(), true);
  buf[buf.length - 1]! ^= 1;
  assert.equal(new RecordBatch(buf).isValid(), false);
});
