/**
 * Decoding the records inside a batch (after decompression):
 *
 *   length: varint  attributes: int8  timestampDelta: varlong  offsetDelta: varint
 *   keyLength: varint (-1 = null)  key  valueLength: varint (-1 = null)  value
 *   headerCount: varint  [headerKeyLength: varint  headerKey  headerValueLength: varint  headerValue]
 *
 * Records are decoded lazily, one per `next()`, and keys, values and header
 * values are views into the data (no copies). The data is untrusted: every
 * length is checked against the bytes left in its record, each record must
 * end exactly where its length says, and the loop is bounded by bytes, never
 * by the declared record count alone.
 */
import { corrupt } from './record-error.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface KafkaRecord {
  /** Absolute offset: the batch's base offset plus the record's delta. */
  offset: number;
  /** Absolute timestamp (ms); for LogAppendTime batches, the batch's max timestamp. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: readonly RecordHeader[];
}

/** Shared by every record without headers, so they cost no allocation. */
const NO_HEADERS: readonly RecordHeader[] = Object.freeze([]);

/** Smallest possible record body: attributes, two 1-byte deltas, two null lengths, zero headers. */
const MIN_RECORD_BODY = 6;

/** Context a record needs from its batch header. */
export interface RecordContext {
  baseOffset: number;
  baseTimestamp: number;
  /** Max timestamp when the batch uses LogAppendTime, else null. */
  logAppendTime: number | null;
}

export class RecordIterator implements IterableIterator<KafkaRecord> {
  private pos: number;
  /** End of the current record body (reads never pass it). */
  private limit: number;
  private left: number;

  constructor(
    private readonly data: Buffer,
    start: number,
    private readonly end: number,
    count: number,
    private readonly ctx: RecordContext,
  ) {
    this.pos = start;
    this.limit = end;
    this.left = count;
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(): IteratorResult<KafkaRecord> {
    if (this.left <= 0) {
      if (this.pos !== this.end) {
        throw corrupt(`${this.end - this.pos} bytes left after the last record the batch declares`);
      }
      return { done: true, value: undefined };
    }
    this.left--;
    return { done: false, value: this.readRecord() };
  }

  private readRecord(): KafkaRecord {
    this.limit = this.end;
    const length = this.varint();
    if (length < MIN_RECORD_BODY || length > this.end - this.pos) {
      throw corrupt(`record length ${length} does not fit the ${this.end - this.pos} bytes left`);
    }
    const recordEnd = this.pos + length;
    this.limit = recordEnd;
    this.pos++; // attributes: unused in magic 2
    const timestampDelta = this.varlong();
    const offsetDelta = this.varint();
    const key = this.bytes();
    const value = this.bytes();
    const headerCount = this.varint();
    let headers = NO_HEADERS;
    if (headerCount !== 0) {
      // Each header takes at least two bytes (two lengths), which bounds the loop.
      if (headerCount < 0 || headerCount * 2 > recordEnd - this.pos) {
        throw corrupt(`header count ${headerCount} does not fit the record`);
      }
      const list: RecordHeader[] = [];
      for (let i = 0; i < headerCount; i++) {
        const keyLength = this.varint();
        if (keyLength < 0 || keyLength > recordEnd - this.pos) throw corrupt(`header key length ${keyLength} is invalid`);
        const headerKey = this.data.toString('utf8', this.pos, this.pos + keyLength);
        this.pos += keyLength;
        list.push({ key: headerKey, value: this.bytes() });
      }
      headers = list;
    }
    if (this.pos !== recordEnd) {
      throw corrupt(`record declared ${length} bytes but its fields end ${recordEnd - this.pos} bytes early`);
    }
    const ctx = this.ctx;
    return {
      offset: ctx.baseOffset + offsetDelta,
      timestamp: ctx.logAppendTime ?? ctx.baseTimestamp + timestampDelta,
      key,
      value,
      headers,
    };
  }

  /** Varint-length-prefixed bytes, -1 = null, as a view. */
  private bytes(): Buffer | null {
    const length = this.varint();
    if (length === -1) return null;
    if (length < 0 || length > this.limit - this.pos) {
      throw corrupt(`field length ${length} does not fit the ${this.limit - this.pos} bytes left in the record`);
    }
    const at = this.pos;
    this.pos = at + length;
    return this.data.subarray(at, at + length);
  }

  /** Zig-zag varint, at most 5 bytes; overflow bits of the 5th byte drop as in Kafka's reader. */
  private varint(): number {
    const data = this.data;
    const limit = this.limit;
    let pos = this.pos;
    let raw = 0;
    for (let shift = 0; ; shift += 7) {
      if (pos >= limit) throw corrupt('varint runs past the end of the record');
      const b = data[pos++]!;
      if (shift === 28) {
        if (b & 0x80) throw corrupt('varint longer than 5 bytes');
        raw |= b << 28;
        break;
      }
      raw |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
    }
    this.pos = pos;
    return (raw >>> 1) ^ -(raw & 1);
  }

  /** Zig-zag varlong, at most 10 bytes, as a number; values beyond 2^53 are rejected. */
  private varlong(): number {
    const data = this.data;
    const limit = this.limit;
    let pos = this.pos;
    let raw = 0;
    let shift = 0;
    let b: number;
    do {
      if (pos >= limit) throw corrupt('varlong runs past the end of the record');
      b = data[pos++]!;
      // Bit operations while the value fits 28 bits, float arithmetic beyond.
      if (shift < 28) raw |= (b & 0x7f) << shift;
      else raw += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (shift > 63 && b & 0x80) throw corrupt('varlong longer than 10 bytes');
    } while (b & 0x80);
    this.pos = pos;
    if (raw > Number.MAX_SAFE_INTEGER) throw corrupt('varlong beyond 2^53');
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }
}
