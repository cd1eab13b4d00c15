/**
 * Producer state of one partition: what idempotent and transactional
 * producers have written, so a retried batch is recognised and answered with
 * its original offsets instead of being appended twice, gaps and stale epochs
 * are refused, and open transactions bound the last stable offset.
 *
 * Per producer id it keeps the epoch, the last MAX_BATCHES_PER_PRODUCER
 * batches (first/last sequence, first/last offset, timestamp), the
 * coordinator epoch of its last marker and the first offset of its open
 * transaction. Every check reads the batch header only (producer id, epoch,
 * base sequence, last offset delta, attributes): no record is decoded on the
 * produce path. Transaction markers (control batches, written by the broker)
 * are the one place a record is read.
 *
 * Rules, as Kafka's leader applies them to client batches:
 *   - an epoch older than the producer's          INVALID_PRODUCER_EPOCH
 *   - same epoch, same first and last sequence as
 *     one of the last batches                      duplicate: not appended,
 *                                                  answered with its offsets
 *   - a newer epoch must start at sequence 0      OUT_OF_ORDER_SEQUENCE_NUMBER
 *   - same epoch: first sequence = last + 1       OUT_OF_ORDER_SEQUENCE_NUMBER
 *     (wrapping after 2^31-1)
 *   - a producer this partition does not know (new, or expired) may start at
 *     any sequence
 *   - a non-transactional batch while the producer has a transaction open
 *     here                                         INVALID_TXN_STATE
 * The caller (the partition) serialises check, append and update, so the
 * three are atomic per partition.
 *
 * Durability: a snapshot of the whole state is written after the append
 * that rolled a segment and when the broker shuts down (close()), as
 * `<offset>.snapshot` in the partition directory, where offset is the end of
 * the log the state covers. Loading restores the newest usable snapshot and
 * replays the batches of the log after it (after a kill -9 that is about the
 * active segment). The
 * format is Ganglion's own (Kafka's keeps only the last batch per producer;
 * this keeps all the batches used for duplicate detection, so a retry after
 * a restart is still recognised).
 */
import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Logger, silentLogger } from '../logging.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { RecordBatch, readTxnMarker } from '../protocol/records/index.js';
import {
  ATTRIBUTES,
  BASE_SEQUENCE,
  CONTROL_FLAG,
  LAST_OFFSET_DELTA,
  MAX_TIMESTAMP,
  PRODUCER_EPOCH,
  PRODUCER_ID,
  TRANSACTIONAL_FLAG,
} from '../protocol/records/layout.js';
import { crc32c } from '../protocol/records/crc32c.js';
import { HEADER_SIZE, batchSize, readInt64, writeInt64 } from './batch-header.js';
import type { PartitionLog } from './partition-log.js';
import { type AbortedTxn, TxnIndex } from './txn-index.js';

export const MAX_BATCHES_PER_PRODUCER = 5;
export const SNAPSHOT_SUFFIX = '.snapshot';
const SNAPSHOT_MAGIC = 0x47505331; // "GPS1"
const SNAPSHOT_VERSION = 1;
const SNAPSHOTS_KEPT = 2;
const REPLAY_CHUNK = 1 << 20;
const INT32_MAX = 0x7fffffff;

/** The producer fields of a batch header. */
export interface ProducerBatchInfo {
  producerId: number;
  epoch: number;
  firstSeq: number;
  lastSeq: number;
  transactional: boolean;
  control: boolean;
  maxTimestamp: number;
  lastOffsetDelta: number;
}

export interface BatchMetadata {
  firstSeq: number;
  lastSeq: number;
  firstOffset: number;
  lastOffset: number;
  timestamp: number;
}

