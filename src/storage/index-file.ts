/**
 * The two sparse per-segment indexes, Kafka's file formats:
 *
 *   .index      8-byte entries: relative offset (int32) -> file position (int32).
 *               The offset is the LAST offset of the batch starting at that
 *               position (as Kafka writes it), so every batch before the
 *               position ends below the entry's offset.
 *   .timeindex  12-byte entries: timestamp (int64) -> relative offset (int32),
 *               added when the segment's max timestamp grows at an index
 *               point; the offset is the last offset of the batch that first
 *               reached that timestamp.
 *
 * An index lives in memory as a Buffer of its entries (what Kafka mmaps).
 * The active segment's index is always loaded and grows as batches arrive;
 * new entries reach the file only on flush, roll and close (an index is
 * derived data: recovery rebuilds it). Inactive segments' indexes load on
 * first use and are evicted by an LRU byte budget (IndexCache), so memory is
 * bounded however many segments a broker holds.
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { isErrno, writeAt } from './file-io.js';
import { readInt64, writeInt64 } from './batch-header.js';

const INITIAL_CAPACITY = 64;

/** LRU of loaded inactive indexes, by bytes; shared by every log of a LogManager. */
export class IndexCache {
  private readonly entries = new Map<IndexFile, number>();
  private bytes = 0;

  constructor(readonly budgetBytes: number) {}

  get loadedBytes(): number {
    return this.bytes;
  }

  /** Marks `index` as recently used (adding it), then evicts the least recently used over budget. */
  touch(index: IndexFile): void {
    const previous = this.entries.get(index);
    if (previous !== undefined) {
      this.entries.delete(index);
      this.bytes -= previous;
    }
    const size = index.memoryBytes;
    this.entries.set(index, size);
    this.bytes += size;
    if (this.bytes <= this.budgetBytes) return;
    for (const [candidate, candidateSize] of this.entries) {
      if (this.bytes <= this.budgetBytes) break;
      if (candidate === index || !candidate.evictable) continue;
      candidate.unload();
      this.entries.delete(candidate);
      this.bytes -= candidateSize;
    }
  }

  forget(index: IndexFile): void {
    const size = this.entries.get(index);
    if (size === undefined) return;
    this.entries.delete(index);
    this.bytes -= size;
  }
}

export const defaultIndexCache = new IndexCache(64 * 1024 * 1024);

export abstract class IndexFile {
  protected buf: Buffer | null = null;
  protected count = 0;
  /** Entries already in the file (a prefix of `count`). */
  private persisted = 0;
  /** The file holds more entries than `count` (after a truncation) and must be cut. */
  private fileTooLong = false;
  /** Maximum entries before the segment must roll. */
  maxEntries: number;

  constructor(
    public path: string,
    readonly baseOffset: number,
    readonly entrySize: number,
    maxIndexBytes: number,
  ) {
    this.maxEntries = Math.floor(maxIndexBytes / entrySize);
  }

  get entries(): number {
    return this.count;
  }

  get loaded(): boolean {
    return this.buf !== null;
  }

  get isFull(): boolean {
    return this.count >= this.maxEntries;
  }

  get memoryBytes(): number {
    return this.buf?.length ?? 0;
  }

  /** Clean (all entries in the file) and loaded: may be dropped from memory. */
  get evictable(): boolean {
    return this.buf !== null && this.persisted === this.count && !this.fileTooLong;
  }

  setMaxIndexBytes(bytes: number): void {
    this.maxEntries = Math.floor(bytes / this.entrySize);
  }

  /** Starts an empty, loaded index (new segment or rebuild); the file is rewritten on persist. */
  reset(): void {
    this.buf = Buffer.allocUnsafe(INITIAL_CAPACITY * this.entrySize);
    this.count = 0;
    this.persisted = 0;
    this.fileTooLong = true;
  }

  /** Forgets the in-memory entries of a clean index; `entries` stays known. */
  unload(): void {
    if (!this.evictable) return;
    this.buf = null;
  }

