/**
 * The log cleaner: compaction for logs whose cleanup.policy includes
 * 'compact' (user topics and __consumer_offsets alike), Kafka's design
 * simplified.
 *
 * Per log, the cleaner checkpoint (`cleaner-offset-checkpoint` in each log
 * directory, Kafka's checkpoint text format) says where the dirty part
 * starts: below it everything was cleaned once. A pass over one log:
 *
 *   1. Choose. Only inactive segments are cleaned, and only below the first
 *      uncleanable offset: min(active segment base, high watermark, first
 *      unstable offset when a transaction layer provides it, base of the
 *      first segment with records younger than min.compaction.lag.ms). A log
 *      is due when dirty bytes / (clean + dirty bytes) >= min.cleanable.dirty.ratio,
 *      or its oldest dirty batch is older than max.compaction.lag.ms, or a
 *      delete horizon it set earlier has passed. The dirtiest due log goes first.
 *   2. Map. Dirty batches are read in order and each keyed record's offset
 *      is put in an offset map (key -> latest offset), until the map's byte
 *      budget is reached; the pass then cleans only up to there (endOffset)
 *      and the next pass carries on. Transactional records are mapped only
 *      when their COMMIT marker follows within the pass (see below).
 *   3. Rewrite. The inactive segments from the log start up to endOffset are
 *      rewritten group by group (consecutive segments whose sizes add up to
 *      at most segment.bytes become one), each batch kept, dropped or rebuilt
 *      by batch-filter.ts: a record stays when it is the latest of its key
 *      (or its key is not in the map); keyless records go; tombstones stay
 *      until the delete horizon stamped in their batch has passed. Batches
 *      at or past endOffset are copied untouched. Offsets never change.
 *   4. Swap and checkpoint. Each group's `.cleaned` files replace its
 *      segments atomically (PartitionLog.replaceSegments, cleaner/swap.ts);
 *      after the last group the checkpoint moves to endOffset.
 *
 * Work runs on a timer (log.cleaner.backoff.ms between rounds that found
 * nothing to do), one log at a time per cleaner "thread" (concurrent passes
 * on different logs, on the one event loop), with async I/O only and a yield
 * to the event loop every few milliseconds of CPU work. A pass is aborted
 * between batches when the cleaner stops or the log is deleted.
 *
 * Transactions: control batches (markers) are always kept. A transactional
 * record enters the map, and so can supersede older values, only when the
 * COMMIT marker of its transaction is met in the same pass; records of
 * aborted, still-open or not-yet-settled transactions are never mapped, so
 * they cannot make a committed value disappear (they themselves are removed
 * when a later mapped record supersedes them). Aborted records are otherwise
 * kept, with their markers, for read_committed consumers to skip via the
 * aborted-transaction index (.txnindex files, untouched by the cleaner:
 * offsets never change). Removing aborted data early is out of scope. With a
 * first-unstable-offset provider (setFirstUnstableOffsetProvider) cleaning
 * also stops below open transactions, as in Kafka.
 *
 * Idempotent producers: when every record of a batch with a producer id is
 * removed, an empty batch (count 0, same offsets and sequence range) is kept
 * if it is that producer's last batch in the cleaned range, so producer
 * state rebuilt from the log keeps its last sequence; older ones are dropped.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises';
import { type Logger, silentLogger } from '../../logging.js';
import { type BatchHeader, type Decompressor, HEADER_SIZE, headerProblem, readHeader, readInt64 } from '../batch-header.js';
import { readCheckpointFile, writeCheckpointFile } from '../checkpoint.js';
import { writeAt } from '../file-io.js';
import { OffsetIndex, TimeIndex } from '../index-file.js';
import { DEFAULT_COMPACTION, isNever, type LogConfig } from '../log-config.js';
import type { CleanerView, PartitionLog, SwapHooks } from '../partition-log.js';
import type { LogSegment } from '../segment.js';
import { tpKey } from '../topic-partition.js';
import { MAX_TIMESTAMP } from '../../protocol/records/layout.js';
import { type Compressor, type FilterPolicy, batchFacts, filterBatch, readRecords } from './batch-filter.js';
import { OffsetMap } from './offset-map.js';
import { cleanedPaths, removeCleaned } from './swap.js';

export const CLEANER_OFFSET_CHECKPOINT = 'cleaner-offset-checkpoint';

const INT32_MAX = 0x7fffffff;
/** CPU time (ms) the cleaner may spend before yielding to the event loop. */
const YIELD_EVERY_MS = 4;
const MIN_IO_BUFFER = 16 * 1024;

