/**
 * PartitionLog: one partition's log on disk, Kafka's design. A directory of
 * segments named by base offset; the last one is active and takes appends.
 *
 * Concurrency: every mutation (append, roll, truncate, retention, delete
 * records, close) runs through one per-partition queue, in call order, so
 * concurrent producers never interleave or reorder. Reads do not queue:
 * they use a snapshot of the segment list and each segment's committed size
 * (bytes become visible only after their write completed), and pin the
 * segment they read so a concurrent deletion closes its file only after.
 * fsync runs outside the queue, serialized on its own chain.
 *
 * Hot path: append reads a few header fields per batch (lengths, last offset
 * delta, max timestamp), rewrites the 8-byte base offset in place, and issues
 * one positional write per segment touched. No per-record work, no copy.
 *
 * Offsets and timestamps are JS numbers (safe integers).
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { LAST_OFFSET_DELTA, MAX_TIMESTAMP, PARTITION_LEADER_EPOCH, RECORDS_COUNT } from '../protocol/records/layout.js';
import { type Logger, silentLogger } from '../logging.js';
import {
  type BatchHeader,
  type Decompressor,
  HEADER_SIZE,
  MIN_BATCH_LENGTH,
  LOG_OVERHEAD,
  batchSize,
  headerProblem,
  readInt64,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  visitRecordTimestamps,
} from './batch-header.js';
import {
  CorruptRecordError,
  LogClosedError,
  OffsetOutOfRangeError,
  RecordBatchTooLargeError,
  UnexpectedAppendOffsetError,
} from './errors.js';
import { type IndexCache, defaultIndexCache } from './index-file.js';
import { type EpochEndOffset, type EpochEntry, LeaderEpochCache } from './leader-epoch-cache.js';
import { type LogConfig, isNever, validateLogConfig } from './log-config.js';
import {
  DELETED_SUFFIX,
  INDEX_SUFFIX,
  LOG_SUFFIX,
  LogSegment,
  TIME_INDEX_SUFFIX,
  parseSegmentFileName,
} from './segment.js';
import { type TopicPartition, checkTopicPartition, tpKey } from './topic-partition.js';
import { commitCleaned, completeInterruptedSwaps, installSwap } from './cleaner/swap.js';
import { readPartitionMetadata, writePartitionMetadata } from './partition-metadata.js';

const EMPTY: Buffer = Buffer.alloc(0);
/** Extra bytes a read fetches past maxBytes to cover the scan from the index entry. */
const MAX_SCAN_SLACK = 64 * 1024;

export interface PartitionLogOptions {
  /** The log directory was shut down cleanly (its marker file was present). Default false: recover. */
  hadCleanShutdown?: boolean;
  /** From the recovery-point checkpoint; segments from here on are scanned after a crash. Default 0. */
  recoveryPoint?: number;
  /** From the log-start-offset checkpoint. */
  logStartOffset?: number;
  /** From the replication-offset checkpoint. */
  highWatermark?: number;
  indexCache?: IndexCache;
  logger?: Logger;
  /** Lets timestamp lookups resolve records inside compressed batches. */
  decompress?: Decompressor;
  /** Clock (tests). */
  now?: () => number;
}

export interface AppendOptions {
  /** Stamped into each batch's partitionLeaderEpoch (not covered by the CRC). */
  leaderEpoch?: number;
}

export interface AppendResult {
  /** Offset assigned to the first record. */
  baseOffset: number;
  lastOffset: number;
  /** The broker time stamped into the batches with LogAppendTime, else -1. */
  logAppendTime: number;
  logStartOffset: number;
  /** Records appended (sum of the batches' record counts). */
  recordCount: number;
}

export interface ReadOptions {
  /** Return the first batch whole even when larger than maxBytes (Kafka's rule). Default true. */
  minOneBatch?: boolean;
  /** Exclusive bound (high watermark, last stable offset): only batches ending below it are returned. */
  maxOffset?: number;
}

export interface ReadResult {
  /** Zero or more whole batches, bytes as stored. */
  records: Buffer;
  highWatermark: number;
  logStartOffset: number;
  logEndOffset: number;
}

export interface TimestampAndOffset {
  timestamp: number;
  offset: number;
}

export interface RetentionResult {
  deletedSegments: number;
  deletedBytes: number;
  logStartOffset: number;
  /** Which limits deleted something. */
  reasons: Array<'retention.ms' | 'retention.bytes' | 'log-start-offset'>;
}

/** What opening the log had to do (tests, logs, metrics). */
export interface LoadStats {
  cleanShutdown: boolean;
  /** Segments validated batch by batch (CRC). 0 after a clean shutdown. */
  segmentsRecovered: number;
  batchesValidated: number;
  bytesTruncated: number;
  /** Segments deleted because they followed a truncation. */
  segmentsDeleted: number;
  /** Segments whose indexes were rebuilt (recovery or a damaged index). */
  indexesRebuilt: number;
}

export interface SegmentInfo {
  baseOffset: number;
  sizeInBytes: number;
  largestTimestamp: number;
}

type State = 'open' | 'closing' | 'closed';

/** A consistent snapshot of what the log cleaner reads (see `cleanerView`). */
export interface CleanerView {
  /** Every segment, oldest first; the last one is the active segment. */
  readonly segments: readonly LogSegment[];
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly highWatermark: number;
  readonly config: LogConfig;
}

/** Test hooks of `replaceSegments`: each runs at its step and may throw to simulate a crash there. */
export interface SwapHooks {
  /** Inside the queue, before anything is renamed (the cleaned files are complete). */
  beforeCommit?: () => void | Promise<void>;
  /** After the cleaned files were renamed to `.swap` (the commit point). */
  afterCommit?: () => void | Promise<void>;
  /** After the replaced segments' files were renamed to `*.deleted`. */
  afterOldRenamed?: () => void | Promise<void>;
}

interface PendingDeletion {
  segment: LogSegment;
  timer: NodeJS.Timeout | null;
  done: Promise<void> | null;
}

