/**
 * Deciding, for one stored batch, what compaction keeps of it, and rebuilding
 * the batch when that is less than everything.
 *
 * Records are handled as raw byte ranges: a kept record is copied exactly as
 * it was (its offset and timestamp deltas stay valid because a rebuilt batch
 * keeps its base offset, its last offset delta and, unless a delete horizon
 * is being set, its base timestamp). The only field ever re-encoded is a
 * record's timestamp delta, when the batch gets a delete horizon.
 *
 * Delete horizon (magic 2, attribute bit 0x40): the first time the cleaner
 * rewrites a batch that keeps tombstones, it stamps `now + delete.retention.ms`
 * into the batch's base timestamp and sets the bit; record timestamps stay
 * what they were (deltas are re-encoded against the new base, negative if
 * need be). A later pass that finds the horizon passed drops the tombstones.
 *
 * Storage links no codecs: the (de)compressors are passed in.
 */
import { crc32c } from '../../protocol/records/crc32c.js';
import {
  ATTRIBUTES,
  BASE_TIMESTAMP,
  BATCH_LENGTH,
  COMPRESSION_MASK,
  CONTROL_FLAG,
  CRC,
  CRC_START,
  DELETE_HORIZON_FLAG,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  MAX_TIMESTAMP,
  PRODUCER_ID,
  RECORDS_COUNT,
  RECORD_BATCH_OVERHEAD,
  TIMESTAMP_TYPE_LOG_APPEND,
  TRANSACTIONAL_FLAG,
} from '../../protocol/records/layout.js';
import { sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from '../../protocol/records/varint.js';
import { readInt64, writeInt64, type Decompressor } from '../batch-header.js';

/** Compresses a records section with the codec id of a batch's attributes. */
export type Compressor = (compression: number, data: Buffer) => Promise<Buffer>;

/** Horizons past this would not fit the varlong timestamp deltas: such a retention means "forever". */
const MAX_HORIZON = 2 ** 51;

/** The batch header fields the cleaner reads. */
export interface BatchFacts {
  baseOffset: number;
  lastOffset: number;
  attributes: number;
  compression: number;
  isControl: boolean;
  isTransactional: boolean;
  hasDeleteHorizon: boolean;
  baseTimestamp: number;
  maxTimestamp: number;
  /** -1n when the producer is not idempotent. */
  producerId: bigint;
  recordsCount: number;
}

export function batchFacts(batch: Buffer): BatchFacts {
  const attributes = batch.readInt16BE(ATTRIBUTES);
  const baseOffset = readInt64(batch, 0);
  return {
    baseOffset,
    lastOffset: baseOffset + batch.readInt32BE(LAST_OFFSET_DELTA),
    attributes,
    compression: attributes & COMPRESSION_MASK,
    isControl: (attributes & CONTROL_FLAG) !== 0,
    isTransactional: (attributes & TRANSACTIONAL_FLAG) !== 0,
    hasDeleteHorizon: (attributes & DELETE_HORIZON_FLAG) !== 0,
    baseTimestamp: readInt64(batch, BASE_TIMESTAMP),
    maxTimestamp: readInt64(batch, MAX_TIMESTAMP),
    producerId: batch.readBigInt64BE(PRODUCER_ID),
    recordsCount: batch.readInt32BE(RECORDS_COUNT),
  };
}

/** One record as byte ranges in the (decompressed) records section. */
export interface RawRecord {
  /** Where the record's length varint starts. */
  start: number;
  /** Where its body (the attributes byte) starts. */
  bodyStart: number;
  /** After its timestamp delta. */
  afterTimestamp: number;
  end: number;
  timestampDelta: number;
  offsetDelta: number;
  key: Buffer | null;
  valueIsNull: boolean;
}

export class RecordScanError extends Error {
  override name = 'RecordScanError';
}

/** Walks the records of a decompressed records section; throws RecordScanError on anything malformed. */
export function scanRecords(data: Buffer, count: number): RawRecord[] {
  const out: RawRecord[] = [];
  const cursor = { pos: 0, limit: data.length };
  for (let i = 0; i < count; i++) {
    cursor.limit = data.length;
    const start = cursor.pos;
    const length = readVarint(data, cursor);
    const bodyStart = cursor.pos;
    if (length < 6 || length > data.length - bodyStart) throw new RecordScanError(`record ${i}: length ${length} does not fit`);
    const end = bodyStart + length;
    cursor.limit = end;
    cursor.pos = bodyStart + 1; // attributes
    const timestampDelta = readVarlong(data, cursor);
    const afterTimestamp = cursor.pos;
    const offsetDelta = readVarint(data, cursor);
    const keyLength = readVarint(data, cursor);
    let key: Buffer | null = null;
    if (keyLength >= 0) {
      if (keyLength > end - cursor.pos) throw new RecordScanError(`record ${i}: key length ${keyLength} does not fit`);
      key = data.subarray(cursor.pos, cursor.pos + keyLength);
      cursor.pos += keyLength;
    } else if (keyLength !== -1) {
      throw new RecordScanError(`record ${i}: key length ${keyLength}`);
    }
    const valueLength = readVarint(data, cursor);
    if (valueLength < -1 || valueLength > end - cursor.pos) throw new RecordScanError(`record ${i}: value length ${valueLength}`);
    out.push({ start, bodyStart, afterTimestamp, end, timestampDelta, offsetDelta, key, valueIsNull: valueLength === -1 });
    cursor.pos = end;
  }
  if (cursor.pos !== data.length) throw new RecordScanError(`${data.length - cursor.pos} bytes after the last record`);
  return out;
}

function readVarint(buf: Buffer, cursor: { pos: number; limit: number }): number {
  let raw = 0;
  for (let shift = 0; shift <= 28; shift += 7) {
    if (cursor.pos >= cursor.limit) throw new RecordScanError('varint runs past the record');
    const b = buf[cursor.pos++]!;
    raw |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return (raw >>> 1) ^ -(raw & 1);
  }
  throw new RecordScanError('varint longer than 5 bytes');
}

function readVarlong(buf: Buffer, cursor: { pos: number; limit: number }): number {
  let raw = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (cursor.pos >= cursor.limit) throw new RecordScanError('varlong runs past the record');
    const b = buf[cursor.pos++]!;
    raw += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) {
      if (raw > Number.MAX_SAFE_INTEGER) throw new RecordScanError('varlong beyond 2^53');
      return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
    }
    scale *= 128;
  }
  throw new RecordScanError('varlong longer than 10 bytes');
}

