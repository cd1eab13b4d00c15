/**
 * snappy (codec 2). Two encodings are in the wild:
 *
 * - xerial framing, which Kafka's Java client writes (SnappyOutputStream):
 *   an 8-byte magic 0x82 "SNAPPY" 0x00, an int32 version and an int32
 *   compatible-version (both 1), then blocks of [int32 big-endian length,
 *   raw snappy block];
 * - a single raw snappy block, which some non-Java clients write.
 *
 * We decode both. We encode a raw block by default: it is what librdkafka
 * writes, Java's SnappyInputStream falls back to it when the magic is absent,
 * kafkajs-snappy, sarama, franz-go and kafka-python detect it the same way,
 * and @platformatic/kafka reads only raw blocks (its decoder fails on xerial
 * framing). Xerial framing, as Java writes it, is available by option.
 *
 * Each raw block begins with its uncompressed length as a varint; we check
 * the sum of those against the limit before decompressing anything, because
 * the native decoder allocates whatever the preamble claims.
 */
import * as snappy from 'snappy';
import { corrupt, tooLarge } from '../record-error.js';

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_SIZE = 16;
/** The block size Java's SnappyOutputStream uses by default. */
const XERIAL_BLOCK_SIZE = 32 * 1024;

export function isXerialFramed(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER_SIZE && data.compare(XERIAL_MAGIC, 0, 8, 0, 8) === 0;
}

function xerialHeader(): Buffer {
  const header = Buffer.alloc(XERIAL_HEADER_SIZE);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8);
  header.writeInt32BE(1, 12);
  return header;
}

function blocksOf(data: Buffer): Buffer[] {
  const blocks: Buffer[] = [];
  for (let at = 0; at < data.length; at += XERIAL_BLOCK_SIZE) blocks.push(data.subarray(at, at + XERIAL_BLOCK_SIZE));
  return blocks;
}

function frame(compressed: Buffer[]): Buffer {
  const parts: Buffer[] = [xerialHeader()];
  for (const block of compressed) {
    const length = Buffer.allocUnsafe(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

export type SnappyFraming = 'raw' | 'xerial';

export function snappyCompress(data: Buffer, framing: SnappyFraming = 'raw'): Buffer {
  if (framing === 'raw') return snappy.compressSync(data);
  return frame(blocksOf(data).map((block) => snappy.compressSync(block)));
}

/** On the thread pool; xerial blocks compress in parallel. */
export async function snappyCompressAsync(data: Buffer, framing: SnappyFraming = 'raw'): Promise<Buffer> {
  if (framing === 'raw') return snappy.compress(data);
  return frame(await Promise.all(blocksOf(data).map((block) => snappy.compress(block))));
}

/** The uncompressed length a raw snappy block declares (its varint preamble). */
function declaredLength(block: Buffer): number {
  let value = 0;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const b = block[i]!;
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return value;
  }
  throw corrupt('snappy block has an invalid length preamble');
}

/** Raw snappy blocks of the payload, after checking their declared sizes against the limit. */
function splitBlocks(data: Buffer, maxBytes: number): Buffer[] {
  const blocks: Buffer[] = [];
  if (!isXerialFramed(data)) {
    blocks.push(data);
  } else {
    let at = XERIAL_HEADER_SIZE;
    while (at < data.length) {
      if (data.length - at < 4) throw corrupt('xerial snappy stream ends inside a block length');
      const length = data.readInt32BE(at);
      at += 4;
      if (length < 0 || length > data.length - at) {
        throw corrupt(`xerial snappy block of ${length} bytes overruns the ${data.length - at} bytes left`);
      }
      blocks.push(data.subarray(at, at + length));
      at += length;
    }
  }
  let total = 0;
  for (const block of blocks) {
    total += declaredLength(block);
    if (total > maxBytes) throw tooLarge(`snappy data declares more than the ${maxBytes}-byte limit`);
  }
  return blocks;
}

function join(parts: Buffer[]): Buffer {
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

export function snappyDecompress(data: Buffer, maxBytes: number): Buffer {
  const blocks = splitBlocks(data, maxBytes);
  try {
    return join(blocks.map((block) => snappy.uncompressSync(block, { asBuffer: true }) as Buffer));
  } catch (err) {
    throw corrupt(`snappy: ${(err as Error).message.replace(/^snappy: /, '')}`, err);
  }
}

export async function snappyDecompressAsync(data: Buffer, maxBytes: number): Promise<Buffer> {
  const blocks = splitBlocks(data, maxBytes);
  try {
    const parts = await Promise.all(blocks.map((block) => snappy.uncompress(block, { asBuffer: true })));
    return join(parts as Buffer[]);
  } catch (err) {
    throw corrupt(`snappy: ${(err as Error).message.replace(/^snappy: /, '')}`, err);
  }
}
