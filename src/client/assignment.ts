/**
 * Where a consumer's partitions come from. Today: `assign()` (manual). The
 * consumer-group membership (FindCoordinator, JoinGroup/SyncGroup,
 * Heartbeat, OffsetCommit/OffsetFetch, rebalance listeners) plugs in as
 * another AssignmentSource without changing the fetch path:
 *
 * - `onPoll` runs at the start of every `poll`: a group member heartbeats,
 *   rejoins after a rebalance and installs the new assignment with
 *   `ctx.setAssignment` (calling its rebalance listener around it), and
 *   auto-commits `ctx.positions()` when due;
 * - `initialPositions` supplies committed offsets for partitions without a
 *   position; the others fall back to `auto.offset.reset`;
 * - `close` leaves the group (after a final commit).
 */
import type { Cluster } from './cluster.js';
import type { TopicPartition } from './util.js';

/** A partition with an offset. */
export interface TopicPartitionOffset extends TopicPartition {
  offset: number;
}

/** What a consumer exposes to its assignment source. */
export interface AssignmentContext {
  /** The shared connections and metadata. */
  readonly cluster: Cluster;
  /** The consumer's settings by Kafka name (`group.id`, `session.timeout.ms`, ...). */
  setting(name: string): unknown;
  /** The current assignment. */
  assignment(): TopicPartition[];
  /** Replaces the assignment; partitions that stay keep their positions and buffered records. */
  setAssignment(partitions: readonly TopicPartition[]): void;
  /** Positions (next offset to return) of assigned partitions that have one: what a commit stores. */
  positions(): TopicPartitionOffset[];
  /** Sets a partition's position. */
  seek(partition: TopicPartition, offset: number): void;
  /** Wakes a `poll` that is waiting. */
  wakeup(): void;
}

/** Decides which partitions a consumer reads, and where new ones start. */
export interface AssignmentSource {
  /** 'manual' for `assign()`, 'group' for group membership. */
  readonly kind: string;
  /** Called at the start of every poll (heartbeats, rebalances, auto-commit). */
  onPoll(ctx: AssignmentContext): Promise<void>;
  /**
   * Starting offsets for partitions without a position (committed offsets).
   * Partitions left out use `auto.offset.reset`.
   */
  initialPositions?(ctx: AssignmentContext, partitions: readonly TopicPartition[]): Promise<TopicPartitionOffset[]>;
  /** Called when the consumer closes. */
  close(ctx: AssignmentContext): Promise<void>;
}

/** Callbacks a group assignment source calls around rebalances (Java's ConsumerRebalanceListener). */
export interface RebalanceListener {
  onPartitionsRevoked?(partitions: TopicPartition[]): void | Promise<void>;
  onPartitionsAssigned?(partitions: TopicPartition[]): void | Promise<void>;
  onPartitionsLost?(partitions: TopicPartition[]): void | Promise<void>;
}

/** Manual assignment: the application calls `assign`; nothing happens at poll time. */
export class ManualAssignment implements AssignmentSource {
  readonly kind = 'manual';

  async onPoll(): Promise<void> {}

  async close(): Promise<void> {}
}