/** The broker's log.cleaner.* settings (Kafka's defaults when omitted). */
export interface LogCleanerConfig {
  /** log.cleaner.enable (default true). */
  enable?: boolean;
  /** log.cleaner.threads: logs cleaned at once (default 1; 0 = no cleaning). */
  threads?: number;
  /** log.cleaner.backoff.ms: pause after a round that found nothing to clean (default 15000). */
  backoffMs?: number;
  /** log.cleaner.dedupe.buffer.size: offset-map memory shared by the threads (default 128 MiB). */
  dedupeBufferSize?: number;
  /** log.cleaner.io.buffer.load.factor: how full a map may get (default 0.9). */
  dedupeBufferLoadFactor?: number;
  /** log.cleaner.io.buffer.size: read and write buffers shared by the threads (default 512 KiB). */
  ioBufferSize?: number;
  /** log.cleaner.io.max.bytes.per.second: read+write throttle (default unlimited). */
  ioMaxBytesPerSecond?: number;
  /** Compresses rebuilt batches; default: the protocol codecs, loaded on first need. */
  compress?: Compressor;
  /** Decompresses batches; default: the protocol codecs, loaded on first need. */
  decompress?: Decompressor;
}

/** What the cleaner needs from the LogManager. */
export interface CleanerHost {
  /** Every open log with its log directory (absolute path). */
  logs(): Iterable<{ log: PartitionLog; dir: string }>;
  readonly logDirs: readonly string[];
}

export interface LogCleanerOptions {
  logger?: Logger;
  /** Clock (tests). */
  now?: () => number;
}

/** One completed pass over one log. */
export interface CleanResult {
  topic: string;
  partition: number;
  /** Where the dirty part started, and the offset the checkpoint moved to. */
  firstDirtyOffset: number;
  endOffset: number;
  /** The dirty ratio that made the log due (0 for a delete-horizon pass). */
  dirtyRatio: number;
  /** The map filled before the dirty part ended: another pass follows. */
  mapFull: boolean;
  mapEntries: number;
  bytesRead: number;
  bytesWritten: number;
  recordsRead: number;
  recordsRemoved: number;
  tombstonesRemoved: number;
  keylessRemoved: number;
  /** Old segments swapped out, cleaned segments swapped in. */
  segmentsReplaced: number;
  segmentsWritten: number;
  durationMs: number;
}

/** Totals since the cleaner started (tests and metrics). */
export interface CleanerStats {
  passes: number;
  abortedPasses: number;
  failedPasses: number;
  bytesRead: number;
  bytesWritten: number;
  recordsRead: number;
  recordsRemoved: number;
  tombstonesRemoved: number;
  keylessRemoved: number;
  segmentsReplaced: number;
  segmentsWritten: number;
  lastPass: CleanResult | null;
}

/** Why a log is (or is not) due for cleaning, from `examine`. */
export interface CleanableLog {
  log: PartitionLog;
  dir: string;
  view: CleanerView;
  firstDirtyOffset: number;
  firstUncleanableOffset: number;
  cleanBytes: number;
  dirtyBytes: number;
  dirtyRatio: number;
  /** max.compaction.lag.ms has passed for the oldest dirty batch. */
  lagExceeded: boolean;
  /** A delete horizon set by an earlier pass has passed. */
  horizonDue: boolean;
  due: boolean;
}

/** Thrown inside a pass to stop it (cleaner stopping, log deleted, log changed under it). */
export class CleanerAbortedError extends Error {
  override name = 'CleanerAbortedError';
}

interface Pass {
  key: string;
  aborted: string | null;
  done: Promise<unknown>;
}

interface Tally {
  bytesRead: number;
  recordsRead: number;
  recordsRemoved: number;
  tombstonesRemoved: number;
  keylessRemoved: number;
}

const newTally = (): Tally => ({ bytesRead: 0, recordsRead: 0, recordsRemoved: 0, tombstonesRemoved: 0, keylessRemoved: 0 });

function addTally(into: Tally, t: Tally): void {
  into.bytesRead += t.bytesRead;
  into.recordsRead += t.recordsRead;
  into.recordsRemoved += t.recordsRemoved;
  into.tombstonesRemoved += t.tombstonesRemoved;
  into.keylessRemoved += t.keylessRemoved;
}

type CodecModule = typeof import('../../protocol/records/compression.js');
let codecModule: Promise<CodecModule> | null = null;
const loadCodecs = (): Promise<CodecModule> => (codecModule ??= import('../../protocol/records/compression.js'));
const lazyDecompress: Decompressor = async (compression, data) => (await loadCodecs()).decompressAsync(compression, data);
const lazyCompress: Compressor = async (compression, data) => (await loadCodecs()).compressAsync(compression, data);