export interface ProducerEntry {
  producerId: number;
  epoch: number;
  /** Oldest first, at most MAX_BATCHES_PER_PRODUCER. */
  batches: BatchMetadata[];
  /** Broker time of the last write (expiration). */
  lastTimestamp: number;
  /** Coordinator epoch of the last transaction marker, -1 before any. */
  coordinatorEpoch: number;
  /** First offset of the open transaction in this partition, -1 when none. */
  currentTxnFirstOffset: number;
}

export type ClientBatchCheck =
  | { kind: 'duplicate'; batch: BatchMetadata }
  /** `startsTransaction`: the first transactional batch of a transaction here (the coordinator may be asked to verify it). */
  | { kind: 'append'; info: ProducerBatchInfo | null; startsTransaction: boolean };

export interface ProducerStateOptions {
  now?: () => number;
  logger?: Logger;
}

export function snapshotFileName(offset: number): string {
  return String(offset).padStart(20, '0') + SNAPSHOT_SUFFIX;
}

function parseSnapshotName(name: string): number | null {
  if (!name.endsWith(SNAPSHOT_SUFFIX)) return null;
  const stem = name.slice(0, -SNAPSHOT_SUFFIX.length);
  return /^\d{20}$/.test(stem) ? Number(stem) : null;
}

/** Kafka's sequence arithmetic: sequences wrap to 0 after Integer.MAX_VALUE. */
export function incrementSequence(sequence: number, increment: number): number {
  if (sequence > INT32_MAX - increment) return increment - (INT32_MAX - sequence) - 1;
  return sequence + increment;
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX);
}

/** Reads the producer fields of the batch at `at` (header only). */
export function readProducerBatchInfo(buf: Buffer, at = 0): ProducerBatchInfo {
  const attributes = buf.readInt16BE(at + ATTRIBUTES);
  const firstSeq = buf.readInt32BE(at + BASE_SEQUENCE);
  const lastOffsetDelta = buf.readInt32BE(at + LAST_OFFSET_DELTA);
  return {
    producerId: readInt64(buf, at + PRODUCER_ID),
    epoch: buf.readInt16BE(at + PRODUCER_EPOCH),
    firstSeq,
    lastSeq: firstSeq < 0 ? -1 : incrementSequence(firstSeq, lastOffsetDelta),
    transactional: (attributes & TRANSACTIONAL_FLAG) !== 0,
    control: (attributes & CONTROL_FLAG) !== 0,
    maxTimestamp: readInt64(buf, at + MAX_TIMESTAMP),
    lastOffsetDelta,
  };
}

export class ProducerStateManager {
  private readonly producers = new Map<number, ProducerEntry>();
  /** Producer id -> first offset of its open transaction. */
  private readonly ongoing = new Map<number, number>();
  /** The state covers the log below this offset. */
  private mapEnd = 0;
  /** Offset of the last snapshot written or restored (-1: none). */
  private lastSnapshot = -1;
  /** Active segment and log start last seen (a change means a roll, or retention). */
  private segmentBase = 0;
  private logStart = 0;
  private closed = false;
  private snapshotChain: Promise<void> = Promise.resolve();
  private readonly now: () => number;
  private readonly logger: Logger;

  private constructor(
    readonly log: PartitionLog,
    readonly txnIndex: TxnIndex,
    opts: ProducerStateOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.logger = opts.logger ?? silentLogger;
  }

  /**
   * Restores the state of an open log: the newest snapshot at or below its
   * end, then the batches after it. The owner (the partition) serialises
   * appends with the checks and calls onAppended / onMarker after each.
   */
  static async load(log: PartitionLog, opts: ProducerStateOptions = {}): Promise<ProducerStateManager> {
    const txnIndex = await TxnIndex.load(log.dir, log.logStartOffset);
    const state = new ProducerStateManager(log, txnIndex, opts);
    await state.rebuild(log.logEndOffset);
    state.segmentBase = log.activeSegmentBaseOffset;
    state.logStart = log.logStartOffset;
    return state;
  }

  // ---- reading ---------------------------------------------------------

  get mapEndOffset(): number {
    return this.mapEnd;
  }

