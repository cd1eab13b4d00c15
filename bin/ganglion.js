#!/usr/bin/env node
// The `ganglion` command: runs the compiled CLI (built by `npm install` / `npm run build`).
import { main } from '../dist/src/cli/main.js';

raiseMallocThresholds();

main(process.argv.slice(2)).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => {
    process.stderr.write(`ganglion: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);

/**
 * glibc's malloc serves blocks above M_MMAP_THRESHOLD with a fresh mmap and
 * gives heap memory back to the kernel once more than M_TRIM_THRESHOLD is
 * free at its top. Both start at 128 KiB and only rise when an mmapped block
 * is freed (the "dynamic mmap threshold" of mallopt(3)): a broker freeing a
 * ~1 MiB request or an 8 MiB read hundreds of times a second otherwise has
 * its heap shrunk and regrown (one brk pair per request) and faults every
 * page of every buffer in anew, which cost more than a third of its produce
 * throughput (bench/broker.ts). Dropping one mmapped block just under the
 * 32 MiB ceiling raises the thresholds to ~31 / ~62 MiB for the life of the
 * process, as MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ would, without
 * a wrapper process. The block is never touched, so it never becomes
 * resident; it is freed by the first garbage collection. Without glibc, or
 * with those variables set (which turn the adjustment off), this does nothing.
 */
function raiseMallocThresholds() {
  Buffer.allocUnsafe(31 * 1024 * 1024);
}