  /** Marks the index as present on disk with `entries` entries but not loaded. */
  setUnloaded(entries: number): void {
    this.buf = null;
    this.count = entries;
    this.persisted = entries;
    this.fileTooLong = false;
  }

  /**
   * Reads the file into memory and checks it with `validate` (which returns a
   * problem or null). Returns the problem (the index is left unloaded) or
   * null once loaded. A missing file is a problem.
   */
  async load(validate: (index: this) => string | null): Promise<string | null> {
    let data: Buffer;
    try {
      data = await readFile(this.path);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return 'index file is missing';
      throw err;
    }
    if (data.length % this.entrySize !== 0) return `index size ${data.length} is not a multiple of ${this.entrySize}`;
    const previous = { buf: this.buf, count: this.count, persisted: this.persisted, fileTooLong: this.fileTooLong };
    this.buf = data;
    this.count = data.length / this.entrySize;
    this.persisted = this.count;
    this.fileTooLong = false;
    const problem = validate(this);
    if (problem !== null) {
      this.buf = previous.buf;
      this.count = previous.count;
      this.persisted = previous.persisted;
      this.fileTooLong = previous.fileTooLong;
    }
    return problem;
  }

  protected slot(): number {
    const buf = this.buf;
    if (buf === null) throw new Error(`index ${this.path} is not loaded`);
    const at = this.count * this.entrySize;
    if (at + this.entrySize > buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(buf.length * 2, (INITIAL_CAPACITY + this.count) * this.entrySize));
      buf.copy(grown, 0, 0, at);
      this.buf = grown;
    }
    this.count++;
    return at;
  }

  /** Keeps the first `n` entries. */
  protected truncateEntries(n: number): void {
    if (n >= this.count) return;
    this.count = n;
    if (this.persisted > n) {
      this.persisted = n;
      this.fileTooLong = true;
    }
  }

  /** Binary search: the last entry index whose key (per `keyAt`) is <= target, or -1. */
  protected floorSlot(target: number, keyAt: (i: number) => number): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (keyAt(mid) <= target) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  protected get data(): Buffer {
    const buf = this.buf;
    if (buf === null) throw new Error(`index ${this.path} is not loaded`);
    return buf;
  }

  /** fsyncs the file as it is (no writes: those happen in the log's queue). */
  async syncFile(): Promise<void> {
    let fh: FileHandle;
    try {
      fh = await open(this.path, 'r');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return;
      throw err;
    }
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /** Writes entries not yet in the file (and cuts it after a truncation); fsyncs when asked. */
  async persist(sync: boolean): Promise<void> {
    if (this.persisted === this.count && !this.fileTooLong && !sync) return;
    const buf = this.buf;
    let fh: FileHandle;
    try {
      fh = await open(this.path, 'r+');
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      fh = await open(this.path, 'w+');
      this.persisted = 0;
    }
    try {
      const count = this.count;
      if (buf !== null && this.persisted < count) {
        await writeAt(fh, buf, this.persisted * this.entrySize, count * this.entrySize, this.persisted * this.entrySize);
      }
      if (this.fileTooLong) await fh.truncate(count * this.entrySize);
      this.persisted = count;
      this.fileTooLong = false;
      if (sync) await fh.sync();
    } finally {
      await fh.close();
    }
  }
}

export interface OffsetPosition {
  offset: number;
  position: number;
}

export class OffsetIndex extends IndexFile {
  static readonly ENTRY_SIZE = 8;

  constructor(path: string, baseOffset: number, maxIndexBytes: number) {
    super(path, baseOffset, OffsetIndex.ENTRY_SIZE, maxIndexBytes);
  }

  offsetAt(i: number): number {
    return this.baseOffset + this.data.readInt32BE(i * 8);
  }

  positionAt(i: number): number {
    return this.data.readInt32BE(i * 8 + 4);
  }

  append(offset: number, position: number): void {
    const at = this.slot();
    const buf = this.data;
    buf.writeInt32BE(offset - this.baseOffset, at);
    buf.writeInt32BE(position, at + 4);
  }