export class PartitionLog {
  private segments: LogSegment[] = [];
  private active!: LogSegment;
  private nextOffset = 0;
  private startOffset = 0;
  private recoveryPointOffset = 0;
  private hw = 0;
  private totalSize = 0;
  private state: State = 'open';
  private closing: Promise<void> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private flushChain: Promise<void> = Promise.resolve();
  private pendingDeletions = new Set<PendingDeletion>();
  /** From partition.metadata (KIP-516); null when the log has none (or an unreadable one). */
  private storedTopicId: string | null = null;
  /** Leader epoch -> first offset (leader-epoch-checkpoint); loaded with the segments. */
  private epochs!: LeaderEpochCache;
  private readonly truncationListeners = new Set<(logEndOffset: number) => void>();
  private unflushed = 0;
  private lastFlush: number;
  private readonly cache: IndexCache;
  private readonly logger: Logger;
  private readonly decompress: Decompressor | undefined;
  private readonly now: () => number;
  private cfg: LogConfig;
  readonly loadStats: LoadStats = {
    cleanShutdown: false,
    segmentsRecovered: 0,
    batchesValidated: 0,
    bytesTruncated: 0,
    segmentsDeleted: 0,
    indexesRebuilt: 0,
  };

  private constructor(
    readonly dir: string,
    readonly topicPartition: TopicPartition,
    config: LogConfig,
    opts: PartitionLogOptions,
  ) {
    this.cfg = config;
    this.cache = opts.indexCache ?? defaultIndexCache;
    this.logger = (opts.logger ?? silentLogger).child({ partition: tpKey(topicPartition) });
    this.decompress = opts.decompress;
    this.now = opts.now ?? Date.now;
    this.lastFlush = this.now();
  }

  /**
   * Opens (or creates) the log in `dir`. After an unclean shutdown every
   * segment from the one holding the recovery point on is validated batch
   * by batch; the log is cut at the first torn or corrupt batch and later
   * segments are deleted.
   */
  static async open(dir: string, topicPartition: TopicPartition, config: LogConfig, opts: PartitionLogOptions = {}): Promise<PartitionLog> {
    checkTopicPartition(topicPartition);
    validateLogConfig(config);
    await mkdir(dir, { recursive: true });
    const log = new PartitionLog(dir, topicPartition, config, opts);
    await log.load(opts);
    return log;
  }

  // ---- properties ------------------------------------------------------

  /** The topic id stored beside the log (partition.metadata), or null when none is. */
  get topicId(): string | null {
    return this.storedTopicId;
  }

  /**
   * Stores the id of the topic this log belongs to (partition.metadata), so
   * that after a restart a log of a deleted topic is told from a log of a
   * new topic with the same name. Queued like any other write to the log.
   */
  assignTopicId(topicId: string): Promise<void> {
    return this.enqueue(async () => {
      this.checkOpen();
      if (this.storedTopicId === topicId) return;
      await writePartitionMetadata(this.dir, topicId);
      this.storedTopicId = topicId;
    });
  }

  get config(): LogConfig {
    return this.cfg;
  }

  get logStartOffset(): number {
    return this.startOffset;
  }

  get logEndOffset(): number {
    return this.nextOffset;
  }

  /** Everything below is known to be fsynced. */
  get recoveryPoint(): number {
    return this.recoveryPointOffset;
  }

  get highWatermark(): number {
    return this.hw;
  }

  /** Set by the replica manager; clamped to [logStartOffset, logEndOffset]. */
  set highWatermark(offset: number) {
    this.hw = Math.min(Math.max(offset, this.startOffset), this.nextOffset);
  }

