/**
 * Reader and Writer for Kafka's wire primitives.
 *
 * Reader decodes untrusted bytes: every read checks the remaining length
 * first and throws ProtocolError (never a RangeError) when the frame ends
 * early, and every length prefix is checked against the bytes left before
 * anything is allocated, so a forged length cannot make us allocate more
 * than the frame holds.
 *
 * Writer builds a message as a list of chunks: small values go into a
 * growable scratch buffer, large byte payloads (record batches) are kept by
 * reference, so a Fetch response carrying megabytes of batches is never
 * copied before it reaches the socket.
 */
import { ProtocolError } from './protocol-error.js';

const ZERO_UUID_BYTES = Buffer.alloc(16);

/** Kafka's Uuid, as its 22-character base64url form (how Kafka prints topic ids). */
export type Uuid = string;
export const ZERO_UUID: Uuid = uuidFromBytes(ZERO_UUID_BYTES);

export function uuidFromBytes(bytes: Buffer): Uuid {
  return bytes.toString('base64url');
}

export function uuidToBytes(uuid: Uuid): Buffer {
  const bytes = Buffer.from(uuid, 'base64url');
  if (bytes.length !== 16) throw new ProtocolError(`invalid uuid ${JSON.stringify(uuid)}`);
  return bytes;
}

/** A tagged field this version does not know, kept so re-encoding is byte-exact. */
export interface UnknownTaggedField {
  tag: number;
  data: Buffer;
}

