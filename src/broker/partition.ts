/**
 * One partition replica hosted by this broker: its log plus the state the
 * controller assigned (leader, leader epoch, partition epoch, replicas, ISR),
 * and, while this broker leads it, what each follower has replicated.
 *
 * Leader: followers fetch with their replica id; each fetch offset is that
 * follower's log end offset (LEO). The high watermark is the smallest LEO in
 * the ISR (counting a follower whose addition is in flight, Kafka's
 * "maximal ISR"), so on a single node it follows every append. A follower
 * not in the ISR that reached the high watermark (and the start of this
 * leader's epoch) is added, and an ISR follower that has not caught up for
 * replica.lag.time.max.ms is removed, through ClusterLink.alterPartition:
 * one change in flight at a time, applied when the controller commits it.
 *
 * Follower: the replica fetcher appends what the leader sent with the
 * leader's offsets (the producer state follows, so idempotence survives a
 * failover) and truncates a divergent tail.
 *
 * Every append, truncation and role change runs under the partition's
 * append lock, so a role change never interleaves with a write: a leader's
 * producer-state check, append and state update are atomic, and a follower
 * append that lost the race to a role change is dropped, not written. The
 * last stable offset is the high watermark, or the first offset of the
 * oldest open transaction if lower.
 */
import type { AlterPartitionProposal, ClusterLink } from './cluster-link.js';
import type { PartitionState } from '../controller/types.js';
import type { Logger } from '../logging.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { Uuid } from '../protocol/primitives.js';
import { RecordBatch, buildTxnMarkerBatch, readTxnMarker } from '../protocol/records/index.js';
import { MAX_TIMESTAMP } from '../protocol/records/layout.js';
import type { AppendResult, PartitionLog } from '../storage/index.js';
import { HEADER_SIZE, batchSize, readInt64 } from '../storage/batch-header.js';
import { type ProducerStateManager, readProducerBatchInfo } from '../storage/producer-state.js';
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

/** What the partition needs from the replica manager hosting it. */
export interface PartitionContext {
  readonly localBrokerId: number;
  readonly purgatory: Purgatory;
  readonly logger: Logger;
  /** The cluster this broker belongs to; null on a single node (the ISR never changes). */
  clusterLink(): ClusterLink | null;
  now(): number;
}

/** What the leader knows of one follower (Kafka's Replica state). */
export interface FollowerState {
  /** The follower's log end offset: its last fetch offset; -1 until it fetches from this leader. */
  logEndOffset: number;
  logStartOffset: number;
  /** The leader's log end offset when the follower last fetched. */
  lastFetchLeaderLogEndOffset: number;
  lastFetchTimeMs: number;
  /** The last time the follower had everything the leader had (Kafka's lastCaughtUpTimeMs). */
  lastCaughtUpTimeMs: number;
}

/** How a role change went: whether the leader or its epoch changed (fetchers and coordinators react). */
export interface RoleChange {
  changed: boolean;
  wasLeader: boolean;
}

export class Partition {
  topicId: Uuid;
  leader = -1;
  leaderEpoch = -1;
  partitionEpoch = -1;
  replicas: number[] = [];
  isr: number[] = [];
  /** Where this broker's current leader epoch starts in the log (-1 when not leader). */
  leaderEpochStartOffset = -1;
  /** Idempotent/transactional producer state; set once loaded (ReplicaManager). */
  producerState: ProducerStateManager | null = null;
  /** Followers' replication state, while this broker leads. */
  private readonly followers = new Map<number, FollowerState>();
  /** The ISR proposed to the controller and not answered yet (one change at a time). */
  private pendingIsr: number[] | null = null;
  /** StopReplica took the partition away: nothing is written any more. */
  private stopped = false;
  private appendLock: Promise<unknown> = Promise.resolve();

  constructor(
    readonly topic: string,
    readonly index: number,
    topicId: Uuid,
    readonly log: PartitionLog,
    private readonly context: PartitionContext,
  ) {
    this.topicId = topicId;
  }

