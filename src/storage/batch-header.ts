/**
 * The few RecordBatch v2 header fields storage needs, read straight from the
 * layout offsets. Offsets and timestamps are JS numbers (exact up to 2^53,
 * far beyond any real offset or millisecond timestamp); storage never
 * allocates a BigInt on the hot path.
 */
import {
  ATTRIBUTES,
  BASE_OFFSET,
  BATCH_LENGTH,
  COMPRESSION_MASK,
  CRC,
  CRC_START,
  CURRENT_MAGIC,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  MAGIC,
  MAX_TIMESTAMP,
  PARTITION_LEADER_EPOCH,
  RECORD_BATCH_OVERHEAD,
  RECORDS_COUNT,
  BASE_TIMESTAMP,
  TIMESTAMP_TYPE_LOG_APPEND,
} from '../protocol/records/layout.js';
import { crc32c } from '../protocol/records/crc32c.js';

export { LOG_OVERHEAD, RECORD_BATCH_OVERHEAD };

/** Bytes of header a scan needs to see: everything up to the records count. */
export const HEADER_SIZE = RECORD_BATCH_OVERHEAD;
/** Smallest legal batchLength (a batch with no records). */
export const MIN_BATCH_LENGTH = RECORD_BATCH_OVERHEAD - LOG_OVERHEAD;
export const INT32_MAX = 0x7fffffff;
const TWO_32 = 0x1_0000_0000;

export function readInt64(buf: Buffer, at: number): number {
  return buf.readInt32BE(at) * TWO_32 + buf.readUInt32BE(at + 4);
}

export function writeInt64(buf: Buffer, at: number, value: number): void {
  const hi = Math.floor(value / TWO_32);
  buf.writeInt32BE(hi, at);
  buf.writeUInt32BE(value - hi * TWO_32, at + 4);
}

export interface BatchHeader {
  /** File (or buffer) position of the batch's first byte. */
  position: number;
  baseOffset: number;
  lastOffset: number;
  /** Whole batch size, LOG_OVERHEAD included. */
  size: number;
  magic: number;
  attributes: number;
  maxTimestamp: number;
  recordsCount: number;
}

/** Total size of the batch at `at` (LOG_OVERHEAD + batchLength). */
export function batchSize(buf: Buffer, at: number): number {
  return LOG_OVERHEAD + buf.readInt32BE(at + BATCH_LENGTH);
}

/** Reads a header; `buf` must hold HEADER_SIZE bytes from `at`. */
export function readHeader(buf: Buffer, at: number, position: number): BatchHeader {
  const baseOffset = readInt64(buf, at + BASE_OFFSET);
  return {
    position,
    baseOffset,
    lastOffset: baseOffset + buf.readInt32BE(at + LAST_OFFSET_DELTA),
    size: batchSize(buf, at),
    magic: buf.readInt8(at + MAGIC),
    attributes: buf.readInt16BE(at + ATTRIBUTES),
    maxTimestamp: readInt64(buf, at + MAX_TIMESTAMP),
    recordsCount: buf.readInt32BE(at + RECORDS_COUNT),
  };
}

/** Why a header cannot be right, or null; `available` = bytes from `at` to the end of the data. */
export function headerProblem(buf: Buffer, at: number, available: number): string | null {
  if (available < HEADER_SIZE) return `${available} bytes left, less than a batch header`;
  const batchLength = buf.readInt32BE(at + BATCH_LENGTH);
  if (batchLength < MIN_BATCH_LENGTH) return `batch length ${batchLength} is below the minimum ${MIN_BATCH_LENGTH}`;
  if (LOG_OVERHEAD + batchLength > available) return `batch of ${LOG_OVERHEAD + batchLength} bytes overruns the ${available} bytes left`;
  const magic = buf.readInt8(at + MAGIC);
  if (magic !== CURRENT_MAGIC) return `magic ${magic}, expected ${CURRENT_MAGIC}`;
  if (buf.readInt32BE(at + LAST_OFFSET_DELTA) < 0) return 'negative last offset delta';
  if (buf.readInt32BE(at + RECORDS_COUNT) < 0) return 'negative records count';
  return null;
}

