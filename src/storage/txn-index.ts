/**
 * The aborted-transactions index of one partition: for every transaction
 * that ended with an ABORT marker, the producer id, the offset of its first
 * record in this partition, the offset of the marker and the last stable
 * offset once it completed. read_committed fetches return the entries that
 * overlap the fetched range, so consumers can drop the aborted records.
 *
 * On disk, as Kafka lays it out: a `<base offset>.txnindex` file next to the
 * segment that holds the marker, entries of 34 bytes back to back:
 *
 *   version int16 (0)   producerId int64   firstOffset int64
 *   lastOffset int64    lastStableOffset int64
 *
 * Entries are appended as markers are written and kept in memory (they are
 * few: one per aborted transaction per partition). Retention drops the files
 * wholly below the log start offset; truncation rewrites the files it cuts.
 * After a crash the producer state replays the log tail and re-adds the
 * entries of the markers it sees (truncateFrom first removes them).
 */
import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readInt64, writeInt64 } from './batch-header.js';

export const TXN_INDEX_SUFFIX = '.txnindex';
export const TXN_ENTRY_SIZE = 34;
const ENTRY_VERSION = 0;

export interface AbortedTxn {
  producerId: number;
  firstOffset: number;
  /** Offset of the ABORT marker. */
  lastOffset: number;
  lastStableOffset: number;
}

interface StoredTxn extends AbortedTxn {
  /** Base offset of the file (segment) holding the entry. */
  file: number;
}

export function txnIndexFileName(base: number): string {
  return String(base).padStart(20, '0') + TXN_INDEX_SUFFIX;
}

export function encodeAbortedTxn(t: AbortedTxn, into = Buffer.alloc(TXN_ENTRY_SIZE), at = 0): Buffer {
  into.writeInt16BE(ENTRY_VERSION, at);
  writeInt64(into, at + 2, t.producerId);
  writeInt64(into, at + 10, t.firstOffset);
  writeInt64(into, at + 18, t.lastOffset);
  writeInt64(into, at + 26, t.lastStableOffset);
  return into;
}

export function decodeAbortedTxns(buf: Buffer): AbortedTxn[] {
  const out: AbortedTxn[] = [];
  for (let at = 0; at + TXN_ENTRY_SIZE <= buf.length; at += TXN_ENTRY_SIZE) {
    if (buf.readInt16BE(at) !== ENTRY_VERSION) break;
    out.push({
      producerId: readInt64(buf, at + 2),
      firstOffset: readInt64(buf, at + 10),
      lastOffset: readInt64(buf, at + 18),
      lastStableOffset: readInt64(buf, at + 26),
    });
  }
  return out;
}

export class TxnIndex {
  /** Ordered by lastOffset (markers are appended in offset order). */
  private entries: StoredTxn[] = [];
  private chain: Promise<void> = Promise.resolve();

  private constructor(readonly dir: string) {}

  /** Loads every `.txnindex` file of the directory, dropping entries below `logStartOffset`. */
  static async load(dir: string, logStartOffset: number): Promise<TxnIndex> {
    const index = new TxnIndex(dir);
    let names: string[] = [];
    try {
      names = await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const name of names) {
      const base = parseTxnIndexName(name);
      if (base === null) continue;
      const entries = decodeAbortedTxns(await readFile(join(dir, name)));
      for (const e of entries) if (e.lastOffset >= logStartOffset) index.entries.push({ ...e, file: base });
    }
    index.entries.sort((a, b) => a.lastOffset - b.lastOffset);
    return index;
  }

  get size(): number {
    return this.entries.length;
  }

  all(): AbortedTxn[] {
    return this.entries.map(({ file: _file, ...e }) => e);
  }

  /** Records an aborted transaction in the file of the segment based at `segmentBase`. */
  append(txn: AbortedTxn, segmentBase: number): Promise<void> {
    this.entries.push({ ...txn, file: segmentBase });
    const bytes = encodeAbortedTxn(txn);
    return this.enqueue(async () => {
      const fh = await open(join(this.dir, txnIndexFileName(segmentBase)), 'a');
      try {
        await fh.write(bytes, 0, bytes.length);
      } finally {
        await fh.close();
      }
    });
  }

  /**
   * The aborted transactions a read of [fetchOffset, upperBound) must report:
   * those that end at or after fetchOffset and start before upperBound.
   */
  collect(fetchOffset: number, upperBound: number): AbortedTxn[] {
    const out: AbortedTxn[] = [];
    const entries = this.entries;
    let lo = 0;
    let hi = entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (entries[mid]!.lastOffset < fetchOffset) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.firstOffset < upperBound) {
        out.push({ producerId: e.producerId, firstOffset: e.firstOffset, lastOffset: e.lastOffset, lastStableOffset: e.lastStableOffset });
      }
    }
    return out;
  }

  /** Removes the entries whose marker is at or after `offset` (log truncation, or before a replay re-adds them). */
  truncateFrom(offset: number): Promise<void> {
    const touched = new Set<number>();
    const kept: StoredTxn[] = [];
    for (const e of this.entries) {
      if (e.lastOffset >= offset) touched.add(e.file);
      else kept.push(e);
    }
    if (touched.size === 0) return this.chain;
    this.entries = kept;
    return this.enqueue(() => this.rewrite(touched));
  }

  /** Forgets entries wholly below the new log start offset and deletes files left without entries. */
  dropBefore(logStartOffset: number): Promise<void> {
    const touched = new Set<number>();
    const kept: StoredTxn[] = [];
    for (const e of this.entries) {
      if (e.lastOffset < logStartOffset) touched.add(e.file);
      else kept.push(e);
    }
    if (touched.size === 0) return this.chain;
    this.entries = kept;
    const stillUsed = new Set(kept.map((e) => e.file));
    const doomed = [...touched].filter((f) => !stillUsed.has(f));
    return this.enqueue(async () => {
      for (const f of doomed) await rm(join(this.dir, txnIndexFileName(f)), { force: true });
    });
  }

  /** Resolves when every write issued so far is done. */
  flushed(): Promise<void> {
    return this.chain;
  }

  private async rewrite(files: Set<number>): Promise<void> {
    for (const f of files) {
      const path = join(this.dir, txnIndexFileName(f));
      const mine = this.entries.filter((e) => e.file === f);
      if (mine.length === 0) {
        await rm(path, { force: true });
        continue;
      }
      const buf = Buffer.alloc(mine.length * TXN_ENTRY_SIZE);
      mine.forEach((e, i) => encodeAbortedTxn(e, buf, i * TXN_ENTRY_SIZE));
      const temp = `${path}.tmp`;
      const fh = await open(temp, 'w');
      try {
        await fh.write(buf, 0, buf.length);
      } finally {
        await fh.close();
      }
      await rename(temp, path);
    }
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.chain.then(task);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

function parseTxnIndexName(name: string): number | null {
  if (!name.endsWith(TXN_INDEX_SUFFIX)) return null;
  const stem = name.slice(0, -TXN_INDEX_SUFFIX.length);
  if (!/^\d{20}$/.test(stem)) return null;
  return Number(stem);
}
