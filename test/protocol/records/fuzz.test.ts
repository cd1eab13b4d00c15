/**
 * Bounded fuzzing: mutated batches must only ever fail with RecordError —
 * never a RangeError from a Buffer read, never a hang, never an allocation
 * sized by a forged length. Half the mutants get their CRC (and length)
 * repaired so the mutation reaches record decoding and decompression.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CompressionType,
  RecordBatch,
  RecordError,
  buildBatch,
  scanBatches,
  splitBatches,
  type RecordInput,
} from '../../../src/protocol/records/index.js';
import { crc32c } from '../../../src/protocol/records/crc32c.js';
import { CRC, CRC_START, RECORD_BATCH_OVERHEAD } from '../../../src/protocol/records/layout.js';

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const LIMIT = 1024 * 1024;

function seeds(): Buffer[] {
  const records: RecordInput[] = [];
  for (let i = 0; i < 20; i++) {
    records.push({
      key: i % 3 === 0 ? null : `key-${i}`,
      value: i % 5 === 0 ? null : `value-${i}-`.repeat(i),
      timestamp: 1_700_000_000_000 + i * 7,
      headers: i % 4 === 0 ? [{ key: 'h', value: 'x' }, { key: 'n', value: null }] : [],
    });
  }
  return [0, 1, 2, 3, 4].map((compression) =>
    buildBatch(records, { compression: compression as CompressionType, producerId: 9n, baseSequence: 0 }),
  );
}

function repair(buf: Buffer): void {
  if (buf.length >= RECORD_BATCH_OVERHEAD) {
    buf.writeInt32BE(buf.length - 12, 8);
    buf.writeUInt32BE(crc32c(buf.subarray(CRC_START)), CRC);
  }
}

function mutate(original: Buffer, rand: () => number): Buffer {
  let buf = Buffer.from(original);
  const pick = (): number => Math.floor(rand() * buf.length);
  switch (Math.floor(rand() * 6)) {
    case 0: // flip a few bits
      for (let i = 1 + Math.floor(rand() * 8); i > 0; i--) buf[pick()]! ^= 1 << Math.floor(rand() * 8);
      break;
    case 1: // random bytes in the record area
      for (let i = 1 + Math.floor(rand() * 16); i > 0; i--) {
        buf[RECORD_BATCH_OVERHEAD + Math.floor(rand() * (buf.length - RECORD_BATCH_OVERHEAD))] = Math.floor(rand() * 256);
      }
      break;
    case 2: // truncate
      buf = buf.subarray(0, pick());
      break;
    case 3: // insert junk
      {
        const at = pick();
        const junk = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 32) }, () => Math.floor(rand() * 256)));
        buf = Buffer.concat([buf.subarray(0, at), junk, buf.subarray(at)]);
      }
      break;
    case 4: // forge header integers (lengths, counts, deltas)
      for (const at of [8, 23, 57]) if (rand() < 0.5) buf.writeInt32BE((rand() * 2 ** 32 - 2 ** 31) | 0, at);
      break;
    default: // maximal varints and 0xff runs
      buf.fill(rand() < 0.5 ? 0xff : 0x80, RECORD_BATCH_OVERHEAD + Math.floor(rand() * 40), pick());
  }
  if (rand() < 0.5) repair(buf);
  return buf;
}

function expectOnlyRecordErrors(fn: () => void, what: string): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof RecordError)) assert.fail(`${what}: threw ${String(err)}\n${(err as Error).stack}`);
  }
}

test('mutated batches only ever throw RecordError', async () => {
  const rand = prng(0x5eed);
  const originals = seeds();
  const started = Date.now();
  let decoded = 0;
  for (let i = 0; i < 4000; i++) {
    const original = originals[i % originals.length]!;
    const buf = mutate(original, rand);
    const hex = buf.toString('hex');
    expectOnlyRecordErrors(() => new RecordBatch(buf).validate(), `validate ${hex}`);
    expectOnlyRecordErrors(() => {
      for (const record of new RecordBatch(buf).records({ maxDecompressedBytes: LIMIT })) {
        decoded++;
        void record;
      }
    }, `records ${hex}`);
    expectOnlyRecordErrors(() => scanBatches(buf), `scan ${hex}`);
    expectOnlyRecordErrors(() => {
      for (const batch of splitBatches(buf)) batch.validate();
    }, `split ${hex}`);
    if (i % 8 === 0) {
      try {
        await new RecordBatch(buf).recordsAsync({ maxDecompressedBytes: LIMIT }).then((it) => [...it]);
      } catch (err) {
        if (!(err instanceof RecordError)) assert.fail(`recordsAsync ${hex}: threw ${String(err)}`);
      }
    }
  }
  assert.ok(decoded > 0, 'some mutants still decode');
  assert.ok(Date.now() - started < 60_000, 'fuzzing stays fast (no pathological loops)');
});

test('random record areas behind a valid header and CRC', () => {
  const rand = prng(42);
  const header = seeds()[0]!.subarray(0, RECORD_BATCH_OVERHEAD);
  for (let i = 0; i < 3000; i++) {
    const body = Buffer.from(Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 256)));
    const buf = Buffer.concat([header, body]);
    buf.writeInt32BE(Math.floor(rand() * 50), 57); // records count
    buf.writeInt32BE(60, 23); // lastOffsetDelta
    repair(buf);
    expectOnlyRecordErrors(() => {
      const batch = new RecordBatch(buf);
      batch.validate();
      for (const record of batch.records()) void record;
    }, `random ${buf.toString('hex')}`);
  }
});

test('forged giant counts and lengths do not allocate or loop', () => {
  const buf = Buffer.from(seeds()[0]!);
  buf.writeInt32BE(0x7fffffff, 57);
  buf.writeInt32BE(0x7fffffff, 23);
  repair(buf);
  assert.throws(() => new RecordBatch(buf).validate(), RecordError);
  // Iterating without validate: stops at the end of the data.
  assert.throws(() => [...new RecordBatch(buf).records()], RecordError);
  // A record claiming a 2 GiB value.
  const forged = buildBatch([{ value: 'x' }]);
  const at = RECORD_BATCH_OVERHEAD;
  const patched = Buffer.concat([forged.subarray(0, at), Buffer.from([0x0e, 0, 0, 0, 1, 0xfe, 0xff, 0xff, 0xff, 0x0f])]);
  repair(patched);
  assert.throws(() => [...new RecordBatch(patched).records()], RecordError);
});
