/**
 * Walking a `records` field: batches back to back, as a Produce request, a
 * Fetch response or a log segment holds them.
 *
 * `scanBatches` is the broker's produce-path pass: it reads only the fixed
 * header of each batch (a handful of integer reads per batch, no record work,
 * no copies) and sums what the log needs to append it. `splitBatches` is the
 * lazy consumer-side walk. Both stop cleanly at an incomplete trailing batch,
 * which Fetch responses may end with, and report how many bytes it had.
 */
import { RecordBatch, checkMagic, readInt64AsNumber } from './batch.js';
import {
  BASE_OFFSET,
  BATCH_LENGTH,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  MAGIC,
  MAX_TIMESTAMP,
  RECORDS_COUNT,
  RECORD_BATCH_OVERHEAD,
} from './layout.js';
import { corrupt } from './record-error.js';

/**
 * Size of the batch at `pos`, or -1 when the bytes left hold only part of it.
 * Throws RecordError for a length no batch can have or a magic other than 2.
 */
function batchSizeAt(buf: Buffer, pos: number, end: number): number {
  const left = end - pos;
  if (left < LOG_OVERHEAD) return -1;
  const size = LOG_OVERHEAD + buf.readInt32BE(pos + BATCH_LENGTH);
  if (left > MAGIC) checkMagic(buf.readInt8(pos + MAGIC));
  if (size < RECORD_BATCH_OVERHEAD) throw corrupt(`batch at byte ${pos} has an impossible size of ${size} bytes`);
  return size <= left ? size : -1;
}

export class BatchSplitter implements IterableIterator<RecordBatch> {
  private pos = 0;
  /** Bytes of an incomplete batch at the end; set once iteration has finished. */
  truncatedBytes = 0;

  constructor(private readonly buf: Buffer) {}

  [Symbol.iterator](): this {
    return this;
  }

  /** Bytes consumed by the batches yielded so far. */
  get position(): number {
    return this.pos;
  }

  next(): IteratorResult<RecordBatch> {
    const { buf, pos } = this;
    if (pos >= buf.length) return { done: true, value: undefined };
    const size = batchSizeAt(buf, pos, buf.length);
    if (size < 0) {
      this.truncatedBytes = buf.length - pos;
      this.pos = buf.length;
      return { done: true, value: undefined };
    }
    this.pos = pos + size;
    return { done: false, value: new RecordBatch(buf.subarray(pos, pos + size)) };
  }
}

/** Lazily yields each complete batch as a view; see `truncatedBytes` afterwards. */
export function splitBatches(buf: Buffer): BatchSplitter {
  return new BatchSplitter(buf);
}

export interface BatchScan {
  /** The complete batches, in order, as zero-copy views. */
  batches: RecordBatch[];
  /** Sum of the batches' record counts. */
  recordCount: number;
  /** Bytes covered by the complete batches (a prefix of the buffer). */
  validBytes: number;
  /** Bytes of an incomplete trailing batch (0 when the buffer ends on a boundary). */
  truncatedBytes: number;
  /** Base offset of the first batch, or -1 when there is none. */
  firstOffset: number;
  /** Last offset of the last batch, or -1. */
  lastOffset: number;
  /** Largest max timestamp of the batches, or -1. */
  maxTimestamp: number;
}

/** Header-only pass over concatenated batches; does not check CRCs (see `RecordBatch.validate`). */
export function scanBatches(buf: Buffer): BatchScan {
  const batches: RecordBatch[] = [];
  const end = buf.length;
  let pos = 0;
  let recordCount = 0;
  let maxTimestamp = -1;
  let lastOffset = -1;
  let truncatedBytes = 0;
  while (pos < end) {
    const size = batchSizeAt(buf, pos, end);
    if (size < 0) {
      truncatedBytes = end - pos;
      break;
    }
    recordCount += buf.readInt32BE(pos + RECORDS_COUNT);
    const timestamp = readInt64AsNumber(buf, pos + MAX_TIMESTAMP);
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    lastOffset = readInt64AsNumber(buf, pos + BASE_OFFSET) + buf.readInt32BE(pos + LAST_OFFSET_DELTA);
    batches.push(new RecordBatch(buf.subarray(pos, pos + size)));
    pos += size;
  }
  return {
    batches,
    recordCount,
    validBytes: pos,
    truncatedBytes,
    firstOffset: batches.length > 0 ? batches[0]!.baseOffset : -1,
    lastOffset,
    maxTimestamp,
  };
}
