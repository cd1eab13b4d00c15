/**
 * Zig-zag varints as plain numbers, for the record codec. primitives.ts reads
 * varlongs as bigint, which costs an allocation per record; record fields
 * (timestamp and offset deltas, lengths) are small, so here they stay in
 * number arithmetic. Varlongs are written for |value| < 2^52 and read exactly up to 2^53; the reader
 * rejects anything larger as corrupt rather than silently rounding.
 */

/** Bytes `v` (an int32) takes as a zig-zag varint. */
export function sizeOfVarint(v: number): number {
  let u = ((v << 1) ^ (v >> 31)) >>> 0;
  let n = 1;
  while (u >= 0x80) {
    u >>>= 7;
    n++;
  }
  return n;
}

/** Writes `v` (an int32) as a zig-zag varint at `pos`; returns the position after it. */
export function writeVarint(buf: Buffer, pos: number, v: number): number {
  let u = ((v << 1) ^ (v >> 31)) >>> 0;
  while (u >= 0x80) {
    buf[pos++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  buf[pos++] = u;
  return pos;
}

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const FLOAT_EXACT = 2 ** 52;

/** Zig-zag in float arithmetic, exact for |v| < 2^52 (epoch milliseconds are near 2^41). */
function zigzag64(v: number): number {
  if (!(v > -FLOAT_EXACT && v < FLOAT_EXACT) || !Number.isInteger(v)) {
    throw new RangeError(`varlong ${v} is not an integer below 2^52 in magnitude`);
  }
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

/** Bytes `v` (a safe integer) takes as a zig-zag varlong. */
export function sizeOfVarlong(v: number): number {
  // For int32 values the varlong encoding is the varint encoding.
  if (v >= INT32_MIN && v <= INT32_MAX) return sizeOfVarint(v);
  let u = zigzag64(v);
  let n = 1;
  while (u >= 0x80) {
    u = Math.floor(u / 0x80);
    n++;
  }
  return n;
}

/** Writes `v` (a safe integer) as a zig-zag varlong; returns the position after it. */
export function writeVarlong(buf: Buffer, pos: number, v: number): number {
  if (v >= INT32_MIN && v <= INT32_MAX) return writeVarint(buf, pos, v);
  let u = zigzag64(v);
  while (u >= 0x80) {
    buf[pos++] = (u % 0x80) | 0x80;
    u = Math.floor(u / 0x80);
  }
  buf[pos++] = u;
  return pos;
}
