import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CompressionType,
  RecordBatch,
  TimestampType,
  buildBatch,
  buildBatchAsync,
  compressionName,
  type KafkaRecord,
  type RecordInput,
} from '../../../src/protocol/records/index.js';

const CODECS = [
  CompressionType.None,
  CompressionType.Gzip,
  CompressionType.Snappy,
  CompressionType.Lz4,
  CompressionType.Zstd,
];

const T0 = 1_700_000_000_000;

/** Keys and values null, empty, small, large; headers with null and empty values; timestamps out of order. */
function sampleRecords(): RecordInput[] {
  const large = Buffer.alloc(300_000);
  for (let i = 0; i < large.length; i++) large[i] = (i * 31 + (i >> 7)) & 0xff;
  return [
    { key: 'k0', value: 'v0', timestamp: T0 },
    { key: null, value: null, timestamp: T0 + 5 },
    { key: Buffer.alloc(0), value: Buffer.alloc(0), timestamp: T0 - 3 },
    { key: 'large', value: large, timestamp: T0 + 1000 },
    {
      key: 'h',
      value: 'with headers',
      timestamp: T0 + 2,
      headers: [
        { key: 'trace', value: 'abc' },
        { key: 'empty', value: Buffer.alloc(0) },
        { key: 'null', value: null },
        { key: 'ünïcödé', value: Buffer.from([0, 255, 1]) },
        { key: 'trace', value: 'dup' },
      ],
    },
    { key: Buffer.alloc(70_000, 9), value: 'big key', timestamp: T0 + 1_000_000_000 },
  ];
}

function bytes(v: RecordInput['key']): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v) : v;
}

function assertRecords(actual: KafkaRecord[], expected: RecordInput[], baseOffset: number): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((record, i) => {
    const want = expected[i]!;
    assert.equal(record.offset, baseOffset + i, `offset of record ${i}`);
    assert.equal(record.timestamp, want.timestamp, `timestamp of record ${i}`);
    assert.deepEqual(record.key, bytes(want.key), `key of record ${i}`);
    assert.deepEqual(record.value, bytes(want.value), `value of record ${i}`);
    assert.deepEqual(
      record.headers,
      (want.headers ?? []).map((h) => ({ key: h.key, value: bytes(h.value) })),
      `headers of record ${i}`,
    );
  });
}

for (const codec of CODECS) {
  const name = compressionName(codec);

  test(`${name}: build -> view -> records round trip`, () => {
    const records = sampleRecords();
    const buf = buildBatch(records, {
      compression: codec,
      baseOffset: 1000,
      producerId: 4242n,
      producerEpoch: 3,
      baseSequence: 17,
      partitionLeaderEpoch: 9,
    });
    const batch = new RecordBatch(buf);
    batch.validate({ produce: true });
    assert.equal(batch.magic, 2);
    assert.equal(batch.compression, codec);
    assert.equal(batch.baseOffset, 1000);
    assert.equal(batch.lastOffsetDelta, records.length - 1);
    assert.equal(batch.lastOffset, 1000 + records.length - 1);
    assert.equal(batch.nextOffset, 1000 + records.length);
    assert.equal(batch.recordsCount, records.length);
    assert.equal(batch.sizeInBytes, buf.length);
    assert.equal(batch.batchLength, buf.length - 12);
    assert.equal(batch.baseTimestamp, T0);
    assert.equal(batch.maxTimestamp, T0 + 1_000_000_000);
    assert.equal(batch.producerId, 4242n);
    assert.equal(batch.producerEpoch, 3);
    assert.equal(batch.baseSequence, 17);
    assert.equal(batch.lastSequence, 17 + records.length - 1);
    assert.equal(batch.partitionLeaderEpoch, 9);
    assert.equal(batch.timestampType, TimestampType.CreateTime);
    assert.equal(batch.isTransactional, false);
    assert.equal(batch.isControl, false);
    assertRecords([...batch.records()], records, 1000);
  });

  test(`${name}: async build and async records agree with sync`, async () => {
    const records = sampleRecords();
    const options = { compression: codec, baseOffset: 7, now: T0 };
    const asyncBuf = await buildBatchAsync(records, options);
    const batch = new RecordBatch(asyncBuf);
    batch.validate();
    assertRecords([...(await batch.recordsAsync())], records, 7);
    // Same records whichever way the batch was built.
    const syncBatch = new RecordBatch(buildBatch(records, options));
    assert.deepEqual([...syncBatch.records()], [...batch.records()]);
  });

  test(`${name}: a large batch of small records`, async () => {
    const records: RecordInput[] = [];
    for (let i = 0; i < 5000; i++) records.push({ key: `key-${i % 97}`, value: `value ${i} `.repeat(8), timestamp: T0 + i });
    const batch = new RecordBatch(await buildBatchAsync(records, { compression: codec }));
    batch.validate({ produce: true });
    let n = 0;
    for (const record of batch.records()) {
      assert.equal(record.offset, n);
      assert.equal(record.value!.toString(), `value ${n} `.repeat(8));
      n++;
    }
    assert.equal(n, 5000);
  });
}