/** True when the stored CRC-32C matches the bytes of the batch at `at` (which must be whole). */
export function crcMatches(buf: Buffer, at: number, size: number): boolean {
  return crc32c(buf.subarray(at + CRC_START, at + size)) === buf.readUInt32BE(at + CRC);
}

export function setBaseOffset(buf: Buffer, at: number, offset: number): void {
  writeInt64(buf, at + BASE_OFFSET, offset);
}

export function setPartitionLeaderEpoch(buf: Buffer, at: number, epoch: number): void {
  buf.writeInt32BE(epoch, at + PARTITION_LEADER_EPOCH);
}

/** Stamps LogAppendTime: the timestamp-type bit and maxTimestamp, then the CRC (which covers both). */
export function setLogAppendTime(buf: Buffer, at: number, size: number, timestamp: number): void {
  buf.writeInt16BE(buf.readInt16BE(at + ATTRIBUTES) | TIMESTAMP_TYPE_LOG_APPEND, at + ATTRIBUTES);
  writeInt64(buf, at + MAX_TIMESTAMP, timestamp);
  buf.writeUInt32BE(crc32c(buf.subarray(at + CRC_START, at + size)), at + CRC);
}

export function compressionOf(attributes: number): number {
  return attributes & COMPRESSION_MASK;
}

export function isLogAppendTime(attributes: number): boolean {
  return (attributes & TIMESTAMP_TYPE_LOG_APPEND) !== 0;
}

/** Decompresses a batch's records section; supplied by the broker (storage links no codecs). */
export type Decompressor = (compression: number, data: Buffer) => Buffer | Promise<Buffer>;

/**
 * Calls `visit(offset, timestamp)` for each record of a whole batch, in order,
 * until it returns true; returns whether one did. Walks only the record
 * prefixes (length, attributes, timestamp delta, offset delta). Returns
 * undefined when the batch is compressed and no decompressor was given.
 * Used off the hot path only (timestamp lookups).
 */
export async function visitRecordTimestamps(
  batch: Buffer,
  visit: (offset: number, timestamp: number) => boolean,
  decompress?: Decompressor,
): Promise<boolean | undefined> {
  const attributes = batch.readInt16BE(ATTRIBUTES);
  const baseOffset = readInt64(batch, BASE_OFFSET);
  if (isLogAppendTime(attributes)) return visit(baseOffset, readInt64(batch, MAX_TIMESTAMP));
  const baseTimestamp = readInt64(batch, BASE_TIMESTAMP);
  const count = batch.readInt32BE(RECORDS_COUNT);
  let records = batch.subarray(RECORD_BATCH_OVERHEAD);
  const compression = compressionOf(attributes);
  if (compression !== 0) {
    if (!decompress) return undefined;
    records = await decompress(compression, records);
  }
  const cursor = { pos: 0 };
  for (let i = 0; i < count && cursor.pos < records.length; i++) {
    const length = readVarlong(records, cursor);
    const start = cursor.pos;
    cursor.pos += 1; // record attributes
    const timestampDelta = readVarlong(records, cursor);
    const offsetDelta = readVarlong(records, cursor);
    if (visit(baseOffset + offsetDelta, baseTimestamp + timestampDelta)) return true;
    cursor.pos = start + length;
  }
  return false;
}

/** Zig-zag varint/varlong as a number; throws RangeError past the buffer. */
function readVarlong(buf: Buffer, cursor: { pos: number }): number {
  let raw = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (cursor.pos >= buf.length) throw new RangeError('varint runs past the end of the batch');
    const byte = buf[cursor.pos++]!;
    raw += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
    scale *= 128;
  }
  throw new RangeError('varint longer than 10 bytes');
}