  /** Key used for purgatory watches. */
  get key(): string {
    return `${this.topic}-${this.index}`;
  }

  get isLeader(): boolean {
    return !this.stopped && this.leader === this.context.localBrokerId;
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

  /** Led here with fewer in-sync replicas than assigned ones. */
  get isUnderReplicated(): boolean {
    return this.isLeader && this.isr.length < this.replicas.length;
  }

  /** An ISR change is waiting for the controller. */
  get isrChangeInFlight(): boolean {
    return this.pendingIsr !== null;
  }

  /** A copy of one follower's state, while this broker leads (tests, tools). */
  followerState(replicaId: number): FollowerState | undefined {
    const state = this.followers.get(replicaId);
    return state && { ...state };
  }

  /** Aborted transactions a read_committed fetch of [fetchOffset, upperBound) must report. */
  abortedTransactions(fetchOffset: number, upperBound: number): AbortedTxn[] {
    return this.producerState?.abortedTransactions(fetchOffset, upperBound) ?? [];
  }

  /** Runs `task` after every earlier append of this partition settled. */
  withAppendLock<T>(task: () => Promise<T>): Promise<T> {
    const run = this.appendLock.then(task);
    this.appendLock = run.catch(() => undefined);
    return run;
  }

  // ---- role changes (LeaderAndIsr) ---------------------------------------

  /**
   * This broker leads the partition (Kafka's makeLeader). A new leader epoch
   * starts at the log end (in the leader epoch cache), and every follower's
   * position is unknown until it fetches; ISR members count as caught up
   * now. The high watermark is kept. With the same epoch only the replicas
   * and ISR are updated.
   */
  makeLeader(state: PartitionState, topicId: Uuid): Promise<RoleChange> {
    return this.withAppendLock(async () => {
      const wasLeader = this.isLeader;
      const newEpoch = !wasLeader || state.leaderEpoch > this.leaderEpoch;
      // A resent state (same epochs) must not drop the answer of an ISR change in flight.
      if (newEpoch || state.partitionEpoch > this.partitionEpoch) this.pendingIsr = null;
      this.updateAssignment(state, topicId);
      this.leader = this.context.localBrokerId;
      if (newEpoch) {
        const start = await this.log.assignEpochStartOffset(state.leaderEpoch);
        const now = this.context.now();
        this.followers.clear();
        for (const replica of this.replicas) {
          if (replica === this.context.localBrokerId) continue;
          this.followers.set(replica, {
            logEndOffset: -1,
            logStartOffset: -1,
            lastFetchLeaderLogEndOffset: start,
            lastFetchTimeMs: now,
            lastCaughtUpTimeMs: this.isr.includes(replica) ? now : 0,
          });
        }
        this.leaderEpoch = state.leaderEpoch;
        this.leaderEpochStartOffset = start;
      } else {
        this.syncFollowers();
      }
      this.maybeAdvanceHighWatermark();
      return { changed: newEpoch, wasLeader };
    });
  }

  /**
   * Another broker (or none: leader -1) leads the partition (Kafka's
   * makeFollower). Leader duties stop: parked produces and fetches wake and
   * see the change. Reports a change when the leader or its epoch did.
   */
  makeFollower(state: PartitionState, topicId: Uuid): Promise<RoleChange> {
    return this.withAppendLock(async () => {
      const wasLeader = this.isLeader;
      const changed = wasLeader || state.leader !== this.leader || state.leaderEpoch > this.leaderEpoch;
      this.pendingIsr = null;
      this.updateAssignment(state, topicId);
      this.leader = state.leader;
      this.leaderEpoch = state.leaderEpoch;
      this.leaderEpochStartOffset = -1;
      this.followers.clear();
      this.context.purgatory.notify(this.key);
      return { changed, wasLeader };
    });
  }

  /** StopReplica: nothing more is written here; parked operations wake and see it. */
  stop(): Promise<void> {
    return this.withAppendLock(async () => {
      this.stopped = true;
      this.followers.clear();
      this.pendingIsr = null;
      this.context.purgatory.notify(this.key);
    });
  }

  /** The controller's assignment; a newer one supersedes an ISR change in flight (the caller clears it). */
  private updateAssignment(state: PartitionState, topicId: Uuid): void {
    this.topicId = topicId;
    this.replicas = [...state.replicas];
    this.isr = [...state.isr];
    this.partitionEpoch = state.partitionEpoch;
  }

  /** Same leader epoch, new assignment: track added replicas, forget removed ones. */
  private syncFollowers(): void {
    for (const id of this.followers.keys()) if (!this.replicas.includes(id)) this.followers.delete(id);
    for (const replica of this.replicas) {
      if (replica === this.context.localBrokerId || this.followers.has(replica)) continue;
      this.followers.set(replica, {
        logEndOffset: -1,
        logStartOffset: -1,
        lastFetchLeaderLogEndOffset: this.log.logEndOffset,
        lastFetchTimeMs: this.context.now(),
        lastCaughtUpTimeMs: 0,
      });
    }
  }

  // ---- leader: appends ----------------------------------------------------

  /**
   * Appends a client's batch as the leader. An idempotent batch is checked
   * against the producer state first (headers only): a retry of one of the
   * producer's last batches is answered with the original offsets and not
   * appended again; gaps, stale epochs and transactional misuse throw
   * KafkaError with Kafka's code.
   */
  appendAsLeader(records: Buffer, options: LeaderAppendOptions = {}): Promise<LeaderAppendResult> {
    return this.withAppendLock(async () => {
      this.checkLeader();
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
        this.checkLeader();
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
      this.checkLeader();
      this.producerState?.checkMarker(producerId, producerEpoch, coordinatorEpoch);
      const batch = buildTxnMarkerBatch({ commit, coordinatorEpoch, producerId: BigInt(producerId), producerEpoch });
      const result = await this.log.append(batch, { leaderEpoch: this.leaderEpoch });
      this.producerState?.onMarker(producerId, producerEpoch, commit, coordinatorEpoch, result.baseOffset);
      this.maybeAdvanceHighWatermark();
      return result.baseOffset;
    });
  }

  private checkLeader(): void {
    if (!this.isLeader) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `This server is not the leader of ${this.key}.`);
  }

