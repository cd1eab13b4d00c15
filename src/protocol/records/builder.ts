/**
 * Building a RecordBatch (magic 2) from records: the client's producer, the
 * coordinators (offsets, transaction markers) and the log cleaner use it.
 *
 * Records are measured first, then written once into a buffer of the exact
 * size; an uncompressed batch is written in place after its header, so the
 * only copy is of the keys and values themselves. `buildBatchAsync`
 * compresses off the event loop, which the broker uses for big batches.
 */
import { crc32c } from './crc32c.js';
import {
  ATTRIBUTES,
  BASE_SEQUENCE,
  BASE_TIMESTAMP,
  BATCH_LENGTH,
  COMPRESSION_MASK,
  CONTROL_FLAG,
  CRC,
  CRC_START,
  CURRENT_MAGIC,
  CompressionType,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  MAGIC,
  MAX_TIMESTAMP,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  PARTITION_LEADER_EPOCH,
  PRODUCER_EPOCH,
  PRODUCER_ID,
  RECORDS_COUNT,
  RECORD_BATCH_OVERHEAD,
  TIMESTAMP_TYPE_LOG_APPEND,
  TRANSACTIONAL_FLAG,
} from './layout.js';
import { TimestampType, writeInt64FromNumber } from './batch.js';
import { compress, compressAsync, type CompressOptions, type SnappyFraming } from './compression.js';
import { sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from './varint.js';

export type Bytes = Buffer | string | null | undefined;

export interface HeaderInput {
  key: string;
  value?: Bytes;
}

export interface RecordInput {
  key?: Bytes;
  value?: Bytes;
  headers?: readonly HeaderInput[];
  /** Epoch milliseconds; defaults to the build time. */
  timestamp?: number;
  /**
   * Absolute offset, for rebuilding a batch that has gaps (the log cleaner);
   * defaults to the previous record's offset + 1.
   */
  offset?: number;
}

export interface BuildOptions {
  compression?: CompressionType;
  /** gzip 1-9, zstd 1-22; the codec's default otherwise. */
  compressionLevel?: number;
  /** Snappy framing: 'raw' (default) or 'xerial'; see codecs/snappy.ts. */
  snappyFraming?: SnappyFraming;
  /** Defaults to the first record's offset, else 0 (the broker assigns the real one). */
  baseOffset?: number;
  /** Defaults to -1, as producers write it. */
  partitionLeaderEpoch?: number;
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  /** Control batch (transaction markers); see control.ts. */
  control?: boolean;
  timestampType?: TimestampType;
  /** With LogAppendTime: the broker time every record gets (default now). */
  logAppendTime?: number;
  /** Timestamp for records without one (default Date.now()). */
  now?: number;
}

const NO_PARTITION_LEADER_EPOCH = -1;
const INT32_MAX = 0x7fffffff;
const NULL_LENGTH_SIZE = 1; // varint(-1)

function toBuffer(bytes: Bytes): Buffer | null {
  if (bytes === null || bytes === undefined) return null;
  return typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
}

function sizeOfBytes(bytes: Buffer | null): number {
  return bytes === null ? NULL_LENGTH_SIZE : sizeOfVarint(bytes.length) + bytes.length;
}

function writeBytes(buf: Buffer, pos: number, bytes: Buffer | null): number {
  if (bytes === null) return writeVarint(buf, pos, -1);
  pos = writeVarint(buf, pos, bytes.length);
  buf.set(bytes, pos);
  return pos + bytes.length;
}

interface EncodedHeader {
  key: Buffer;
  value: Buffer | null;
}

/** A record measured and normalized, ready to write. */
interface Prepared {
  key: Buffer | null;
  value: Buffer | null;
  headers: EncodedHeader[] | null;
  timestampDelta: number;
  offsetDelta: number;
  bodySize: number;
}

interface Encoded {
  /** Records written at `headroom`, with the header area before them left blank. */
  buffer: Buffer;
  recordsSize: number;
  baseOffset: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  count: number;
}

function encodeRecords(records: readonly RecordInput[], options: BuildOptions, headroom: number): Encoded {
  const count = records.length;
  if (count === 0) throw new RangeError('a record batch needs at least one record');
  const now = options.now ?? Date.now();
  const logAppend = options.timestampType === TimestampType.LogAppendTime;
  const appendTime = options.logAppendTime ?? now;
  const baseOffset = options.baseOffset ?? records[0]!.offset ?? 0;
  const baseTimestamp = logAppend ? appendTime : (records[0]!.timestamp ?? now);
  let maxTimestamp = -1;
  let previousOffset = baseOffset - 1;
  let recordsSize = 0;
  const prepared: Prepared[] = new Array(count);

  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    const offset = record.offset ?? previousOffset + 1;
    if (offset <= previousOffset) throw new RangeError(`record offsets must increase: ${offset} after ${previousOffset}`);
    const offsetDelta = offset - baseOffset;
    if (offsetDelta > INT32_MAX) throw new RangeError(`offset ${offset} is too far from the base offset ${baseOffset}`);
    previousOffset = offset;
    const timestamp = logAppend ? appendTime : (record.timestamp ?? now);
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    const timestampDelta = timestamp - baseTimestamp;
    const key = toBuffer(record.key);
    const value = toBuffer(record.value);
    let headers: EncodedHeader[] | null = null;
    let headersSize = sizeOfVarint(record.headers?.length ?? 0);
    if (record.headers && record.headers.length > 0) {
      headers = record.headers.map((h) => ({ key: Buffer.from(h.key, 'utf8'), value: toBuffer(h.value) }));
      for (const h of headers) headersSize += sizeOfBytes(h.key) + sizeOfBytes(h.value);
    }
    const bodySize =
      1 + sizeOfVarlong(timestampDelta) + sizeOfVarint(offsetDelta) + sizeOfBytes(key) + sizeOfBytes(value) + headersSize;
    if (bodySize > INT32_MAX) throw new RangeError(`record of ${bodySize} bytes is too large`);
    recordsSize += sizeOfVarint(bodySize) + bodySize;
    prepared[i] = { key, value, headers, timestampDelta, offsetDelta, bodySize };
  }
  if (headroom + recordsSize > INT32_MAX) throw new RangeError(`batch of ${recordsSize} bytes is too large`);

  const buffer = Buffer.allocUnsafe(headroom + recordsSize);
  let pos = headroom;
  for (let i = 0; i < count; i++) {
    const r = prepared[i]!;
    pos = writeVarint(buffer, pos, r.bodySize);
    buffer[pos++] = 0; // record attributes: unused
    pos = writeVarlong(buffer, pos, r.timestampDelta);
    pos = writeVarint(buffer, pos, r.offsetDelta);
    pos = writeBytes(buffer, pos, r.key);
    pos = writeBytes(buffer, pos, r.value);
    if (r.headers === null) {
      buffer[pos++] = 0;
    } else {
      pos = writeVarint(buffer, pos, r.headers.length);
      for (const h of r.headers) {
        pos = writeBytes(buffer, pos, h.key);
        pos = writeBytes(buffer, pos, h.value);
      }
    }
  }
  return {
    buffer,
    recordsSize,
    baseOffset,
    lastOffsetDelta: prepared[count - 1]!.offsetDelta,
    baseTimestamp,
    maxTimestamp,
    count,
  };
}

