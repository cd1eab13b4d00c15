/**
 * gzip (codec 1): what Kafka's Java client writes with GZIPOutputStream.
 * zlib enforces the output limit itself (maxOutputLength), so a small
 * compressed payload cannot inflate past the caller's budget; the async
 * variants run on libuv's thread pool.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { corrupt, tooLarge } from '../record-error.js';

const gzipAsync = promisify(zlib.gzip);
const gunzipAsync = promisify(zlib.gunzip);

function failure(err: unknown, maxBytes: number): Error {
  if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
    return tooLarge(`gzip data inflates past the ${maxBytes}-byte limit`);
  }
  return corrupt(`gzip: ${(err as Error).message}`, err);
}

export function gzipCompress(data: Buffer, level?: number): Buffer {
  return zlib.gzipSync(data, level === undefined ? undefined : { level });
}

export function gzipCompressAsync(data: Buffer, level?: number): Promise<Buffer> {
  return gzipAsync(data, level === undefined ? {} : { level });
}

export function gzipDecompress(data: Buffer, maxBytes: number): Buffer {
  try {
    return zlib.gunzipSync(data, { maxOutputLength: Math.max(maxBytes, 1) });
  } catch (err) {
    throw failure(err, maxBytes);
  }
}

export async function gzipDecompressAsync(data: Buffer, maxBytes: number): Promise<Buffer> {
  try {
    return await gunzipAsync(data, { maxOutputLength: Math.max(maxBytes, 1) });
  } catch (err) {
    throw failure(err, maxBytes);
  }
}
