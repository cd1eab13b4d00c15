/** Shared helpers for the storage tests. */
import assert from 'node:assert/strict';
import { logConfig, type LogConfig } from '../../src/storage/log-config.js';
import { PartitionLog, type PartitionLogOptions } from '../../src/storage/partition-log.js';
import { makeBatch, makeRecords, parseBatches, type ParsedBatch } from './make-batch.js';

export const TP = { topic: 'orders', partition: 0 };

/** Small segments and dense indexes so a few KB exercise rolls and lookups. */
export function smallConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  return logConfig({ segmentBytes: 4096, indexIntervalBytes: 256, fileDeleteDelayMs: 0, ...overrides });
}

export function openLog(dir: string, config = smallConfig(), opts: PartitionLogOptions = {}): Promise<PartitionLog> {
  return PartitionLog.open(dir, TP, config, opts);
}

/** A batch of `count` records (values `valueSize` bytes), timestamps `ts`. */
export function batch(count = 3, valueSize = 32, ts = 1_700_000_000_000, tag = 'r'): Buffer {
  return makeBatch(makeRecords(count, valueSize, ts, tag));
}

/** Reads the whole log from `from` with `maxBytes` per read; returns every batch header. */
export async function readAll(log: PartitionLog, from = log.logStartOffset, maxBytes = 1 << 20): Promise<ParsedBatch[]> {
  const out: ParsedBatch[] = [];
  let offset = from;
  while (offset < log.logEndOffset) {
    const { records } = await log.read(offset, maxBytes);
    const batches = parseBatches(records);
    assert.ok(batches.length > 0, `read at ${offset} returned nothing before the log end ${log.logEndOffset}`);
    for (const b of batches) {
      assert.ok(b.crcOk, `CRC of batch ${b.baseOffset}`);
      out.push(b);
    }
    offset = batches.at(-1)!.lastOffset + 1;
  }
  return out;
}

/** Asserts batches cover [first, end) contiguously. */
export function assertContiguous(batches: ParsedBatch[], first: number, end: number): void {
  let expected = first;
  for (const b of batches) {
    assert.equal(b.baseOffset, expected, `batch at ${b.baseOffset}, expected ${expected}`);
    expected = b.lastOffset + 1;
  }
  assert.equal(expected, end);
}