  get producerCount(): number {
    return this.producers.size;
  }

  entry(producerId: number): ProducerEntry | undefined {
    return this.producers.get(producerId);
  }

  entries(): ProducerEntry[] {
    return [...this.producers.values()];
  }

  /** The first offset of the oldest open transaction, or null when none is open. */
  firstUnstableOffset(): number | null {
    let min: number | null = null;
    for (const offset of this.ongoing.values()) if (min === null || offset < min) min = offset;
    return min;
  }

  /** Aborted transactions overlapping [fetchOffset, upperBound). */
  abortedTransactions(fetchOffset: number, upperBound: number): AbortedTxn[] {
    return this.txnIndex.collect(fetchOffset, upperBound);
  }

  // ---- the produce path --------------------------------------------------

  /**
   * Checks a client's batch (header only). Throws KafkaError with Kafka's
   * code. A `coordinator` batch (transactional offsets written by the group
   * coordinator) carries no sequence: only its epoch and transaction are checked.
   */
  checkClientBatch(buf: Buffer, at = 0, coordinator = false): ClientBatchCheck {
    const info = readProducerBatchInfo(buf, at);
    if (coordinator && info.producerId >= 0) return this.checkCoordinatorBatch(info);
    if (info.producerId < 0) {
      if (info.transactional) throw new KafkaError(ErrorCode.INVALID_RECORD, 'A transactional batch needs a producer id.');
      return { kind: 'append', info: null, startsTransaction: false };
    }
    if (!Number.isSafeInteger(info.producerId)) {
      throw new KafkaError(ErrorCode.UNKNOWN_PRODUCER_ID, `Producer id ${info.producerId} was never allocated by this cluster.`);
    }
    if (info.epoch < 0) throw new KafkaError(ErrorCode.INVALID_RECORD, `Producer ${info.producerId} sent a negative epoch ${info.epoch}.`);
    if (info.firstSeq < 0) {
      throw new KafkaError(ErrorCode.INVALID_RECORD, `Producer ${info.producerId} sent a batch without a base sequence.`);
    }
    const entry = this.producers.get(info.producerId);
    if (entry !== undefined) {
      if (info.epoch < entry.epoch) {
        throw new KafkaError(
          ErrorCode.INVALID_PRODUCER_EPOCH,
          `Epoch ${info.epoch} of producer ${info.producerId} is older than its current epoch ${entry.epoch}.`,
        );
      }
      if (info.epoch === entry.epoch) {
        for (const b of entry.batches) {
          if (b.firstSeq === info.firstSeq && b.lastSeq === info.lastSeq) return { kind: 'duplicate', batch: b };
        }
        const lastSeq = entry.batches.length > 0 ? entry.batches[entry.batches.length - 1]!.lastSeq : -1;
        if (!inSequence(lastSeq, info.firstSeq)) {
          throw new KafkaError(
            ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
            `Out of order sequence number for producer ${info.producerId}: ${info.firstSeq} (incoming seq. number), ${lastSeq} (current end sequence number).`,
          );
        }
      } else if (info.firstSeq !== 0) {
        throw new KafkaError(
          ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          `Invalid sequence number for new epoch ${info.epoch} of producer ${info.producerId}: ${info.firstSeq} (a new epoch starts at 0).`,
        );
      }
      if (!info.transactional && entry.currentTxnFirstOffset >= 0) {
        throw new KafkaError(
          ErrorCode.INVALID_TXN_STATE,
          `Expected a transactional write from producer ${info.producerId}: it has a transaction open at offset ${entry.currentTxnFirstOffset}.`,
        );
      }
    }
    const startsTransaction = info.transactional && (entry === undefined || entry.currentTxnFirstOffset < 0);
    return { kind: 'append', info, startsTransaction };
  }

