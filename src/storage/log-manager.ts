/**
 * LogManager: every partition log of one broker, across its log.dirs.
 *
 * Per log directory, as Kafka lays it out:
 *   <topic>-<partition>/                   one PartitionLog each
 *   <topic>-<partition>.<id>-delete/       a deleted log, removed in the background
 *   recovery-point-offset-checkpoint       flushed-up-to offset per partition
 *   log-start-offset-checkpoint            log start offset per partition
 *   replication-offset-checkpoint          high watermark per partition
 *   cleaner-offset-checkpoint              where each compacted log's dirty part starts
 *   .kafka_cleanshutdown                   written by close(), removed at open:
 *                                          its absence at open means a crash,
 *                                          so logs recover from their recovery point
 *
 * Background work runs on unref'd timers: retention (retentionCheckIntervalMs),
 * time-based flush (only for logs whose flushIntervalMs is finite), and the
 * checkpoint writers; the log cleaner (compaction, cleaner/) runs its own
 * loop, started and stopped with the manager. close() stops the cleaner,
 * flushes every log, then writes the checkpoints and the clean-shutdown marker.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open as openFile, readdir, rename, rm, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Logger, silentLogger } from '../logging.js';
import type { Decompressor } from './batch-header.js';
import {
  type CheckpointEntry,
  LOG_START_OFFSET_CHECKPOINT,
  RECOVERY_POINT_CHECKPOINT,
  REPLICATION_OFFSET_CHECKPOINT,
  readCheckpointFile,
  writeCheckpointFile,
} from './checkpoint.js';
import { exists, syncDir, writeFileAtomic } from './file-io.js';
import { IndexCache } from './index-file.js';
import { type LogConfig, validateLogConfig } from './log-config.js';
import { PartitionLog, type RetentionResult } from './partition-log.js';
import { LogCleaner, type LogCleanerConfig } from './cleaner/cleaner.js';
import { type TopicPartition, checkTopicPartition, parseTopicPartitionDir, tpKey } from './topic-partition.js';

export const CLEAN_SHUTDOWN_FILE = '.kafka_cleanshutdown';
const DELETE_DIR_SUFFIX = '-delete';

export interface LogManagerOptions {
  /** Config of an existing topic's logs at open (topic overrides); default: the default config. */
  topicConfig?: (topic: string) => LogConfig | undefined;
  /** log.retention.check.interval.ms. Default 300000. */
  retentionCheckIntervalMs?: number;
  /** How often logs with a finite flushIntervalMs are checked (log.flush.scheduler.interval.ms). Default 1000. */
  flushCheckIntervalMs?: number;
  /** log.flush.offset.checkpoint.interval.ms. Default 60000. */
  recoveryPointCheckpointIntervalMs?: number;
  /** log.flush.start.offset.checkpoint.interval.ms. Default 60000. */
  logStartOffsetCheckpointIntervalMs?: number;
  /** replica.high.watermark.checkpoint.interval.ms. Default 5000. */
  highWatermarkCheckpointIntervalMs?: number;
  /** num.recovery.threads.per.data.dir: logs opened (recovered) at once per directory. Default 2. */
  recoveryThreadsPerDataDir?: number;
  /** Memory budget for the indexes of inactive segments. Default 64 MiB. */
  indexCacheBytes?: number;
  /** Run the background timers. Default true (tests turn them off and call the tasks). */
  timers?: boolean;
  /**
   * The log cleaner's settings (log.cleaner.*); it runs with the timers.
   * Default: Kafka's defaults (enabled). `false` creates no cleaner.
   */
  cleaner?: LogCleanerConfig | false;
  logger?: Logger;
  decompress?: Decompressor;
  now?: () => number;
}

interface Entry {
  log: PartitionLog;
  dir: string;
}

interface Task {
  name: string;
  timer: NodeJS.Timeout | null;
  running: Promise<void> | null;
}

