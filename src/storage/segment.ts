/**
 * One segment of a partition log: `<base>.log` (batches back to back, bytes
 * exactly as appended), `<base>.index` and `<base>.timeindex`. The segment
 * knows its files and its indexes; the PartitionLog decides what goes where
 * and serializes every mutation, so nothing here locks.
 *
 * A future log cleaner builds replacement segments with this same class
 * (files under another suffix, then renamed into place).
 */
import { open, rename, stat, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type BatchHeader,
  HEADER_SIZE,
  INT32_MAX,
  crcMatches,
  headerProblem,
  readHeader,
  readInt64,
} from './batch-header.js';
import { IndexCache, OffsetIndex, TimeIndex } from './index-file.js';
import { isErrno, readAt, writeAt } from './file-io.js';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
export const DELETED_SUFFIX = '.deleted';

/** Reads while scanning headers only. */
const HEADER_SCAN_CHUNK = 16 * 1024;
/** Reads while validating whole batches (recovery). */
const RECOVERY_CHUNK = 1024 * 1024;

export function segmentFileName(baseOffset: number, suffix: string): string {
  return String(baseOffset).padStart(20, '0') + suffix;
}

/** Parses `00000000000000000042.log` (etc.) to 42, or null. */
export function parseSegmentFileName(name: string, suffix: string): number | null {
  if (!name.endsWith(suffix)) return null;
  const stem = name.slice(0, -suffix.length);
  if (!/^\d{20}$/.test(stem)) return null;
  const n = Number(stem);
  return Number.isSafeInteger(n) ? n : null;
}

export interface SegmentConfig {
  indexIntervalBytes: number;
  segmentIndexBytes: number;
}

export interface ScanResult {
  /** Bytes of intact batches from the start of the scan. */
  validBytes: number;
  batches: number;
  /** Why the scan stopped early, or null when it reached the end. */
  problem: string | null;
}