  private checkCoordinatorBatch(info: ProducerBatchInfo): ClientBatchCheck {
    const entry = this.producers.get(info.producerId);
    if (entry !== undefined && info.epoch < entry.epoch) {
      throw new KafkaError(
        ErrorCode.INVALID_PRODUCER_EPOCH,
        `Epoch ${info.epoch} of producer ${info.producerId} is older than its current epoch ${entry.epoch}.`,
      );
    }
    const startsTransaction = info.transactional && (entry === undefined || entry.currentTxnFirstOffset < 0);
    return { kind: 'append', info: { ...info, firstSeq: -1, lastSeq: -1 }, startsTransaction };
  }

  /** Records a batch appended at [firstOffset, lastOffset] after checkClientBatch said 'append'. */
  onAppended(info: ProducerBatchInfo | null, firstOffset: number, lastOffset: number, batchTimestamp: number): void {
    if (info !== null) this.update(info, firstOffset, lastOffset, batchTimestamp, this.now());
    this.mapEnd = Math.max(this.mapEnd, lastOffset + 1);
    this.afterWrite();
  }

  /** After each write: a snapshot when the log rolled; trims the aborted index when retention moved the start. */
  private afterWrite(): void {
    const log = this.log;
    if (log.activeSegmentBaseOffset !== this.segmentBase) {
      this.segmentBase = log.activeSegmentBaseOffset;
      this.takeSnapshot().catch((err: unknown) => this.logger.error('could not write a producer-state snapshot', { err: String(err) }));
    }
    this.checkLogStart();
  }

  /** Drops aborted-index entries below the log start offset once retention or DeleteRecords moved it. */
  checkLogStart(): void {
    const start = this.log.logStartOffset;
    if (start === this.logStart) return;
    this.logStart = start;
    this.txnIndex
      .dropBefore(start)
      .catch((err: unknown) => this.logger.error('could not trim the aborted-transactions index', { err: String(err) }));
  }

  /**
   * Checks a transaction marker before it is written: a stale producer epoch
   * or coordinator epoch is refused.
   */
  checkMarker(producerId: number, epoch: number, coordinatorEpoch: number): void {
    const entry = this.producers.get(producerId);
    if (entry === undefined) return;
    if (epoch < entry.epoch) {
      throw new KafkaError(
        ErrorCode.INVALID_PRODUCER_EPOCH,
        `Marker epoch ${epoch} of producer ${producerId} is older than its current epoch ${entry.epoch}.`,
      );
    }
    if (coordinatorEpoch < entry.coordinatorEpoch) {
      throw new KafkaError(
        ErrorCode.TRANSACTION_COORDINATOR_FENCED,
        `Coordinator epoch ${coordinatorEpoch} is older than ${entry.coordinatorEpoch}, the last seen for producer ${producerId}.`,
      );
    }
  }

  /**
   * Records a transaction marker written at `offset`: closes the producer's
   * open transaction here; an ABORT adds the transaction to the aborted
   * index (written in the file of the active segment). Returns the aborted
   * transaction, or null.
   */
  onMarker(producerId: number, epoch: number, commit: boolean, coordinatorEpoch: number, offset: number): AbortedTxn | null {
    const aborted = this.completeTxn(producerId, epoch, commit, coordinatorEpoch, offset, this.now());
    this.mapEnd = Math.max(this.mapEnd, offset + 1);
    if (aborted !== null) {
      this.txnIndex
        .append(aborted, this.log.activeSegmentBaseOffset)
        .catch((err: unknown) => this.logger.error('could not write the aborted-transactions index', { err: String(err) }));
    }
    this.afterWrite();
    return aborted;
  }

  /** Forgets producers idle for `expirationMs` with no open transaction. Returns how many went. */
  removeExpired(expirationMs: number, now = this.now()): number {
    let removed = 0;
    for (const [pid, entry] of this.producers) {
      if (entry.currentTxnFirstOffset < 0 && now - entry.lastTimestamp >= expirationMs) {
        this.producers.delete(pid);
        removed++;
      }
    }
    return removed;
  }

