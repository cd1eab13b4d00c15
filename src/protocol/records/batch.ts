/**
 * RecordBatch (magic 2) as a zero-copy view over the bytes of exactly one
 * batch. Getters read the header straight from the buffer; nothing is parsed
 * up front, so wrapping a batch costs one object.
 *
 * The broker's produce path only needs the header and the CRC (`validate`),
 * then rewrites the base offset in place (`setBaseOffset`, outside the CRC).
 * Records are decoded only when asked for (`records()`), after decompressing
 * when the batch is compressed.
 *
 * Offsets and timestamps are returned as numbers: offsets stay below 2^53 and
 * timestamps are epoch milliseconds. Producer ids keep their int64 as bigint.
 */
import { crc32c } from './crc32c.js';
import {
  ATTRIBUTES,
  BASE_OFFSET,
  BASE_SEQUENCE,
  BASE_TIMESTAMP,
  BATCH_LENGTH,
  COMPRESSION_MASK,
  CONTROL_FLAG,
  CRC,
  CRC_START,
  CURRENT_MAGIC,
  CompressionType,
  DELETE_HORIZON_FLAG,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  MAGIC,
  MAX_TIMESTAMP,
  PARTITION_LEADER_EPOCH,
  PRODUCER_EPOCH,
  PRODUCER_ID,
  RECORDS_COUNT,
  RECORD_BATCH_OVERHEAD,
  TIMESTAMP_TYPE_LOG_APPEND,
  TRANSACTIONAL_FLAG,
} from './layout.js';
import { DEFAULT_MAX_DECOMPRESSED_BYTES, decompress, decompressAsync } from './compression.js';
import { RecordIterator } from './record.js';
import { RecordError, corrupt, invalidRecord } from './record-error.js';
import { ErrorCode } from '../errors.js';

export const TimestampType = { CreateTime: 0, LogAppendTime: 1 } as const;
export type TimestampType = (typeof TimestampType)[keyof typeof TimestampType];

/** Smallest record in bytes (length varint + 6-byte body), bounding counts in uncompressed batches. */
const MIN_RECORD_SIZE = 7;
const TWO_32 = 2 ** 32;
const EMPTY = Buffer.alloc(0);

export function readInt64AsNumber(buf: Buffer, at: number): number {
  return buf.readInt32BE(at) * TWO_32 + buf.readUInt32BE(at + 4);
}