  /** Forgets idle producers (producer.id.expiration.ms). */
  expireProducers(expirationMs: number, now = Date.now()): number {
    const state = this.producerState;
    if (state === null || !this.log.isOpen) return 0;
    state.checkLogStart();
    return state.removeExpired(expirationMs, now);
  }

  // ---- leader: followers, high watermark, ISR ------------------------------

  /**
   * Checks that `replicaId` may fetch this partition from us. Kafka answers
   * UNKNOWN_LEADER_EPOCH to a broker outside the assignment that names our
   * epoch (its metadata may be ahead), NOT_LEADER_OR_FOLLOWER otherwise.
   */
  checkFollower(replicaId: number, sentLeaderEpoch: boolean): void {
    if (this.followers.has(replicaId)) return;
    if (sentLeaderEpoch) {
      throw new KafkaError(ErrorCode.UNKNOWN_LEADER_EPOCH, `Broker ${replicaId} is not a replica of ${this.key} in leader epoch ${this.leaderEpoch}.`);
    }
    throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `Broker ${replicaId} is not a replica of ${this.key}.`);
  }

  /**
   * A follower fetched from `fetchOffset` (Kafka's updateFollowerFetchState):
   * that is its log end offset. It is caught up when it asked for our log end,
   * or for at least what our log end was at its previous fetch (then it was
   * caught up at that fetch). Then the ISR may grow and the high watermark
   * advance (waking acks=all produces).
   */
  recordFollowerFetch(replicaId: number, fetchOffset: number, followerLogStartOffset: number): void {
    const follower = this.followers.get(replicaId);
    if (!follower || !this.isLeader) return;
    const now = this.context.now();
    const leaderEnd = this.log.logEndOffset;
    if (fetchOffset >= leaderEnd) follower.lastCaughtUpTimeMs = Math.max(follower.lastCaughtUpTimeMs, now);
    else if (fetchOffset >= follower.lastFetchLeaderLogEndOffset) {
      follower.lastCaughtUpTimeMs = Math.max(follower.lastCaughtUpTimeMs, follower.lastFetchTimeMs);
    }
    follower.logEndOffset = fetchOffset;
    follower.logStartOffset = followerLogStartOffset;
    follower.lastFetchLeaderLogEndOffset = leaderEnd;
    follower.lastFetchTimeMs = now;
    this.maybeExpandIsr(replicaId, follower);
    this.maybeAdvanceHighWatermark();
  }

  /** The ISR plus a follower whose addition is in flight (the high watermark waits for it too). */
  private maximalIsr(): readonly number[] {
    const pending = this.pendingIsr;
    if (pending === null) return this.isr;
    return [...new Set([...this.isr, ...pending])];
  }

  /** Moves the high watermark to the smallest log end offset in the ISR; wakes waiting fetches and produces. */
  maybeAdvanceHighWatermark(): void {
    if (!this.isLeader) return;
    let candidate = this.log.logEndOffset;
    for (const replica of this.maximalIsr()) {
      if (replica === this.context.localBrokerId) continue;
      const end = this.followers.get(replica)?.logEndOffset ?? -1;
      // A follower whose position is unknown holds the high watermark where it is.
      candidate = Math.min(candidate, end >= 0 ? end : this.log.highWatermark);
    }
    if (candidate > this.log.highWatermark) this.log.highWatermark = candidate;
    this.context.purgatory.notify(this.key);
  }

  /** Kafka's isFollowerInSync: a follower joins once it reached the high watermark and this leader's epoch. */
  private maybeExpandIsr(replicaId: number, follower: FollowerState): void {
    if (this.pendingIsr !== null || this.isr.includes(replicaId)) return;
    const end = follower.logEndOffset;
    if (end < this.log.highWatermark || end < this.leaderEpochStartOffset) return;
    this.proposeIsr([...this.isr, replicaId], `broker ${replicaId} caught up to ${end}`);
  }

  /** Removes ISR followers that have not caught up within `lagTimeMaxMs` (Kafka's maybeShrinkIsr). */
  maybeShrinkIsr(lagTimeMaxMs: number): void {
    if (!this.isLeader || this.pendingIsr !== null || this.isr.length <= 1) return;
    const now = this.context.now();
    const leaderEnd = this.log.logEndOffset;
    const outOfSync = this.isr.filter((replica) => {
      if (replica === this.context.localBrokerId) return false;
      const f = this.followers.get(replica);
      return f === undefined || (f.logEndOffset !== leaderEnd && now - f.lastCaughtUpTimeMs > lagTimeMaxMs);
    });
    if (outOfSync.length === 0) return;
    this.proposeIsr(
      this.isr.filter((r) => !outOfSync.includes(r)),
      `broker(s) ${outOfSync.join(',')} not caught up within replica.lag.time.max.ms=${lagTimeMaxMs}`,
    );
  }

  /**
   * Sends one ISR change to the controller. Its answer is applied only if
   * nothing replaced the proposal meanwhile (a LeaderAndIsr); a refusal
   * keeps the current ISR until the controller's next LeaderAndIsr.
   */
  private proposeIsr(newIsr: number[], reason: string): void {
    const link = this.context.clusterLink();
    if (link === null) return;
    const proposal: AlterPartitionProposal = {
      topic: this.topic,
      topicId: this.topicId,
      partition: this.index,
      leaderEpoch: this.leaderEpoch,
      partitionEpoch: this.partitionEpoch,
      newIsr,
    };
    this.pendingIsr = newIsr;
    const logger = this.context.logger;
    logger.info('proposing an ISR change', { partition: this.key, isr: this.isr, newIsr, reason });
    link.alterPartition(proposal).then(
      (committed) => {
        if (this.pendingIsr !== newIsr) return;
        this.pendingIsr = null;
        if (!this.isLeader || committed.leaderEpoch !== this.leaderEpoch || committed.partitionEpoch < this.partitionEpoch) return;
        this.isr = [...committed.isr];
        this.partitionEpoch = committed.partitionEpoch;
        logger.info('ISR changed', { partition: this.key, isr: this.isr, partitionEpoch: this.partitionEpoch });
        this.maybeAdvanceHighWatermark();
      },
      (err: unknown) => {
        if (this.pendingIsr !== newIsr) return;
        this.pendingIsr = null;
        logger.warn('the controller refused an ISR change; keeping the current ISR', { partition: this.key, newIsr, err: String(err) });
        this.maybeAdvanceHighWatermark();
      },
    );
  }

  // ---- follower: replication ------------------------------------------------

  /**
   * Appends batches fetched from the leader of `leaderEpoch`, keeping their
   * offsets, and updates the producer state from their headers (markers
   * close transactions) as the leader did. Resolves null, writing nothing,
   * when the partition changed role or epoch meanwhile.
   */
  appendAsFollower(records: Buffer, leaderEpoch: number): Promise<AppendResult | null> {
    return this.withAppendLock(async () => {
      if (!this.isFollowerOf(leaderEpoch)) return null;
      const result = await this.log.appendAsFollower(records);
      this.applyReplicatedProducerState(records);
      return result;
    });
  }

  private applyReplicatedProducerState(records: Buffer): void {
    const state = this.producerState;
    if (state === null) return;
    for (let at = 0; at + HEADER_SIZE <= records.length; ) {
      const size = batchSize(records, at);
      const info = readProducerBatchInfo(records, at);
      const base = readInt64(records, at);
      if (info.producerId >= 0 && info.control) {
        let marker = null;
        try {
          marker = readTxnMarker(new RecordBatch(records.subarray(at, at + size)));
        } catch (err) {
          this.context.logger.warn('skipping an unreadable replicated control batch', { partition: this.key, offset: base, err: String(err) });
        }
        if (marker !== null) state.onMarker(info.producerId, info.epoch, marker.commit, marker.coordinatorEpoch, base);
      } else {
        state.onAppended(info.producerId >= 0 ? info : null, base, base + info.lastOffsetDelta, info.maxTimestamp);
      }
      at += size;
    }
  }

  /**
   * Cuts the log at `offset` (a divergent tail from an old leader) and
   * rebuilds the producer state; false, touching nothing, when the partition
   * changed role or epoch meanwhile.
   */
  truncateTo(offset: number, leaderEpoch: number): Promise<boolean> {
    return this.withAppendLock(async () => {
      if (!this.isFollowerOf(leaderEpoch)) return false;
      if (await this.log.truncateTo(offset)) await this.producerState?.truncated(this.log.logEndOffset);
      return true;
    });
  }

  /** Restarts the log empty at `offset` (the leader's log starts past ours); false when the role changed. */
  truncateFullyAndStartAt(offset: number, leaderEpoch: number): Promise<boolean> {
    return this.withAppendLock(async () => {
      if (!this.isFollowerOf(leaderEpoch)) return false;
      await this.log.truncateFullyAndStartAt(offset);
      await this.producerState?.truncated(offset);
      return true;
    });
  }

  /**
   * The leader's log start moved past ours (retention, DeleteRecords there):
   * follow it, as far as our high watermark allows.
   */
  async followLeaderLogStart(leaderLogStartOffset: number): Promise<void> {
    const target = Math.min(leaderLogStartOffset, this.log.highWatermark);
    if (this.isLeader || !this.log.isOpen || target <= this.log.logStartOffset) return;
    await this.log.deleteRecordsBefore(target);
  }

  /** A follower's high watermark: the leader's, bounded by what it has (the log clamps to its end). */
  updateFollowerHighWatermark(leaderHighWatermark: number): void {
    if (this.isLeader) return;
    this.log.highWatermark = leaderHighWatermark;
  }

  private isFollowerOf(leaderEpoch: number): boolean {
    return !this.stopped && !this.isLeader && this.leaderEpoch === leaderEpoch && this.log.isOpen;
  }
}