  // ---- applying batches ------------------------------------------------

  private update(info: ProducerBatchInfo, firstOffset: number, lastOffset: number, timestamp: number, now: number): void {
    let entry = this.producers.get(info.producerId);
    if (entry === undefined) {
      entry = {
        producerId: info.producerId,
        epoch: info.epoch,
        batches: [],
        lastTimestamp: now,
        coordinatorEpoch: -1,
        currentTxnFirstOffset: -1,
      };
      this.producers.set(info.producerId, entry);
    }
    if (info.epoch !== entry.epoch) {
      entry.epoch = info.epoch;
      entry.batches = [];
    }
    if (info.firstSeq >= 0) {
      entry.batches.push({ firstSeq: info.firstSeq, lastSeq: info.lastSeq, firstOffset, lastOffset, timestamp });
      if (entry.batches.length > MAX_BATCHES_PER_PRODUCER) entry.batches.shift();
    }
    entry.lastTimestamp = now;
    if (info.transactional && entry.currentTxnFirstOffset < 0) {
      entry.currentTxnFirstOffset = firstOffset;
      this.ongoing.set(info.producerId, firstOffset);
    }
  }

  private completeTxn(producerId: number, epoch: number, commit: boolean, coordinatorEpoch: number, offset: number, now: number): AbortedTxn | null {
    let entry = this.producers.get(producerId);
    if (entry === undefined) {
      entry = { producerId, epoch, batches: [], lastTimestamp: now, coordinatorEpoch, currentTxnFirstOffset: -1 };
      this.producers.set(producerId, entry);
    }
    if (epoch !== entry.epoch) {
      entry.epoch = epoch;
      entry.batches = [];
    }
    entry.coordinatorEpoch = coordinatorEpoch;
    entry.lastTimestamp = now;
    const first = entry.currentTxnFirstOffset;
    entry.currentTxnFirstOffset = -1;
    this.ongoing.delete(producerId);
    if (first < 0 || commit) return null;
    const stillOpen = this.firstUnstableOffset();
    return { producerId, firstOffset: first, lastOffset: offset, lastStableOffset: stillOpen ?? offset + 1 };
  }

  /** Applies batches read back from the log (replay): no checks, markers close transactions. */
  private async applyStored(buf: Buffer, now: number, aborted: Array<{ txn: AbortedTxn; segmentBase: number }>, segmentBaseOf: (offset: number) => number): Promise<number> {
    let next = -1;
    for (let pos = 0; pos + HEADER_SIZE <= buf.length; ) {
      const size = batchSize(buf, pos);
      if (pos + size > buf.length) break;
      const info = readProducerBatchInfo(buf, pos);
      const base = readInt64(buf, pos);
      const last = base + info.lastOffsetDelta;
      if (info.producerId >= 0) {
        if (info.control) {
          let marker = null;
          try {
            marker = readTxnMarker(new RecordBatch(buf.subarray(pos, pos + size)));
          } catch (err) {
            this.logger.warn('skipping an unreadable control batch during producer-state replay', { offset: base, err: String(err) });
          }
          if (marker !== null) {
            const txn = this.completeTxn(info.producerId, info.epoch, marker.commit, marker.coordinatorEpoch, base, now);
            if (txn !== null) aborted.push({ txn, segmentBase: segmentBaseOf(base) });
          }
        } else {
          this.update(info, base, last, info.maxTimestamp, now);
        }
      }
      next = last + 1;
      pos += size;
    }
    return next;
  }

  // ---- snapshots and recovery -------------------------------------------

