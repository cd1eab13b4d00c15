/**
 * The leader epoch cache of one partition (Kafka's LeaderEpochFileCache):
 * for each leader epoch that wrote to the log, the offset of its first
 * record. A follower that comes back after a leader change asks the new
 * leader where its own latest epoch ended (OffsetForLeaderEpoch) and cuts
 * whatever it wrote past that point: records a deposed leader never
 * replicated.
 *
 * Entries grow with appends (an epoch enters with the base offset of its
 * first batch), shrink with the log (truncation from the end, log start
 * moving up) and are kept in `leader-epoch-checkpoint` beside the segments,
 * in Kafka's checkpoint text format (checkpoint.ts frames it):
 *
 *     0            <- version
 *     2            <- number of entries
 *     0 0          <- epoch startOffset
 *     3 1200
 *
 * The file is replaced atomically (temp file, fsync, rename) by `flush`,
 * which the log calls, inside its queue, before anything that depends on
 * the change is written: an epoch's entry is durable before its first batch.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Logger, silentLogger } from '../logging.js';
import { formatCheckpointText, parseCheckpointText } from './checkpoint.js';
import { CorruptCheckpointError } from './errors.js';
import { isErrno, writeFileAtomic } from './file-io.js';

export const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint';
/** Kafka's "no epoch" and "no offset" answers. */
export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;


export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

/** What `endOffsetFor` answers: an epoch and the offset where it ended, or both UNDEFINED. */
export interface EpochEndOffset {
  epoch: number;
  endOffset: number;
}

export function formatLeaderEpochCheckpoint(entries: readonly EpochEntry[]): string {
  return formatCheckpointText(entries.map((e) => `${e.epoch} ${e.startOffset}`));
}

/** Parses the checkpoint text; throws CorruptCheckpointError on anything malformed or out of order. */
export function parseLeaderEpochCheckpoint(text: string, path = LEADER_EPOCH_CHECKPOINT): EpochEntry[] {
  const bad = (detail: string) => new CorruptCheckpointError(path, detail);
  const entries: EpochEntry[] = [];
  for (const [i, parts] of parseCheckpointText(text, path).entries()) {
    const line = i + 3;
    if (parts.length !== 2 || !parts.every((p) => /^\d+$/.test(p))) throw bad(`line ${line} is not "epoch startOffset"`);
    const epoch = Number(parts[0]);
    const startOffset = Number(parts[1]);
    if (!Number.isSafeInteger(epoch) || !Number.isSafeInteger(startOffset)) throw bad(`line ${line} is out of range`);
    const prev = entries.at(-1);
    if (prev !== undefined && (epoch <= prev.epoch || startOffset < prev.startOffset)) {
      throw bad(`line ${line}: epochs and offsets must increase`);
    }
    entries.push({ epoch, startOffset });
  }
  return entries;
}

export class LeaderEpochCache {
  /** Ascending by epoch and by start offset. */
  private entries: EpochEntry[];
  private writeChain: Promise<void> = Promise.resolve();

  private constructor(
    readonly path: string,
    entries: EpochEntry[],
  ) {
    this.entries = entries;
  }

  /** Reads `leader-epoch-checkpoint` in `dir`; a missing file is an empty cache, an unreadable one is logged and dropped. */
  static async load(dir: string, logger: Logger = silentLogger): Promise<LeaderEpochCache> {
    const path = join(dir, LEADER_EPOCH_CHECKPOINT);
    let entries: EpochEntry[] = [];
    try {
      entries = parseLeaderEpochCheckpoint(await readFile(path, 'utf8'), path);
    } catch (err) {
      // Without the cache a follower truncates to its high watermark instead: safe, only slower.
      if (!isErrno(err, 'ENOENT')) logger.warn('ignoring an unreadable leader epoch checkpoint', { path, err: String(err) });
    }
    return new LeaderEpochCache(path, entries);
  }

  /** A copy of the entries, oldest first. */
  all(): EpochEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  get isEmpty(): boolean {
    return this.entries.length === 0;
  }

