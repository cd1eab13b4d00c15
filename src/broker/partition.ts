/**
 * One partition replica hosted by this broker: its log plus the leader state
 * the controller assigned (leader, epoch, replicas, ISR). The leader advances
 * the high watermark to the smallest log end offset in the ISR; on a single
 * node the ISR is this broker, so the high watermark follows every append.
 *
 * Leader appends run one at a time under the partition's append lock, so the
 * producer-state check (duplicate, sequence, epoch, transaction), the append
 * and the state update are atomic. The last stable offset is the high
 * watermark, or the first offset of the oldest open transaction if lower.
 */
import type { PartitionState } from '../controller/types.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { Uuid } from '../protocol/primitives.js';
import { buildTxnMarkerBatch } from '../protocol/records/index.js';
import { MAX_TIMESTAMP } from '../protocol/records/layout.js';
import type { AppendResult, PartitionLog } from '../storage/index.js';
import { readInt64 } from '../storage/batch-header.js';
import type { ProducerStateManager } from '../storage/producer-state.js';
import type { AbortedTxn } from '../storage/txn-index.js';
import type { Purgatory } from './purgatory.js';

export interface LeaderAppendResult extends AppendResult {
  /** The batch was a retry of one already in the log: nothing was appended, the offsets are the original's. */
  duplicate: boolean;
}

export interface LeaderAppendOptions {
  /**
   * Called when a transactional batch opens a transaction on this partition
   * (the coordinator must know the partition joined the transaction); throws
   * a KafkaError to refuse it.
   */
  verifyTransaction?: (producerId: number, producerEpoch: number) => void | Promise<void>;
  /** The batch comes from a coordinator (transactional offsets): it has no sequence to check. */
  coordinator?: boolean;
}

export class Partition {
  topicId: Uuid;
  leader = -1;
  leaderEpoch = -1;
  replicas: number[] = [];
  isr: number[] = [];
  /** Log end offsets reported by followers (replication). */
  private readonly followerEndOffsets = new Map<number, number>();
  /** Idempotent/transactional producer state; set once loaded (ReplicaManager). */
  producerState: ProducerStateManager | null = null;
  private appendLock: Promise<unknown> = Promise.resolve();

  constructor(
    readonly topic: string,
    readonly index: number,
    topicId: Uuid,
    readonly log: PartitionLog,
    private readonly localBrokerId: number,
    private readonly purgatory: Purgatory,
  ) {
    this.topicId = topicId;
  }

  /** Key used for purgatory watches. */
  get key(): string {
    return `${this.topic}-${this.index}`;
  }

  get isLeader(): boolean {
    return this.leader === this.localBrokerId;
  }

  get highWatermark(): number {
    return this.log.highWatermark;
  }

  /** The high watermark, or the first offset of the oldest open transaction when lower. */
  get lastStableOffset(): number {
    const hw = this.log.highWatermark;
    const unstable = this.producerState?.firstUnstableOffset() ?? null;
    return unstable === null ? hw : Math.min(unstable, hw);
  }

  /** Aborted transactions a read_committed fetch of [fetchOffset, upperBound) must report. */
  abortedTransactions(fetchOffset: number, upperBound: number): AbortedTxn[] {
    return this.producerState?.abortedTransactions(fetchOffset, upperBound) ?? [];
  }

  applyState(state: PartitionState, topicId: Uuid): void {
    this.topicId = topicId;
    this.leader = state.leader;
    this.leaderEpoch = state.leaderEpoch;
    this.replicas = [...state.replicas];
    this.isr = [...state.isr];
    this.maybeAdvanceHighWatermark();
  }

  /** Runs `task` after every earlier append of this partition settled. */
  withAppendLock<T>(task: () => Promise<T>): Promise<T> {
    const run = this.appendLock.then(task);
    this.appendLock = run.catch(() => undefined);
    return run;
  }

  /**
   * Appends a client's batch as the leader. An idempotent batch is checked
   * against the producer state first (headers only): a retry of one of the
   * producer's last batches is answered with the original offsets and not
   * appended again; gaps, stale epochs and transactional misuse throw
   * KafkaError with Kafka's code.
   */
  appendAsLeader(records: Buffer, options: LeaderAppendOptions = {}): Promise<LeaderAppendResult> {
    return this.withAppendLock(async () => {
      const state = this.producerState;
      const check = state === null ? null : state.checkClientBatch(records, 0, options.coordinator ?? false);
      if (check !== null && check.kind === 'duplicate') {
        const b = check.batch;
        return {
          baseOffset: b.firstOffset,
          lastOffset: b.lastOffset,
          logAppendTime: this.log.config.messageTimestampType === 'LogAppendTime' ? b.timestamp : -1,
          logStartOffset: this.log.logStartOffset,
          recordCount: b.lastOffset - b.firstOffset + 1,
          duplicate: true,
        };
      }
      if (check !== null && check.info !== null && check.info.transactional && check.startsTransaction) {
        if (!options.verifyTransaction) {
          throw new KafkaError(ErrorCode.INVALID_TXN_STATE, `Producer ${check.info.producerId} has no transaction that includes ${this.key}.`);
        }
        await options.verifyTransaction(check.info.producerId, check.info.epoch);
      }
      const result = await this.log.append(records, { leaderEpoch: this.leaderEpoch });
      state?.onAppended(check?.info ?? null, result.baseOffset, result.lastOffset, readInt64(records, MAX_TIMESTAMP));
      this.maybeAdvanceHighWatermark();
      return { ...result, duplicate: false };
    });
  }

  /**
   * Writes a transaction marker (COMMIT or ABORT control batch) for the
   * producer and closes its transaction here; an abort joins the aborted
   * transactions index. Returns the marker's offset.
   */
  appendTxnMarker(producerId: number, producerEpoch: number, commit: boolean, coordinatorEpoch: number): Promise<number> {
    return this.withAppendLock(async () => {
      this.producerState?.checkMarker(producerId, producerEpoch, coordinatorEpoch);
      const batch = buildTxnMarkerBatch({ commit, coordinatorEpoch, producerId: BigInt(producerId), producerEpoch });
      const result = await this.log.append(batch, { leaderEpoch: this.leaderEpoch });
      this.producerState?.onMarker(producerId, producerEpoch, commit, coordinatorEpoch, result.baseOffset);
      this.maybeAdvanceHighWatermark();
      return result.baseOffset;
    });
  }

  /** Forgets idle producers (producer.id.expiration.ms). */
  expireProducers(expirationMs: number, now = Date.now()): number {
    const state = this.producerState;
    if (state === null || !this.log.isOpen) return 0;
    state.checkLogStart();
    return state.removeExpired(expirationMs, now);
  }

  /** Moves the high watermark to the smallest log end offset in the ISR; wakes waiting fetches. */
  maybeAdvanceHighWatermark(): void {
    if (!this.isLeader) return;
    let candidate = this.log.logEndOffset;
    for (const replica of this.isr) {
      if (replica === this.localBrokerId) continue;
      candidate = Math.min(candidate, this.followerEndOffsets.get(replica) ?? this.log.highWatermark);
    }
    if (candidate > this.log.highWatermark) this.log.highWatermark = candidate;
    this.purgatory.notify(this.key);
  }
}
