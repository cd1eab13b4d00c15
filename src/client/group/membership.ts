/**
 * Consumer-group membership (Kafka's classic group protocol) as the
 * consumer's AssignmentSource:
 *
 * - `subscribe` marks the member for joining; the next `poll` finds the
 *   coordinator (on a dedicated connection), joins (JoinGroup, with the
 *   MEMBER_ID_REQUIRED two-step), lets the leader compute the assignment
 *   with the selected assignor, syncs (SyncGroup) and installs the
 *   partitions, calling the rebalance listener around it;
 * - a background timer heartbeats every `heartbeat.interval.ms` while the
 *   member is stable; REBALANCE_IN_PROGRESS makes the next poll rejoin,
 *   ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID lose the
 *   partitions (onPartitionsLost) before rejoining; when `poll` is not called
 *   for `max.poll.interval.ms` the member leaves the group;
 * - eager assignors (range, roundrobin) revoke everything before joining;
 *   cooperative-sticky revokes only partitions that move, then rejoins for
 *   the second round that hands them to their new owner;
 * - committed offsets (OffsetFetch) start newly assigned partitions;
 *   auto-commit every `auto.commit.interval.ms`, and before revocation and
 *   close; LeaveGroup on close unless `group.instance.id` is set.
 */
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/api-table.js';
import type { Logger } from '../../logging.js';
import type { AssignmentContext, AssignmentSource, RebalanceListener, TopicPartitionOffset } from '../assignment.js';
import type { ResolvedConfig } from '../config.js';
import type { BrokerConnection } from '../connection.js';
import { ConnectionError, TimeoutError } from '../errors.js';
import { sleep, tpKey, type TopicPartition } from '../util.js';
import {
  DEFAULT_ASSIGNORS,
  assignorFor,
  withholdMovingPartitions,
  type MemberSubscription,
  type PartitionAssignor,
} from './assignors.js';
import { COORDINATOR_CODES, findCoordinator, openCoordinatorConnection } from './coordinator.js';
import { CONSUMER_PROTOCOL_TYPE, decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from './protocol.js';

/** A commit that can no longer succeed because the group moved on (Java's CommitFailedException). */
export class CommitFailedError extends KafkaError {
  override name = 'CommitFailedError';
}

type State = 'unjoined' | 'joining' | 'stable';

/** What `groupMetadata()` reports. */
export interface GroupMetadata {
  groupId: string;
  memberId: string;
  generationId: number;
  groupInstanceId: string | null;
}

export class GroupMembership implements AssignmentSource {
  readonly kind = 'group';
  readonly groupId: string;
  private readonly groupInstanceId: string | null;
  private readonly sessionTimeoutMs: number;
  private readonly rebalanceTimeoutMs: number;
  private readonly heartbeatIntervalMs: number;
  private readonly autoCommit: boolean;
  private readonly autoCommitIntervalMs: number;
  private readonly retryBackoffMs: number;
  private readonly defaultApiTimeoutMs: number;
  private readonly rackId: string | null;
  private readonly assignors: PartitionAssignor[];
  private readonly logger: Logger;

  private ctx: AssignmentContext | null = null;
  private topics: string[] | null = null;
  private listener: RebalanceListener = {};
  private state: State = 'unjoined';
  private memberId = '';
  private generation = -1;
  private protocolName: string | null = null;
  private rejoinNeeded = false;
  private partitionsLost = false;
  private owned: TopicPartition[] = [];
  private coordinator: BrokerConnection | null = null;
  private coordinatorPromise: Promise<BrokerConnection> | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeatInFlight = false;
  private lastHeartbeat = 0;
  private lastPoll = Date.now();
  private nextAutoCommit = 0;
  private pendingAsync: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(config: ResolvedConfig, logger: Logger) {
    this.groupId = config.string('group.id');
    this.groupInstanceId = config.nullableString('group.instance.id') || null;
    this.sessionTimeoutMs = config.int('session.timeout.ms');
    this.rebalanceTimeoutMs = config.int('max.poll.interval.ms');
    this.heartbeatIntervalMs = config.int('heartbeat.interval.ms');
    this.autoCommit = config.bool('enable.auto.commit');
    this.autoCommitIntervalMs = config.int('auto.commit.interval.ms');
    this.retryBackoffMs = config.int('retry.backoff.ms');
    this.defaultApiTimeoutMs = config.int('default.api.timeout.ms');
    this.rackId = config.string('client.rack') || null;
    const names = config.list('partition.assignment.strategy');
    this.assignors = (names.length > 0 ? names : DEFAULT_ASSIGNORS).map(assignorFor);
    this.logger = logger;
  }

  attach(ctx: AssignmentContext): void {
    this.ctx = ctx;
  }

  // ---------------------------------------------------------------- public surface (via Consumer)

  subscribe(topics: readonly string[], listener?: RebalanceListener): void {
    this.topics = [...new Set(topics)].sort();
    if (listener !== undefined) this.listener = listener;
    this.rejoinNeeded = true;
    this.ctx?.cluster.trackTopics(this.topics);
  }

  subscription(): string[] {
    return this.topics === null ? [] : [...this.topics];
  }

  get subscribed(): boolean {
    return this.topics !== null;
  }

  async unsubscribe(): Promise<void> {
    if (this.topics === null) return;
    await this.revokeAll('unsubscribe');
    await this.leave('the consumer unsubscribed');
    this.topics = null;
  }

  metadata(): GroupMetadata {
    return { groupId: this.groupId, memberId: this.memberId, generationId: this.generation, groupInstanceId: this.groupInstanceId };
  }

  // ---------------------------------------------------------------- AssignmentSource

  async onPoll(ctx: AssignmentContext): Promise<void> {
    this.ctx = ctx;
    this.lastPoll = Date.now();
    if (this.topics !== null) {
      if (this.partitionsLost) await this.losePartitions();
      if (this.rejoinNeeded || this.state !== 'stable') await this.join();
    }
    if (this.autoCommit && Date.now() >= this.nextAutoCommit) {
      this.nextAutoCommit = Date.now() + this.autoCommitIntervalMs;
      const positions = ctx.positions();
      if (positions.length > 0) {
        this.commitAsync(positions).catch((error: Error) => this.logger.debug('auto-commit failed', { error: error.message }));
      }
    }
  }

  async initialPositions(_ctx: AssignmentContext, partitions: readonly TopicPartition[]): Promise<TopicPartitionOffset[]> {
    return (await this.committed(partitions)).filter((c): c is TopicPartitionOffset => c !== null && c.offset >= 0);
  }

  async close(ctx: AssignmentContext): Promise<void> {
    this.ctx = ctx;
    if (this.closed) return;
    try {
      await this.pendingAsync.catch(() => undefined);
      if (this.topics !== null && this.state === 'stable' && !this.partitionsLost) {
        await this.revokeAll('close');
      } else if (this.autoCommit && this.topics === null) {
        const positions = ctx.positions();
        if (positions.length > 0) await this.commitSync(positions).catch((e: Error) => this.logger.warn('commit on close failed', { error: e.message }));
      }
      if (this.topics !== null && this.groupInstanceId === null) await this.leave('the consumer is being closed');
    } finally {
      this.closed = true;
      this.stopHeartbeats();
      this.coordinator?.close();
      this.coordinator = null;
    }
  }

  // ---------------------------------------------------------------- commits and committed offsets

  /** Commits offsets (the positions of the assigned partitions when omitted). */
  async commitSync(offsets?: readonly TopicPartitionOffset[], timeoutMs = this.defaultApiTimeoutMs): Promise<void> {
    const list = offsets ?? this.ctx?.positions() ?? [];
    if (list.length === 0) return;
    const deadline = Date.now() + timeoutMs;
    await this.withCoordinator(deadline, (conn) => this.sendCommit(conn, list));
  }

  /** Commits without waiting for earlier async commits to be ordered after; failures reject the returned promise. */
  commitAsync(offsets?: readonly TopicPartitionOffset[]): Promise<void> {
    const list = offsets ?? this.ctx?.positions() ?? [];
    const p = this.pendingAsync.catch(() => undefined).then(() => this.commitSync(list));
    this.pendingAsync = p.catch(() => undefined);
    return p;
  }

  /** Committed offsets (null where the group has none). */
  async committed(partitions: readonly TopicPartition[], timeoutMs = this.defaultApiTimeoutMs): Promise<Array<TopicPartitionOffset | null>> {
    if (partitions.length === 0) return [];
    const deadline = Date.now() + timeoutMs;
    const byTopic = new Map<string, number[]>();
    for (const tp of partitions) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
    const found = await this.withCoordinator(deadline, async (conn) => {
      const res = await conn.request(
        ApiKey.OffsetFetch,
        { groupId: this.groupId, topics: [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })), requireStable: true },
        { maxVersion: 7 },
      );
      if (res.errorCode !== undefined && res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode, `OffsetFetch for group '${this.groupId}'`);
      const out = new Map<string, number>();
      for (const t of res.topics ?? []) {
        for (const p of t.partitions) {
          if (p.errorCode !== ErrorCode.NONE) throw new KafkaError(p.errorCode, `OffsetFetch ${tpKey(t.name, p.partitionIndex)}`);
          out.set(tpKey(t.name, p.partitionIndex), Number(p.committedOffset));
        }
      }
      return out;
    });
    return partitions.map((tp) => {
      const o = found.get(tpKey(tp.topic, tp.partition));
      return o === undefined || o < 0 ? null : { topic: tp.topic, partition: tp.partition, offset: o };
    });
  }

  private async sendCommit(conn: BrokerConnection, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    const inGroup = this.topics !== null && this.state === 'stable';
    const byTopic = new Map<string, TopicPartitionOffset[]>();
    for (const o of offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
    const res = await conn.request(ApiKey.OffsetCommit, (v) => ({
      groupId: this.groupId,
      generationIdOrMemberEpoch: inGroup ? this.generation : -1,
      memberId: inGroup ? this.memberId : '',
      groupInstanceId: inGroup ? this.groupInstanceId : null,
      ...(v >= 2 && v <= 4 ? { retentionTimeMs: -1n } : {}),
      topics: [...byTopic].map(([name, list]) => ({
        name,
        partitions: list.map((o) => ({
          partitionIndex: o.partition,
          committedOffset: BigInt(o.offset),
          committedLeaderEpoch: -1,
          ...(v === 1 ? { commitTimestamp: -1n } : {}),
          committedMetadata: '',
        })),
      })),
    }));
    for (const t of res.topics) {
      for (const p of t.partitions) {
        if (p.errorCode === ErrorCode.NONE) continue;
        const where = `commit of ${tpKey(t.name, p.partitionIndex)} for group '${this.groupId}'`;
        if (p.errorCode === ErrorCode.ILLEGAL_GENERATION || p.errorCode === ErrorCode.UNKNOWN_MEMBER_ID || p.errorCode === ErrorCode.FENCED_INSTANCE_ID) {
          this.markLost(p.errorCode);
          throw new CommitFailedError(p.errorCode, `${where}: the group has rebalanced and this member is no longer part of it`);
        }
        if (p.errorCode === ErrorCode.REBALANCE_IN_PROGRESS) {
          this.requestRejoin();
          throw new KafkaError(p.errorCode, `${where}: the group is rebalancing; commit again after the next poll`);
        }
        throw new KafkaError(p.errorCode, where);
      }
    }
    this.logger.debug('committed offsets', { group: this.groupId, count: offsets.length });
  }

  // ---------------------------------------------------------------- coordinator plumbing

  private coordinatorConnection(deadline: number): Promise<BrokerConnection> {
    if (this.coordinator !== null && !this.coordinator.closed) return Promise.resolve(this.coordinator);
    if (this.coordinatorPromise !== null) return this.coordinatorPromise;
    const cluster = this.ctx!.cluster;
    const p = (async () => {
      const info = await findCoordinator(cluster, this.groupId, deadline);
      const conn = await openCoordinatorConnection(cluster, info);
      if (this.closed) {
        conn.close();
        throw new ConnectionError(`${info.host}:${info.port}`, 'the consumer is closed');
      }
      this.coordinator = conn;
      conn.onClose(() => {
        if (this.coordinator === conn) this.coordinator = null;
      });
      this.logger.debug('found group coordinator', { group: this.groupId, node: info.nodeId });
      return conn;
    })();
    this.coordinatorPromise = p;
    p.then(
      () => (this.coordinatorPromise = null),
      () => (this.coordinatorPromise = null),
    );
    return p;
  }

  private markCoordinatorDead(): void {
    const c = this.coordinator;
    this.coordinator = null;
    c?.close();
  }

  /** Runs `fn` against the coordinator, moving to a new one on coordinator errors, until `deadline`. */
  private async withCoordinator<T>(deadline: number, fn: (conn: BrokerConnection) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const conn = await this.coordinatorConnection(deadline);
        return await fn(conn);
      } catch (error) {
        const retriable =
          error instanceof ConnectionError || (error instanceof KafkaError && (COORDINATOR_CODES.has(error.code) || error.retriable) && !(error instanceof CommitFailedError));
        if (!retriable || Date.now() + this.retryBackoffMs >= deadline || this.closed) {
          if (retriable && !(error instanceof TimeoutError)) throw new TimeoutError(`group '${this.groupId}': ${(error as Error).message}`);
          throw error;
        }
        if (error instanceof ConnectionError || (error instanceof KafkaError && COORDINATOR_CODES.has(error.code))) this.markCoordinatorDead();
        await sleep(Math.min(1000, this.retryBackoffMs * attempt));
      }
    }
  }

  // ---------------------------------------------------------------- joining

  private requestRejoin(): void {
    this.rejoinNeeded = true;
    this.ctx?.wakeup();
  }

  private markLost(code: number): void {
    if (code === ErrorCode.UNKNOWN_MEMBER_ID || code === ErrorCode.FENCED_INSTANCE_ID) this.memberId = '';
    this.generation = -1;
    this.state = 'unjoined';
    this.stopHeartbeats();
    if (this.owned.length > 0) this.partitionsLost = true;
    this.requestRejoin();
  }

  private async losePartitions(): Promise<void> {
    this.partitionsLost = false;
    const lost = this.owned;
    this.owned = [];
    this.ctx!.setAssignment([]);
    if (lost.length === 0) return;
    this.logger.info('lost partitions', { group: this.groupId, count: lost.length });
    await this.callListener('onPartitionsLost', lost);
  }

  private async callListener(which: keyof RebalanceListener, partitions: TopicPartition[]): Promise<void> {
    let fn = this.listener[which];
    if (fn === undefined && which === 'onPartitionsLost') fn = this.listener.onPartitionsRevoked;
    if (fn === undefined) return;
    try {
      await fn.call(this.listener, partitions.map((tp) => ({ ...tp })));
    } catch (error) {
      this.logger.error(`rebalance listener ${which} failed`, { error: (error as Error).message });
    }
  }

  /** Commits (when auto-committing) and revokes every owned partition. */
  private async revokeAll(why: string): Promise<void> {
    await this.revoke(this.owned, why);
  }

  private async revoke(partitions: TopicPartition[], why: string): Promise<void> {
    if (partitions.length === 0) return;
    if (this.autoCommit) {
      const keys = new Set(partitions.map((tp) => tpKey(tp.topic, tp.partition)));
      const positions = this.ctx!.positions().filter((p) => keys.has(tpKey(p.topic, p.partition)));
      if (positions.length > 0) {
        await this.commitSync(positions).catch((e: Error) => this.logger.warn(`commit before ${why} failed`, { error: e.message }));
      }
    }
    await this.callListener('onPartitionsRevoked', partitions);
    const keys = new Set(partitions.map((tp) => tpKey(tp.topic, tp.partition)));
    this.owned = this.owned.filter((tp) => !keys.has(tpKey(tp.topic, tp.partition)));
    this.ctx!.setAssignment(this.owned);
  }

  private async join(): Promise<void> {
    const ctx = this.ctx!;
    this.stopHeartbeats();
    const eager = this.assignors.every((a) => a.protocol === 'EAGER') || (this.protocolName !== null && assignorFor(this.protocolName).protocol === 'EAGER' && this.owned.length > 0);
    if (eager) await this.revokeAll('rebalance');
    for (let attempt = 1; ; attempt++) {
      if (this.closed || this.topics === null) return;
      this.state = 'joining';
      this.rejoinNeeded = false;
      try {
        const done = await this.joinOnce();
        if (done) return;
      } catch (error) {
        if (this.closed) return;
        if (error instanceof KafkaError && !error.retriable && !COORDINATOR_CODES.has(error.code) && !(error instanceof ConnectionError)) {
          this.state = 'unjoined';
          this.rejoinNeeded = true;
          throw error;
        }
        this.logger.debug('join failed; retrying', { group: this.groupId, error: (error as Error).message });
        if (error instanceof ConnectionError || (error instanceof KafkaError && COORDINATOR_CODES.has(error.code))) this.markCoordinatorDead();
        await sleep(Math.min(1000, this.retryBackoffMs * attempt), ctx.cluster.signal);
      }
    }
  }

  /** One JoinGroup + SyncGroup round; true when the member is stable with its assignment. */
  private async joinOnce(): Promise<boolean> {
    const conn = await this.coordinatorConnection(Date.now() + this.defaultApiTimeoutMs);
    const topics = this.topics!;
    const metadata = encodeSubscription({
      topics,
      userData: null,
      ownedPartitions: this.owned,
      generationId: this.generation,
      rackId: this.rackId,
    });
    const join = await conn.request(
      ApiKey.JoinGroup,
      {
        groupId: this.groupId,
        sessionTimeoutMs: this.sessionTimeoutMs,
        rebalanceTimeoutMs: this.rebalanceTimeoutMs,
        memberId: this.memberId,
        groupInstanceId: this.groupInstanceId,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocols: this.assignors.map((a) => ({ name: a.name, metadata })),
        reason: null,
      },
      { timeoutMs: this.rebalanceTimeoutMs + 5000 },
    );
    switch (join.errorCode) {
      case ErrorCode.NONE:
        break;
      case ErrorCode.MEMBER_ID_REQUIRED:
        this.memberId = join.memberId;
        return false;
      case ErrorCode.UNKNOWN_MEMBER_ID:
        this.memberId = '';
        return false;
      case ErrorCode.ILLEGAL_GENERATION:
        this.generation = -1;
        return false;
      case ErrorCode.REBALANCE_IN_PROGRESS:
        return false;
      default:
        throw new KafkaError(join.errorCode, `JoinGroup for group '${this.groupId}'`);
    }
    this.memberId = join.memberId;
    this.generation = join.generationId;
    this.protocolName = join.protocolName;
    const assignor = this.assignors.find((a) => a.name === join.protocolName);
    if (assignor === undefined) throw new KafkaError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, `the coordinator chose unknown protocol '${join.protocolName}'`);
    let assignments: Array<{ memberId: string; assignment: Buffer }> = [];
    if (join.leader === join.memberId && !join.skipAssignment) {
      assignments = await this.leaderAssign(assignor, join.members.map((m) => ({ ...decodeSubscription(m.metadata), memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? null })));
    }
    const sync = await conn.request(
      ApiKey.SyncGroup,
      {
        groupId: this.groupId,
        generationId: this.generation,
        memberId: this.memberId,
        groupInstanceId: this.groupInstanceId,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocolName: join.protocolName,
        assignments,
      },
      { timeoutMs: this.rebalanceTimeoutMs + 5000 },
    );
    switch (sync.errorCode) {
      case ErrorCode.NONE:
        break;
      case ErrorCode.REBALANCE_IN_PROGRESS:
        return false;
      case ErrorCode.UNKNOWN_MEMBER_ID:
        this.memberId = '';
        this.generation = -1;
        return false;
      case ErrorCode.ILLEGAL_GENERATION:
        this.generation = -1;
        return false;
      default:
        throw new KafkaError(sync.errorCode, `SyncGroup for group '${this.groupId}'`);
    }
    const assigned = decodeAssignment(sync.assignment).partitions.filter((tp) => topics.includes(tp.topic));
    await this.install(assignor, assigned);
    return !this.rejoinNeeded;
  }

  private async install(assignor: PartitionAssignor, assigned: TopicPartition[]): Promise<void> {
    const assignedKeys = new Set(assigned.map((tp) => tpKey(tp.topic, tp.partition)));
    const ownedKeys = new Set(this.owned.map((tp) => tpKey(tp.topic, tp.partition)));
    const added = assigned.filter((tp) => !ownedKeys.has(tpKey(tp.topic, tp.partition)));
    const revoked = this.owned.filter((tp) => !assignedKeys.has(tpKey(tp.topic, tp.partition)));
    this.state = 'stable';
    this.lastPoll = Date.now();
    this.startHeartbeats();
    if (revoked.length > 0) {
      // Cooperative: give up what moves, then rejoin so it can be handed over.
      await this.revoke(revoked, 'rebalance');
      this.rejoinNeeded = true;
    }
    this.owned = assigned.map((tp) => ({ topic: tp.topic, partition: tp.partition }));
    this.ctx!.setAssignment(this.owned);
    this.logger.info('joined group', {
      group: this.groupId,
      member: this.memberId,
      generation: this.generation,
      protocol: assignor.name,
      partitions: this.owned.map((tp) => tpKey(tp.topic, tp.partition)),
    });
    await this.callListener('onPartitionsAssigned', added);
  }

  private async leaderAssign(assignor: PartitionAssignor, members: MemberSubscription[]): Promise<Array<{ memberId: string; assignment: Buffer }>> {
    const cluster = this.ctx!.cluster;
    const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
    cluster.trackTopics(topics);
    const conn = await cluster.anyConnection();
    const md = await cluster.fetchMetadata(conn, topics, false);
    const counts = new Map<string, number>();
    for (const t of md.topics) {
      if (t.errorCode === ErrorCode.NONE && t.name !== null && t.name !== undefined) counts.set(t.name, t.partitions.length);
    }
    let result = assignor.assign(members, counts);
    if (assignor.protocol === 'COOPERATIVE') result = withholdMovingPartitions(members, result);
    this.logger.debug('computed assignment', { group: this.groupId, assignor: assignor.name, members: members.length });
    return members.map((m) => ({ memberId: m.memberId, assignment: encodeAssignment({ partitions: result.get(m.memberId) ?? [], userData: null }) }));
  }

  private async leave(reason: string): Promise<void> {
    this.stopHeartbeats();
    if (this.memberId === '' || this.groupInstanceId !== null) {
      this.state = 'unjoined';
      return;
    }
    const memberId = this.memberId;
    this.memberId = '';
    this.generation = -1;
    this.state = 'unjoined';
    try {
      const conn = await this.coordinatorConnection(Date.now() + 5000);
      await conn.request(
        ApiKey.LeaveGroup,
        (v) => (v >= 3 ? { groupId: this.groupId, members: [{ memberId, groupInstanceId: null, reason }] } : { groupId: this.groupId, memberId }),
        { timeoutMs: 5000 },
      );
      this.logger.info('left group', { group: this.groupId, member: memberId, reason });
    } catch (error) {
      this.logger.debug('LeaveGroup failed', { error: (error as Error).message });
    }
  }

  // ---------------------------------------------------------------- heartbeats

  private startHeartbeats(): void {
    this.stopHeartbeats();
    this.lastHeartbeat = Date.now();
    this.heartbeatTimer = setInterval(() => this.heartbeatTick(), Math.max(10, Math.min(this.heartbeatIntervalMs, 1000)));
    this.heartbeatTimer.unref();
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private heartbeatTick(): void {
    if (this.state !== 'stable' || this.closed) return;
    const now = Date.now();
    if (now - this.lastPoll > this.rebalanceTimeoutMs) {
      this.logger.warn(
        'consumer poll timeout has expired: poll was not called within max.poll.interval.ms; leaving the group',
        { group: this.groupId, maxPollIntervalMs: this.rebalanceTimeoutMs },
      );
      if (this.owned.length > 0) this.partitionsLost = true;
      void this.leave('consumer poll timeout has expired');
      this.rejoinNeeded = true;
      return;
    }
    if (this.heartbeatInFlight || now - this.lastHeartbeat < this.heartbeatIntervalMs) return;
    this.heartbeatInFlight = true;
    this.lastHeartbeat = now;
    const generation = this.generation;
    void this.sendHeartbeat()
      .then((code) => {
        if (code === ErrorCode.NONE || this.generation !== generation || this.state !== 'stable') return;
        if (code === ErrorCode.REBALANCE_IN_PROGRESS) {
          this.logger.debug('group is rebalancing; rejoining', { group: this.groupId });
          this.requestRejoin();
        } else if (code === ErrorCode.ILLEGAL_GENERATION || code === ErrorCode.UNKNOWN_MEMBER_ID || code === ErrorCode.FENCED_INSTANCE_ID) {
          this.logger.info('member is no longer in the group', { group: this.groupId, error: new KafkaError(code).errorName });
          this.markLost(code);
        } else if (COORDINATOR_CODES.has(code)) {
          this.markCoordinatorDead();
        }
      })
      .catch((error: Error) => {
        this.logger.debug('heartbeat failed', { error: error.message });
        if (error instanceof ConnectionError) this.markCoordinatorDead();
      })
      .finally(() => (this.heartbeatInFlight = false));
  }

  private async sendHeartbeat(): Promise<number> {
    const conn = await this.coordinatorConnection(Date.now() + this.sessionTimeoutMs);
    const res = await conn.request(ApiKey.Heartbeat, {
      groupId: this.groupId,
      generationId: this.generation,
      memberId: this.memberId,
      groupInstanceId: this.groupInstanceId,
    });
    return res.errorCode;
  }
}
