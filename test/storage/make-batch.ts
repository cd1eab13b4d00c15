/**
 * Test helper: builds uncompressed RecordBatch v2 batches with a correct
 * CRC-32C, and reads back the few header fields the storage tests check.
 * Independent of src/protocol/records/batch.ts on purpose.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writer } from '../../src/protocol/primitives.js';
import { crc32c } from '../../src/protocol/records/crc32c.js';
import {
  ATTRIBUTES,
  BASE_OFFSET,
  BATCH_LENGTH,
  CRC,
  CRC_START,
  LAST_OFFSET_DELTA,
  MAX_TIMESTAMP,
  RECORDS_COUNT,
} from '../../src/protocol/records/layout.js';

export interface TestRecord {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  /** Absolute timestamp; defaults to the batch's base timestamp. */
  timestamp?: number;
}

export interface BatchOptions {
  baseOffset?: number;
  baseTimestamp?: number;
  attributes?: number;
  partitionLeaderEpoch?: number;
}

const toBuf = (v: Buffer | string | null | undefined): Buffer | null =>
  v === null || v === undefined ? null : typeof v === 'string' ? Buffer.from(v) : v;

export function makeBatch(records: TestRecord[], opts: BatchOptions = {}): Buffer {
  if (records.length === 0) throw new Error('a test batch needs records');
  const baseTimestamp = opts.baseTimestamp ?? records[0]!.timestamp ?? 1_700_000_000_000;
  const body = new Writer(256);
  let maxTimestamp = -1;
  records.forEach((r, i) => {
    const ts = r.timestamp ?? baseTimestamp;
    maxTimestamp = Math.max(maxTimestamp, ts);
    const rec = new Writer(64);
    rec.int8(0);
    rec.varlong(BigInt(ts - baseTimestamp));
    rec.varint(i);
    const key = toBuf(r.key);
    if (key === null) rec.varint(-1);
    else rec.varint(key.length).raw(key);
    const value = toBuf(r.value);
    if (value === null) rec.varint(-1);
    else rec.varint(value.length).raw(value);
    rec.varint(0); // headers
    const bytes = rec.toBuffer();
    body.varint(bytes.length).raw(bytes);
  });
  const recordBytes = body.toBuffer();
  const header = new Writer(64);
  header.int64(BigInt(opts.baseOffset ?? 0));
  header.int32(49 + recordBytes.length);
  header.int32(opts.partitionLeaderEpoch ?? -1);
  header.int8(2);
  header.uint32(0); // crc, patched below
  header.int16(opts.attributes ?? 0);
  header.int32(records.length - 1);
  header.int64(BigInt(baseTimestamp));
  header.int64(BigInt(maxTimestamp));
  header.int64(-1n);
  header.int16(-1);
  header.int32(-1);
  header.int32(records.length);
  const batch = Buffer.concat([header.toBuffer(), recordBytes]);
  batch.writeUInt32BE(crc32c(batch.subarray(CRC_START)), CRC);
  return batch;
}

/** `count` records of `valueSize` bytes each, values tagged with their index. */
export function makeRecords(count: number, valueSize = 16, timestamp?: number, tag = 'r'): TestRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const label = `${tag}${i}:`;
    const value = Buffer.alloc(Math.max(valueSize, label.length), 0x61);
    value.write(label);
    return { value, ...(timestamp === undefined ? {} : { timestamp }) };
  });
}

export interface ParsedBatch {
  position: number;
  baseOffset: number;
  lastOffset: number;
  size: number;
  count: number;
  maxTimestamp: number;
  attributes: number;
  crcOk: boolean;
}

/** Splits back-to-back batches and reads their headers; throws on a partial batch. */
export function parseBatches(buf: Buffer): ParsedBatch[] {
  const out: ParsedBatch[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const size = 12 + buf.readInt32BE(pos + BATCH_LENGTH);
    if (pos + size > buf.length) throw new Error(`partial batch at ${pos}`);
    const baseOffset = Number(buf.readBigInt64BE(pos + BASE_OFFSET));
    out.push({
      position: pos,
      baseOffset,
      lastOffset: baseOffset + buf.readInt32BE(pos + LAST_OFFSET_DELTA),
      size,
      count: buf.readInt32BE(pos + RECORDS_COUNT),
      maxTimestamp: Number(buf.readBigInt64BE(pos + MAX_TIMESTAMP)),
      attributes: buf.readInt16BE(pos + ATTRIBUTES),
      crcOk: crc32c(buf.subarray(pos + CRC_START, pos + size)) === buf.readUInt32BE(pos + CRC),
    });
    pos += size;
  }
  return out;
}

/** Runs `fn` with a fresh temp directory, removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'ganglion-storage-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