export class LogCleaner {
  readonly stats: CleanerStats = {
    passes: 0,
    abortedPasses: 0,
    failedPasses: 0,
    bytesRead: 0,
    bytesWritten: 0,
    recordsRead: 0,
    recordsRemoved: 0,
    tombstonesRemoved: 0,
    keylessRemoved: 0,
    segmentsReplaced: 0,
    segmentsWritten: 0,
    lastPass: null,
  };
  /** Test hooks passed to every swap (simulated crashes). */
  swapHooks: SwapHooks = {};
  private readonly checkpoints = new Map<string, Map<string, number>>();
  private checkpointChain: Promise<void> = Promise.resolve();
  /** Delete horizons pending per log (the earliest), learned by passes since start. */
  private readonly pendingHorizons = new Map<string, number>();
  /** Logs whose last pass could not move: skipped while their dirty range is unchanged. */
  private readonly stalled = new Map<string, string>();
  /** Logs whose last pass failed: skipped until then. */
  private readonly failedUntil = new Map<string, number>();
  private readonly subscribed = new WeakSet<PartitionLog>();
  private readonly passes = new Map<string, Pass>();
  private readonly workers: Promise<void>[] = [];
  /** Workers sleeping through their backoff: their timers and how to wake them. */
  private readonly sleepers = new Map<NodeJS.Timeout, () => void>();
  private running = false;
  private stopping = false;
  private firstUnstable: ((log: PartitionLog) => number | undefined) | null = null;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly compress: Compressor;
  private readonly decompress: Decompressor;
  private readonly threads: number;
  private readonly backoffMs: number;
  private readonly ioBufferBytes: number;
  private readonly mapBudgetBytes: number;
  private readonly ioMaxBytesPerSecond: number;
  private lastYield = performance.now();
  private throttleStart = performance.now();
  private throttleBytes = 0;

  constructor(
    private readonly host: CleanerHost,
    readonly config: LogCleanerConfig = {},
    options: LogCleanerOptions = {},
  ) {
    this.logger = (options.logger ?? silentLogger).child({ component: 'log-cleaner' });
    this.now = options.now ?? Date.now;
    this.compress = config.compress ?? lazyCompress;
    this.decompress = config.decompress ?? lazyDecompress;
    this.threads = Math.max(0, Math.floor(config.threads ?? 1));
    this.backoffMs = Math.max(0, config.backoffMs ?? 15_000);
    const share = Math.max(1, this.threads);
    this.ioBufferBytes = Math.max(MIN_IO_BUFFER, Math.floor((config.ioBufferSize ?? 512 * 1024) / share / 2));
    const dedupe = Math.min(config.dedupeBufferSize ?? 128 * 1024 * 1024, Number.MAX_SAFE_INTEGER);
    this.mapBudgetBytes = Math.max(1, Math.floor((dedupe * (config.dedupeBufferLoadFactor ?? 0.9)) / share));
    const rate = config.ioMaxBytesPerSecond ?? Infinity;
    this.ioMaxBytesPerSecond = rate > 0 ? rate : Infinity;
  }

  get enabled(): boolean {
    return (this.config.enable ?? true) && this.threads > 0;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Lets a transaction layer bound cleaning below a log's first unstable offset. */
  setFirstUnstableOffsetProvider(provider: ((log: PartitionLog) => number | undefined) | null): void {
    this.firstUnstable = provider;
  }

  // ---- checkpoints -----------------------------------------------------

  /** Reads every log directory's cleaner checkpoint (a damaged one counts as empty). */
  async loadCheckpoints(): Promise<void> {
    for (const dir of this.host.logDirs) {
      const offsets = new Map<string, number>();
      try {
        for (const [key, entry] of await readCheckpointFile(join(dir, CLEANER_OFFSET_CHECKPOINT))) offsets.set(key, entry.offset);
      } catch (err) {
        this.logger.warn('ignoring an unreadable cleaner checkpoint', { dir, err: String(err) });
      }
      this.checkpoints.set(dir, offsets);
    }
  }

  /** The cleaner checkpoint of a log (where its dirty part starts), if any. */
  checkpointOf(log: PartitionLog, dir: string): number | undefined {
    return this.checkpoints.get(dir)?.get(tpKey(log.topicPartition));
  }

  private setCheckpoint(dir: string, key: string, offset: number | undefined): void {
    let offsets = this.checkpoints.get(dir);
    if (offsets === undefined) {
      offsets = new Map();
      this.checkpoints.set(dir, offsets);
    }
    if (offset === undefined) offsets.delete(key);
    else offsets.set(key, offset);
  }

  /** Writes one directory's cleaner checkpoint (for the logs it still holds). */
  writeCheckpoint(dir: string): Promise<void> {
    const run = this.checkpointChain.then(async () => {
      const present = new Set<string>();
      for (const e of this.host.logs()) if (e.dir === dir) present.add(tpKey(e.log.topicPartition));
      const entries = [];
      for (const [key, offset] of this.checkpoints.get(dir) ?? []) {
        if (!present.has(key)) continue;
        const dash = key.lastIndexOf('-');
        entries.push({ topic: key.slice(0, dash), partition: Number(key.slice(dash + 1)), offset });
      }
      await writeCheckpointFile(join(dir, CLEANER_OFFSET_CHECKPOINT), entries);
    });
    this.checkpointChain = run.catch(() => undefined);
    return run;
  }

  private subscribe(log: PartitionLog, dir: string): void {
    if (this.subscribed.has(log)) return;
    this.subscribed.add(log);
    const key = tpKey(log.topicPartition);
    log.onTruncation((end) => {
      const checkpoint = this.checkpoints.get(dir)?.get(key);
      if (checkpoint !== undefined && checkpoint > end) {
        this.setCheckpoint(dir, key, end);
        this.writeCheckpoint(dir).catch((err: unknown) => this.logger.error('could not write the cleaner checkpoint', { dir, err: String(err) }));
      }
      this.stalled.delete(key);
    });
  }

  // ---- running ---------------------------------------------------------

  /** Starts the background workers (no-op when disabled or running). */
  start(): void {
    if (this.running || !this.enabled) return;
    this.running = true;
    this.stopping = false;
    for (let i = 0; i < this.threads; i++) this.workers.push(this.work());
    this.logger.info('log cleaner started', { threads: this.threads, backoffMs: this.backoffMs });
  }

  /** Stops the workers, aborting passes in progress (their cleaned files are removed). */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    for (const pass of this.passes.values()) pass.aborted ??= 'the cleaner is stopping';
    this.wakeUp();
    await Promise.all(this.workers.splice(0));
    await Promise.all([...this.passes.values()].map((p) => p.done.catch(() => undefined)));
    await this.checkpointChain;
  }