  get sizeInBytes(): number {
    return this.totalSize;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  get activeSegmentBaseOffset(): number {
    return this.active.baseOffset;
  }

  /** Records appended since the last flush. */
  get unflushedMessages(): number {
    return this.unflushed;
  }

  /** Index rebuilds so far, at load and since (a damaged index found by a reader). */
  get indexRebuilds(): number {
    return this.segments.reduce((n, s) => n + s.indexRebuilds, 0);
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** The newest leader epoch in the leader epoch cache, -1 when it is empty. */
  get latestEpoch(): number {
    return this.epochs.latestEpoch;
  }

  /** Kafka's endOffsetForEpoch: the largest epoch <= `epoch` and where it ended (LeaderEpochCache.endOffsetFor). */
  endOffsetForEpoch(epoch: number): EpochEndOffset {
    return this.epochs.endOffsetFor(epoch, this.nextOffset);
  }

  /** The leader epoch cache's entries, oldest first (tests, tools). */
  leaderEpochEntries(): EpochEntry[] {
    return this.epochs.all();
  }

  /**
   * A new leader's epoch starts at the log end (Kafka's
   * maybeAssignEpochStartOffset at election), queued behind earlier appends.
   * Resolves with that start offset.
   */
  assignEpochStartOffset(epoch: number): Promise<number> {
    return this.enqueue(async () => {
      this.checkOpen();
      const start = this.nextOffset;
      if (this.epochs.assign(epoch, start)) await this.epochs.flush();
      return start;
    });
  }

  segmentInfos(): SegmentInfo[] {
    return this.segments.map((s) => ({ baseOffset: s.baseOffset, sizeInBytes: s.size, largestTimestamp: s.largestTimestamp }));
  }

  updateConfig(config: LogConfig): void {
    validateLogConfig(config);
    this.cfg = config;
    for (const s of this.segments) s.updateConfig(config);
  }

  // ---- loading ---------------------------------------------------------

  private async load(opts: PartitionLogOptions): Promise<void> {
    const clean = opts.hadCleanShutdown ?? false;
    this.loadStats.cleanShutdown = clean;
    try {
      this.storedTopicId = await readPartitionMetadata(this.dir);
    } catch (err) {
      // Unknown rather than fatal: the replica manager stores the controller's id over it.
      this.logger.warn('ignoring an unreadable partition.metadata', { err: String(err) });
    }
    const bases = await this.scanDirectory();
    this.epochs = await LeaderEpochCache.load(this.dir, this.logger);
    const now = this.now();
    const segments: LogSegment[] = [];
    try {
      for (const base of bases) segments.push(await LogSegment.open(this.dir, base, this.cfg, this.cache, now));
    } catch (err) {
      await Promise.all(segments.map((s) => s.close()));
      throw err;
    }
    if (segments.length === 0) {
      segments.push(await LogSegment.create(this.dir, Math.max(opts.logStartOffset ?? 0, 0), this.cfg, this.cache, now));
    }
    for (const s of segments) s.onIndexRebuilt = (seg) => this.onIndexRebuilt(seg);
    try {
      await this.loadSegments(segments, clean, opts);
    } catch (err) {
      await Promise.all(segments.map((s) => s.close().catch(() => undefined)));
      throw err;
    }
  }

  private async loadSegments(segments: LogSegment[], clean: boolean, opts: PartitionLogOptions): Promise<void> {
    const recoveryPoint = opts.recoveryPoint ?? 0;
    let firstToRecover = segments.length;
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      const next = segments[i + 1];
      const last = next === undefined;
      if (!clean && (last || next.baseOffset > recoveryPoint)) {
        firstToRecover = i;
        break;
      }
      if (!last) {
        await seg.loadMaxTimestamp();
        continue;
      }
      const problem = await seg.recomputeTail(true);
      if (problem !== null) {
        this.logger.warn('active segment inconsistent after a clean shutdown; recovering it', { baseOffset: seg.baseOffset, problem });
        firstToRecover = i;
      }
    }
    for (let i = firstToRecover; i < segments.length; i++) {
      const seg = segments[i]!;
      const result = await seg.recover();
      this.loadStats.segmentsRecovered++;
      this.loadStats.batchesValidated += result.batches;
      this.loadStats.bytesTruncated += result.truncatedBytes;
      if (result.problem !== null) {
        this.logger.warn('recovery truncated a segment at a damaged batch', {
          baseOffset: seg.baseOffset,
          problem: result.problem,
          truncatedBytes: result.truncatedBytes,
        });
        const doomed = segments.splice(i + 1);
        for (const d of doomed) {
          await d.close();
          await this.removeSegmentFiles(d.baseOffset);
          this.loadStats.segmentsDeleted++;
        }
        break;
      }
    }
    this.loadStats.indexesRebuilt = segments.reduce((n, s) => n + s.indexRebuilds, 0);
    for (let i = 0; i < segments.length - 1; i++) {
      // Recovered inactive segments: final time-index entry, indexes to disk, LRU.
      if (segments[i]!.offsetIndex.loaded) await segments[i]!.onBecomeInactive();
    }
    this.segments = segments;
    this.active = segments[segments.length - 1]!;
    await this.active.becomeActive();
    this.nextOffset = this.active.nextOffset;
    this.totalSize = segments.reduce((n, s) => n + s.size, 0);
    this.startOffset = Math.max(opts.logStartOffset ?? 0, segments[0]!.baseOffset);
    if (this.startOffset > this.nextOffset) {
      // Recovery cut the log below its recorded start: start afresh there, as Kafka does.
      await this.truncateFullyAndStartAtNow(this.startOffset);
    }
    this.recoveryPointOffset = clean ? this.nextOffset : Math.min(Math.max(recoveryPoint, 0), this.nextOffset);
    this.highWatermark = opts.highWatermark ?? 0;
    // Recovery may have cut the log, and the start may have moved, since the checkpoint was written.
    const endCut = this.epochs.truncateFromEnd(this.nextOffset);
    if (this.epochs.truncateFromStart(this.startOffset) || endCut) await this.epochs.flush();
    this.logger.debug('log loaded', {
      segments: this.segments.length,
      logStartOffset: this.startOffset,
      logEndOffset: this.nextOffset,
      ...this.loadStats,
    });
  }

  /** Lists segment base offsets; removes leftovers (*.deleted, *.tmp, orphan indexes). */
  private async scanDirectory(): Promise<number[]> {
    // A log cleaner swap that a crash interrupted after its commit point is completed first.
    for (const swap of await completeInterruptedSwaps(this.dir)) {
      this.logger.warn('completed an interrupted log cleaner swap', { ...swap });
    }
    const names = await readdir(this.dir);
    const bases = new Set<number>();
    for (const name of names) {
      const base = parseSegmentFileName(name, LOG_SUFFIX);
      if (base !== null) bases.add(base);
    }
    for (const name of names) {
      if (name.endsWith(DELETED_SUFFIX) || name.endsWith('.tmp') || name.endsWith('.cleaned') || name.endsWith('.swap')) {
        await rm(join(this.dir, name), { force: true });
        continue;
      }
      const ix = parseSegmentFileName(name, INDEX_SUFFIX) ?? parseSegmentFileName(name, TIME_INDEX_SUFFIX);
      if (ix !== null && !bases.has(ix)) await rm(join(this.dir, name), { force: true });
    }
    return [...bases].sort((a, b) => a - b);
  }

  private async removeSegmentFiles(base: number): Promise<void> {
    const stem = String(base).padStart(20, '0');
    for (const suffix of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
      await rm(join(this.dir, stem + suffix), { force: true });
    }
  }

  private onIndexRebuilt(seg: LogSegment): void {
    this.logger.warn('rebuilt a missing or damaged index', { baseOffset: seg.baseOffset });
    if (this.state === 'closed') return;
    void this.enqueue(async () => {
      if (!seg.isClosed && this.segments.includes(seg)) await seg.persistIndexes(false);
    }).catch((err: unknown) => this.logger.error('could not write a rebuilt index', { err: String(err) }));
  }

  // ---- the queue -------------------------------------------------------

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private checkOpen(): void {
    if (this.state !== 'open') throw new LogClosedError(`log ${tpKey(this.topicPartition)}`);
  }

  // ---- appending -------------------------------------------------------

  /**
   * Appends one or more magic-2 batches (back to back, already validated by
   * the caller) as the leader: assigns offsets by rewriting each base offset
   * in place (the buffer is modified), stamps LogAppendTime when configured,
   * and resolves once the bytes are written to the file (the page cache).
   * The buffer is modified in place: do not reuse it before this settles.
   */
  async append(batches: Buffer, opts: AppendOptions = {}): Promise<AppendResult> {
    const result = await this.enqueue(() => this.appendNow(batches, true, opts));
    if (this.unflushed >= this.cfg.flushIntervalMessages) await this.flush();
    return result;
  }

  /** Appends batches keeping their offsets (replication): they must start at or after the log end. */
  async appendAsFollower(batches: Buffer): Promise<AppendResult> {
    const result = await this.enqueue(() => this.appendNow(batches, false, {}));
    if (this.unflushed >= this.cfg.flushIntervalMessages) await this.flush();
    return result;
  }

  private async appendNow(buf: Buffer, assignOffsets: boolean, opts: AppendOptions): Promise<AppendResult> {
    this.checkOpen();
    const config = this.cfg;
    if (buf.length === 0) throw new CorruptRecordError('nothing to append');
    // Pass 1: check the framing so that nothing is written when any batch is bad;
    // note where a new leader epoch starts (rare: one int compare per batch otherwise).
    let expected = this.nextOffset;
    let newEpochs: EpochEntry[] | null = null;
    let latestEpoch = this.epochs.latestEpoch;
    for (let pos = 0; pos < buf.length; ) {
      const problem = headerProblem(buf, pos, buf.length - pos);
      if (problem !== null) throw new CorruptRecordError(`batch at byte ${pos}: ${problem}`);
      const size = batchSize(buf, pos);
      if (size > config.segmentBytes) throw new RecordBatchTooLargeError(size, config.segmentBytes);
      let base = expected;
      if (!assignOffsets) {
        base = readInt64(buf, pos);
        if (base < expected) {
          if (pos === 0) throw new UnexpectedAppendOffsetError(base, this.nextOffset);
          throw new CorruptRecordError(`batch at byte ${pos}: base offset ${base} is below ${expected}`);
        }
      }
      expected = base + buf.readInt32BE(pos + LAST_OFFSET_DELTA) + 1;
      const epoch = assignOffsets && opts.leaderEpoch !== undefined ? opts.leaderEpoch : buf.readInt32BE(pos + PARTITION_LEADER_EPOCH);
      if (epoch > latestEpoch) {
        (newEpochs ??= []).push({ epoch, startOffset: base });
        latestEpoch = epoch;
      }
      pos += size;
    }
    if (newEpochs !== null) {
      // The epoch's entry is on disk before its first batch is.
      for (const e of newEpochs) this.epochs.assign(e.epoch, e.startOffset);
      await this.epochs.flush();
    }
    const now = this.now();
    const appendTime = assignOffsets && config.messageTimestampType === 'LogAppendTime' ? now : -1;
    // Pass 2: offsets, roll decisions, one write per segment touched.
    let next = this.nextOffset;
    let firstOffset = -1;
    let lastOffset = -1;
    let records = 0;
    let segment = this.active;
    let runStart = 0;
    for (let pos = 0; pos < buf.length; ) {
      const size = batchSize(buf, pos);
      let base: number;
      if (assignOffsets) {
        base = next;
        setBaseOffset(buf, pos, base);
        if (opts.leaderEpoch !== undefined) setPartitionLeaderEpoch(buf, pos, opts.leaderEpoch);
        if (appendTime >= 0) setLogAppendTime(buf, pos, size, appendTime);
      } else {
        base = readInt64(buf, pos);
      }
      const last = base + buf.readInt32BE(pos + LAST_OFFSET_DELTA);
      const maxTimestamp = readInt64(buf, pos + MAX_TIMESTAMP);
      const pending = segment.size + (pos - runStart);
      if (this.shouldRoll(segment, pending, size, maxTimestamp, last, now)) {
        if (pos > runStart) await this.writeRun(segment, buf, runStart, pos, now);
        segment = await this.roll(base, now);
        runStart = pos;
      }
      if (firstOffset < 0) firstOffset = base;
      lastOffset = last;
      next = last + 1;
      records += buf.readInt32BE(pos + RECORDS_COUNT);
      pos += size;
    }
    await this.writeRun(segment, buf, runStart, buf.length, now);
    this.unflushed += records;
    return { baseOffset: firstOffset, lastOffset, logAppendTime: appendTime, logStartOffset: this.startOffset, recordCount: records };
  }

  private shouldRoll(segment: LogSegment, size: number, batch: number, maxTimestamp: number, lastOffset: number, now: number): boolean {
    if (size === 0) return !segment.fitsOffset(lastOffset);
    const config = this.cfg;
    return (
      size + batch > config.segmentBytes ||
      segment.timeWaitedForRoll(now, maxTimestamp) > config.segmentMs ||
      segment.indexesFull ||
      !segment.fitsOffset(lastOffset)
    );
  }

  /** Writes whole batches `buf[start, end)` to the segment, then makes them visible and indexes them. */
  private async writeRun(segment: LogSegment, buf: Buffer, start: number, end: number, now: number): Promise<void> {
    try {
      await segment.write(buf, start, end);
    } catch (err) {
      throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `write to ${segment.logPath} failed: ${String(err)}`, { cause: err });
    }
    const interval = this.cfg.indexIntervalBytes;
    let position = segment.size;
    for (let pos = start; pos < end; ) {
      const size = batchSize(buf, pos);
      const last = readInt64(buf, pos) + buf.readInt32BE(pos + LAST_OFFSET_DELTA);
      segment.trackBatch(position, last, readInt64(buf, pos + MAX_TIMESTAMP), size, interval);
      position += size;
      pos += size;
    }
    segment.size = position;
    segment.lastModifiedMs = now;
    this.totalSize += end - start;
    this.nextOffset = segment.nextOffset;
  }