  /** The newest epoch, or UNDEFINED_EPOCH. */
  get latestEpoch(): number {
    return this.entries.at(-1)?.epoch ?? UNDEFINED_EPOCH;
  }

  /** The newest entry's start offset, or UNDEFINED_EPOCH_OFFSET. */
  get latestStartOffset(): number {
    return this.entries.at(-1)?.startOffset ?? UNDEFINED_EPOCH_OFFSET;
  }

  /**
   * Records that `epoch` starts at `startOffset` (Kafka's assign). Nothing
   * changes when it is already the latest entry at that offset or after;
   * entries that would break the ordering (an epoch at or after this one, or
   * starting at or after this offset: a truncated past) go first. Returns
   * whether the cache changed (the caller then flushes it).
   */
  assign(epoch: number, startOffset: number): boolean {
    if (epoch < 0 || startOffset < 0) return false;
    const latest = this.entries.at(-1);
    if (latest !== undefined && latest.epoch === epoch && latest.startOffset <= startOffset) return false;
    while (this.entries.length > 0) {
      const last = this.entries.at(-1)!;
      if (last.epoch < epoch && last.startOffset < startOffset) break;
      this.entries.pop();
    }
    this.entries.push({ epoch, startOffset });
    return true;
  }

  /** Drops the entries starting at or after `endOffset` (the log was truncated to end there). */
  truncateFromEnd(endOffset: number): boolean {
    if (endOffset < 0) return false;
    let keep = this.entries.length;
    while (keep > 0 && this.entries[keep - 1]!.startOffset >= endOffset) keep--;
    if (keep === this.entries.length) return false;
    this.entries = this.entries.slice(0, keep);
    return true;
  }

  /**
   * The log now starts at `startOffset`: entries wholly below it go, and the
   * epoch covering it is moved to start there (Kafka's truncateFromStart).
   */
  truncateFromStart(startOffset: number): boolean {
    const first = this.entries[0];
    if (startOffset < 0 || first === undefined || first.startOffset >= startOffset) return false;
    let covering = 0;
    while (covering + 1 < this.entries.length && this.entries[covering + 1]!.startOffset <= startOffset) covering++;
    const kept = this.entries.slice(covering);
    kept[0] = { epoch: kept[0]!.epoch, startOffset };
    this.entries = kept;
    return true;
  }

  /** Forgets every entry (the log restarted empty). */
  clear(): boolean {
    if (this.entries.length === 0) return false;
    this.entries = [];
    return true;
  }

  /**
   * Kafka's endOffsetFor: the largest epoch <= `requestedEpoch` and the
   * offset where it ended (the start of the next epoch, or `logEndOffset`
   * for the latest). A requested epoch older than every entry answers with
   * itself and the first entry's start offset (the data before is gone, so
   * a follower can replicate from there); an unknown or newer-than-latest
   * epoch answers UNDEFINED.
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): EpochEndOffset {
    const entries = this.entries;
    const latest = entries.at(-1);
    if (requestedEpoch === UNDEFINED_EPOCH || latest === undefined) return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (requestedEpoch === latest.epoch) return { epoch: requestedEpoch, endOffset: logEndOffset };
    // The first entry with an epoch above the requested one.
    let higher = 0;
    while (higher < entries.length && entries[higher]!.epoch <= requestedEpoch) higher++;
    if (higher === entries.length) return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    const next = entries[higher]!;
    if (higher === 0) return { epoch: requestedEpoch, endOffset: next.startOffset };
    return { epoch: entries[higher - 1]!.epoch, endOffset: next.startOffset };
  }

  /** Writes the current entries to the checkpoint file (atomically; writes are applied in call order). */
  flush(): Promise<void> {
    const text = formatLeaderEpochCheckpoint(this.entries);
    const run = this.writeChain.then(() => writeFileAtomic(this.path, text));
    this.writeChain = run.catch(() => undefined);
    return run;
  }
}