  /** Ends the workers' current backoff early (stop, tests, or after a config change). */
  wakeUp(): void {
    for (const [timer, wake] of this.sleepers) {
      clearTimeout(timer);
      wake();
    }
    this.sleepers.clear();
  }

  private async work(): Promise<void> {
    while (this.running) {
      let cleaned = false;
      try {
        cleaned = (await this.cleanFilthiestLog()) !== null;
      } catch (err) {
        this.logger.error('log cleaner round failed', { err: String(err) });
      }
      if (!this.running) break;
      if (cleaned) {
        await yieldToEventLoop();
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer: NodeJS.Timeout = setTimeout(() => {
          this.sleepers.delete(timer);
          resolve();
        }, this.backoffMs);
        timer.unref();
        this.sleepers.set(timer, resolve);
      });
    }
  }

  /**
   * Cleans the log most in need of it, if any is due. Returns the pass's
   * result, or null when nothing was due (or the chosen pass was aborted).
   */
  async cleanFilthiestLog(): Promise<CleanResult | null> {
    const now = this.now();
    const candidates: CleanableLog[] = [];
    for (const { log, dir } of this.host.logs()) {
      const key = tpKey(log.topicPartition);
      if (!log.isOpen || this.passes.has(key)) continue;
      if ((this.failedUntil.get(key) ?? -Infinity) > now) continue;
      const info = await this.examine(log, dir, now);
      if (info === null || !info.due) continue;
      if (this.stalled.get(key) === stallSignature(info)) continue;
      candidates.push(info);
    }
    if (candidates.length === 0) return null;
    candidates.sort((a, b) => Number(b.lagExceeded) - Number(a.lagExceeded) || b.dirtyRatio - a.dirtyRatio);
    for (const info of candidates) {
      if (this.passes.has(tpKey(info.log.topicPartition))) continue; // another worker took it
      return this.runPass(info, now);
    }
    return null;
  }

  /**
   * Cleans one log now if it is due (or whatever its ratio with `force`).
   * Returns null when there was nothing to do. Throws when the pass fails.
   */
  async cleanLog(log: PartitionLog, dir: string, opts: { force?: boolean } = {}): Promise<CleanResult | null> {
    const now = this.now();
    const info = await this.examine(log, dir, now);
    if (info === null) return null;
    if (!info.due && !(opts.force && (info.dirtyBytes > 0 || info.cleanBytes > 0))) return null;
    const key = tpKey(log.topicPartition);
    const running = this.passes.get(key);
    if (running) await running.done.catch(() => undefined);
    return this.runPass(info, now, true);
  }

  /** Aborts any pass on `log` and waits for it; forgets its checkpoint (the log is being deleted). */
  async forgetLog(log: PartitionLog, dir: string): Promise<void> {
    const key = tpKey(log.topicPartition);
    const pass = this.passes.get(key);
    if (pass) {
      pass.aborted ??= 'the log is being deleted';
      await pass.done.catch(() => undefined);
    }
    this.pendingHorizons.delete(key);
    this.stalled.delete(key);
    this.failedUntil.delete(key);
    if (this.checkpoints.get(dir)?.has(key)) {
      this.setCheckpoint(dir, key, undefined);
    }
  }

  private async runPass(info: CleanableLog, now: number, rethrow = false): Promise<CleanResult | null> {
    const key = tpKey(info.log.topicPartition);
    const pass: Pass = { key, aborted: this.stopping ? 'the cleaner is stopping' : null, done: Promise.resolve() };
    const work = this.clean(info, now, pass);
    pass.done = work;
    this.passes.set(key, pass);
    try {
      const result = await work;
      this.failedUntil.delete(key);
      if (result === null) {
        this.stalled.set(key, stallSignature(info));
        return null;
      }
      this.stalled.delete(key);
      return result;
    } catch (err) {
      if (err instanceof CleanerAbortedError) {
        this.stats.abortedPasses++;
        this.logger.info('log cleaning aborted', { partition: key, reason: err.message });
        if (rethrow) throw err;
        return null;
      }
      this.stats.failedPasses++;
      this.failedUntil.set(key, now + Math.max(60_000, this.backoffMs * 10));
      this.logger.error('log cleaning failed; the log is skipped for a while', { partition: key, err: String(err) });
      if (rethrow) throw err;
      return null;
    } finally {
      this.passes.delete(key);
    }
  }

  // ---- choosing ----------------------------------------------------------

  /** Works out a log's clean and dirty parts and whether it is due; null when it is not compacted. */
  async examine(log: PartitionLog, dir: string, now: number = this.now()): Promise<CleanableLog | null> {
    const view = log.cleanerView();
    const config = view.config;
    if (!config.cleanupPolicy.includes('compact') || !log.isOpen) return null;
    this.subscribe(log, dir);
    const key = tpKey(log.topicPartition);
    const segments = view.segments;
    const active = segments[segments.length - 1]!;
    const logStart = view.logStartOffset;
    let firstDirty = this.checkpoints.get(dir)?.get(key) ?? logStart;
    if (firstDirty < logStart) firstDirty = logStart;
    if (firstDirty > active.baseOffset) {
      this.logger.warn('the cleaner checkpoint is past the log; cleaning from the log start', { partition: key, checkpoint: firstDirty });
      firstDirty = logStart;
    }
    let firstUncleanable = Math.min(active.baseOffset, view.highWatermark);
    const unstable = this.firstUnstable?.(log);
    if (unstable !== undefined && unstable >= 0) firstUncleanable = Math.min(firstUncleanable, unstable);
    const minLag = config.minCompactionLagMs ?? DEFAULT_COMPACTION.minCompactionLagMs;
    if (minLag > 0) {
      for (let i = 0; i < segments.length - 1; i++) {
        const seg = segments[i]!;
        if (segments[i + 1]!.baseOffset <= firstDirty) continue;
        if (seg.largestTimestamp > now - minLag) {
          firstUncleanable = Math.min(firstUncleanable, seg.baseOffset);
          break;
        }
      }
    }
    let cleanBytes = 0;
    let dirtyBytes = 0;
    for (let i = 0; i < segments.length - 1; i++) {
      const seg = segments[i]!;
      const end = segments[i + 1]!.baseOffset;
      if (end > logStart && seg.baseOffset < firstDirty) cleanBytes += seg.size;
      if (end > firstDirty && seg.baseOffset < firstUncleanable) dirtyBytes += seg.size;
    }
    const total = cleanBytes + dirtyBytes;
    const dirtyRatio = total > 0 ? dirtyBytes / total : 0;
    const minRatio = config.minCleanableDirtyRatio ?? DEFAULT_COMPACTION.minCleanableDirtyRatio;
    const maxLag = config.maxCompactionLagMs ?? DEFAULT_COMPACTION.maxCompactionLagMs;
    let lagExceeded = false;
    if (dirtyBytes > 0 && !isNever(maxLag)) {
      const seg = segments[Math.max(0, floorIndex(segments, firstDirty))]!;
      const first = await firstBatchTimestamp(seg);
      lagExceeded = first >= 0 && now - first > maxLag;
    }
    const horizon = this.pendingHorizons.get(key);
    const horizonDue = horizon !== undefined && horizon <= now && cleanBytes + dirtyBytes > 0;
    const due = (dirtyBytes > 0 && (dirtyRatio >= minRatio || lagExceeded)) || horizonDue;
    return {
      log,
      dir,
      view,
      firstDirtyOffset: firstDirty,
      firstUncleanableOffset: Math.max(firstUncleanable, firstDirty),
      cleanBytes,
      dirtyBytes,
      dirtyRatio,
      lagExceeded,
      horizonDue,
      due,
    };
  }

  // ---- cleaning ----------------------------------------------------------

  private async clean(info: CleanableLog, now: number, pass: Pass): Promise<CleanResult | null> {
    const started = performance.now();
    const { log, dir, view } = info;
    const config = view.config;
    const key = pass.key;
    const segments = view.segments;
    const inactive = segments.slice(0, -1);
    const firstDirty = info.firstDirtyOffset;
    const tally = newTally();

    // 2. The offset map over the dirty part.
    const map = new OffsetMap(this.mapBudgetBytes);
    const producers = new Map<bigint, number>();
    const pendingTxns = new Map<bigint, { records: Array<[Buffer, number]>; cost: number }>();
    let pendingCost = 0;
    let endOffset = firstDirty;
    let mapFull = false;
    mapping: for (let i = 0; i < inactive.length; i++) {
      const seg = inactive[i]!;
      if (segments[i + 1]!.baseOffset <= firstDirty) continue;
      if (seg.baseOffset >= info.firstUncleanableOffset) break;
      const from = seg.baseOffset < firstDirty ? await seg.lookupPosition(firstDirty) : 0;
      for await (const { batch, header } of this.readBatches(seg, from, pass)) {
        if (header.lastOffset < firstDirty) continue;
        if (header.lastOffset >= info.firstUncleanableOffset) break mapping;
        tally.bytesRead += header.size;
        const facts = batchFacts(batch);
        if (facts.isControl) {
          // A transaction marker settles the producer's pending transactional records.
          const txn = pendingTxns.get(facts.producerId);
          if (txn !== undefined) {
            pendingTxns.delete(facts.producerId);
            pendingCost -= txn.cost;
            if ((await markerType(batch, facts, this.decompress)) === COMMIT_MARKER) {
              for (const [k, offset] of txn.records) map.put(k, offset);
            }
          }
          endOffset = header.lastOffset + 1;
          continue;
        }
        const read = await readRecords(batch, facts, this.decompress);
        if ('problem' in read) {
          // Not mapped: its records, and older ones of the same keys, all stay.
          this.logger.warn('cannot read a batch while mapping; its keys are not compacted this pass', {
            partition: key,
            baseOffset: header.baseOffset,
            problem: read.problem,
          });
          endOffset = header.lastOffset + 1;
          continue;
        }
        let cost = 0;
        for (const r of read.records) if (r.key !== null) cost += OffsetMap.cost(r.key.length);
        if ((map.size > 0 || pendingCost > 0) && !map.fits(cost + pendingCost)) {
          mapFull = true;
          break mapping;
        }
        if (facts.isTransactional) {
          // Mapped only once its COMMIT marker shows up in this pass: an aborted
          // or still open transaction must not make older values disappear.
          let txn = pendingTxns.get(facts.producerId);
          if (txn === undefined) {
            txn = { records: [], cost: 0 };
            pendingTxns.set(facts.producerId, txn);
          }
          // Keys are copied: a view would pin the whole read buffer until the marker.
          for (const r of read.records) if (r.key !== null) txn.records.push([Buffer.from(r.key), header.baseOffset + r.offsetDelta]);
          txn.cost += cost;
          pendingCost += cost;
        } else {
          for (const r of read.records) if (r.key !== null) map.put(r.key, header.baseOffset + r.offsetDelta);
        }
        if (facts.producerId >= 0n) producers.set(facts.producerId, facts.baseOffset);
        endOffset = header.lastOffset + 1;
      }
    }
    if (endOffset === firstDirty && !info.horizonDue) return null;

    // 3 + 4. Rewrite [log start, endOffset) group by group, swapping each in.
    const policy: FilterPolicy = {
      now,
      deleteRetentionMs: config.deleteRetentionMs ?? DEFAULT_COMPACTION.deleteRetentionMs,
      latestOffset: (k) => map.get(k),
      retainEmpty: (producerId, baseOffset) =>
        baseOffset >= firstDirty ? producers.get(producerId) === baseOffset : !producers.has(producerId),
      decompress: this.decompress,
      compress: this.compress,
    };
    const toClean = inactive.filter((s) => s.baseOffset < endOffset);
    const endOf = (seg: LogSegment) => segments[segments.indexOf(seg) + 1]!.baseOffset;
    const outcome = { bytesWritten: 0, segmentsReplaced: 0, segmentsWritten: 0, pendingHorizon: -1 };
    for (let i = 0; i < toClean.length; ) {
      i += await this.cleanGroup(log, config, toClean.slice(i), endOf, endOffset, policy, pass, tally, outcome);
    }

    this.setCheckpoint(dir, key, Math.max(endOffset, firstDirty));
    await this.writeCheckpoint(dir);
    if (outcome.pendingHorizon >= 0) this.pendingHorizons.set(key, outcome.pendingHorizon);
    else this.pendingHorizons.delete(key);

    const result: CleanResult = {
      topic: log.topicPartition.topic,
      partition: log.topicPartition.partition,
      firstDirtyOffset: firstDirty,
      endOffset: Math.max(endOffset, firstDirty),
      dirtyRatio: info.dirtyRatio,
      mapFull,
      mapEntries: map.size,
      bytesRead: tally.bytesRead,
      bytesWritten: outcome.bytesWritten,
      recordsRead: tally.recordsRead,
      recordsRemoved: tally.recordsRemoved,
      tombstonesRemoved: tally.tombstonesRemoved,
      keylessRemoved: tally.keylessRemoved,
      segmentsReplaced: outcome.segmentsReplaced,
      segmentsWritten: outcome.segmentsWritten,
      durationMs: performance.now() - started,
    };
    const s = this.stats;
    s.passes++;
    s.bytesRead += result.bytesRead;
    s.bytesWritten += result.bytesWritten;
    s.recordsRead += result.recordsRead;
    s.recordsRemoved += result.recordsRemoved;
    s.tombstonesRemoved += result.tombstonesRemoved;
    s.keylessRemoved += result.keylessRemoved;
    s.segmentsReplaced += result.segmentsReplaced;
    s.segmentsWritten += result.segmentsWritten;
    s.lastPass = result;
    this.logger.info('cleaned log', {
      partition: key,
      endOffset: result.endOffset,
      recordsRemoved: result.recordsRemoved,
      bytesRead: result.bytesRead,
      bytesWritten: result.bytesWritten,
      segmentsReplaced: result.segmentsReplaced,
      durationMs: Math.round(result.durationMs),
    });
    return result;
  }

  /**
   * Cleans the next group of `candidates` into one `.cleaned` segment and
   * swaps it in. The group grows while the cleaned output so far plus the
   * next segment's size fits segment.bytes (Kafka groups by the segments'
   * sizes before cleaning; counting what was kept also merges the small
   * segments a first pass leaves, and segments that became empty) and the
   * offsets fit the index's 32-bit relative offsets. Returns how many
   * segments it replaced: trailing members left with no batch at all are
   * not replaced (they start the next group), so the cleaned segment's
   * offsets reach into every segment it replaces, which crash recovery
   * relies on (see swap.ts).
   */
  private async cleanGroup(
    log: PartitionLog,
    config: LogConfig,
    candidates: readonly LogSegment[],
    endOf: (seg: LogSegment) => number,
    endOffset: number,
    policy: FilterPolicy,
    pass: Pass,
    tally: Tally,
    outcome: { bytesWritten: number; segmentsReplaced: number; segmentsWritten: number; pendingHorizon: number },
  ): Promise<number> {
    const base = candidates[0]!.baseOffset;
    const group: LogSegment[] = [];
    const segmentDir = log.dir;
    const paths = cleanedPaths(segmentDir, base);
    await removeCleaned(segmentDir, base);
    let fh: FileHandle | null = await open(paths.log, 'wx');
    try {
      const offsetIndex = new OffsetIndex(paths.index, base, config.segmentIndexBytes);
      const timeIndex = new TimeIndex(paths.timeIndex, base, config.segmentIndexBytes);
      offsetIndex.reset();
      timeIndex.reset();
      let position = 0;
      let written = 0;
      let bytesSinceIndexEntry = 0;
      let maxTimestamp = -1;
      let offsetOfMaxTimestamp = -1;
      let lastMember = -1;
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const changed: boolean[] = [];
      const tallies: Tally[] = [];
      const horizons: number[] = [];
      const flush = async () => {
        if (pendingBytes === 0) return;
        const buf = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
        await writeAt(fh!, buf, 0, buf.length, written);
        written += buf.length;
        await this.throttle(buf.length);
        pending = [];
        pendingBytes = 0;
      };
      for (let m = 0; m < candidates.length; m++) {
        const member = candidates[m]!;
        if (m > 0 && (position + member.size > config.segmentBytes || endOf(member) - 1 - base > INT32_MAX)) break;
        group.push(member);
        const memberTally = newTally();
        let memberChanged = false;
        let memberHorizon = -1;
        for await (const { batch, header } of this.readBatches(member, 0, pass)) {
          memberTally.bytesRead += header.size;
          let out: Buffer | null = batch;
          if (header.lastOffset < endOffset) {
            const r = await filterBatch(batch, policy);
            memberTally.recordsRead += r.recordsRead;
            memberTally.recordsRemoved += r.recordsRemoved;
            memberTally.tombstonesRemoved += r.tombstonesRemoved;
            memberTally.keylessRemoved += r.keylessRemoved;
            if (r.problem !== null) {
              this.logger.warn('kept a batch the cleaner cannot read', { partition: tpKey(log.topicPartition), baseOffset: header.baseOffset, problem: r.problem });
            }
            if (r.action !== 'keep') memberChanged = true;
            out = r.action === 'drop' ? null : (r.batch ?? batch);
            if (r.pendingHorizon >= 0 && (memberHorizon < 0 || r.pendingHorizon < memberHorizon)) memberHorizon = r.pendingHorizon;
          }
          if (out !== null) {
            const batchMax = readInt64(out, MAX_TIMESTAMP);
            if (batchMax > maxTimestamp) {
              maxTimestamp = batchMax;
              offsetOfMaxTimestamp = header.lastOffset;
            }
            if (bytesSinceIndexEntry >= config.indexIntervalBytes && position > 0) {
              offsetIndex.append(header.lastOffset, position);
              timeIndex.maybeAppend(maxTimestamp, offsetOfMaxTimestamp);
              bytesSinceIndexEntry = 0;
            }
            bytesSinceIndexEntry += out.length;
            position += out.length;
            if (position > INT32_MAX) throw new Error(`cleaned segment ${base} would exceed 2 GiB`);
            pending.push(out);
            pendingBytes += out.length;
            lastMember = m;
            if (pendingBytes >= this.ioBufferBytes) await flush();
          }
        }
        changed.push(memberChanged);
        tallies.push(memberTally);
        horizons.push(memberHorizon);
      }
      await flush();
      const replaced = Math.max(1, lastMember + 1);
      for (let m = 0; m < replaced; m++) {
        addTally(tally, tallies[m]!);
        const h = horizons[m]!;
        if (h >= 0 && (outcome.pendingHorizon < 0 || h < outcome.pendingHorizon)) outcome.pendingHorizon = h;
      }
      if (replaced === 1 && !changed[0]) {
        // Nothing to gain: leave the segment as it is.
        await fh.close();
        fh = null;
        await removeCleaned(segmentDir, base);
        return 1;
      }
      timeIndex.maybeAppend(maxTimestamp, offsetOfMaxTimestamp);
      await offsetIndex.persist(true);
      await timeIndex.persist(true);
      await fh.sync();
      // Time-based retention (compact,delete) must not see the cleaned segment as new.
      const mtime = Math.max(...group.slice(0, replaced).map((s) => s.lastModifiedMs));
      await fh.utimes(new Date(mtime), new Date(mtime));
      await fh.close();
      fh = null;
      this.checkAborted(pass);
      const old = group.slice(0, replaced);
      if (!(await log.replaceSegments(old, this.swapHooks))) {
        throw new CleanerAbortedError('the log changed while it was being cleaned');
      }
      outcome.bytesWritten += written;
      outcome.segmentsReplaced += old.length;
      outcome.segmentsWritten++;
      return replaced;
    } catch (err) {
      await fh?.close().catch(() => undefined);
      await removeCleaned(segmentDir, base).catch(() => undefined);
      throw err;
    }
  }

  // ---- reading, pacing ---------------------------------------------------

  /** Whole batches of a pinned segment from `from` to its end, read in io-buffer chunks. */
  private async *readBatches(seg: LogSegment, from: number, pass: Pass): AsyncGenerator<{ batch: Buffer; header: BatchHeader }> {
    seg.retain();
    try {
      if (seg.isClosed) throw new CleanerAbortedError(`segment ${seg.baseOffset} was deleted`);
      const end = seg.size;
      let pos = from;
      let buf: Buffer = Buffer.alloc(0);
      let bufStart = pos;
      while (pos < end) {
        this.checkAborted(pass);
        if (pos + HEADER_SIZE > bufStart + buf.length) {
          buf = await seg.readAt(pos, Math.min(end - pos, this.ioBufferBytes));
          bufStart = pos;
          await this.throttle(buf.length);
        }
        let at = pos - bufStart;
        const problem = buf.length - at < HEADER_SIZE ? 'short read' : headerProblem(buf, at, end - pos);
        if (problem !== null) throw new Error(`${seg.logPath} at position ${pos}: ${problem}`);
        const header = readHeader(buf, at, pos);
        if (at + header.size > buf.length) {
          buf = await seg.readAt(pos, Math.max(header.size, Math.min(end - pos, this.ioBufferBytes)));
          bufStart = pos;
          at = 0;
          if (buf.length < header.size) throw new Error(`${seg.logPath} at position ${pos}: short read`);
          await this.throttle(buf.length);
        }
        yield { batch: buf.subarray(at, at + header.size), header };
        pos += header.size;
        await this.maybeYield();
      }
    } finally {
      seg.release();
    }
  }

  private checkAborted(pass: Pass): void {
    if (pass.aborted !== null) throw new CleanerAbortedError(pass.aborted);
  }

  private async maybeYield(): Promise<void> {
    if (performance.now() - this.lastYield < YIELD_EVERY_MS) return;
    await yieldToEventLoop();
    this.lastYield = performance.now();
  }

  /** log.cleaner.io.max.bytes.per.second: sleeps when the I/O so far runs ahead of the rate. */
  private async throttle(bytes: number): Promise<void> {
    if (this.ioMaxBytesPerSecond === Infinity) return;
    this.throttleBytes += bytes;
    const elapsed = performance.now() - this.throttleStart;
    const due = (this.throttleBytes / this.ioMaxBytesPerSecond) * 1000;
    if (due > elapsed) await sleep(due - elapsed);
    if (elapsed > 1000) {
      this.throttleStart = performance.now();
      this.throttleBytes = 0;
    }
  }
}

