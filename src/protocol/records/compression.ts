/**
 * The batch compression codecs, by the id in the attributes' low three bits.
 * Each codec lives in codecs/; this module only dispatches and names them.
 *
 * Decompression always takes an output limit: record data is untrusted and
 * a few kilobytes can claim gigabytes. Compression outputs may be views into
 * a larger allocation; the builder copies them into the batch.
 */
import { CompressionType } from './layout.js';
import { corrupt } from './record-error.js';
import { gzipCompress, gzipCompressAsync, gzipDecompress, gzipDecompressAsync } from './codecs/gzip.js';
import {
  snappyCompress,
  snappyCompressAsync,
  snappyDecompress,
  snappyDecompressAsync,
  type SnappyFraming,
} from './codecs/snappy.js';
import { lz4Compress, lz4CompressAsync, lz4Decompress, lz4DecompressAsync } from './codecs/lz4.js';
import { zstdCompress, zstdCompressAsync, zstdDecompress, zstdDecompressAsync } from './codecs/zstd.js';

export { CompressionType };

/** Default cap on one batch's decompressed records (64 MiB). */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

const NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type CompressionName = (typeof NAMES)[number];

/** Kafka's name for a codec id (as in compression.type), e.g. 'zstd'. */
export function compressionName(type: number): CompressionName {
  const name = NAMES[type];
  if (name === undefined) throw corrupt(`unknown compression codec id ${type}`);
  return name;
}

/** The codec id for a compression.type name. */
export function compressionTypeByName(name: string): CompressionType {
  const index = (NAMES as readonly string[]).indexOf(name);
  if (index < 0) throw new RangeError(`unknown compression type '${name}'`);
  return index as CompressionType;
}

export type { SnappyFraming };

export interface CompressOptions {
  /** Codec level (gzip 1-9, zstd 1-22); ignored by snappy and lz4. */
  level?: number | undefined;
  /** 'raw' (default, readable by every client we know) or 'xerial' (what Java writes). */
  snappyFraming?: SnappyFraming | undefined;
}

export function compress(type: CompressionType, data: Buffer, options: CompressOptions = {}): Buffer {
  switch (type) {
    case CompressionType.None:
      return data;
    case CompressionType.Gzip:
      return gzipCompress(data, options.level);
    case CompressionType.Snappy:
      return snappyCompress(data, options.snappyFraming);
    case CompressionType.Lz4:
      return lz4Compress(data);
    case CompressionType.Zstd:
      return zstdCompress(data, options.level);
    default:
      throw new RangeError(`unknown compression codec id ${type as number}`);
  }
}

/** Like compress, off the event loop (thread pool, or slices for zstd). */
export function compressAsync(type: CompressionType, data: Buffer, options: CompressOptions = {}): Promise<Buffer> {
  switch (type) {
    case CompressionType.None:
      return Promise.resolve(data);
    case CompressionType.Gzip:
      return gzipCompressAsync(data, options.level);
    case CompressionType.Snappy:
      return snappyCompressAsync(data, options.snappyFraming);
    case CompressionType.Lz4:
      return lz4CompressAsync(data);
    case CompressionType.Zstd:
      return zstdCompressAsync(data, options.level);
    default:
      return Promise.reject(new RangeError(`unknown compression codec id ${type as number}`));
  }
}

/** Decompresses `data`; throws RecordError (CORRUPT_MESSAGE, or MESSAGE_TOO_LARGE past `maxBytes`). */
export function decompress(type: CompressionType, data: Buffer, maxBytes = DEFAULT_MAX_DECOMPRESSED_BYTES): Buffer {
  switch (type) {
    case CompressionType.None:
      return data;
    case CompressionType.Gzip:
      return gzipDecompress(data, maxBytes);
    case CompressionType.Snappy:
      return snappyDecompress(data, maxBytes);
    case CompressionType.Lz4:
      return lz4Decompress(data, maxBytes);
    case CompressionType.Zstd:
      return zstdDecompress(data, maxBytes);
    default:
      throw corrupt(`unknown compression codec id ${type as number}`);
  }
}

export async function decompressAsync(
  type: CompressionType,
  data: Buffer,
  maxBytes = DEFAULT_MAX_DECOMPRESSED_BYTES,
): Promise<Buffer> {
  switch (type) {
    case CompressionType.None:
      return data;
    case CompressionType.Gzip:
      return gzipDecompressAsync(data, maxBytes);
    case CompressionType.Snappy:
      return snappyDecompressAsync(data, maxBytes);
    case CompressionType.Lz4:
      return lz4DecompressAsync(data, maxBytes);
    case CompressionType.Zstd:
      return zstdDecompressAsync(data, maxBytes);
    default:
      throw corrupt(`unknown compression codec id ${type as number}`);
  }
}
