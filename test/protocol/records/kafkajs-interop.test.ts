/**
 * Interop with kafkajs's own RecordBatch encoder and decoder (a dev
 * dependency). gzip uses kafkajs's built-in codec; snappy, lz4 and zstd are
 * plugins in kafkajs, so we register our codec functions in its registry,
 * which also shows they work inside another client's batch framing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import {
  CompressionType,
  RecordBatch,
  buildBatchAsync,
  compressAsync,
  compressionName,
  decompressAsync,
} from '../../../src/protocol/records/index.js';

const require = createRequire(import.meta.url);
const { RecordBatch: KafkajsRecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as any;
const KafkajsRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as any;
const kafkajsDecodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as any;
const KafkajsDecoder = require('kafkajs/src/protocol/decoder.js') as any;
const Long = require('kafkajs/src/utils/long.js') as any;
const { Codecs } = require('kafkajs/src/protocol/message/compression/index.js') as any;

for (const codec of [CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd]) {
  Codecs[codec] = () => ({
    compress: (encoder: { buffer: Buffer }) => compressAsync(codec, encoder.buffer),
    decompress: (buffer: Buffer) => decompressAsync(codec, buffer),
  });
}

const T0 = 1_700_000_000_000;

interface Sample {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
  timestamp: number;
}

function samples(): Sample[] {
  const out: Sample[] = [];
  for (let i = 0; i < 50; i++) {
    out.push({
      key: i % 7 === 0 ? null : Buffer.from(`key-${i}`),
      value: i % 11 === 0 ? null : i % 13 === 0 ? Buffer.alloc(0) : Buffer.from(`value ${i} `.repeat(i + 1)),
      headers: i % 3 === 0 ? { trace: Buffer.from(`t${i}`), 'content-type': Buffer.from('text/plain') } : {},
      timestamp: T0 + i * 3 - (i % 4),
    });
  }
  out.push({ key: Buffer.from('big'), value: Buffer.alloc(200_000, 'z'), headers: {}, timestamp: T0 + 1 });
  return out;
}

for (const codec of [CompressionType.None, CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd]) {
  const name = compressionName(codec);

  test(`${name}: batches encoded by kafkajs decode with ours`, async () => {
    const records = samples();
    const encoded = await KafkajsRecordBatch({
      compression: codec,
      firstOffset: Long.fromNumber(1234),
      firstTimestamp: records[0]!.timestamp,
      maxTimestamp: Math.max(...records.map((r) => r.timestamp)),
      lastOffsetDelta: records.length - 1,
      partitionLeaderEpoch: 5,
      producerId: Long.fromNumber(88),
      producerEpoch: 2,
      firstSequence: 10,
      transactional: true,
      records: records.map((r, i) =>
        KafkajsRecord({
          offsetDelta: i,
          timestampDelta: r.timestamp - records[0]!.timestamp,
          key: r.key,
          value: r.value,
          headers: r.headers,
        }),
      ),
    });
    const batch = new RecordBatch(encoded.buffer as Buffer);
    batch.validate({ produce: true });
    assert.equal(batch.compression, codec);
    assert.equal(batch.baseOffset, 1234);
    assert.equal(batch.partitionLeaderEpoch, 5);
    assert.equal(batch.producerId, 88n);
    assert.equal(batch.producerEpoch, 2);
    assert.equal(batch.baseSequence, 10);
    assert.equal(batch.isTransactional, true);
    const decoded = [...(await batch.recordsAsync())];
    assert.equal(decoded.length, records.length);
    decoded.forEach((record, i) => {
      const want = records[i]!;
      assert.equal(record.offset, 1234 + i);
      assert.equal(record.timestamp, want.timestamp);
      assert.deepEqual(record.key, want.key);
      assert.deepEqual(record.value, want.value);
      assert.deepEqual(
        record.headers,
        Object.entries(want.headers).map(([key, value]) => ({ key, value })),
      );
    });
  });

  test(`${name}: batches built by us decode with kafkajs`, async () => {
    const records = samples();
    const built = await buildBatchAsync(
      records.map((r) => ({
        key: r.key,
        value: r.value,
        timestamp: r.timestamp,
        headers: Object.entries(r.headers).map(([key, value]) => ({ key, value })),
      })),
      { compression: codec, baseOffset: 77, producerId: 5n, producerEpoch: 1, baseSequence: 3, partitionLeaderEpoch: 2 },
    );
    const decoded = await kafkajsDecodeBatch(new KafkajsDecoder(built));
    assert.equal(decoded.firstOffset, '77');
    assert.equal(decoded.producerId, '5');
    assert.equal(decoded.partitionLeaderEpoch, 2);
    assert.equal(decoded.firstSequence, 3);
    assert.equal(decoded.records.length, records.length);
    decoded.records.forEach((record: any, i: number) => {
      const want = records[i]!;
      assert.equal(record.offset, String(77 + i));
      assert.equal(record.timestamp, String(want.timestamp));
      assert.deepEqual(record.key, want.key);
      assert.deepEqual(record.value, want.value);
      assert.deepEqual(record.headers, want.headers);
    });
  });
}

test('kafkajs reads our xerial-framed snappy too (through our decoder plugin)', async () => {
  const built = await buildBatchAsync([{ key: 'k', value: 'v'.repeat(100_000) }], {
    compression: CompressionType.Snappy,
    snappyFraming: 'xerial',
  });
  const decoded = await kafkajsDecodeBatch(new KafkajsDecoder(built));
  assert.equal(decoded.records[0].value.length, 100_000);
});