/** What compaction decides for each record, given by the cleaner. */
export interface FilterPolicy {
  now: number;
  deleteRetentionMs: number;
  /** The offset of the latest record with this key in the offset map, if mapped. */
  latestOffset(key: Buffer): number | undefined;
  /** Whether a batch of this (idempotent) producer whose records all go must stay as an empty batch. */
  retainEmpty(producerId: bigint, baseOffset: number): boolean;
  decompress: Decompressor;
  compress: Compressor;
}

export interface FilterResult {
  /** keep: the batch as it is; drop: nothing of it; rewrite: `batch` replaces it. */
  action: 'keep' | 'drop' | 'rewrite';
  batch: Buffer | null;
  recordsRead: number;
  recordsRemoved: number;
  /** Tombstones removed because their delete horizon had passed. */
  tombstonesRemoved: number;
  /** Records without a key (never valid in a compacted topic) removed. */
  keylessRemoved: number;
  /** The delete horizon of tombstones the output still holds, else -1. */
  pendingHorizon: number;
  /** Why the batch was kept unread (corrupt, undecodable), else null. */
  problem: string | null;
}

function result(action: FilterResult['action'], partial: Partial<FilterResult> = {}): FilterResult {
  return {
    action,
    batch: null,
    recordsRead: 0,
    recordsRemoved: 0,
    tombstonesRemoved: 0,
    keylessRemoved: 0,
    pendingHorizon: -1,
    problem: null,
    ...partial,
  };
}

/** Decompresses (if need be) and scans a batch's records; null with a reason when it cannot. */
export async function readRecords(
  batch: Buffer,
  facts: BatchFacts,
  decompress: Decompressor,
): Promise<{ data: Buffer; records: RawRecord[] } | { problem: string }> {
  try {
    let data = batch.subarray(RECORD_BATCH_OVERHEAD);
    if (facts.recordsCount === 0) data = Buffer.alloc(0);
    else if (facts.compression !== 0) data = await decompress(facts.compression, data);
    return { data, records: scanRecords(data, facts.recordsCount) };
  } catch (err) {
    return { problem: `cannot read the records: ${(err as Error).message}` };
  }
}

/**
 * Applies compaction to one data or control batch of the cleaned range.
 * Control batches (transaction markers) are always kept as they are.
 */