  /**
   * Rebuilds the state for a log ending at `logEnd`: newest snapshot at or
   * below it (newer ones are deleted), then the log after it.
   */
  private async rebuild(logEnd: number): Promise<void> {
    this.producers.clear();
    this.ongoing.clear();
    const logStart = this.log.logStartOffset;
    // Without a snapshot, only the last two segments are replayed: a snapshot is written at
    // every roll, so a log with more segments and none predates producer ids altogether.
    const bases = this.log.segmentInfos().map((s) => s.baseOffset);
    let from = Math.max(logStart, bases.length >= 2 ? bases[bases.length - 2]! : logStart);
    for (const offset of (await this.listSnapshots()).sort((a, b) => b - a)) {
      const path = join(this.log.dir, snapshotFileName(offset));
      if (offset > logEnd) {
        await rm(path, { force: true });
        continue;
      }
      try {
        this.restoreSnapshot(await readFile(path));
        from = Math.max(offset, logStart);
        this.lastSnapshot = offset;
        break;
      } catch (err) {
        this.logger.warn('ignoring an unreadable producer-state snapshot', { path, err: String(err) });
        this.producers.clear();
        this.ongoing.clear();
        await rm(path, { force: true });
      }
    }
    // The replay re-adds the aborted transactions whose markers it reads.
    await this.txnIndex.truncateFrom(from);
    await this.replay(from, logEnd);
    this.mapEnd = logEnd;
  }

  private async replay(from: number, end: number): Promise<void> {
    const now = this.now();
    const aborted: Array<{ txn: AbortedTxn; segmentBase: number }> = [];
    const segments = this.log.segmentInfos().map((s) => s.baseOffset);
    const segmentBaseOf = (offset: number) => {
      let base = segments[0] ?? 0;
      for (const b of segments) if (b <= offset) base = b;
      return base;
    };
    let offset = from;
    let batches = 0;
    while (offset < end) {
      const { records } = await this.log.read(offset, REPLAY_CHUNK, { minOneBatch: true, maxOffset: end });
      if (records.length === 0) break;
      const next = await this.applyStored(records, now, aborted, segmentBaseOf);
      if (next <= offset) break;
      offset = next;
      batches++;
    }
    for (const { txn, segmentBase } of aborted) await this.txnIndex.append(txn, segmentBase);
    if (from < end) this.logger.debug('replayed producer state', { from, end, reads: batches, producers: this.producers.size });
  }

  private async listSnapshots(): Promise<number[]> {
    const names = await readdir(this.log.dir);
    const out: number[] = [];
    for (const name of names) {
      const offset = parseSnapshotName(name);
      if (offset !== null) out.push(offset);
    }
    return out;
  }