  /** Starts a new active segment at `baseOffset` (inside the queue). */
  private async roll(baseOffset: number, now: number): Promise<LogSegment> {
    const old = this.active;
    if (old.size === 0) {
      if (old.baseOffset === baseOffset) return old;
      // An empty active segment is replaced rather than kept.
      this.segments = this.segments.filter((s) => s !== old);
      await old.close();
      await this.removeSegmentFiles(old.baseOffset);
    } else {
      await old.onBecomeInactive();
    }
    const segment = await LogSegment.create(this.dir, baseOffset, this.cfg, this.cache, now);
    segment.onIndexRebuilt = (seg) => this.onIndexRebuilt(seg);
    await segment.becomeActive();
    this.segments = [...this.segments, segment];
    this.active = segment;
    this.logger.debug('rolled a new segment', { baseOffset });
    // Like Kafka: the rolled segment is fsynced in the background, advancing the recovery point.
    if (old.size > 0) {
      this.flushUpTo(baseOffset).catch((err: unknown) => this.logger.error('background flush failed', { err: String(err) }));
    }
    return segment;
  }

  // ---- flushing --------------------------------------------------------

  /** fsyncs everything appended so far and advances the recovery point. */
  flush(): Promise<void> {
    return this.flushUpTo(Number.MAX_SAFE_INTEGER);
  }