const COMMIT_MARKER = 1;

/** The type of a control batch's marker (0 ABORT, 1 COMMIT, ...), -1 when it cannot be read. */
async function markerType(batch: Buffer, facts: ReturnType<typeof batchFacts>, decompress: Decompressor): Promise<number> {
  const read = await readRecords(batch, facts, decompress);
  if ('problem' in read || read.records.length === 0) return -1;
  const key = read.records[0]!.key;
  return key !== null && key.length >= 4 ? key.readInt16BE(2) : -1;
}

function stallSignature(info: CleanableLog): string {
  return `${info.firstDirtyOffset}:${info.firstUncleanableOffset}:${info.horizonDue}`;
}

/** Index of the last segment whose base offset is <= offset, or -1. */
function floorIndex(segments: readonly LogSegment[], offset: number): number {
  let found = -1;
  for (let i = 0; i < segments.length; i++) {
    if (segments[i]!.baseOffset <= offset) found = i;
    else break;
  }
  return found;
}

/** The max timestamp of a segment's first batch (Kafka's "first batch timestamp"), -1 when empty or unreadable. */
async function firstBatchTimestamp(seg: LogSegment): Promise<number> {
  if (seg.firstBatchTimestamp !== undefined && seg.firstBatchTimestamp >= 0) return seg.firstBatchTimestamp;
  seg.retain();
  try {
    if (seg.isClosed || seg.size < HEADER_SIZE) return -1;
    const head = await seg.readAt(0, HEADER_SIZE);
    return head.length === HEADER_SIZE ? readHeader(head, 0, 0).maxTimestamp : -1;
  } finally {
    seg.release();
  }
}
