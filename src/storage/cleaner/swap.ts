/**
 * The files of a cleaned segment and how they replace the segments they were
 * made from, so that a crash at any moment leaves either the old segments or
 * the new one, never a mix and never neither:
 *
 *   1. The cleaner writes `<base>.log.cleaned`, `<base>.index.cleaned` and
 *      `<base>.timeindex.cleaned` (base = the first replaced segment's base
 *      offset) and fsyncs them. A crash now: `.cleaned` files are leftovers,
 *      removed at open; the old segments are intact.
 *   2. Commit: the index files, then the log, are renamed to `.swap`, and the
 *      directory is fsynced. From the moment `<base>.log.swap` exists the
 *      swap is decided: recovery completes it.
 *   3. The old segments' files are renamed to `*.deleted` (open readers keep
 *      their file descriptors).
 *   4. `<base>.log.swap` becomes `<base>.log`, then the index files follow.
 *
 * Recovery at open (`completeInterruptedSwaps`, before the directory is
 * listed): for each `<base>.log.swap`, every `.log`/`.index`/`.timeindex` of
 * a segment whose base offset lies in the swap's range is removed, the swap
 * becomes `<base>.log`, and its index files are dropped so they are rebuilt
 * from the log (the cheap, certain choice after a crash). The range is
 * [base, next offset after the swap's last batch), and at least the base
 * itself: the cleaner guarantees it covers exactly the replaced segments
 * (each replaced segment keeps at least one batch in the cleaned one, except
 * when a single segment is replaced by an empty one). Index `.swap` files
 * without a `.log.swap` (a crash in step 4) are removed: the new segment's
 * indexes are then rebuilt.
 */
