/**
 * Process-wide memory settings for a server that moves large Buffers: every
 * socket read is a fresh 64 KiB ArrayBuffer, every produce request a ~1 MiB
 * frame, every fetch a read buffer of up to max.partition.fetch.bytes, all
 * dead within milliseconds. With the defaults of glibc and V8 that traffic
 * costs more than the work itself (bench/broker.ts, README "Performance"):
 *
 * - glibc serves blocks above M_MMAP_THRESHOLD with a fresh mmap and returns
 *   heap memory to the kernel once more than M_TRIM_THRESHOLD is free at its
 *   top. Both start at 128 KiB and only rise when an mmapped block is freed
 *   (the "dynamic mmap threshold" of mallopt(3)); until then the heap is shrunk
 *   and regrown about once per request and every page of every buffer is
 *   faulted in anew (~100 minor faults per MB moved).
 * - V8 counts ArrayBuffer memory allocated since the last mark-compact against
 *   the old generation's limit. With a small heap (~10 MB) that limit is only
 *   ~16 MB above the live size, less than the buffer memory a broker churns
 *   through between young-generation collections (which on-heap allocation
 *   alone paces), so V8 ran a full mark-compact every ~13 MB moved: ~20 per
 *   second at 200 MB/s, 13-23% of the broker's CPU profile.
 *
 * Only the process's launcher should call this (bin/ganglion.js): it changes
 * settings of the whole process, not of one server.
 */
import { setFlagsFromString } from 'node:v8';

/**
 * Old-generation growing factor as V8's `--heap-growing-percent` (factor
 * 1 + p/100). V8 picks 1.1-4 by itself from GC and allocation speed and lands
 * near 1.1 here because marking a small heap is fast. In a bench run moving
 * 3 GB (bench/broker.ts) that meant ~230 mark-compacts; a factor of 4 (V8's
 * own maximum) left ~70, 5 left 0-4. The limit is still capped by the heap's
 * maximum size, and a large live heap is collected when it has grown 5x
 * rather than V8's 1.1-4x.
 */
export const HEAP_GROWING_PERCENT = 400;

/**
 * Just under glibc's ceiling for the dynamic mmap threshold on 64-bit
 * (DEFAULT_MMAP_THRESHOLD_MAX, 32 MiB): freeing an mmapped block of this size
 * sets the mmap threshold to it and the trim threshold to twice that.
 */
const MALLOC_THRESHOLD_RAISER_BYTES = 31 * 1024 * 1024;

/**
 * Applies both settings unless the operator chose otherwise: the malloc
 * adjustment is a no-op when MALLOC_MMAP_THRESHOLD_ or MALLOC_TRIM_THRESHOLD_
 * is set (glibc then turns dynamic thresholds off) or without glibc; the V8
 * flag is left alone when node was started with --heap-growing-percent.
 */
export function tuneForBufferChurn(): void {
  raiseMallocThresholds();
  const nodeOptions = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
  if (!/--heap[-_]growing[-_]percent/.test(nodeOptions)) {
    setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  }
}

/**
 * Allocates one block above the current mmap threshold and drops it. It is
 * never touched, so it never becomes resident; the first garbage collection
 * frees it, which raises the thresholds for the life of the process.
 */
function raiseMallocThresholds(): void {
  Buffer.allocUnsafe(MALLOC_THRESHOLD_RAISER_BYTES);
}