  /** The entry with the largest offset <= target; (baseOffset, 0) when there is none. */
  lookup(target: number): OffsetPosition {
    const buf = this.data;
    const relative = target - this.baseOffset;
    const i = this.floorSlot(relative, (k) => buf.readInt32BE(k * 8));
    return i < 0 ? { offset: this.baseOffset, position: 0 } : { offset: this.offsetAt(i), position: this.positionAt(i) };
  }

  lastEntry(): OffsetPosition {
    return this.count === 0
      ? { offset: this.baseOffset, position: 0 }
      : { offset: this.offsetAt(this.count - 1), position: this.positionAt(this.count - 1) };
  }

  /** Drops entries pointing at or past `position` (the log was cut there). */
  truncateToPosition(position: number): void {
    let n = this.count;
    while (n > 0 && this.positionAt(n - 1) >= position) n--;
    this.truncateEntries(n);
  }

  /** Why this index cannot belong to a log of `logSize` bytes, or null. */
  problem(logSize: number): string | null {
    const buf = this.data;
    let lastRel = -1;
    let lastPos = -1;
    for (let i = 0; i < this.count; i++) {
      const rel = buf.readInt32BE(i * 8);
      const pos = buf.readInt32BE(i * 8 + 4);
      if (rel <= lastRel) return `entry ${i}: offset ${this.baseOffset + rel} does not increase`;
      if (pos <= lastPos) return `entry ${i}: position ${pos} does not increase`;
      if (pos >= logSize) return `entry ${i}: position ${pos} is past the log size ${logSize}`;
      lastRel = rel;
      lastPos = pos;
    }
    return null;
  }
}

export interface TimestampOffset {
  timestamp: number;
  offset: number;
}

export class TimeIndex extends IndexFile {
  static readonly ENTRY_SIZE = 12;

  constructor(path: string, baseOffset: number, maxIndexBytes: number) {
    super(path, baseOffset, TimeIndex.ENTRY_SIZE, maxIndexBytes);
  }

  timestampAt(i: number): number {
    return readInt64(this.data, i * 12);
  }

  offsetAt(i: number): number {
    return this.baseOffset + this.data.readInt32BE(i * 12 + 8);
  }

  lastEntry(): TimestampOffset | null {
    return this.count === 0 ? null : { timestamp: this.timestampAt(this.count - 1), offset: this.offsetAt(this.count - 1) };
  }

  /** Appends when `timestamp` is above the last entry's (Kafka's maybeAppend). */
  maybeAppend(timestamp: number, offset: number): void {
    if (timestamp < 0) return;
    if (this.count > 0 && timestamp <= this.timestampAt(this.count - 1)) return;
    const at = this.slot();
    const buf = this.data;
    writeInt64(buf, at, timestamp);
    buf.writeInt32BE(offset - this.baseOffset, at + 8);
  }

  /** The entry with the largest timestamp <= target; (-1, baseOffset) when there is none. */
  lookup(target: number): TimestampOffset {
    const i = this.floorSlot(target, (k) => this.timestampAt(k));
    return i < 0 ? { timestamp: -1, offset: this.baseOffset } : { timestamp: this.timestampAt(i), offset: this.offsetAt(i) };
  }

  /** Drops entries whose offset is at or past `offset`. */
  truncateToOffset(offset: number): void {
    let n = this.count;
    while (n > 0 && this.offsetAt(n - 1) >= offset) n--;
    this.truncateEntries(n);
  }

  problem(): string | null {
    let lastTs = -1;
    let lastRel = -1;
    for (let i = 0; i < this.count; i++) {
      const ts = this.timestampAt(i);
      const rel = this.data.readInt32BE(i * 12 + 8);
      if (ts <= lastTs) return `entry ${i}: timestamp ${ts} does not increase`;
      if (rel < lastRel || rel < 0) return `entry ${i}: offset ${this.baseOffset + rel} goes backwards`;
      lastTs = ts;
      lastRel = rel;
    }
    return null;
  }
}