export async function filterBatch(batch: Buffer, policy: FilterPolicy): Promise<FilterResult> {
  const facts = batchFacts(batch);
  if (facts.isControl) return result('keep');
  if (crc32c(batch.subarray(CRC_START)) !== batch.readUInt32BE(CRC)) {
    return result('keep', { problem: 'CRC-32C mismatch' });
  }
  const read = await readRecords(batch, facts, policy.decompress);
  if ('problem' in read) return result('keep', { problem: read.problem });
  const { data, records } = read;
  const horizon = facts.hasDeleteHorizon ? facts.baseTimestamp : -1;
  const kept: RawRecord[] = [];
  let tombstonesKept = 0;
  let tombstonesRemoved = 0;
  let keylessRemoved = 0;
  for (const r of records) {
    if (r.key === null) {
      keylessRemoved++;
      continue;
    }
    const latest = policy.latestOffset(r.key);
    if (latest !== undefined && facts.baseOffset + r.offsetDelta < latest) continue;
    if (r.valueIsNull) {
      if (horizon >= 0 && horizon <= policy.now) {
        tombstonesRemoved++;
        continue;
      }
      tombstonesKept++;
    }
    kept.push(r);
  }
  const counts = {
    recordsRead: records.length,
    recordsRemoved: records.length - kept.length,
    tombstonesRemoved,
    keylessRemoved,
  };
  const newHorizon = horizon < 0 && tombstonesKept > 0 ? horizonFor(policy) : -1;
  const pendingHorizon = tombstonesKept === 0 ? -1 : horizon >= 0 ? horizon : newHorizon;
  if (kept.length === 0) {
    const retain = facts.producerId >= 0n && policy.retainEmpty(facts.producerId, facts.baseOffset);
    if (!retain) return result('drop', counts);
    if (facts.recordsCount === 0) return result('keep', counts);
  } else if (kept.length === records.length && newHorizon < 0) {
    return result('keep', { ...counts, pendingHorizon });
  }
  const rebuilt = await rebuildBatch(batch, facts, data, kept, newHorizon, policy.compress);
  return result('rewrite', { ...counts, batch: rebuilt, pendingHorizon });
}

/** now + delete.retention.ms, or -1 when that is "forever" (no horizon is ever set then). */
function horizonFor(policy: FilterPolicy): number {
  const horizon = policy.now + policy.deleteRetentionMs;
  return horizon <= MAX_HORIZON ? horizon : -1;
}

/**
 * A batch with only `kept` of its records: same base offset, last offset
 * delta, leader epoch, producer id/epoch/base sequence, timestamp type,
 * transactional bit and codec. With `horizon` >= 0 the delete-horizon bit is
 * set and the base timestamp is the horizon. With no records left it is an
 * empty batch (no records section, uncompressed, both timestamps the original
 * max timestamp), which keeps an idempotent producer's last sequence.
 */
export async function rebuildBatch(
  original: Buffer,
  facts: BatchFacts,
  data: Buffer,
  kept: readonly RawRecord[],
  horizon: number,
  compress: Compressor,
): Promise<Buffer> {
  let attributes = facts.attributes;
  let baseTimestamp: number;
  let maxTimestamp: number;
  let section: Buffer;
  if (kept.length === 0) {
    attributes &= ~(COMPRESSION_MASK | DELETE_HORIZON_FLAG);
    baseTimestamp = facts.maxTimestamp;
    maxTimestamp = facts.maxTimestamp;
    section = Buffer.alloc(0);
  } else {
    baseTimestamp = horizon >= 0 ? horizon : facts.baseTimestamp;
    if (horizon >= 0) attributes |= DELETE_HORIZON_FLAG;
    const logAppendTime = (facts.attributes & TIMESTAMP_TYPE_LOG_APPEND) !== 0;
    maxTimestamp = logAppendTime ? facts.maxTimestamp : -1;
    let size = 0;
    for (const r of kept) {
      if (!logAppendTime) maxTimestamp = Math.max(maxTimestamp, facts.baseTimestamp + r.timestampDelta);
      size += horizon >= 0 ? reencodedSize(r, facts.baseTimestamp + r.timestampDelta - baseTimestamp) : r.end - r.start;
    }
    const plain = Buffer.allocUnsafe(size);
    let pos = 0;
    for (const r of kept) {
      if (horizon < 0) {
        pos += data.copy(plain, pos, r.start, r.end);
        continue;
      }
      const delta = facts.baseTimestamp + r.timestampDelta - baseTimestamp;
      const rest = r.end - r.afterTimestamp;
      pos = writeVarint(plain, pos, 1 + sizeOfVarlong(delta) + rest);
      plain[pos++] = data[r.bodyStart]!;
      pos = writeVarlong(plain, pos, delta);
      pos += data.copy(plain, pos, r.afterTimestamp, r.end);
    }
    section = facts.compression !== 0 ? await compress(facts.compression, plain) : plain;
  }
  const out = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD + section.length);
  original.copy(out, 0, 0, RECORD_BATCH_OVERHEAD);
  section.copy(out, RECORD_BATCH_OVERHEAD);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH_LENGTH);
  out.writeInt16BE(attributes, ATTRIBUTES);
  writeInt64(out, BASE_TIMESTAMP, baseTimestamp);
  writeInt64(out, MAX_TIMESTAMP, maxTimestamp);
  out.writeInt32BE(kept.length, RECORDS_COUNT);
  out.writeUInt32BE(crc32c(out.subarray(CRC_START)), CRC);
  return out;
}

function reencodedSize(r: RawRecord, delta: number): number {
  const body = 1 + sizeOfVarlong(delta) + (r.end - r.afterTimestamp);
  return sizeOfVarint(body) + body;
}