  /** Flushes when flushIntervalMs has passed since the last flush and there is something to flush. */
  async maybeFlushByTime(now = this.now()): Promise<boolean> {
    if (isNever(this.cfg.flushIntervalMs) || this.state !== 'open') return false;
    if (now - this.lastFlush < this.cfg.flushIntervalMs || this.nextOffset <= this.recoveryPointOffset) return false;
    await this.flush();
    return true;
  }

  private async flushUpTo(target: number): Promise<void> {
    const plan = await this.enqueue(async () => {
      if (this.state === 'closed') return null;
      const upTo = Math.min(target, this.nextOffset);
      if (upTo >= this.nextOffset) this.unflushed = 0;
      if (upTo <= this.recoveryPointOffset) return null;
      const segs = this.segments.filter((s, i) => {
        const next = this.segments[i + 1];
        return s.baseOffset < upTo && (next === undefined || next.baseOffset > this.recoveryPointOffset);
      });
      for (const s of segs) {
        await s.persistIndexes(false);
        s.retain();
      }
      return { upTo, segs };
    });
    if (plan === null) return;
    const run = this.flushChain.then(async () => {
      try {
        for (const s of plan.segs) if (!s.isClosed) await s.flush();
      } finally {
        for (const s of plan.segs) s.release();
      }
      this.recoveryPointOffset = Math.max(this.recoveryPointOffset, Math.min(plan.upTo, this.nextOffset));
      this.lastFlush = this.now();
    });
    this.flushChain = run.catch(() => undefined);
    await run;
  }

  // ---- reading ---------------------------------------------------------

  /**
   * Reads whole batches starting with the one holding `fetchOffset`, up to
   * `maxBytes` (the first batch whole when minOneBatch), from one segment.
   * Throws OffsetOutOfRangeError outside [logStartOffset, logEndOffset].
   */
  async read(fetchOffset: number, maxBytes: number, opts: ReadOptions = {}): Promise<ReadResult> {
    if (this.state === 'closed') throw new LogClosedError(`log ${tpKey(this.topicPartition)}`);
    const segments = this.segments;
    const logEndOffset = this.nextOffset;
    const logStartOffset = this.startOffset;
    const highWatermark = this.hw;
    if (fetchOffset < logStartOffset || fetchOffset > logEndOffset) {
      throw new OffsetOutOfRangeError(fetchOffset, logStartOffset, logEndOffset, 'fetch offset');
    }
    const maxOffset = Math.min(opts.maxOffset ?? logEndOffset, logEndOffset);
    const minOneBatch = opts.minOneBatch ?? true;
    let records = EMPTY;
    if (fetchOffset < maxOffset) {
      for (let i = floorSegment(segments, fetchOffset); i < segments.length; i++) {
        const seg = segments[i]!;
        if (seg.baseOffset >= maxOffset) break;
        seg.retain();
        try {
          if (seg.isClosed) {
            // Deleted under us (retention, truncation): answer from the current segments.
            if (this.state === 'open' && this.segments !== segments) return this.read(fetchOffset, maxBytes, opts);
            throw new LogClosedError(`log ${tpKey(this.topicPartition)}`);
          }
          const found = await this.readSegment(seg, fetchOffset, Math.max(maxBytes, 0), minOneBatch, maxOffset, seg.size);
          if (found !== null) {
            records = found;
            break;
          }
        } finally {
          seg.release();
        }
      }
    }
    return { records, highWatermark, logStartOffset, logEndOffset };
  }