type CheckpointKind = typeof RECOVERY_POINT_CHECKPOINT | typeof LOG_START_OFFSET_CHECKPOINT | typeof REPLICATION_OFFSET_CHECKPOINT;

export class LogManager {
  private readonly logs = new Map<string, Entry>();
  private readonly creating = new Map<string, Promise<PartitionLog>>();
  private readonly dirDeletions = new Set<Promise<void>>();
  private readonly tasks: Task[] = [];
  private checkpointChain: Promise<void> = Promise.resolve();
  private closed = false;
  private closing: Promise<void> | null = null;
  private readonly logger: Logger;
  private readonly cache: IndexCache;
  private readonly now: () => number;
  private logCleaner: LogCleaner | null = null;
  /** Whether each log directory had been shut down cleanly (by absolute path). */
  readonly cleanShutdown = new Map<string, boolean>();

  private constructor(
    readonly logDirs: readonly string[],
    private defaultCfg: LogConfig,
    private readonly options: LogManagerOptions,
  ) {
    this.logger = options.logger ?? silentLogger;
    this.cache = new IndexCache(options.indexCacheBytes ?? 64 * 1024 * 1024);
    this.now = options.now ?? Date.now;
  }

  /**
   * Opens every log under `logDirs` (creating the directories), recovering
   * those of a directory that was not shut down cleanly. Fails with a clear
   * error when a directory is not writable.
   */
  static async open(logDirs: readonly string[], defaultConfig: LogConfig, options: LogManagerOptions = {}): Promise<LogManager> {
    if (logDirs.length === 0) throw new Error('log.dirs is empty');
    validateLogConfig(defaultConfig);
    const dirs = logDirs.map((d) => resolve(d));
    if (new Set(dirs).size !== dirs.length) throw new Error(`log.dirs lists a directory twice: ${logDirs.join(',')}`);
    const manager = new LogManager(dirs, defaultConfig, options);
    try {
      for (const dir of dirs) await manager.checkWritable(dir);
      await Promise.all(dirs.map((dir) => manager.loadDir(dir)));
      await manager.createCleaner();
    } catch (err) {
      await Promise.all([...manager.logs.values()].map((e) => e.log.close().catch(() => undefined)));
      throw err;
    }
    if (options.timers ?? true) manager.startTimers();
    return manager;
  }

  get defaultConfig(): LogConfig {
    return this.defaultCfg;
  }

  /** The log cleaner (compaction), or null when configured off. */
  get cleaner(): LogCleaner | null {
    return this.logCleaner;
  }

  private async createCleaner(): Promise<void> {
    const settings = this.options.cleaner;
    if (settings === false) return;
    const cleaner = new LogCleaner(
      { logs: () => this.logs.values(), logDirs: this.logDirs },
      { decompress: this.options.decompress, ...settings },
      { logger: this.logger, now: this.options.now },
    );
    await cleaner.loadCheckpoints();
    this.logCleaner = cleaner;
  }

  private async checkWritable(dir: string): Promise<void> {
    const probe = join(dir, `.ganglion-write-probe-${process.pid}-${randomUUID()}`);
    try {
      await mkdir(dir, { recursive: true });
      const fh = await openFile(probe, 'wx');
      await fh.close();
      await unlink(probe);
    } catch (err) {
      throw new Error(`log directory ${dir} is not usable (it must be a writable directory): ${(err as Error).message}`, { cause: err });
    }
  }