/** Fills the header in `batch[0..61)` for records already in place, and the CRC. */
function finish(batch: Buffer, encoded: Encoded, options: BuildOptions): Buffer {
  const compression = options.compression ?? CompressionType.None;
  let attributes = compression & COMPRESSION_MASK;
  if (options.timestampType === TimestampType.LogAppendTime) attributes |= TIMESTAMP_TYPE_LOG_APPEND;
  if (options.transactional) attributes |= TRANSACTIONAL_FLAG;
  if (options.control) attributes |= CONTROL_FLAG;
  writeInt64FromNumber(batch, 0, encoded.baseOffset);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, BATCH_LENGTH);
  batch.writeInt32BE(options.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH, PARTITION_LEADER_EPOCH);
  batch.writeInt8(CURRENT_MAGIC, MAGIC);
  batch.writeInt16BE(attributes, ATTRIBUTES);
  batch.writeInt32BE(encoded.lastOffsetDelta, LAST_OFFSET_DELTA);
  writeInt64FromNumber(batch, BASE_TIMESTAMP, encoded.baseTimestamp);
  writeInt64FromNumber(batch, MAX_TIMESTAMP, encoded.maxTimestamp);
  batch.writeBigInt64BE(options.producerId ?? NO_PRODUCER_ID, PRODUCER_ID);
  batch.writeInt16BE(options.producerEpoch ?? NO_PRODUCER_EPOCH, PRODUCER_EPOCH);
  batch.writeInt32BE(options.baseSequence ?? NO_SEQUENCE, BASE_SEQUENCE);
  batch.writeInt32BE(encoded.count, RECORDS_COUNT);
  batch.writeUInt32BE(crc32c(batch.subarray(CRC_START)), CRC);
  return batch;
}

function withHeader(compressed: Buffer, encoded: Encoded, options: BuildOptions): Buffer {
  const batch = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD + compressed.length);
  batch.set(compressed, RECORD_BATCH_OVERHEAD);
  return finish(batch, encoded, options);
}

function codecOptions(options: BuildOptions): CompressOptions {
  return { level: options.compressionLevel, snappyFraming: options.snappyFraming };
}

/** Builds one batch; compresses synchronously (see `buildBatchAsync`). */
export function buildBatch(records: readonly RecordInput[], options: BuildOptions = {}): Buffer {
  const compression = options.compression ?? CompressionType.None;
  if (compression === CompressionType.None) {
    const encoded = encodeRecords(records, options, RECORD_BATCH_OVERHEAD);
    return finish(encoded.buffer, encoded, options);
  }
  const encoded = encodeRecords(records, options, 0);
  const compressed = compress(compression, encoded.buffer, codecOptions(options));
  return withHeader(compressed, encoded, options);
}

/** Builds one batch, compressing off the event loop. */
export async function buildBatchAsync(records: readonly RecordInput[], options: BuildOptions = {}): Promise<Buffer> {
  const compression = options.compression ?? CompressionType.None;
  if (compression === CompressionType.None) return buildBatch(records, options);
  const encoded = encodeRecords(records, options, 0);
  const compressed = await compressAsync(compression, encoded.buffer, codecOptions(options));
  return withHeader(compressed, encoded, options);
}
