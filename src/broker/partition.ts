/**
 * One partition replica hosted by this broker: its log plus the leader state
 * the controller assigned (leader, epoch, replicas, ISR). The leader advances
 * the high watermark to the smallest log end offset in the ISR; on a single
 * node the ISR is this broker, so the high watermark follows every append.
 */
import type { PartitionState } from '../controller/types.js';
import type { Uuid } from '../protocol/primitives.js';
import type { AppendResult, PartitionLog } from '../storage/index.js';
import type { Purgatory } from './purgatory.js';

export class Partition {
  topicId: Uuid;
  leader = -1;
  leaderEpoch = -1;
  replicas: number[] = [];
  isr: number[] = [];
  /** Log end offsets reported by followers (replication). */
  private readonly followerEndOffsets = new Map<number, number>();

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

  /** No transactions yet: the last stable offset is the high watermark. */
  get lastStableOffset(): number {
    return this.log.highWatermark;
  }

  applyState(state: PartitionState, topicId: Uuid): void {
    this.topicId = topicId;
    this.leader = state.leader;
    this.leaderEpoch = state.leaderEpoch;
    this.replicas = [...state.replicas];
    this.isr = [...state.isr];
    this.maybeAdvanceHighWatermark();
  }

  async appendAsLeader(records: Buffer): Promise<AppendResult> {
    const result = await this.log.append(records, { leaderEpoch: this.leaderEpoch });
    this.maybeAdvanceHighWatermark();
    return result;
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
