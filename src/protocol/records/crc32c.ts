/**
 * CRC-32C (Castagnoli), the checksum of RecordBatch v2. Computed natively
 * (SIMD) by @node-rs/crc32: a JS loop would cap header validation far below
 * memory speed.
 */
import { crc32c as nativeCrc32c } from '@node-rs/crc32';

export function crc32c(data: Buffer, initial = 0): number {
  return nativeCrc32c(data, initial) >>> 0;
}