export class Reader {
  private pos: number;
  private readonly end: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): number {
    const at = this.pos;
    if (n > this.end - at) {
      throw new ProtocolError(`truncated: needed ${n} bytes at offset ${at}, ${this.end - at} left`);
    }
    this.pos = at + n;
    return at;
  }

  int8(): number {
    return this.buf.readInt8(this.need(1));
  }

  uint8(): number {
    return this.buf[this.need(1)]!;
  }

  bool(): boolean {
    return this.buf[this.need(1)] !== 0;
  }

  int16(): number {
    return this.buf.readInt16BE(this.need(2));
  }

  uint16(): number {
    return this.buf.readUInt16BE(this.need(2));
  }

  int32(): number {
    return this.buf.readInt32BE(this.need(4));
  }

  uint32(): number {
    return this.buf.readUInt32BE(this.need(4));
  }

  int64(): bigint {
    return this.buf.readBigInt64BE(this.need(8));
  }

  float64(): number {
    return this.buf.readDoubleBE(this.need(8));
  }

  uuid(): Uuid {
    const at = this.need(16);
    return uuidFromBytes(this.buf.subarray(at, at + 16));
  }

  /** Unsigned LEB128 varint of at most 5 bytes (32 bits). */
  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      const byte = this.uint8();
      if (i === 4 && byte > 0x0f) throw new ProtocolError('uvarint overflows 32 bits');
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
    }
    throw new ProtocolError('uvarint longer than 5 bytes');
  }

  /** Zig-zag signed varint (32 bits). */
  varint(): number {
    const raw = this.uvarint();
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }

  /** Unsigned LEB128 varint of at most 10 bytes (64 bits). */
  uvarlong(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const byte = this.uint8();
      if (i === 9 && byte > 0x01) throw new ProtocolError('uvarlong overflows 64 bits');
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
    throw new ProtocolError('uvarlong longer than 10 bytes');
  }

  /** Zig-zag signed varlong (64 bits). */
  varlong(): bigint {
    const raw = this.uvarlong();
    return (raw >> 1n) ^ -(raw & 1n);
  }

  /** Checks a decoded length against the bytes left before anything is allocated. */
  private checkLength(length: number, what: string): number {
    if (length < 0) throw new ProtocolError(`negative ${what} length ${length}`);
    if (length > this.end - this.pos) {
      throw new ProtocolError(`${what} length ${length} exceeds the ${this.end - this.pos} bytes left`);
    }
    return length;
  }

  /** A view of the next `length` bytes (no copy). */
  rawBytes(length: number): Buffer {
    const at = this.need(this.checkLength(length, 'bytes'));
    return this.buf.subarray(at, at + length);
  }

  skip(length: number): void {
    this.need(this.checkLength(length, 'skipped'));
  }

  private utf8(length: number): string {
    const at = this.need(this.checkLength(length, 'string'));
    return this.buf.toString('utf8', at, at + length);
  }

  string(): string {
    const s = this.nullableString();
    if (s === null) throw new ProtocolError('null string where a non-null string is required');
    return s;
  }

  nullableString(): string | null {
    const length = this.int16();
    return length === -1 ? null : this.utf8(length);
  }

  compactString(): string {
    const s = this.compactNullableString();
    if (s === null) throw new ProtocolError('null compact string where a non-null string is required');
    return s;
  }

  compactNullableString(): string | null {
    const length = this.uvarint() - 1;
    return length === -1 ? null : this.utf8(length);
  }

  bytes(): Buffer {
    const b = this.nullableBytes();
    if (b === null) throw new ProtocolError('null bytes where non-null bytes are required');
    return b;
  }

  nullableBytes(): Buffer | null {
    const length = this.int32();
    return length === -1 ? null : this.rawBytes(length);
  }

  compactBytes(): Buffer {
    const b = this.compactNullableBytes();
    if (b === null) throw new ProtocolError('null compact bytes where non-null bytes are required');
    return b;
  }

  compactNullableBytes(): Buffer | null {
    const length = this.uvarint() - 1;
    return length === -1 ? null : this.rawBytes(length);
  }

  /**
   * Reads an array length (int32, -1 = null) and checks that `count` elements
   * of at least `minElementSize` bytes each can fit in what is left.
   */
  arrayLength(minElementSize = 1): number | null {
    const count = this.int32();
    return count === -1 ? null : this.checkCount(count, minElementSize);
  }

  /** Compact array length (uvarint N+1, 0 = null), checked like arrayLength. */
  compactArrayLength(minElementSize = 1): number | null {
    const count = this.uvarint() - 1;
    return count === -1 ? null : this.checkCount(count, minElementSize);
  }

  private checkCount(count: number, minElementSize: number): number {
    if (count < 0) throw new ProtocolError(`negative array length ${count}`);
    // Elements that may take zero bytes are still bounded by the frame size,
    // which keeps decode loops finite even for forged counts.
    const perElement = Math.max(minElementSize, 1);
    if (count * perElement > this.end - this.pos && minElementSize > 0) {
      throw new ProtocolError(`array of ${count} elements cannot fit in the ${this.end - this.pos} bytes left`);
    }
    if (minElementSize === 0 && count > this.buf.length) {
      throw new ProtocolError(`array of ${count} elements exceeds the frame`);
    }
    return count;
  }

  /**
   * Reads a tagged-field section. `onTag` returns true when it consumed a known
   * tag (it reads exactly `size` bytes from this reader); unknown tags are
   * returned so they can be re-encoded unchanged.
   */
  taggedFields(onTag?: (tag: number, size: number) => boolean): UnknownTaggedField[] | undefined {
    const count = this.uvarint();
    this.checkCount(count, 2);
    let unknown: UnknownTaggedField[] | undefined;
    let lastTag = -1;
    for (let i = 0; i < count; i++) {
      const tag = this.uvarint();
      if (tag <= lastTag) throw new ProtocolError(`tagged fields out of order: ${tag} after ${lastTag}`);
      lastTag = tag;
      const size = this.checkLength(this.uvarint(), 'tagged field');
      const start = this.pos;
      if (onTag?.(tag, size)) {
        if (this.pos !== start + size) {
          throw new ProtocolError(`tagged field ${tag} declared ${size} bytes but used ${this.pos - start}`);
        }
      } else {
        (unknown ??= []).push({ tag, data: this.rawBytes(size) });
      }
    }
    return unknown;
  }

  /** A reader over the next `size` bytes, advancing this one past them. */
  sub(size: number): Reader {
    const at = this.need(this.checkLength(size, 'nested'));
    return new Reader(this.buf, at, at + size);
  }
}

const SCRATCH_MIN = 256;
/** Byte payloads at least this large are kept by reference rather than copied. */
const REFERENCE_THRESHOLD = 1024;

export class Writer {
  private chunks: Buffer[] = [];
  private scratch: Buffer;
  private pos = 0;
  private flushedLength = 0;

  constructor(initialSize = SCRATCH_MIN) {
    this.scratch = Buffer.allocUnsafe(Math.max(initialSize, 16));
  }

  /** Total bytes written so far. */
  get length(): number {
    return this.flushedLength + this.pos;
  }