import { open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { HEADER_SIZE, crcMatches, headerProblem, readHeader } from '../batch-header.js';
import { isErrno, readAt, syncDir } from '../file-io.js';
import { INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, parseSegmentFileName, segmentFileName } from '../segment.js';

export const CLEANED_SUFFIX = '.cleaned';
export const SWAP_SUFFIX = '.swap';

const SEGMENT_SUFFIXES = [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX] as const;
/** Index files first, the log last: the log's rename is the commit point. */
const COMMIT_ORDER = [TIME_INDEX_SUFFIX, INDEX_SUFFIX, LOG_SUFFIX] as const;
/** The log first: once it has its final name the swap no longer needs recovery. */
const INSTALL_ORDER = [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX] as const;

export interface CleanedPaths {
  log: string;
  index: string;
  timeIndex: string;
}

/** Where the cleaner writes the segment that will replace the ones starting at `baseOffset`. */
export function cleanedPaths(dir: string, baseOffset: number): CleanedPaths {
  return {
    log: join(dir, segmentFileName(baseOffset, LOG_SUFFIX) + CLEANED_SUFFIX),
    index: join(dir, segmentFileName(baseOffset, INDEX_SUFFIX) + CLEANED_SUFFIX),
    timeIndex: join(dir, segmentFileName(baseOffset, TIME_INDEX_SUFFIX) + CLEANED_SUFFIX),
  };
}

/** Removes the `.cleaned` files of `baseOffset` (an abandoned or failed clean). */
export async function removeCleaned(dir: string, baseOffset: number): Promise<void> {
  for (const suffix of SEGMENT_SUFFIXES) {
    await rm(join(dir, segmentFileName(baseOffset, suffix) + CLEANED_SUFFIX), { force: true });
  }
}

/** Step 2: `.cleaned` -> `.swap`, the log last, then the directory is fsynced. After this the swap is decided. */
export async function commitCleaned(dir: string, baseOffset: number): Promise<void> {
  for (const suffix of COMMIT_ORDER) {
    const stem = join(dir, segmentFileName(baseOffset, suffix));
    await rename(stem + CLEANED_SUFFIX, stem + SWAP_SUFFIX);
  }
  await syncDir(dir);
}

/** Step 4: `.swap` -> final names, the log first, then the directory is fsynced. */
export async function installSwap(dir: string, baseOffset: number): Promise<void> {
  for (const suffix of INSTALL_ORDER) {
    const stem = join(dir, segmentFileName(baseOffset, suffix));
    try {
      await rename(stem + SWAP_SUFFIX, stem);
    } catch (err) {
      // Index files are derived data: a missing one is rebuilt on first use.
      if (suffix === LOG_SUFFIX || !isErrno(err, 'ENOENT')) throw err;
    }
  }
  await syncDir(dir);
}

export interface SwapRecovery {
  baseOffset: number;
  /** Exclusive end of the offsets the swapped-in segment replaced. */
  endOffset: number;
  /** Base offsets of the segments whose files were still there and were removed. */
  replaced: number[];
  /** Bytes cut from the end of the swap file (a damaged tail; 0 normally). */
  truncatedBytes: number;
}

/**
 * Completes the swaps a crash interrupted after their commit point (see the
 * file comment). Runs before a log directory is listed at open.
 */
export async function completeInterruptedSwaps(dir: string): Promise<SwapRecovery[]> {
  const names = await readdir(dir);
  const swaps = names
    .map((n) => parseSegmentFileName(n, LOG_SUFFIX + SWAP_SUFFIX))
    .filter((b): b is number => b !== null)
    .sort((a, b) => a - b);
  const done: SwapRecovery[] = [];
  for (const base of swaps) {
    const swapPath = join(dir, segmentFileName(base, LOG_SUFFIX) + SWAP_SUFFIX);
    const { nextOffset, truncatedBytes } = await validateSwapFile(swapPath, base);
    const endOffset = Math.max(nextOffset, base + 1);
    const replaced = new Set<number>();
    for (const name of names) {
      for (const suffix of SEGMENT_SUFFIXES) {
        const b = parseSegmentFileName(name, suffix);
        if (b !== null && b >= base && b < endOffset) {
          await rm(join(dir, name), { force: true });
          if (suffix === LOG_SUFFIX) replaced.add(b);
        }
      }
    }
    await rename(swapPath, join(dir, segmentFileName(base, LOG_SUFFIX)));
    for (const suffix of [INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
      await rm(join(dir, segmentFileName(base, suffix) + SWAP_SUFFIX), { force: true });
    }
    done.push({ baseOffset: base, endOffset, replaced: [...replaced].sort((a, b) => a - b), truncatedBytes });
  }
  if (done.length > 0) await syncDir(dir);
  return done;
}

const VALIDATE_CHUNK = 1024 * 1024;

/**
 * Checks every batch of a swap file (framing, CRC-32C, increasing offsets),
 * cuts a damaged tail, and returns the offset after its last good batch.
 */
async function validateSwapFile(path: string, baseOffset: number): Promise<{ nextOffset: number; truncatedBytes: number }> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, 'r+');
    const fileSize = (await fh.stat()).size;
    let nextOffset = baseOffset;
    let pos = 0;
    let buf: Buffer = Buffer.alloc(0);
    let bufStart = 0;
    while (pos < fileSize) {
      const left = fileSize - pos;
      if (left < HEADER_SIZE) break;
      if (pos + HEADER_SIZE > bufStart + buf.length) {
        buf = await readAt(fh, pos, Math.min(left, VALIDATE_CHUNK));
        bufStart = pos;
        if (buf.length < HEADER_SIZE) break;
      }
      let at = pos - bufStart;
      if (headerProblem(buf, at, left) !== null) break;
      const size = readHeader(buf, at, pos).size;
      if (at + size > buf.length) {
        buf = await readAt(fh, pos, Math.max(size, Math.min(left, VALIDATE_CHUNK)));
        bufStart = pos;
        at = 0;
        if (buf.length < size) break;
      }
      const header = readHeader(buf, at, pos);
      if (header.baseOffset < nextOffset || !crcMatches(buf, at, header.size)) break;
      nextOffset = header.lastOffset + 1;
      pos += header.size;
    }
    const truncatedBytes = fileSize - pos;
    if (truncatedBytes > 0) await fh.truncate(pos);
    await fh.sync();
    return { nextOffset, truncatedBytes };
  } finally {
    await fh?.close();
  }
}