export class LogSegment {
  readonly offsetIndex: OffsetIndex;
  readonly timeIndex: TimeIndex;
  /** Bytes in the .log file that readers may see (whole batches only). */
  size: number;
  /** Offset after the last batch, when known (active and recovered segments). */
  nextOffset: number;
  /** Largest batch maxTimestamp in the segment, -1 when none. */
  maxTimestamp = -1;
  /** Last offset of the first batch reaching maxTimestamp. */
  offsetOfMaxTimestamp = -1;
  /** maxTimestamp of the first batch: the base of time-based rolling; undefined = not read yet. */
  firstBatchTimestamp: number | undefined;
  readonly createdMs: number;
  lastModifiedMs: number;
  bytesSinceLastIndexEntry = 0;
  private refs = 0;
  private closing: (() => void) | null = null;
  private closed = false;
  private config: SegmentConfig;
  private indexLoading: Promise<boolean> | null = null;
  private closePromise: Promise<void> | null = null;
  /** The log's active segment: its indexes stay in memory (never in the LRU). */
  private active = false;
  /**
   * Where the last read ended (the next offset and its file position): a
   * consumer reading sequentially starts its next fetch there without an
   * index lookup or a header scan. Cleared when bytes move (truncation).
   */
  readHint: { offset: number; position: number } | null = null;
  /** Called after indexes were rebuilt in memory by a reader; the log persists them in its queue. */
  onIndexRebuilt: ((segment: LogSegment) => void) | null = null;

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    private fh: FileHandle,
    size: number,
    createdMs: number,
    mtimeMs: number,
    config: SegmentConfig,
    private readonly cache: IndexCache,
  ) {
    this.size = size;
    this.nextOffset = baseOffset;
    this.createdMs = createdMs;
    this.lastModifiedMs = mtimeMs;
    this.config = { ...config };
    this.offsetIndex = new OffsetIndex(join(dir, segmentFileName(baseOffset, INDEX_SUFFIX)), baseOffset, config.segmentIndexBytes);
    this.timeIndex = new TimeIndex(join(dir, segmentFileName(baseOffset, TIME_INDEX_SUFFIX)), baseOffset, config.segmentIndexBytes);
  }

  get logPath(): string {
    return join(this.dir, segmentFileName(this.baseOffset, LOG_SUFFIX));
  }

  /** Creates an empty segment (a leftover empty file of the same name is reused). */
  static async create(dir: string, baseOffset: number, config: SegmentConfig, cache: IndexCache, nowMs: number): Promise<LogSegment> {
    const path = join(dir, segmentFileName(baseOffset, LOG_SUFFIX));
    let fh: FileHandle;
    try {
      fh = await open(path, 'wx+');
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
      fh = await open(path, 'r+');
      const { size } = await fh.stat();
      if (size !== 0) {
        await fh.close();
        throw new Error(`cannot create segment ${path}: a non-empty file is in the way`);
      }
    }
    const segment = new LogSegment(dir, baseOffset, fh, 0, nowMs, nowMs, config, cache);
    segment.offsetIndex.reset();
    segment.timeIndex.reset();
    segment.firstBatchTimestamp = -1;
    return segment;
  }

  /**
   * Opens an existing segment. Indexes are not read: `indexFileSizes` tells
   * whether they exist and have a whole number of entries.
   */
  static async open(dir: string, baseOffset: number, config: SegmentConfig, cache: IndexCache, nowMs: number): Promise<LogSegment> {
    const fh = await open(join(dir, segmentFileName(baseOffset, LOG_SUFFIX)), 'r+');
    try {
      const st = await fh.stat();
      return new LogSegment(dir, baseOffset, fh, st.size, nowMs, st.mtimeMs, config, cache);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  updateConfig(config: SegmentConfig): void {
    this.config = { ...config };
    this.offsetIndex.setMaxIndexBytes(config.segmentIndexBytes);
    this.timeIndex.setMaxIndexBytes(config.segmentIndexBytes);
  }

  /** Largest timestamp for retention: the max batch timestamp, else the file's modification time. */
  get largestTimestamp(): number {
    return this.maxTimestamp >= 0 ? this.maxTimestamp : this.lastModifiedMs;
  }

  get indexesFull(): boolean {
    return this.offsetIndex.isFull || this.timeIndex.isFull;
  }

  // ---- appending -------------------------------------------------------

  /** Writes `buf[start, end)` at the end of the .log file; visible to readers only after `commit`. */
  async write(buf: Buffer, start: number, end: number): Promise<void> {
    await writeAt(this.fh, buf, start, end, this.size);
  }

  /** Index bookkeeping for one batch that now sits at `position` (Kafka's rule: an entry per interval). */
  trackBatch(position: number, lastOffset: number, maxTimestamp: number, size: number, indexIntervalBytes: number): void {
    if (position === 0) this.firstBatchTimestamp = maxTimestamp;
    if (maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp;
      this.offsetOfMaxTimestamp = lastOffset;
    }
    if (this.bytesSinceLastIndexEntry >= indexIntervalBytes && position > 0) {
      this.offsetIndex.append(lastOffset, position);
      this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
      this.bytesSinceLastIndexEntry = 0;
    }
    this.bytesSinceLastIndexEntry += size;
    this.nextOffset = lastOffset + 1;
  }

  /** Time waited toward segment.ms, Kafka's way: by record timestamps when there are any. */
  timeWaitedForRoll(nowMs: number, batchMaxTimestamp: number): number {
    const first = this.firstBatchTimestamp;
    if (first !== undefined && first >= 0 && batchMaxTimestamp >= 0) return batchMaxTimestamp - first;
    return nowMs - this.createdMs;
  }

  /** Can `lastOffset` still be stored as an int32 relative offset here? */
  fitsOffset(lastOffset: number): boolean {
    return lastOffset - this.baseOffset <= INT32_MAX;
  }

  get isActive(): boolean {
    return this.active;
  }

  /** Makes this the log's active segment (indexes pinned in memory) — after a load or a truncation. */
  async becomeActive(): Promise<void> {
    await this.ensureIndexesLoaded();
    this.active = true;
    this.cache.forget(this.offsetIndex);
    this.cache.forget(this.timeIndex);
  }

  /** Called when a newer segment takes over: the final time-index entry, then indexes to disk. */
  async onBecomeInactive(): Promise<void> {
    await this.ensureIndexesLoaded();
    this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
    await this.persistIndexes(false);
    this.active = false;
    this.cache.touch(this.offsetIndex);
    this.cache.touch(this.timeIndex);
  }

  /** Writes index entries not yet on disk (an unloaded index is clean by definition). */
  async persistIndexes(sync: boolean): Promise<void> {
    if (this.offsetIndex.loaded) await this.offsetIndex.persist(sync);
    if (this.timeIndex.loaded) await this.timeIndex.persist(sync);
  }

  /**
   * fsyncs the .log file and the index files as they are on disk. Index
   * entries are written by `persistIndexes`, inside the log's queue, before.
   */
  async flush(): Promise<void> {
    await this.fh.sync();
    await this.offsetIndex.syncFile();
    await this.timeIndex.syncFile();
  }

  // ---- reading ---------------------------------------------------------

  async readAt(position: number, length: number): Promise<Buffer> {
    return readAt(this.fh, position, length);
  }

  /** File position to start scanning for `offset`, from the offset index (0 if it cannot be used). */
  async lookupPosition(offset: number): Promise<number> {
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!(await this.ensureIndexesLoaded())) return 0;
      // Another reader may have evicted it while we waited: then load again.
      if (!this.offsetIndex.loaded) continue;
      if (!this.active) this.cache.touch(this.offsetIndex);
      return this.offsetIndex.lookup(offset).position;
    }
    return 0;
  }

  /** Time index lookup: the offset from which to scan for the first batch reaching `timestamp`. */
  async lookupTimestamp(timestamp: number): Promise<number> {
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!(await this.ensureIndexesLoaded())) return this.baseOffset;
      if (!this.timeIndex.loaded) continue;
      if (!this.active) this.cache.touch(this.timeIndex);
      return this.timeIndex.lookup(timestamp).offset;
    }
    return this.baseOffset;
  }

  /**
   * Loads both indexes if they are not in memory, validating them; when one
   * is missing or invalid both are rebuilt from a scan of the .log file and
   * `onIndexRebuilt` fires. Returns false only when the rebuild scan itself
   * found the .log inconsistent (readers then scan from position 0).
   */
  ensureIndexesLoaded(): Promise<boolean> {
    if (this.offsetIndex.loaded && this.timeIndex.loaded) return Promise.resolve(true);
    this.indexLoading ??= this.loadIndexes().finally(() => {
      this.indexLoading = null;
    });
    return this.indexLoading;
  }

  /** Counts index rebuilds (tests and metrics). */
  indexRebuilds = 0;

  private async loadIndexes(): Promise<boolean> {
    const size = this.size;
    let problem = this.offsetIndex.loaded ? null : await this.offsetIndex.load((ix) => ix.problem(size));
    if (problem === null && !this.timeIndex.loaded) problem = await this.timeIndex.load((ix) => ix.problem());
    if (problem === null) return true;
    const result = await this.rebuildIndexes();
    this.onIndexRebuilt?.(this);
    return result.problem === null;
  }

  /** Rebuilds both indexes in memory by scanning headers (no CRC: for segments known to be clean). */
  async rebuildIndexes(): Promise<ScanResult> {
    this.indexRebuilds++;
    this.resetTracking();
    const interval = this.config.indexIntervalBytes;
    return this.scanHeaders(0, this.size, (h) => {
      this.trackBatch(h.position, h.lastOffset, h.maxTimestamp, h.size, interval);
      return false;
    });
  }

  private resetTracking(): void {
    this.readHint = null;
    this.offsetIndex.reset();
    this.timeIndex.reset();
    this.maxTimestamp = -1;
    this.offsetOfMaxTimestamp = -1;
    this.bytesSinceLastIndexEntry = 0;
    this.nextOffset = this.baseOffset;
    this.firstBatchTimestamp = -1;
  }

  /**
   * Visits batch headers in [from, to) until `visit` returns true. Checks each
   * header's shape (size, magic, bounds) but not its CRC.
   */
  async scanHeaders(from: number, to: number, visit: (h: BatchHeader) => boolean): Promise<ScanResult & { stoppedAt?: BatchHeader }> {
    let buf: Buffer | null = null;
    let bufStart = 0;
    let pos = from;
    let batches = 0;
    while (pos < to) {
      if (buf === null || pos < bufStart || pos + HEADER_SIZE > bufStart + buf.length) {
        buf = await this.readAt(pos, Math.min(to - pos, HEADER_SCAN_CHUNK));
        bufStart = pos;
      }
      const at = pos - bufStart;
      const problem = buf.length - at < HEADER_SIZE && to - pos >= HEADER_SIZE ? 'short read' : headerProblem(buf, at, to - pos);
      if (problem !== null) return { validBytes: pos - from, batches, problem: `at position ${pos}: ${problem}` };
      const header = readHeader(buf, at, pos);
      if (visit(header)) return { validBytes: pos - from, batches, problem: null, stoppedAt: header };
      batches++;
      pos += header.size;
    }
    return { validBytes: pos - from, batches, problem: null };
  }

  /**
   * Recovery: validates every batch from the start (sizes, magic, CRC-32C,
   * increasing offsets), rebuilds both indexes, and cuts the file after the
   * last intact batch.
   */
  async recover(): Promise<ScanResult & { truncatedBytes: number }> {
    const fileSize = (await this.fh.stat()).size;
    this.resetTracking();
    this.indexRebuilds++;
    const interval = this.config.indexIntervalBytes;
    let buf: Buffer = Buffer.alloc(0);
    let bufStart = 0;
    let pos = 0;
    let batches = 0;
    let problem: string | null = null;
    while (pos < fileSize) {
      const left = fileSize - pos;
      const want = Math.min(HEADER_SIZE, left);
      if (pos < bufStart || pos + want > bufStart + buf.length) {
        buf = await this.readAt(pos, Math.min(left, RECOVERY_CHUNK));
        bufStart = pos;
      }
      let at = pos - bufStart;
      if (buf.length - at < want) {
        problem = 'short read';
        break;
      }
      problem = headerProblem(buf, at, left);
      if (problem !== null) break;
      const size = buf.readInt32BE(at + 8) + 12;
      if (at + size > buf.length) {
        buf = await this.readAt(pos, Math.max(size, Math.min(left, RECOVERY_CHUNK)));
        bufStart = pos;
        at = 0;
        if (buf.length < size) {
          problem = 'short read';
          break;
        }
      }
      if (!crcMatches(buf, at, size)) {
        problem = 'CRC-32C mismatch';
        break;
      }
      const header = readHeader(buf, at, pos);
      if (header.baseOffset < this.nextOffset) {
        problem = `base offset ${header.baseOffset} is below the expected ${this.nextOffset}`;
        break;
      }
      if (!this.fitsOffset(header.lastOffset)) {
        problem = `offset ${header.lastOffset} does not fit a segment based at ${this.baseOffset}`;
        break;
      }
      this.trackBatch(pos, header.lastOffset, header.maxTimestamp, size, interval);
      batches++;
      pos += size;
    }
    if (problem !== null) problem = `at position ${pos}: ${problem}`;
    const truncatedBytes = fileSize - pos;
    if (truncatedBytes > 0) {
      await this.fh.truncate(pos);
      this.lastModifiedMs = Date.now();
    }
    this.size = pos;
    await this.persistIndexes(false);
    return { validBytes: pos, batches, problem, truncatedBytes };
  }

  /**
   * Recomputes the tail state (next offset, max timestamp, bytes since the
   * last index entry) from the last index entry: only the few batches past
   * it are read. With `strict`, returns a problem when the batches past the
   * entry do not agree with it or do not end exactly at the file size.
   */
  async recomputeTail(strict: boolean): Promise<string | null> {
    if (!(await this.ensureIndexesLoaded())) return 'the index rebuild found a damaged batch';
    const hasEntry = this.offsetIndex.entries > 0;
    const last = this.offsetIndex.lastEntry();
    const lastTime = this.timeIndex.lastEntry();
    this.maxTimestamp = lastTime?.timestamp ?? -1;
    this.offsetOfMaxTimestamp = lastTime?.offset ?? -1;
    this.nextOffset = this.baseOffset;
    this.bytesSinceLastIndexEntry = 0;
    let first = true;
    const result = await this.scanHeaders(last.position, this.size, (h) => {
      if (first && hasEntry && h.lastOffset !== last.offset) return true;
      if (h.baseOffset < this.nextOffset) return true;
      first = false;
      if (h.maxTimestamp > this.maxTimestamp) {
        this.maxTimestamp = h.maxTimestamp;
        this.offsetOfMaxTimestamp = h.lastOffset;
      }
      this.bytesSinceLastIndexEntry += h.size;
      this.nextOffset = h.lastOffset + 1;
      return false;
    });
    if (this.size > 0) {
      const head = await this.readAt(0, HEADER_SIZE);
      this.firstBatchTimestamp = head.length === HEADER_SIZE ? readHeader(head, 0, 0).maxTimestamp : -1;
    } else {
      this.firstBatchTimestamp = -1;
    }
    if (!strict) return null;
    if (result.problem !== null) return result.problem;
    if (result.stoppedAt) return `at position ${result.stoppedAt.position}: offsets disagree with the index`;
    if (last.position + result.validBytes !== this.size) return 'the last batch does not end at the end of the file';
    return null;
  }

  /**
   * For a clean inactive segment: reads the time index's last entry (its max
   * timestamp, thanks to the entry added when it became inactive) without
   * loading the indexes. Falls back to loading (and if needed rebuilding) them.
   */
  async loadMaxTimestamp(): Promise<void> {
    const [tix, oix] = await Promise.all([
      stat(this.timeIndex.path).catch(() => null),
      stat(this.offsetIndex.path).catch(() => null),
    ]);
    if (tix === null || oix === null || tix.size % TimeIndex.ENTRY_SIZE !== 0 || oix.size % OffsetIndex.ENTRY_SIZE !== 0) {
      await this.ensureIndexesLoaded();
      const last = this.timeIndex.lastEntry();
      this.maxTimestamp = last?.timestamp ?? -1;
      this.offsetOfMaxTimestamp = last?.offset ?? -1;
      return;
    }
    this.timeIndex.setUnloaded(tix.size / TimeIndex.ENTRY_SIZE);
    this.offsetIndex.setUnloaded(oix.size / OffsetIndex.ENTRY_SIZE);
    if (tix.size === 0) return;
    const fh = await open(this.timeIndex.path, 'r');
    try {
      const last = await readAt(fh, tix.size - TimeIndex.ENTRY_SIZE, TimeIndex.ENTRY_SIZE);
      if (last.length === TimeIndex.ENTRY_SIZE) {
        this.maxTimestamp = readInt64(last, 0);
        this.offsetOfMaxTimestamp = this.baseOffset + last.readInt32BE(8);
      }
    } finally {
      await fh.close();
    }
  }

  /**
   * Finds the first batch whose last offset is >= `offset`, starting from
   * the index; null when the segment holds none.
   */
  async translateOffset(offset: number): Promise<BatchHeader | null> {
    const from = await this.lookupPosition(offset);
    const result = await this.scanHeaders(from, this.size, (h) => h.lastOffset >= offset);
    return result.stoppedAt ?? null;
  }

  /** Cuts the segment so that it ends before the batch holding `offset`. Returns bytes removed. */
  async truncateTo(offset: number): Promise<number> {
    await this.ensureIndexesLoaded();
    const header = await this.translateOffset(offset);
    if (header === null) {
      // Nothing at or after `offset` here: keep the bytes, but know where they end.
      await this.recomputeTail(false);
      return 0;
    }
    const removed = this.size - header.position;
    this.readHint = null;
    await this.fh.truncate(header.position);
    this.size = header.position;
    this.lastModifiedMs = Date.now();
    this.offsetIndex.truncateToPosition(header.position);
    this.timeIndex.truncateToOffset(header.baseOffset);
    await this.recomputeTail(false);
    await this.persistIndexes(false);
    return removed;
  }

  // ---- lifetime --------------------------------------------------------

  /** Pins the file open while a reader uses it. */
  retain(): void {
    this.refs++;
  }

  release(): void {
    this.refs--;
    if (this.refs === 0 && this.closing) this.closing();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Closes the file once no reader holds it. */
  close(): Promise<void> {
    this.closePromise ??= (async () => {
      if (this.refs > 0) await new Promise<void>((resolve) => (this.closing = resolve));
      this.closed = true;
      this.cache.forget(this.offsetIndex);
      this.cache.forget(this.timeIndex);
      await this.fh.close();
    })();
    return this.closePromise;
  }

  /** Renames the files to `*.deleted` (readers holding the segment keep working). */
  async renameForDeletion(): Promise<void> {
    for (const suffix of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
      const path = join(this.dir, segmentFileName(this.baseOffset, suffix));
      try {
        await rename(path, path + DELETED_SUFFIX);
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
    }
    this.offsetIndex.path += DELETED_SUFFIX;
    this.timeIndex.path += DELETED_SUFFIX;
  }

  /** Closes (after readers finish) and removes the `*.deleted` files. */
  async deleteRenamedFiles(): Promise<void> {
    await this.close();
    for (const suffix of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
      await rm(join(this.dir, segmentFileName(this.baseOffset, suffix) + DELETED_SUFFIX), { force: true });
    }
  }
}
