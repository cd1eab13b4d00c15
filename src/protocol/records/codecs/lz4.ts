/**
 * lz4 (codec 3): the standard LZ4 frame format, as Java and librdkafka write
 * it for magic 2 (the broken header checksum of old Kafka only ever applied to
 * magic 0/1 messages, which we do not accept).
 *
 * The native decoder has no output limit, so before calling it we walk the
 * frame headers (cheap: one read per block) to bound the output: a block
 * inflates to at most its frame's maximum block size, and — since an LZ4
 * sequence cannot produce more than 255 bytes per input byte — to at most
 * 255 times its compressed size. Frames that could exceed the limit by more
 * than one block are refused unread; the exact output is checked afterwards.
 */
import * as lz4 from 'lz4-napi';
import { corrupt, tooLarge } from '../record-error.js';

const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
/** Largest LZ4 block (block size id 7). */
const MAX_BLOCK = 4 * 1024 * 1024;
const MAX_EXPANSION = 255;

/** An upper bound of the bytes the frame(s) in `data` decompress to. */
export function lz4OutputBound(data: Buffer): number {
  let at = 0;
  let bound = 0;
  const need = (n: number): void => {
    if (data.length - at < n) throw corrupt('lz4 frame is truncated');
  };
  if (data.length === 0) throw corrupt('lz4 payload is empty');
  while (at < data.length) {
    need(4);
    const magic = data.readUInt32LE(at);
    at += 4;
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      need(4);
      const size = data.readUInt32LE(at);
      at += 4;
      need(size);
      at += size;
      continue;
    }
    if (magic !== FRAME_MAGIC) throw corrupt(`not an LZ4 frame (magic 0x${magic.toString(16)})`);
    need(3);
    const flg = data[at]!;
    const bd = data[at + 1]!;
    if (flg >> 6 !== 1) throw corrupt(`unsupported LZ4 frame version ${flg >> 6}`);
    const blockChecksum = (flg & 0x10) !== 0;
    const hasContentSize = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    const hasDictId = (flg & 0x01) !== 0;
    const sizeId = (bd >> 4) & 0x07;
    if (sizeId < 4) throw corrupt(`invalid LZ4 block size id ${sizeId}`);
    const blockMax = 1 << (2 * sizeId + 8);
    at += 2;
    let contentSize = -1;
    if (hasContentSize) {
      need(8);
      contentSize = data.readUInt32LE(at) + data.readUInt32LE(at + 4) * 2 ** 32;
      at += 8;
    }
    if (hasDictId) at += 4;
    at += 1; // header checksum, verified by the decoder
    let frameBound = 0;
    for (;;) {
      need(4);
      const word = data.readUInt32LE(at);
      at += 4;
      if (word === 0) break; // end mark
      const size = word & 0x7fffffff;
      if (size > blockMax) throw corrupt(`LZ4 block of ${size} bytes exceeds the frame's ${blockMax}-byte blocks`);
      need(size);
      at += size;
      const uncompressed = (word & 0x80000000) !== 0;
      frameBound += uncompressed ? size : Math.min(blockMax, size * MAX_EXPANSION);
      if (blockChecksum) at += 4;
    }
    if (contentChecksum) at += 4;
    bound += contentSize >= 0 ? Math.min(contentSize, frameBound) : frameBound;
  }
  if (at > data.length) throw corrupt('lz4 frame is truncated');
  return bound;
}

export function lz4Compress(data: Buffer): Buffer {
  return lz4.compressFrameSync(data);
}

export function lz4CompressAsync(data: Buffer): Promise<Buffer> {
  return lz4.compressFrame(data);
}

function checkBound(data: Buffer, maxBytes: number): void {
  // Allow one block of slack: the per-block bound overestimates the last block.
  if (lz4OutputBound(data) > maxBytes + MAX_BLOCK) {
    throw tooLarge(`lz4 data may inflate past the ${maxBytes}-byte limit`);
  }
}

function checkOutput(out: Buffer, maxBytes: number): Buffer {
  if (out.length > maxBytes) throw tooLarge(`lz4 data inflates to ${out.length} bytes, past the ${maxBytes}-byte limit`);
  return out;
}

export function lz4Decompress(data: Buffer, maxBytes: number): Buffer {
  checkBound(data, maxBytes);
  let out: Buffer;
  try {
    out = lz4.decompressFrameSync(data);
  } catch (err) {
    throw corrupt(`lz4: ${(err as Error).message}`, err);
  }
  return checkOutput(out, maxBytes);
}

export async function lz4DecompressAsync(data: Buffer, maxBytes: number): Promise<Buffer> {
  checkBound(data, maxBytes);
  let out: Buffer;
  try {
    out = await lz4.decompressFrame(data);
  } catch (err) {
    throw corrupt(`lz4: ${(err as Error).message}`, err);
  }
  return checkOutput(out, maxBytes);
}