  private async loadDir(dir: string): Promise<void> {
    const marker = join(dir, CLEAN_SHUTDOWN_FILE);
    const clean = await exists(marker);
    this.cleanShutdown.set(dir, clean);
    const recoveryPoints = await this.readCheckpoint(dir, RECOVERY_POINT_CHECKPOINT);
    const startOffsets = await this.readCheckpoint(dir, LOG_START_OFFSET_CHECKPOINT);
    const highWatermarks = await this.readCheckpoint(dir, REPLICATION_OFFSET_CHECKPOINT);
    const entries = await readdir(dir, { withFileTypes: true });
    const toOpen: Array<{ tp: TopicPartition; path: string }> = [];
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const path = join(dir, entry.name);
      if (entry.name.endsWith(DELETE_DIR_SUFFIX)) {
        this.removeDirInBackground(path);
        continue;
      }
      const tp = parseTopicPartitionDir(entry.name);
      if (tp === null) {
        this.logger.warn('ignoring a directory that is not a partition log', { path });
        continue;
      }
      toOpen.push({ tp, path });
    }
    // A brand-new directory has nothing to recover and deserves no warning.
    if (!clean && toOpen.length > 0) this.logger.warn('log directory was not shut down cleanly; recovering its logs', { dir });
    const threads = Math.max(1, this.options.recoveryThreadsPerDataDir ?? 2);
    let next = 0;
    const worker = async () => {
      while (next < toOpen.length) {
        const { tp, path } = toOpen[next++]!;
        const key = tpKey(tp);
        const log = await PartitionLog.open(path, tp, this.configFor(tp.topic), {
          hadCleanShutdown: clean,
          recoveryPoint: recoveryPoints.get(key)?.offset,
          logStartOffset: startOffsets.get(key)?.offset,
          highWatermark: highWatermarks.get(key)?.offset,
          indexCache: this.cache,
          logger: this.logger,
          decompress: this.options.decompress,
          now: this.options.now,
        });
        const existing = this.logs.get(key);
        if (existing !== undefined) {
          await log.close();
          throw new Error(`partition ${key} has logs in two directories: ${existing.dir} and ${dir}`);
        }
        this.logs.set(key, { log, dir });
      }
    };
    await Promise.all(Array.from({ length: Math.min(threads, toOpen.length) }, worker));
    // Only now that every log is loaded: the next start after a crash must recover.
    if (clean) {
      await rm(marker, { force: true });
      await syncDir(dir);
    }
  }

  private async readCheckpoint(dir: string, kind: CheckpointKind): Promise<Map<string, CheckpointEntry>> {
    try {
      return await readCheckpointFile(join(dir, kind));
    } catch (err) {
      this.logger.warn('ignoring an unreadable checkpoint file', { dir, kind, err: String(err) });
      return new Map();
    }
  }

  private configFor(topic: string): LogConfig {
    return this.options.topicConfig?.(topic) ?? this.defaultCfg;
  }

  // ---- logs ------------------------------------------------------------

  getLog(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(tpKey({ topic, partition }))?.log;
  }

  /** The log directory holding the partition, or undefined. */
  logDirOf(topic: string, partition: number): string | undefined {
    return this.logs.get(tpKey({ topic, partition }))?.dir;
  }

  allLogs(): PartitionLog[] {
    return [...this.logs.values()].map((e) => e.log);
  }

  logsInDir(dir: string): PartitionLog[] {
    const abs = resolve(dir);
    return [...this.logs.values()].filter((e) => e.dir === abs).map((e) => e.log);
  }

  /**
   * Creates the partition's log in the directory holding the fewest logs, or
   * returns the existing one (as it is: its stored topic id is the caller's
   * to check). `config` defaults to the topic's config; a known `topicId` is
   * stored with a new log (partition.metadata) before it becomes visible.
   */
  createLog(topic: string, partition: number, config?: LogConfig, topicId?: string): Promise<PartitionLog> {
    if (this.closed || this.closing) return Promise.reject(new Error('the log manager is closed'));
    const tp = { topic, partition };
    checkTopicPartition(tp);
    const key = tpKey(tp);
    const existing = this.logs.get(key);
    if (existing) return Promise.resolve(existing.log);
    const pending = this.creating.get(key);
    if (pending) return pending;
    const creation = (async () => {
      const counts = new Map(this.logDirs.map((d) => [d, 0]));
      for (const e of this.logs.values()) counts.set(e.dir, (counts.get(e.dir) ?? 0) + 1);
      const dir = [...counts.entries()].sort((a, b) => a[1] - b[1])[0]![0];
      const log = await PartitionLog.open(join(dir, key), tp, config ?? this.configFor(topic), {
        indexCache: this.cache,
        logger: this.logger,
        decompress: this.options.decompress,
        now: this.options.now,
      });
      if (topicId !== undefined) {
        try {
          await log.assignTopicId(topicId);
        } catch (err) {
          await log.close().catch(() => undefined);
          throw err;
        }
      }
      this.logs.set(key, { log, dir });
      return log;
    })().finally(() => this.creating.delete(key));
    this.creating.set(key, creation);
    return creation;
  }

  /**
   * Deletes the partition's log: closes it, renames its directory to
   * `<topic>-<partition>.<id>-delete` (gone from the broker's view at once),
   * and removes it in the background. Returns false when there is no such log.
   */
  async deleteLog(topic: string, partition: number): Promise<boolean> {
    const key = tpKey({ topic, partition });
    const entry = this.logs.get(key);
    if (!entry) return false;
    await this.logCleaner?.forgetLog(entry.log, entry.dir);
    this.logs.delete(key);
    await entry.log.closeForDeletion();
    const doomed = `${entry.log.dir}.${randomUUID().replace(/-/g, '')}${DELETE_DIR_SUFFIX}`;
    await rename(entry.log.dir, doomed);
    await syncDir(entry.dir);
    this.removeDirInBackground(doomed);
    await this.writeCheckpoints(entry.dir);
    await this.logCleaner?.writeCheckpoint(entry.dir);
    this.logger.info('deleted log', { partition: key });
    return true;
  }

  private removeDirInBackground(path: string): void {
    const done: Promise<void> = rm(path, { recursive: true, force: true })
      .catch((err: unknown) => this.logger.error('could not remove a deleted log directory', { path, err: String(err) }))
      .finally(() => this.dirDeletions.delete(done));
    this.dirDeletions.add(done);
  }

  /** Applies a topic's new config to its open logs. */
  updateTopicConfig(topic: string, config: LogConfig): void {
    validateLogConfig(config);
    for (const { log } of this.logs.values()) if (log.topicPartition.topic === topic) log.updateConfig(config);
  }

  /** Replaces the default config; logs of topics without overrides (per topicConfig) follow it. */
  updateDefaultConfig(config: LogConfig): void {
    validateLogConfig(config);
    this.defaultCfg = config;
    for (const { log } of this.logs.values()) {
      if (this.options.topicConfig?.(log.topicPartition.topic) === undefined) log.updateConfig(config);
    }
  }

  // ---- background tasks -----------------------------------------------

  /** One retention pass over every log; returns what each log deleted (logs that deleted nothing omitted). */
  async runRetention(nowMs = this.now()): Promise<Map<string, RetentionResult>> {
    const results = new Map<string, RetentionResult>();
    for (const [key, { log }] of this.logs) {
      if (!log.isOpen) continue;
      try {
        const r = await log.applyRetention(nowMs);
        if (r.deletedSegments > 0) results.set(key, r);
      } catch (err) {
        this.logger.error('retention failed', { partition: key, err: String(err) });
      }
    }
    if (results.size > 0) await this.writeCheckpoints();
    return results;
  }

  /** Flushes the logs whose flushIntervalMs has passed. Returns how many were flushed. */
  async flushDueLogs(nowMs = this.now()): Promise<number> {
    let flushed = 0;
    for (const [key, { log }] of this.logs) {
      try {
        if (await log.maybeFlushByTime(nowMs)) flushed++;
      } catch (err) {
        this.logger.error('flush failed', { partition: key, err: String(err) });
      }
    }
    return flushed;
  }

  /** Writes the given checkpoint kinds (all by default) of one directory or of every directory. */
  writeCheckpoints(dir?: string, kinds: readonly CheckpointKind[] = [RECOVERY_POINT_CHECKPOINT, LOG_START_OFFSET_CHECKPOINT, REPLICATION_OFFSET_CHECKPOINT]): Promise<void> {
    const dirs = dir === undefined ? this.logDirs : [resolve(dir)];
    const run = this.checkpointChain.then(async () => {
      for (const d of dirs) {
        const logs = this.logsInDir(d);
        for (const kind of kinds) {
          const entries = logs.map((log) => ({ ...log.topicPartition, offset: checkpointValue(log, kind) }));
          await writeCheckpointFile(join(d, kind), entries);
        }
      }
    });
    this.checkpointChain = run.catch(() => undefined);
    return run;
  }

  private startTimers(): void {
    const o = this.options;
    this.logCleaner?.start();
    this.schedule('retention', o.retentionCheckIntervalMs ?? 300_000, async () => {
      await this.runRetention();
    });
    this.schedule('flush', o.flushCheckIntervalMs ?? 1000, async () => {
      await this.flushDueLogs();
    });
    this.schedule('recovery-point-checkpoint', o.recoveryPointCheckpointIntervalMs ?? 60_000, () =>
      this.writeCheckpoints(undefined, [RECOVERY_POINT_CHECKPOINT]),
    );
    this.schedule('log-start-offset-checkpoint', o.logStartOffsetCheckpointIntervalMs ?? 60_000, () =>
      this.writeCheckpoints(undefined, [LOG_START_OFFSET_CHECKPOINT]),
    );
    this.schedule('high-watermark-checkpoint', o.highWatermarkCheckpointIntervalMs ?? 5000, () =>
      this.writeCheckpoints(undefined, [REPLICATION_OFFSET_CHECKPOINT]),
    );
  }

  private schedule(name: string, intervalMs: number, work: () => Promise<void>): void {
    // setInterval takes at most a 32-bit delay; longer means "effectively never".
    if (!(intervalMs > 0) || intervalMs > 0x7fffffff) return;
    const task: Task = { name, timer: null, running: null };
    task.timer = setInterval(() => {
      if (task.running || this.closed) return;
      task.running = work()
        .catch((err: unknown) => this.logger.error('background task failed', { task: name, err: String(err) }))
        .finally(() => {
          task.running = null;
        });
    }, intervalMs);
    task.timer.unref();
    this.tasks.push(task);
  }

  // ---- shutdown --------------------------------------------------------

  /** Stops the timers, flushes and closes every log, writes the checkpoints and the clean-shutdown markers. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    await this.logCleaner?.stop();
    for (const task of this.tasks) if (task.timer) clearInterval(task.timer);
    await Promise.all(this.tasks.map((t) => t.running));
    await Promise.all([...this.creating.values()].map((p) => p.catch(() => undefined)));
    const failures: unknown[] = [];
    await Promise.all(
      [...this.logs.values()].map(({ log }) =>
        log.close().catch((err: unknown) => {
          failures.push(err);
          this.logger.error('closing a log failed', { partition: tpKey(log.topicPartition), err: String(err) });
        }),
      ),
    );
    await this.writeCheckpoints();
    if (failures.length === 0) {
      for (const dir of this.logDirs) await writeFileAtomic(join(dir, CLEAN_SHUTDOWN_FILE), '');
    }
    await Promise.all([...this.dirDeletions]);
    this.closed = true;
    if (failures.length > 0) throw new AggregateError(failures, 'some logs failed to close; no clean-shutdown marker written');
  }
}

function checkpointValue(log: PartitionLog, kind: CheckpointKind): number {
  switch (kind) {
    case RECOVERY_POINT_CHECKPOINT:
      return log.recoveryPoint;
    case LOG_START_OFFSET_CHECKPOINT:
      return log.logStartOffset;
    case REPLICATION_OFFSET_CHECKPOINT:
      return log.highWatermark;
  }
}