  /** Batches from one segment; null when the segment has nothing at or after `target`. */
  private async readSegment(
    seg: LogSegment,
    target: number,
    maxBytes: number,
    minOneBatch: boolean,
    maxOffset: number,
    end: number,
  ): Promise<Buffer | null> {
    const hint = seg.readHint;
    const hinted = hint !== null && hint.offset === target && hint.position < end;
    let pos = hinted ? hint.position : target > seg.baseOffset ? await seg.lookupPosition(target) : 0;
    // From an index entry the target may be a few batches further: read some slack too.
    const slack = hinted ? HEADER_SIZE : Math.min(this.cfg.indexIntervalBytes, MAX_SCAN_SLACK) + HEADER_SIZE;
    let buf = EMPTY;
    let bufStart = 0;
    const covers = (p: number, n: number) => p >= bufStart && p + n <= bufStart + buf.length;
    // Find the first batch ending at or after the target.
    let firstSize: number;
    let firstLast: number;
    for (;;) {
      if (pos >= end) return null;
      if (!covers(pos, HEADER_SIZE)) {
        buf = await seg.readAt(pos, Math.min(end - pos, maxBytes + slack));
        bufStart = pos;
        if (buf.length < HEADER_SIZE) return null; // cut by a concurrent truncation
      }
      const at = pos - bufStart;
      firstSize = batchSize(buf, at);
      if (firstSize < LOG_OVERHEAD + MIN_BATCH_LENGTH) {
        throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `${seg.logPath}: bad batch length at position ${pos}`);
      }
      const firstBase = readInt64(buf, at);
      firstLast = firstBase + buf.readInt32BE(at + LAST_OFFSET_DELTA);
      if (hinted && pos === hint.position && firstBase !== target) {
        // A stale hint: fall back to the index.
        seg.readHint = null;
        return this.readSegment(seg, target, maxBytes, minOneBatch, maxOffset, end);
      }
      if (firstLast >= target) break;
      pos += firstSize;
    }
    if (firstLast >= maxOffset) return EMPTY;
    const want = Math.min(minOneBatch ? Math.max(maxBytes, firstSize) : maxBytes, end - pos);
    if (!covers(pos, want)) {
      buf = await seg.readAt(pos, want);
      bufStart = pos;
    }
    const start = pos - bufStart;
    const stop = Math.min(start + want, buf.length);
    let at = start;
    let nextOffset = -1;
    while (at + HEADER_SIZE <= stop) {
      const size = batchSize(buf, at);
      if (size < LOG_OVERHEAD + MIN_BATCH_LENGTH || at + size > stop) break;
      const last = readInt64(buf, at) + buf.readInt32BE(at + LAST_OFFSET_DELTA);
      if (last >= maxOffset) break;
      nextOffset = last + 1;
      at += size;
    }
    if (nextOffset >= 0) seg.readHint = { offset: nextOffset, position: bufStart + at };
    return buf.subarray(start, at);
  }

  // ---- timestamps ------------------------------------------------------

  /**
   * The first offset whose record timestamp is >= `timestamp` (ListOffsets
   * by time), with that record's timestamp; null when no record is that
   * recent (or the match is at or past `maxOffset`). Segments are found by
   * their max timestamp, the start position by the time index then the
   * offset index, then batches are scanned. Inside the matching batch the
   * records are walked for the exact offset; a compressed batch with no
   * decompressor configured answers at batch granularity: its base offset
   * and its max timestamp.
   */
  async offsetForTimestamp(timestamp: number, maxOffset = Number.MAX_SAFE_INTEGER): Promise<TimestampAndOffset | null> {
    if (this.state === 'closed') throw new LogClosedError(`log ${tpKey(this.topicPartition)}`);
    const segments = this.segments;
    const logStartOffset = this.startOffset;
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      const next = segments[i + 1];
      if (next !== undefined && next.baseOffset <= logStartOffset) continue;
      if (seg.maxTimestamp < timestamp) continue;
      seg.retain();
      try {
        if (seg.isClosed) return this.offsetForTimestamp(timestamp, maxOffset);
        const fromOffset = Math.max(await seg.lookupTimestamp(timestamp), logStartOffset);
        const from = await seg.lookupPosition(fromOffset);
        let header: BatchHeader | null = null;
        let found: TimestampAndOffset | null = null;
        let position = from;
        while (found === null) {
          const scan = await seg.scanHeaders(position, seg.size, (h) => h.maxTimestamp >= timestamp && h.lastOffset >= logStartOffset);
          header = scan.stoppedAt ?? null;
          if (header === null) break;
          found = await this.resolveInBatch(seg, header, (offset, ts) => ts >= timestamp && offset >= logStartOffset);
          position = header.position + header.size;
        }
        if (found !== null) return found.offset < maxOffset ? found : null;
      } finally {
        seg.release();
      }
    }
    return null;
  }

  /**
   * The record with the largest timestamp (ListOffsets MAX_TIMESTAMP):
   * its offset and timestamp, or null when no batch has a timestamp. The
   * first record carrying the maximum is returned; for a compressed batch
   * without a decompressor, the batch's last offset (Kafka's answer before
   * 3.8, which tracked offsets per batch).
   */
  async latestTimestamp(): Promise<TimestampAndOffset | null> {
    if (this.state === 'closed') throw new LogClosedError(`log ${tpKey(this.topicPartition)}`);
    const segments = this.segments;
    let best: LogSegment | null = null;
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      const next = segments[i + 1];
      if (next !== undefined && next.baseOffset <= this.startOffset) continue;
      if (seg.maxTimestamp >= 0 && (best === null || seg.maxTimestamp > best.maxTimestamp)) best = seg;
    }
    if (best === null) return null;
    const seg = best;
    const maxTimestamp = seg.maxTimestamp;
    seg.retain();
    try {
      if (seg.isClosed) return this.latestTimestamp();
      const header = await seg.translateOffset(seg.offsetOfMaxTimestamp);
      if (header === null) return null;
      const found = await this.resolveInBatch(seg, header, (_offset, ts) => ts === maxTimestamp);
      return found ?? { offset: header.lastOffset, timestamp: maxTimestamp };
    } finally {
      seg.release();
    }
  }

  /** The first record of the batch matching `match`; batch granularity when records cannot be read. */
  private async resolveInBatch(
    seg: LogSegment,
    header: BatchHeader,
    match: (offset: number, timestamp: number) => boolean,
  ): Promise<TimestampAndOffset | null> {
    const batch = await seg.readAt(header.position, header.size);
    let hit: TimestampAndOffset | null = null;
    let walked: boolean | undefined;
    try {
      walked = await visitRecordTimestamps(
        batch,
        (offset, timestamp) => {
          if (!match(offset, timestamp)) return false;
          hit = { offset, timestamp };
          return true;
        },
        this.decompress,
      );
    } catch (err) {
      this.logger.warn('could not walk the records of a batch', { position: header.position, err: String(err) });
      walked = undefined;
    }
    if (walked === undefined) return { offset: Math.max(header.baseOffset, this.startOffset), timestamp: header.maxTimestamp };
    return hit;
  }

  // ---- deleting --------------------------------------------------------

  /**
   * DeleteRecords: moves the log start offset to `offset` (which must not
   * pass the high watermark) and deletes the segments wholly below it.
   * Returns the new log start offset.
   */
  deleteRecordsBefore(offset: number): Promise<number> {
    return this.enqueue(async () => {
      this.checkOpen();
      if (offset > this.hw || offset < 0) {
        throw new OffsetOutOfRangeError(offset, this.startOffset, this.hw, 'new log start offset (bounded by the high watermark)');
      }
      if (offset > this.startOffset) {
        this.startOffset = offset;
        await this.deleteOldSegments(() => true, 'log-start-offset', true);
        if (this.epochs.truncateFromStart(this.startOffset)) await this.epochs.flush();
      }
      return this.startOffset;
    });
  }

  /**
   * Applies retention.ms (by each segment's largest timestamp) and
   * retention.bytes (oldest segments first, while the log stays over the
   * limit), then removes segments below the log start offset. Whole
   * segments only, never past the high watermark; when every segment
   * expires the log first rolls, so the active segment is never deleted.
   */
  applyRetention(nowMs: number = this.now()): Promise<RetentionResult> {
    return this.enqueue(async () => {
      const result: RetentionResult = { deletedSegments: 0, deletedBytes: 0, logStartOffset: this.startOffset, reasons: [] };
      if (this.state !== 'open') return result;
      const config = this.cfg;
      const tally = async (
        reason: RetentionResult['reasons'][number],
        predicate: (s: LogSegment, next: LogSegment | undefined) => boolean,
        onlyBelowStart = false,
      ) => {
        const before = this.totalSize;
        const n = await this.deleteOldSegments(predicate, reason, onlyBelowStart, nowMs);
        if (n > 0) {
          result.deletedSegments += n;
          result.deletedBytes += before - this.totalSize;
          result.reasons.push(reason);
        }
      };
      if (config.cleanupPolicy.includes('delete')) {
        if (config.retentionMs >= 0) await tally('retention.ms', (s) => nowMs - s.largestTimestamp > config.retentionMs);
        if (config.retentionBytes >= 0) {
          let excess = this.totalSize - config.retentionBytes;
          await tally('retention.bytes', (s) => {
            if (excess - s.size < 0) return false;
            excess -= s.size;
            return true;
          });
        }
      }
      await tally('log-start-offset', () => true, true);
      result.logStartOffset = this.startOffset;
      return result;
    });
  }

  /**
   * Deletes the longest prefix of segments that satisfy `predicate`, wholly
   * below the high watermark (and, with onlyBelowStart, below the log start
   * offset). Rolls first when that would take the active segment. Inside
   * the queue. Returns how many segments went.
   */
  private async deleteOldSegments(
    predicate: (s: LogSegment, next: LogSegment | undefined) => boolean,
    reason: string,
    onlyBelowStart: boolean,
    nowMs = this.now(),
  ): Promise<number> {
    const segments = this.segments;
    const doomed: LogSegment[] = [];
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      const next = segments[i + 1];
      const upper = next?.baseOffset ?? this.nextOffset;
      if (this.hw < upper) break;
      if (onlyBelowStart && (next === undefined || next.baseOffset > this.startOffset)) break;
      if (next === undefined && seg.size === 0) break;
      if (!predicate(seg, next)) break;
      doomed.push(seg);
    }
    if (doomed.length === 0) return 0;
    if (doomed.length === segments.length) await this.roll(this.nextOffset, nowMs);
    this.segments = this.segments.slice(doomed.length);
    this.startOffset = Math.max(this.startOffset, this.segments[0]!.baseOffset);
    if (this.epochs.truncateFromStart(this.startOffset)) await this.epochs.flush();
    for (const seg of doomed) {
      this.totalSize -= seg.size;
      await this.scheduleDeletion(seg);
    }
    this.logger.info('deleted segments', {
      reason,
      segments: doomed.map((s) => s.baseOffset),
      logStartOffset: this.startOffset,
    });
    return doomed.length;
  }

  /** Renames the segment's files to *.deleted now (unless `renamed`) and removes them after fileDeleteDelayMs. */
  private async scheduleDeletion(segment: LogSegment, renamed = false): Promise<void> {
    if (!renamed) await segment.renameForDeletion();
    const pending: PendingDeletion = { segment, timer: null, done: null };
    this.pendingDeletions.add(pending);
    const run = () => {
      pending.timer = null;
      pending.done ??= segment
        .deleteRenamedFiles()
        .catch((err: unknown) => this.logger.error('could not delete segment files', { baseOffset: segment.baseOffset, err: String(err) }))
        .finally(() => this.pendingDeletions.delete(pending));
    };
    const delay = this.cfg.fileDeleteDelayMs;
    if (delay <= 0) run();
    else {
      pending.timer = setTimeout(run, delay);
      pending.timer.unref();
    }
  }

  private async finishPendingDeletions(): Promise<void> {
    const all = [...this.pendingDeletions];
    for (const p of all) {
      if (p.timer !== null) {
        clearTimeout(p.timer);
        p.timer = null;
      }
      p.done ??= p.segment
        .deleteRenamedFiles()
        .catch((err: unknown) => this.logger.error('could not delete segment files', { err: String(err) }))
        .finally(() => this.pendingDeletions.delete(p));
    }
    await Promise.all(all.map((p) => p.done));
  }

  // ---- truncation (replication) ---------------------------------------

  /**
   * Removes everything at or after `offset` (a follower diverged from its
   * leader). A batch holding `offset` goes whole, so the new log end may be
   * below `offset` when it is not a batch boundary. Returns whether
   * anything was removed.
   */
  truncateTo(offset: number): Promise<boolean> {
    return this.enqueue(async () => {
      this.checkOpen();
      if (offset < 0) throw new RangeError(`cannot truncate to ${offset}`);
      if (offset >= this.nextOffset) return false;
      if (offset < this.segments[0]!.baseOffset) {
        await this.truncateFullyAndStartAtNow(offset);
        return true;
      }
      const doomed = this.segments.filter((s) => s.baseOffset > offset);
      if (doomed.length > 0) {
        this.segments = this.segments.filter((s) => s.baseOffset <= offset);
        for (const seg of doomed) {
          this.totalSize -= seg.size;
          await this.scheduleDeletion(seg);
        }
        this.active = this.segments[this.segments.length - 1]!;
        await this.active.becomeActive();
      }
      const removed = await this.active.truncateTo(offset);
      this.totalSize -= removed;
      this.nextOffset = this.active.nextOffset;
      this.startOffset = Math.min(this.startOffset, this.nextOffset);
      this.recoveryPointOffset = Math.min(this.recoveryPointOffset, this.nextOffset);
      this.hw = Math.min(this.hw, this.nextOffset);
      if (this.epochs.truncateFromEnd(this.nextOffset)) await this.epochs.flush();
      this.notifyTruncation();
      return true;
    });
  }

  /** Deletes every segment and restarts the log empty at `offset` (a follower far behind its leader). */
  truncateFullyAndStartAt(offset: number): Promise<void> {
    return this.enqueue(async () => {
      this.checkOpen();
      await this.truncateFullyAndStartAtNow(offset);
    });
  }

  private async truncateFullyAndStartAtNow(offset: number): Promise<void> {
    const doomed = this.segments;
    this.segments = [];
    for (const seg of doomed) await this.scheduleDeletion(seg);
    const segment = await LogSegment.create(this.dir, offset, this.cfg, this.cache, this.now());
    segment.onIndexRebuilt = (seg) => this.onIndexRebuilt(seg);
    await segment.becomeActive();
    this.segments = [segment];
    this.active = segment;
    this.totalSize = 0;
    this.nextOffset = offset;
    this.startOffset = offset;
    this.recoveryPointOffset = offset;
    this.hw = offset;
    if (this.epochs.clear()) await this.epochs.flush();
    this.notifyTruncation();
  }

  private notifyTruncation(): void {
    for (const listener of this.truncationListeners) {
      try {
        listener(this.nextOffset);
      } catch (err) {
        this.logger.error('a truncation listener failed', { err: String(err) });
      }
    }
  }

  // ---- log cleaner hooks ----------------------------------------------

  /**
   * Calls `listener(newLogEndOffset)` after every truncation (the cleaner
   * moves its checkpoint back). Returns a function that unsubscribes.
   */
  onTruncation(listener: (logEndOffset: number) => void): () => void {
    this.truncationListeners.add(listener);
    return () => this.truncationListeners.delete(listener);
  }

  /**
   * What the log cleaner reads: the current segment list (an immutable
   * snapshot: mutations replace the array) and the offsets bounding what it
   * may clean. The cleaner reads segments as readers do, pinning each one.
   */
  cleanerView(): CleanerView {
    return {
      segments: this.segments,
      logStartOffset: this.startOffset,
      logEndOffset: this.nextOffset,
      highWatermark: this.hw,
      config: this.cfg,
    };
  }

  /**
   * Replaces `old` (consecutive inactive segments, oldest first) by the
   * cleaned segment the cleaner wrote as `<base>.{log,index,timeindex}.cleaned`
   * (base = old[0].baseOffset), in the queue: commit (`.cleaned` -> `.swap`),
   * old files -> `*.deleted`, `.swap` -> final names, then the new segment
   * takes their place in the list. Readers holding an old segment finish on
   * its open file; the old files go after fileDeleteDelayMs. Returns false,
   * touching nothing, when the log changed meanwhile (closed, or a segment
   * was deleted or truncated away): the caller removes its files. See
   * cleaner/swap.ts for what recovery does after a crash at each step.
   */
  replaceSegments(old: readonly LogSegment[], hooks: SwapHooks = {}): Promise<boolean> {
    return this.enqueue(async () => {
      if (this.state !== 'open' || old.length === 0) return false;
      const first = this.segments.indexOf(old[0]!);
      if (first < 0 || old.some((s, i) => this.segments[first + i] !== s || s === this.active || s.isClosed)) return false;
      const base = old[0]!.baseOffset;
      await hooks.beforeCommit?.();
      await commitCleaned(this.dir, base);
      await hooks.afterCommit?.();
      for (const s of old) await s.renameForDeletion();
      await hooks.afterOldRenamed?.();
      await installSwap(this.dir, base);
      const segment = await LogSegment.open(this.dir, base, this.cfg, this.cache, this.now());
      try {
        await segment.loadMaxTimestamp();
      } catch (err) {
        await segment.close();
        throw err;
      }
      segment.onIndexRebuilt = (seg) => this.onIndexRebuilt(seg);
      const segments = this.segments.slice();
      segments.splice(first, old.length, segment);
      this.segments = segments;
      for (const s of old) {
        this.totalSize -= s.size;
        await this.scheduleDeletion(s, true);
      }
      this.totalSize += segment.size;
      this.logger.debug('swapped in a cleaned segment', { baseOffset: base, replaced: old.map((s) => s.baseOffset), size: segment.size });
      return true;
    });
  }

  // ---- closing ---------------------------------------------------------

  /** Flushes, writes the final index entries, and closes every file. Appends after this fail. */
  close(): Promise<void> {
    this.closing ??= this.shutdown(true);
    return this.closing;
  }

  /** Closes every file without flushing (the log is about to be deleted). */
  closeForDeletion(): Promise<void> {
    this.closing ??= this.shutdown(false);
    return this.closing;
  }

  private async shutdown(flush: boolean): Promise<void> {
    this.state = 'closing';
    try {
      if (flush) await this.flushUpTo(Number.MAX_SAFE_INTEGER);
    } finally {
      await this.enqueue(async () => {
        await this.flushChain;
        await this.finishPendingDeletions();
        if (flush) {
          const active = this.active;
          await active.ensureIndexesLoaded();
          active.timeIndex.maybeAppend(active.maxTimestamp, active.offsetOfMaxTimestamp);
          await active.persistIndexes(true);
        }
        for (const seg of this.segments) await seg.close();
        this.state = 'closed';
      });
    }
  }

  /** Closes the log and removes its directory. */
  async delete(): Promise<void> {
    await this.closeForDeletion();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Index of the last segment whose base offset is <= offset (0 when none is). */
function floorSegment(segments: readonly LogSegment[], offset: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (segments[mid]!.baseOffset <= offset) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}