test('records without timestamps take the build time', () => {
  const batch = new RecordBatch(buildBatch([{ value: 'a' }, { value: 'b' }], { now: T0 }));
  assert.deepEqual(
    [...batch.records()].map((r) => r.timestamp),
    [T0, T0],
  );
  assert.equal(batch.baseTimestamp, T0);
  assert.equal(batch.maxTimestamp, T0);
});

test('timestamp deltas beyond int32 and negative deltas', () => {
  const records = [
    { value: 'a', timestamp: T0 },
    { value: 'b', timestamp: T0 - 2 ** 40 },
    { value: 'c', timestamp: T0 + 2 ** 35 + 1 },
    { value: 'd', timestamp: -1 },
  ];
  const batch = new RecordBatch(buildBatch(records));
  batch.validate();
  assert.deepEqual(
    [...batch.records()].map((r) => r.timestamp),
    records.map((r) => r.timestamp),
  );
});

test('LogAppendTime batches: every record reads as the append time', () => {
  const batch = new RecordBatch(
    buildBatch([{ value: 'a', timestamp: 1 }, { value: 'b', timestamp: 2 }], {
      timestampType: TimestampType.LogAppendTime,
      logAppendTime: T0,
    }),
  );
  batch.validate();
  assert.equal(batch.timestampType, TimestampType.LogAppendTime);
  assert.equal(batch.maxTimestamp, T0);
  assert.deepEqual(
    [...batch.records()].map((r) => r.timestamp),
    [T0, T0],
  );
});

test('explicit offsets with gaps (as the log cleaner rebuilds batches)', () => {
  const batch = new RecordBatch(
    buildBatch([
      { value: 'a', offset: 100 },
      { value: 'b', offset: 103 },
      { value: 'c', offset: 110 },
    ]),
  );
  batch.validate();
  assert.throws(() => batch.validate({ produce: true }), { code: 87 });
  assert.equal(batch.baseOffset, 100);
  assert.equal(batch.lastOffsetDelta, 10);
  assert.equal(batch.recordsCount, 3);
  assert.deepEqual(
    [...batch.records()].map((r) => r.offset),
    [100, 103, 110],
  );
  assert.throws(() => buildBatch([{ value: 'a', offset: 5 }, { value: 'b', offset: 5 }]), RangeError);
});

test('transactional and idempotent header fields', () => {
  const batch = new RecordBatch(
    buildBatch([{ value: 'x' }], { transactional: true, producerId: 2n ** 62n, producerEpoch: 32767, baseSequence: 0x7fffffff }),
  );
  batch.validate();
  assert.equal(batch.isTransactional, true);
  assert.equal(batch.producerId, 2n ** 62n);
  assert.equal(batch.producerEpoch, 32767);
  assert.equal(batch.lastSequence, 0x7fffffff);
  const wrapped = new RecordBatch(buildBatch([{ value: 'x' }, { value: 'y' }], { baseSequence: 0x7fffffff }));
  assert.equal(wrapped.lastSequence, 0);
});

test('defaults: non-idempotent producer, no leader epoch, offset 0', () => {
  const batch = new RecordBatch(buildBatch([{ value: 'x' }]));
  assert.equal(batch.producerId, -1n);
  assert.equal(batch.producerEpoch, -1);
  assert.equal(batch.baseSequence, -1);
  assert.equal(batch.lastSequence, -1);
  assert.equal(batch.partitionLeaderEpoch, -1);
  assert.equal(batch.baseOffset, 0);
});

test('offsets beyond 2^32 survive the number conversion', () => {
  const base = 2 ** 40 + 12345;
  const batch = new RecordBatch(buildBatch([{ value: 'x' }, { value: 'y' }], { baseOffset: base }));
  assert.equal(batch.baseOffset, base);
  assert.deepEqual(
    [...batch.records()].map((r) => r.offset),
    [base, base + 1],
  );
});

test('building an empty batch is refused', () => {
  assert.throws(() => buildBatch([]), RangeError);
});

test('xerial-framed snappy batches build and read back', () => {
  const records = sampleRecords();
  const batch = new RecordBatch(buildBatch(records, { compression: CompressionType.Snappy, snappyFraming: 'xerial' }));
  batch.validate();
  assert.equal(batch.recordsData[0], 0x82);
  assertRecords([...batch.records()], records, 0);
});

test('keys and values are views into the batch when uncompressed', () => {
  const buf = buildBatch([{ key: 'key', value: 'value' }]);
  const [record] = [...new RecordBatch(buf).records()];
  assert.equal(record!.value!.buffer, buf.buffer);
  record!.value![0] = 0x56; // 'V'
  assert.equal(buf.includes('Value'), true);
});