  /** Writes the current state as `<mapEndOffset>.snapshot` (atomically) and prunes old snapshots. */
  takeSnapshot(): Promise<void> {
    const offset = this.mapEnd;
    const bytes = this.encodeSnapshot();
    this.lastSnapshot = offset;
    const run = this.snapshotChain.then(async () => {
      // The aborted-transaction entries this state covers reach their files first: a replay
      // from this snapshot would not re-create them.
      await this.txnIndex.flushed();
      const path = join(this.log.dir, snapshotFileName(offset));
      const temp = `${path}.tmp`;
      const fh = await open(temp, 'w');
      try {
        await fh.write(bytes, 0, bytes.length);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(temp, path);
      const all = (await this.listSnapshots()).sort((a, b) => b - a);
      for (const old of all.slice(SNAPSHOTS_KEPT)) await rm(join(this.log.dir, snapshotFileName(old)), { force: true });
    });
    this.snapshotChain = run.catch(() => undefined);
    return run;
  }

  encodeSnapshot(): Buffer {
    let size = 4 + 2 + 4 + 8 + 4;
    for (const e of this.producers.values()) size += 8 + 2 + 4 + 8 + 8 + 1 + e.batches.length * 32;
    const buf = Buffer.alloc(size);
    buf.writeUInt32BE(SNAPSHOT_MAGIC, 0);
    buf.writeInt16BE(SNAPSHOT_VERSION, 4);
    // 6: crc32c of everything from 10 on
    writeInt64(buf, 10, this.mapEnd);
    buf.writeInt32BE(this.producers.size, 18);
    let at = 22;
    for (const e of this.producers.values()) {
      writeInt64(buf, at, e.producerId);
      buf.writeInt16BE(e.epoch, at + 8);
      buf.writeInt32BE(e.coordinatorEpoch, at + 10);
      writeInt64(buf, at + 14, e.lastTimestamp);
      writeInt64(buf, at + 22, e.currentTxnFirstOffset);
      buf.writeUInt8(e.batches.length, at + 30);
      at += 31;
      for (const b of e.batches) {
        buf.writeInt32BE(b.firstSeq, at);
        buf.writeInt32BE(b.lastSeq, at + 4);
        writeInt64(buf, at + 8, b.firstOffset);
        writeInt64(buf, at + 16, b.lastOffset);
        writeInt64(buf, at + 24, b.timestamp);
        at += 32;
      }
    }
    buf.writeUInt32BE(crc32c(buf.subarray(10)), 6);
    return buf;
  }

  private restoreSnapshot(buf: Buffer): void {
    if (buf.length < 22 || buf.readUInt32BE(0) !== SNAPSHOT_MAGIC) throw new Error('not a producer-state snapshot');
    if (buf.readInt16BE(4) !== SNAPSHOT_VERSION) throw new Error(`unknown snapshot version ${buf.readInt16BE(4)}`);
    if (crc32c(buf.subarray(10)) !== buf.readUInt32BE(6)) throw new Error('snapshot CRC mismatch');
    const count = buf.readInt32BE(18);
    let at = 22;
    for (let i = 0; i < count; i++) {
      if (at + 31 > buf.length) throw new Error('truncated snapshot');
      const entry: ProducerEntry = {
        producerId: readInt64(buf, at),
        epoch: buf.readInt16BE(at + 8),
        coordinatorEpoch: buf.readInt32BE(at + 10),
        lastTimestamp: readInt64(buf, at + 14),
        currentTxnFirstOffset: readInt64(buf, at + 22),
        batches: [],
      };
      const n = buf.readUInt8(at + 30);
      at += 31;
      if (at + n * 32 > buf.length) throw new Error('truncated snapshot');
      for (let j = 0; j < n; j++) {
        entry.batches.push({
          firstSeq: buf.readInt32BE(at),
          lastSeq: buf.readInt32BE(at + 4),
          firstOffset: readInt64(buf, at + 8),
          lastOffset: readInt64(buf, at + 16),
          timestamp: readInt64(buf, at + 24),
        });
        at += 32;
      }
      this.producers.set(entry.producerId, entry);
      if (entry.currentTxnFirstOffset >= 0) this.ongoing.set(entry.producerId, entry.currentTxnFirstOffset);
    }
  }

  // ---- truncation and shutdown ------------------------------------------

  /**
   * The log was truncated to end at `logEndOffset` (a follower diverged from
   * its leader): newer snapshots and aborted-index entries go, and the state
   * is rebuilt from the newest snapshot left. The caller holds the append lock.
   */
  async truncated(logEndOffset: number): Promise<void> {
    await this.snapshotChain;
    for (const s of await this.listSnapshots()) {
      if (s > logEndOffset) await rm(join(this.log.dir, snapshotFileName(s)), { force: true });
    }
    await this.txnIndex.truncateFrom(logEndOffset);
    await this.rebuild(logEndOffset);
    this.segmentBase = this.log.activeSegmentBaseOffset;
    this.logStart = this.log.logStartOffset;
  }

  /** Writes the final snapshot (call before the log closes); later calls do nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Nothing new since the last snapshot: it already describes the log's end.
    if (this.log.isOpen && this.lastSnapshot !== this.mapEnd) {
      await this.takeSnapshot().catch((err: unknown) => this.logger.error('could not write the producer-state snapshot at shutdown', { err: String(err) }));
    }
    await this.snapshotChain;
    await this.txnIndex.flushed();
  }
}
