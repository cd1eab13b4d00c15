/**
 * zstd (codec 4): standard zstd frames. Java's zstd-jni stream writes frames
 * without a content size, so decompression cannot rely on one: we use the
 * streaming decoder into chunks, stopping as soon as the output passes the
 * limit. The window the decoder may allocate is capped too (windowLogMax),
 * so a forged header cannot claim a huge window for a small output.
 *
 * zstd-napi has no asynchronous API; the async variants run the same
 * streaming loop in slices and yield to the event loop between them, so a
 * large batch never holds the loop for more than one slice.
 */
import { createRequire } from 'node:module';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type * as Binding from 'zstd-napi/binding.js';
import { corrupt, tooLarge } from '../record-error.js';

const binding = createRequire(import.meta.url)('zstd-napi/binding') as typeof Binding;

const DEFAULT_LEVEL = 3;
/** Output per streaming step; also the granularity of the async slices. */
const CHUNK = 256 * 1024;
/** Input per compression step in the async variant. */
const ASYNC_INPUT_SLICE = 1024 * 1024;
/** Windows up to 8 MiB are always accepted (zstd's default levels stay under it). */
const MIN_WINDOW_LOG = 23;
/** zstd's own default maximum (128 MiB). */
const MAX_WINDOW_LOG = 27;

function windowLogFor(maxBytes: number): number {
  const needed = Math.ceil(Math.log2(Math.max(maxBytes, 1)));
  return Math.min(MAX_WINDOW_LOG, Math.max(MIN_WINDOW_LOG, needed));
}

let sharedCctx: Binding.CCtx | undefined;

export function zstdCompress(data: Buffer, level = DEFAULT_LEVEL): Buffer {
  const out = Buffer.allocUnsafe(binding.compressBound(data.length));
  // One-shot compression writes the content size into the frame header.
  const n = (sharedCctx ??= new binding.CCtx()).compress(out, data, level);
  return out.subarray(0, n);
}

export async function zstdCompressAsync(data: Buffer, level = DEFAULT_LEVEL): Promise<Buffer> {
  if (data.length <= ASYNC_INPUT_SLICE) return zstdCompress(data, level);
  const cctx = new binding.CCtx();
  cctx.setParameter(binding.CParameter.compressionLevel, level);
  cctx.setPledgedSrcSize(data.length);
  const out = Buffer.allocUnsafe(binding.compressBound(data.length));
  let written = 0;
  let src = data;
  for (;;) {
    const last = src.length <= ASYNC_INPUT_SLICE;
    const slice = last ? src : src.subarray(0, ASYNC_INPUT_SLICE);
    const directive = last ? binding.EndDirective.end : binding.EndDirective.continue;
    let input = slice;
    let remaining: number;
    do {
      const [ret, produced, consumed] = cctx.compressStream2(out.subarray(written), input, directive);
      // compressBound covers the whole frame, so a stall means a bug, not a full buffer: fail, never spin.
      if (produced === 0 && consumed === 0 && ret !== 0) throw new Error('zstd compression made no progress');
      written += produced;
      input = input.subarray(consumed);
      remaining = ret;
    } while (input.length > 0 || (last && remaining !== 0));
    if (last) break;
    src = src.subarray(ASYNC_INPUT_SLICE);
    await yieldToLoop();
  }
  return out.subarray(0, written);
}

/** Streaming decompression shared by the sync and async variants; `pause` runs between chunks. */
function* decompressSteps(dctx: Binding.DCtx, data: Buffer, maxBytes: number): Generator<void, Buffer> {
  dctx.setParameter(binding.DParameter.windowLogMax, windowLogFor(maxBytes));
  const chunks: Buffer[] = [];
  let total = 0;
  let src = data;
  let frameOpen = true;
  while (src.length > 0 || frameOpen) {
    // One byte more than the limit allows, so an oversized output is detected.
    const dst = Buffer.allocUnsafe(Math.min(CHUNK, maxBytes - total + 1));
    let ret: number;
    let produced: number;
    let consumed: number;
    try {
      [ret, produced, consumed] = dctx.decompressStream(dst, src);
    } catch (err) {
      throw corrupt(`zstd: ${(err as Error).message}`, err);
    }
    if (produced > 0) chunks.push(produced === dst.length ? dst : dst.subarray(0, produced));
    total += produced;
    if (total > maxBytes) throw tooLarge(`zstd data inflates past the ${maxBytes}-byte limit`);
    src = src.subarray(consumed);
    frameOpen = ret !== 0;
    if (produced === 0 && consumed === 0) throw corrupt('zstd frame is truncated');
    yield;
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

/** Single-shot decoding when one frame declares a content size within the limit. */
function decompressKnownSize(dctx: Binding.DCtx, data: Buffer, maxBytes: number): Buffer | null {
  let size: number | null;
  try {
    size = binding.getFrameContentSize(data);
    if (size === null || size > maxBytes || binding.findFrameCompressedSize(data) !== data.length) return null;
  } catch {
    return null; // let the streaming path report the error
  }
  const out = Buffer.allocUnsafe(size);
  let n: number;
  try {
    n = dctx.decompress(out, data);
  } catch (err) {
    throw corrupt(`zstd: ${(err as Error).message}`, err);
  }
  if (n !== size) throw corrupt(`zstd frame declared ${size} bytes but held ${n}`);
  return out;
}

let sharedDctx: Binding.DCtx | undefined;

export function zstdDecompress(data: Buffer, maxBytes: number): Buffer {
  if (data.length === 0) throw corrupt('zstd payload is empty');
  const dctx = (sharedDctx ??= new binding.DCtx());
  // Drop any state a previous failed call left behind.
  dctx.reset(binding.ResetDirective.sessionAndParameters);
  const known = decompressKnownSize(dctx, data, maxBytes);
  if (known) return known;
  dctx.reset(binding.ResetDirective.sessionAndParameters);
  const steps = decompressSteps(dctx, data, maxBytes);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

export async function zstdDecompressAsync(data: Buffer, maxBytes: number): Promise<Buffer> {
  if (data.length === 0) throw corrupt('zstd payload is empty');
  // A context of its own: another call may run between our slices.
  const dctx = new binding.DCtx();
  const steps = decompressSteps(dctx, data, maxBytes);
  for (let i = 1; ; i++) {
    const step = steps.next();
    if (step.done) return step.value;
    if (i % 4 === 0) await yieldToLoop();
  }
}