export function writeInt64FromNumber(buf: Buffer, at: number, value: number): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${value} is not a safe integer`);
  const high = Math.floor(value / TWO_32);
  buf.writeInt32BE(high, at);
  buf.writeUInt32BE(value - high * TWO_32, at + 4);
}

/** The error for magic 0/1 (legacy message sets), which Kafka 4 also refuses. */
export function legacyMagicError(magic: number): RecordError {
  return new RecordError(
    ErrorCode.INVALID_RECORD,
    `message format v${magic} (magic ${magic}) is not supported; only record batches with magic 2 are (Kafka >= 0.11 clients)`,
  );
}

export function checkMagic(magic: number): void {
  if (magic === CURRENT_MAGIC) return;
  if (magic === 0 || magic === 1) throw legacyMagicError(magic);
  throw corrupt(`unknown record batch magic ${magic}`);
}

export interface RecordsOptions {
  /** Cap on the decompressed size of the records (default 64 MiB). */
  maxDecompressedBytes?: number;
}

export interface ValidateOptions {
  /**
   * Also apply the rules the broker enforces on batches from producers: at
   * least one record, and a record count that matches the offset range
   * (batches in a compacted log may legitimately have gaps).
   */
  produce?: boolean;
}

export class RecordBatch {
  /** `buffer` must hold exactly one batch (see `validate`); it is not copied. */
  constructor(readonly buffer: Buffer) {}

  /** A view of the batch starting at `position` in `buf`, sized by its batchLength. */
  static at(buf: Buffer, position = 0): RecordBatch {
    if (buf.length - position < LOG_OVERHEAD) throw corrupt('truncated batch: no room for its length');
    const size = LOG_OVERHEAD + buf.readInt32BE(position + BATCH_LENGTH);
    if (size < RECORD_BATCH_OVERHEAD) checkMagicIfReadable(buf, position);
    if (size < RECORD_BATCH_OVERHEAD || size > buf.length - position) {
      throw corrupt(`batch of ${size} bytes does not fit the ${buf.length - position} bytes at ${position}`);
    }
    return new RecordBatch(buf.subarray(position, position + size));
  }

  get baseOffset(): number {
    return readInt64AsNumber(this.buffer, BASE_OFFSET);
  }
  get batchLength(): number {
    return this.buffer.readInt32BE(BATCH_LENGTH);
  }
  get partitionLeaderEpoch(): number {
    return this.buffer.readInt32BE(PARTITION_LEADER_EPOCH);
  }
  get magic(): number {
    return this.buffer.readInt8(MAGIC);
  }
  get crc(): number {
    return this.buffer.readUInt32BE(CRC);
  }
  get attributes(): number {
    return this.buffer.readInt16BE(ATTRIBUTES);
  }
  get lastOffsetDelta(): number {
    return this.buffer.readInt32BE(LAST_OFFSET_DELTA);
  }
  /** First timestamp, or the delete horizon when `hasDeleteHorizon`. */
  get baseTimestamp(): number {
    return readInt64AsNumber(this.buffer, BASE_TIMESTAMP);
  }
  get maxTimestamp(): number {
    return readInt64AsNumber(this.buffer, MAX_TIMESTAMP);
  }
  get producerId(): bigint {
    return this.buffer.readBigInt64BE(PRODUCER_ID);
  }
  get producerEpoch(): number {
    return this.buffer.readInt16BE(PRODUCER_EPOCH);
  }
  get baseSequence(): number {
    return this.buffer.readInt32BE(BASE_SEQUENCE);
  }
  get recordsCount(): number {
    return this.buffer.readInt32BE(RECORDS_COUNT);
  }

  get lastOffset(): number {
    return this.baseOffset + this.lastOffsetDelta;
  }
  /** The offset after this batch: where the next batch starts. */
  get nextOffset(): number {
    return this.lastOffset + 1;
  }
  /** Bytes of the whole batch, from its header: baseOffset + batchLength fields + batchLength. */
  get sizeInBytes(): number {
    return LOG_OVERHEAD + this.batchLength;
  }
  get compression(): CompressionType {
    return (this.buffer[ATTRIBUTES + 1]! & COMPRESSION_MASK) as CompressionType;
  }
  get timestampType(): TimestampType {
    return this.buffer[ATTRIBUTES + 1]! & TIMESTAMP_TYPE_LOG_APPEND ? TimestampType.LogAppendTime : TimestampType.CreateTime;
  }
  get isTransactional(): boolean {
    return (this.buffer[ATTRIBUTES + 1]! & TRANSACTIONAL_FLAG) !== 0;
  }
  get isControl(): boolean {
    return (this.buffer[ATTRIBUTES + 1]! & CONTROL_FLAG) !== 0;
  }
  get hasDeleteHorizon(): boolean {
    return (this.buffer[ATTRIBUTES + 1]! & DELETE_HORIZON_FLAG) !== 0;
  }
  /** The last sequence number of an idempotent batch (wrapping at int32), or -1. */
  get lastSequence(): number {
    const base = this.baseSequence;
    if (base < 0) return -1;
    return (base + this.lastOffsetDelta) % 0x80000000;
  }

  /** CRC-32C of attributes..end, as stored in the crc field when the batch is intact. */
  computeCrc(): number {
    return crc32c(this.buffer.subarray(CRC_START));
  }

  isValid(): boolean {
    try {
      this.validate();
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Checks the header and the CRC, without decoding records. Throws
   * RecordError: INVALID_RECORD for magic 0/1 (and for produce-rule
   * violations), CORRUPT_MESSAGE for everything else.
   */
  validate(options: ValidateOptions = {}): void {
    const buf = this.buffer;
    if (buf.length < MAGIC + 1) throw corrupt(`batch of ${buf.length} bytes is too short for a header`);
    // The magic sits at the same position in every message format, so check it first.
    checkMagic(buf.readInt8(MAGIC));
    if (buf.length < RECORD_BATCH_OVERHEAD) {
      throw corrupt(`batch of ${buf.length} bytes is shorter than the ${RECORD_BATCH_OVERHEAD}-byte header`);
    }
    const size = this.sizeInBytes;
    if (size < RECORD_BATCH_OVERHEAD) throw corrupt(`batchLength ${this.batchLength} is smaller than a batch header`);
    if (size !== buf.length) throw corrupt(`batchLength says ${size} bytes but the batch has ${buf.length}`);
    const compression = buf[ATTRIBUTES + 1]! & COMPRESSION_MASK;
    if (compression > CompressionType.Zstd) throw corrupt(`unknown compression codec id ${compression}`);
    const count = this.recordsCount;
    const lastOffsetDelta = this.lastOffsetDelta;
    if (count < 0) throw corrupt(`negative record count ${count}`);
    if (lastOffsetDelta < 0) throw corrupt(`negative lastOffsetDelta ${lastOffsetDelta}`);
    if (count > lastOffsetDelta + 1) {
      throw corrupt(`record count ${count} exceeds the ${lastOffsetDelta + 1} offsets the batch spans`);
    }
    if (compression === CompressionType.None && count * MIN_RECORD_SIZE > size - RECORD_BATCH_OVERHEAD) {
      throw corrupt(`record count ${count} cannot fit in ${size - RECORD_BATCH_OVERHEAD} bytes of records`);
    }
    const stored = this.crc;
    const computed = this.computeCrc();
    if (stored !== computed) {
      throw corrupt(`CRC mismatch: stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)}`);
    }
    if (options.produce) {
      if (count === 0) throw invalidRecord('a produced batch must contain at least one record');
      if (count !== lastOffsetDelta + 1) {
        throw invalidRecord(`record count ${count} does not match the offset range of ${lastOffsetDelta + 1}`);
      }
    }
  }

  /** Sets the base offset in place; the CRC does not cover it. */
  setBaseOffset(offset: number): void {
    writeInt64FromNumber(this.buffer, BASE_OFFSET, offset);
  }

  /** Sets the partition leader epoch in place; the CRC does not cover it. */
  setPartitionLeaderEpoch(epoch: number): void {
    this.buffer.writeInt32BE(epoch, PARTITION_LEADER_EPOCH);
  }

  /**
   * Marks the batch LogAppendTime with the broker's clock: sets the timestamp
   * type bit and the max timestamp (every record then reads as that time),
   * and recomputes the CRC. Records are left untouched, as in Kafka.
   */
  setLogAppendTime(timestamp: number): void {
    if (this.timestampType === TimestampType.LogAppendTime && this.maxTimestamp === timestamp) return;
    const buf = this.buffer;
    buf.writeInt16BE(this.attributes | TIMESTAMP_TYPE_LOG_APPEND, ATTRIBUTES);
    writeInt64FromNumber(buf, MAX_TIMESTAMP, timestamp);
    buf.writeUInt32BE(this.computeCrc(), CRC);
  }

  /** The bytes after the header: the records, compressed or not. */
  get recordsData(): Buffer {
    return this.buffer.subarray(RECORD_BATCH_OVERHEAD);
  }

  private iterate(data: Buffer): RecordIterator {
    return new RecordIterator(data, 0, data.length, this.recordsCount, {
      baseOffset: this.baseOffset,
      baseTimestamp: this.baseTimestamp,
      logAppendTime: this.timestampType === TimestampType.LogAppendTime ? this.maxTimestamp : null,
    });
  }

  private checkReadable(): void {
    const buf = this.buffer;
    if (buf.length < RECORD_BATCH_OVERHEAD) throw corrupt(`batch of ${buf.length} bytes is too short for a header`);
    checkMagic(buf.readInt8(MAGIC));
    if (this.recordsCount < 0) throw corrupt(`negative record count ${this.recordsCount}`);
  }

  /**
   * The records, decoded lazily. A compressed batch is decompressed here,
   * synchronously (see `recordsAsync`). Does not check the CRC: call
   * `validate()` first for untrusted input.
   */
  records(options: RecordsOptions = {}): RecordIterator {
    this.checkReadable();
    const compression = this.compression;
    if (compression === CompressionType.None) return this.iterate(this.recordsData);
    // An empty compressed batch (left by compaction) may carry no stream at all.
    if (this.recordsCount === 0) return this.iterate(EMPTY);
    const limit = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
    return this.iterate(decompress(compression, this.recordsData, limit));
  }

  /** Like `records()`, decompressing off the event loop first. */
  async recordsAsync(options: RecordsOptions = {}): Promise<RecordIterator> {
    this.checkReadable();
    const compression = this.compression;
    if (compression === CompressionType.None) return this.iterate(this.recordsData);
    if (this.recordsCount === 0) return this.iterate(EMPTY);
    const limit = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
    return this.iterate(await decompressAsync(compression, this.recordsData, limit));
  }
}

function checkMagicIfReadable(buf: Buffer, position: number): void {
  if (buf.length - position > MAGIC) checkMagic(buf.readInt8(position + MAGIC));
}