  /**
   * Reserves n bytes and returns their position. It may replace the scratch
   * buffer, so call it before reading `this.scratch` (not as an argument of a
   * method called on it: `this.scratch.writeX(v, this.ensure(n))` would write
   * into the old buffer).
   */
  private ensure(n: number): number {
    if (this.pos + n > this.scratch.length) {
      const next = Buffer.allocUnsafe(Math.max(this.scratch.length * 2, this.pos + n));
      this.scratch.copy(next, 0, 0, this.pos);
      this.scratch = next;
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  int8(v: number): this {
    const at = this.ensure(1);
    this.scratch.writeInt8(v, at);
    return this;
  }

  uint8(v: number): this {
    const at = this.ensure(1);
    this.scratch[at] = v;
    return this;
  }

  bool(v: boolean): this {
    return this.uint8(v ? 1 : 0);
  }

  int16(v: number): this {
    const at = this.ensure(2);
    this.scratch.writeInt16BE(v, at);
    return this;
  }

  uint16(v: number): this {
    const at = this.ensure(2);
    this.scratch.writeUInt16BE(v, at);
    return this;
  }

  int32(v: number): this {
    const at = this.ensure(4);
    this.scratch.writeInt32BE(v, at);
    return this;
  }

  uint32(v: number): this {
    const at = this.ensure(4);
    this.scratch.writeUInt32BE(v, at);
    return this;
  }

  int64(v: bigint): this {
    const at = this.ensure(8);
    this.scratch.writeBigInt64BE(v, at);
    return this;
  }

  float64(v: number): this {
    const at = this.ensure(8);
    this.scratch.writeDoubleBE(v, at);
    return this;
  }

  uuid(v: Uuid): this {
    return this.raw(uuidToBytes(v));
  }

  uvarint(v: number): this {
    let value = v >>> 0;
    while (value >= 0x80) {
      this.uint8((value & 0x7f) | 0x80);
      value >>>= 7;
    }
    return this.uint8(value);
  }

  varint(v: number): this {
    return this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  uvarlong(v: bigint): this {
    let value = BigInt.asUintN(64, v);
    while (value >= 0x80n) {
      this.uint8(Number(value & 0x7fn) | 0x80);
      value >>= 7n;
    }
    return this.uint8(Number(value));
  }

  varlong(v: bigint): this {
    return this.uvarlong(BigInt.asUintN(64, (v << 1n) ^ (v >> 63n)));
  }

  /** Appends bytes; large payloads are referenced, not copied. */
  raw(bytes: Buffer): this {
    if (bytes.length >= REFERENCE_THRESHOLD) {
      this.flushScratch();
      this.chunks.push(bytes);
      this.flushedLength += bytes.length;
    } else {
      const at = this.ensure(bytes.length);
      bytes.copy(this.scratch, at);
    }
    return this;
  }

  string(v: string): this {
    const length = Buffer.byteLength(v, 'utf8');
    if (length > 0x7fff) throw new RangeError(`string of ${length} bytes is too long for an int16 length`);
    this.int16(length);
    const at = this.ensure(length);
    this.scratch.write(v, at, length, 'utf8');
    return this;
  }

  nullableString(v: string | null): this {
    return v === null ? this.int16(-1) : this.string(v);
  }

  compactString(v: string): this {
    const length = Buffer.byteLength(v, 'utf8');
    this.uvarint(length + 1);
    const at = this.ensure(length);
    this.scratch.write(v, at, length, 'utf8');
    return this;
  }

  compactNullableString(v: string | null): this {
    return v === null ? this.uvarint(0) : this.compactString(v);
  }

  bytes(v: Buffer): this {
    return this.int32(v.length).raw(v);
  }

  nullableBytes(v: Buffer | null): this {
    return v === null ? this.int32(-1) : this.bytes(v);
  }

  compactBytes(v: Buffer): this {
    return this.uvarint(v.length + 1).raw(v);
  }

  compactNullableBytes(v: Buffer | null): this {
    return v === null ? this.uvarint(0) : this.compactBytes(v);
  }

  arrayLength(count: number | null): this {
    return this.int32(count === null ? -1 : count);
  }

  compactArrayLength(count: number | null): this {
    return this.uvarint(count === null ? 0 : count + 1);
  }

  /** Reserves 4 bytes for an int32 filled in later with `patchInt32`. */
  reserveInt32(): number {
    const at = this.ensure(4);
    return this.flushedLength + at;
  }

  /** Fills a reserved int32; only valid while it is still in the scratch buffer. */
  patchInt32(position: number, value: number): void {
    const at = position - this.flushedLength;
    if (at < 0) throw new RangeError('cannot patch a position that was already flushed');
    this.scratch.writeInt32BE(value, at);
  }

  private flushScratch(): void {
    if (this.pos === 0) return;
    this.chunks.push(this.scratch.subarray(0, this.pos));
    this.flushedLength += this.pos;
    this.scratch = this.scratch.subarray(this.pos);
    if (this.scratch.length < SCRATCH_MIN) this.scratch = Buffer.allocUnsafe(SCRATCH_MIN);
    this.pos = 0;
  }

  /** The written bytes as chunks, ready for a vectored socket write. */
  toChunks(): Buffer[] {
    this.flushScratch();
    return this.chunks;
  }

  /** The written bytes as one Buffer (copies when there is more than one chunk). */
  toBuffer(): Buffer {
    const chunks = this.toChunks();
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.flushedLength);
  }
}
