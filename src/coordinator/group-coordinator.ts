/**
 * The group coordinator: Kafka's classic consumer-group protocol and the
 * committed offsets, for the groups whose __consumer_offsets partition this
 * broker leads.
 *
 * Membership (JoinGroup / SyncGroup / Heartbeat / LeaveGroup) follows
 * Kafka's state machine: Empty -> PreparingRebalance (join phase: wait up to
 * the largest member rebalance timeout for every member to rejoin; a new
 * group waits group.initial.rebalance.delay.ms, extended while members keep
 * arriving) -> CompletingRebalance (the leader got the member list and
 * computes assignments; followers wait in SyncGroup) -> Stable. A member is
 * expired when its session timer runs out (reset by heartbeats, commits and
 * joins); members that do not SyncGroup within the rebalance timeout are
 * removed too. Static members (group.instance.id) keep their place across
 * restarts: an instance rejoining a Stable group with an unknown member id
 * takes a new member id without a rebalance (unless the group's protocol
 * would change), and the old id is fenced (FENCED_INSTANCE_ID).
 *
 * Every change that must survive a restart is appended to the group's
 * __consumer_offsets partition (group metadata after each generation, offsets
 * on commit, tombstones on deletion and expiry) and acknowledged only after
 * the append completed. Becoming leader of a partition replays it to rebuild
 * groups and offsets; until then requests for its groups get
 * COORDINATOR_LOAD_IN_PROGRESS. Leadership is followed through
 * onBecomeLeader / onResign (called by the broker, and checked lazily on each
 * request against the host).
 *
 * Parked requests (JoinGroup, SyncGroup) are promises resolved by the state
 * machine; all timers come from an injectable Scheduler.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logging.js';
import { silentLogger } from '../logging.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { buildBatchAsync, readTxnMarker, scanBatches, type CompressionType } from '../protocol/records/index.js';
import {
  CONSUMER_PROTOCOL_TYPE,
  Group,
  Member,
  joinError,
  offsetKey,
  splitOffsetKey,
  syncError,
  type CommittedOffset,
  type GroupState,
  type JoinResult,
  type Protocol,
  type SyncResult,
} from './group.js';
import {
  decodeGroupMetadataValue,
  decodeOffsetCommitValue,
  decodeOffsetsTopicKey,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  type GroupMetadataValue,
} from './offsets-topic-records.js';
import { partitionForGroup } from './partition-for.js';
import {
  NEW_MEMBER_JOIN_TIMEOUT_MS,
  systemScheduler,
  type CoordinatorHost,
  type GroupCoordinatorConfig,
  type OffsetsLog,
  type Scheduler,
  type TimerHandle,
} from './types.js';

const EMPTY = Buffer.alloc(0);
const NONE = ErrorCode.NONE;

/** Which API asks (empty group ids are allowed for the offset and admin APIs, as in Kafka). */
export type GroupApi = 'join' | 'sync' | 'heartbeat' | 'leave' | 'commit' | 'fetch' | 'describe' | 'delete' | 'offset-delete';

export interface JoinGroupParams {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  /** JoinGroup v4+: a dynamic member without an id gets MEMBER_ID_REQUIRED first. */
  requireKnownMemberId: boolean;
  /** JoinGroup v9+ (KIP-814): a rejoining static leader is told to skip the assignment. */
  supportSkippingAssignment: boolean;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  protocolType: string;
  protocols: Protocol[];
  reason?: string | null;
}

export interface SyncGroupParams {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** v5+: must match the group's; null = not checked. */
  protocolType: string | null;
  protocolName: string | null;
  assignments: Map<string, Buffer>;
}

export interface HeartbeatParams {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export interface LeavingMember {
  memberId: string;
  groupInstanceId: string | null;
  reason?: string | null;
}

export interface LeaveGroupResult {
  errorCode: number;
  members: { memberId: string; groupInstanceId: string | null; errorCode: number }[];
}

export interface MemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  metadata: Buffer;
  assignment: Buffer;
}

export interface GroupDescription {
  errorCode: number;
  groupId: string;
  state: string;
  protocolType: string;
  protocol: string;
  members: MemberDescription[];
}

export interface GroupListing {
  groupId: string;
  protocolType: string;
  state: GroupState;
}

export interface OffsetCommitEntry {
  topic: string;
  partition: number;
  offset: number;
  /** -1 when unknown. */
  leaderEpoch: number;
  metadata: string | null;
  /** OffsetCommit v1's explicit commit time; -1 = now. */
  commitTimestamp: number;
  /** OffsetCommit v2-v4 with a retention time: when this offset expires; null = broker retention. */
  expireTimestamp: number | null;
}

export interface OffsetCommitParams {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  generationId: number;
  apiVersion: number;
  entries: OffsetCommitEntry[];
}

export interface TopicPartitionRef {
  topic: string;
  partition: number;
}

export interface FetchedOffset extends TopicPartitionRef {
  offset: number;
  leaderEpoch: number;
  metadata: string;
  errorCode: number;
}

export interface OffsetFetchResult {
  errorCode: number;
  offsets: FetchedOffset[];
}

export interface OffsetDeleteResult {
  errorCode: number;
  /** Per requested partition, in request order (empty when errorCode is set). */
  partitions: number[];
}

interface OwnedPartition {
  readonly partition: number;
  readonly log: OffsetsLog;
  loading: boolean;
  loaded: Promise<void>;
}

interface PendingRecord {
  key: Buffer;
  value: Buffer | null;
}

export interface GroupCoordinatorOptions {
  host: CoordinatorHost;
  config: GroupCoordinatorConfig;
  scheduler?: Scheduler;
  logger?: Logger;
}

export class GroupCoordinator {
  private readonly host: CoordinatorHost;
  private readonly config: GroupCoordinatorConfig;
  private readonly scheduler: Scheduler;
  private readonly logger: Logger;
  private readonly groups = new Map<string, Group>();
  private readonly owned = new Map<number, OwnedPartition>();
  private creatingTopic: Promise<void> | null = null;
  private retentionTimer: TimerHandle | null = null;
  private closed = false;

  constructor(options: GroupCoordinatorOptions) {
    this.host = options.host;
    this.config = options.config;
    this.scheduler = options.scheduler ?? systemScheduler;
    this.logger = options.logger ?? silentLogger;
  }

  // ---- lifecycle and leadership ---------------------------------------

  /** Loads every __consumer_offsets partition this broker leads and starts the offset expiry timer. */
  startup(): void {
    const count = this.host.offsetsTopicPartitionCount();
    if (count !== null) for (let p = 0; p < count; p++) this.syncPartition(p);
    this.scheduleRetentionCheck();
  }

  /** Unloads everything: parked requests are answered NOT_COORDINATOR and timers stop. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.retentionTimer?.cancel();
    this.retentionTimer = null;
    for (const partition of [...this.owned.keys()]) this.onResign(partition);
  }

  /** This broker now leads `partition` of __consumer_offsets: replay it. Resolves when loaded. */
  onBecomeLeader(partition: number): Promise<void> {
    const existing = this.owned.get(partition);
    if (existing) return existing.loaded;
    const log = this.host.offsetsLog(partition);
    if (!log || !log.isOpen || this.closed) return Promise.resolve();
    const owned: OwnedPartition = { partition, log, loading: true, loaded: Promise.resolve() };
    this.owned.set(partition, owned);
    if (this.retentionTimer === null) this.scheduleRetentionCheck();
    owned.loaded = this.loadPartition(owned).then(
      () => {
        if (this.owned.get(partition) === owned) owned.loading = false;
      },
      (err: unknown) => {
        this.logger.error('loading a __consumer_offsets partition failed', { partition, error: String(err) });
        if (this.owned.get(partition) === owned) this.owned.delete(partition);
      },
    );
    return owned.loaded;
  }

  /** This broker no longer leads `partition`: drop its groups (their members will find the new coordinator). */
  onResign(partition: number): void {
    if (!this.owned.delete(partition)) return;
    for (const group of [...this.groups.values()]) {
      if (this.partitionFor(group.groupId) === partition) this.unloadGroup(group, ErrorCode.NOT_COORDINATOR);
    }
    this.logger.info('unloaded __consumer_offsets partition', { partition });
  }

  /** Whether the partition is owned and loaded (for tests and FindCoordinator). */
  isLoaded(partition: number): boolean {
    const owned = this.owned.get(partition);
    return owned !== undefined && !owned.loading;
  }

  partitionFor(groupId: string): number {
    return partitionForGroup(groupId, this.host.offsetsTopicPartitionCount() ?? this.config.offsetsTopicNumPartitions);
  }

  /** Creates __consumer_offsets if needed and waits for its partitions to load. */
  ensureOffsetsTopic(): Promise<void> {
    if (this.host.offsetsTopicPartitionCount() !== null) return Promise.resolve();
    this.creatingTopic ??= (async () => {
      try {
        await this.host.ensureOffsetsTopic();
        const count = this.host.offsetsTopicPartitionCount() ?? 0;
        const loads: Promise<void>[] = [];
        for (let p = 0; p < count; p++) {
          this.syncPartition(p);
          const owned = this.owned.get(p);
          if (owned) loads.push(owned.loaded);
        }
        await Promise.all(loads);
      } finally {
        this.creatingTopic = null;
      }
    })();
    return this.creatingTopic;
  }

  /** Brings our idea of one partition's leadership in line with the host's. */
  private syncPartition(partition: number): void {
    const log = this.host.offsetsLog(partition);
    const owned = this.owned.get(partition);
    const leads = log !== null && log.isOpen;
    if (owned && (!leads || owned.log !== log)) this.onResign(partition);
    if (leads && !this.owned.has(partition)) void this.onBecomeLeader(partition);
  }

  /**
   * Kafka's validateGroupStatus: INVALID_GROUP_ID, COORDINATOR_NOT_AVAILABLE,
   * COORDINATOR_LOAD_IN_PROGRESS or NOT_COORDINATOR, else null. Creates
   * __consumer_offsets on first use.
   */
  private async checkGroupStatus(groupId: string, api: GroupApi): Promise<number | null> {
    if (this.closed) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const emptyAllowed = api === 'commit' || api === 'fetch' || api === 'describe' || api === 'delete';
    if (typeof groupId !== 'string' || (!emptyAllowed && groupId.length === 0)) return ErrorCode.INVALID_GROUP_ID;
    if (this.host.offsetsTopicPartitionCount() === null) {
      try {
        await this.ensureOffsetsTopic();
      } catch (err) {
        this.logger.warn('could not create __consumer_offsets', { error: String(err) });
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
      if (this.closed) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    return this.partitionStatus(this.partitionFor(groupId));
  }

  /** null when this broker coordinates the partition's groups now. */
  partitionStatus(partition: number): number | null {
    this.syncPartition(partition);
    const owned = this.owned.get(partition);
    if (!owned) return ErrorCode.NOT_COORDINATOR;
    if (owned.loading) return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    return null;
  }

  // ---- JoinGroup --------------------------------------------------------

  async joinGroup(req: JoinGroupParams): Promise<JoinResult> {
    const status = await this.checkGroupStatus(req.groupId, 'join');
    if (status !== null) return joinError(req.memberId, status);
    if (req.sessionTimeoutMs < this.config.minSessionTimeoutMs || req.sessionTimeoutMs > this.config.maxSessionTimeoutMs) {
      return joinError(req.memberId, ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    const isUnknownMember = req.memberId === '';
    let group = this.groups.get(req.groupId);
    if (!group) {
      // A known member id for a group we do not have: the member must start over.
      if (!isUnknownMember) return joinError(req.memberId, ErrorCode.UNKNOWN_MEMBER_ID);
      group = this.addGroup(req.groupId);
    }
    const g = group;
    return new Promise<JoinResult>((resolve) => {
      if (!this.acceptJoiningMember(g, req.memberId)) {
        const existing = g.members.get(req.memberId);
        if (existing) this.removeMemberAndUpdateGroup(g, existing, 'the group is at group.max.size');
        resolve(joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED));
      } else if (isUnknownMember) {
        this.doNewMemberJoin(g, req, resolve);
      } else {
        this.doCurrentMemberJoin(g, req, resolve);
      }
      if (g.is('PreparingRebalance')) this.tryCompleteJoin(g);
    });
  }

  /**
   * group.max.size: known members are always accepted; new ones only while
   * the group (members, or members rejoining during a rebalance, plus ids
   * handed out and not joined yet) is below the limit.
   */
  private acceptJoiningMember(group: Group, memberId: string): boolean {
    const max = this.config.maxGroupSize;
    const known = memberId !== '' && group.has(memberId);
    const pending = memberId !== '' && group.isPendingMember(memberId);
    const otherPending = group.pendingMembers.size - (pending ? 1 : 0);
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return known || pending || otherPending < max;
      case 'PreparingRebalance':
        if (known) return group.get(memberId).isAwaitingJoin || group.numMembersAwaitingJoin < max;
        return group.numMembersAwaitingJoin + otherPending < max;
      case 'CompletingRebalance':
      case 'Stable':
        return known || group.size + otherPending < max;
    }
  }

  private doNewMemberJoin(group: Group, req: JoinGroupParams, resolve: (r: JoinResult) => void): void {
    if (group.is('Dead')) return resolve(joinError('', ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!group.supportsProtocols(req.protocolType, req.protocols)) {
      return resolve(joinError('', ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    const newMemberId = `${req.groupInstanceId ?? req.clientId}-${randomUUID()}`;
    if (req.groupInstanceId !== null) {
      const oldMemberId = group.currentStaticMemberId(req.groupInstanceId);
      if (oldMemberId !== undefined) {
        this.logger.info('static member rejoined with a new member id', {
          group: group.groupId,
          groupInstanceId: req.groupInstanceId,
          oldMemberId,
          newMemberId,
          state: group.state,
        });
        this.updateStaticMemberAndRebalance(group, oldMemberId, newMemberId, req, resolve);
      } else {
        this.addMemberAndRebalance(group, newMemberId, req, resolve);
      }
    } else if (req.requireKnownMemberId) {
      // Two-step join (v4+): hand out the id; the member joins again with it.
      const expiry = this.scheduler.schedule(req.sessionTimeoutMs, () => {
        if (group.isPendingMember(newMemberId)) this.removePendingMemberAndUpdateGroup(group, newMemberId);
      });
      group.addPendingMember(newMemberId, expiry);
      resolve(joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED));
    } else {
      this.addMemberAndRebalance(group, newMemberId, req, resolve);
    }
  }

  private doCurrentMemberJoin(group: Group, req: JoinGroupParams, resolve: (r: JoinResult) => void): void {
    const { memberId } = req;
    if (group.is('Dead')) return resolve(joinError(memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!group.supportsProtocols(req.protocolType, req.protocols)) {
      return resolve(joinError(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    if (group.isPendingMember(memberId)) {
      // Pending ids are only handed to dynamic members.
      if (req.groupInstanceId !== null) return resolve(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      return this.addMemberAndRebalance(group, memberId, req, resolve);
    }
    if (group.isStaticMemberFenced(req.groupInstanceId, memberId)) {
      return resolve(joinError(memberId, ErrorCode.FENCED_INSTANCE_ID));
    }
    const instanceUnknown = req.groupInstanceId !== null && !group.hasStaticMember(req.groupInstanceId);
    if (!group.has(memberId) || instanceUnknown) return resolve(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    const member = group.get(memberId);
    switch (group.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(group, member, req, resolve, `member ${memberId} rejoined during the rebalance`);
      case 'CompletingRebalance':
        if (member.matches(req.protocols)) {
          // Same metadata (it probably missed the JoinGroup response): answer with the current generation.
          return resolve(this.currentGenerationResult(group, member, group.isLeader(memberId)));
        }
        return this.updateMemberAndRebalance(group, member, req, resolve, `member ${memberId} changed its metadata`);
      case 'Stable':
        if (group.isLeader(memberId)) {
          // The leader rejoins to trigger a rebalance (e.g. topic metadata changed).
          return this.updateMemberAndRebalance(group, member, req, resolve, `leader ${memberId} rejoined`);
        }
        if (!member.matches(req.protocols)) {
          return this.updateMemberAndRebalance(group, member, req, resolve, `member ${memberId} changed its metadata`);
        }
        return resolve(this.currentGenerationResult(group, member, false));
      case 'Empty':
      case 'Dead':
        return resolve(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  private currentGenerationResult(group: Group, member: Member, withMembers: boolean): JoinResult {
    return {
      errorCode: NONE,
      memberId: member.memberId,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leaderId: group.leaderId ?? '',
      skipAssignment: false,
      members: withMembers ? group.currentMemberMetadata() : [],
    };
  }

  private addMemberAndRebalance(group: Group, memberId: string, req: JoinGroupParams, resolve: (r: JoinResult) => void): void {
    const member = new Member(
      memberId,
      req.groupInstanceId,
      req.clientId,
      req.clientHost,
      req.rebalanceTimeoutMs,
      req.sessionTimeoutMs,
      req.protocolType,
      req.protocols,
    );
    member.isNew = true;
    // A member arriving during a new group's initial delay extends it.
    if (group.is('PreparingRebalance') && group.generationId === 0) group.newMemberAdded = true;
    group.add(member, resolve);
    // A new member has no session yet: bound how long its JoinGroup may wait instead.
    this.scheduleSessionExpiry(group, member, NEW_MEMBER_JOIN_TIMEOUT_MS);
    this.maybePrepareRebalance(group, `member ${memberId} joined${req.reason ? ` (${req.reason})` : ''}`);
  }

  private updateMemberAndRebalance(group: Group, member: Member, req: JoinGroupParams, resolve: (r: JoinResult) => void, reason: string): void {
    // A JoinGroup still parked for this member (a retry from a new connection) is superseded.
    group.invokeJoinCallback(member, joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    group.updateMember(member, req.protocols, req.rebalanceTimeoutMs, req.sessionTimeoutMs, resolve);
    this.maybePrepareRebalance(group, reason);
  }

  private updateStaticMemberAndRebalance(
    group: Group,
    oldMemberId: string,
    newMemberId: string,
    req: JoinGroupParams,
    resolve: (r: JoinResult) => void,
  ): void {
    const instanceId = req.groupInstanceId!;
    const currentLeader = group.leaderId ?? '';
    const member = group.replaceStaticMember(instanceId, oldMemberId, newMemberId);
    this.scheduleSessionExpiry(group, member);
    const old = { protocols: member.protocols, rebalanceTimeoutMs: member.rebalanceTimeoutMs, sessionTimeoutMs: member.sessionTimeoutMs };
    group.updateMember(member, req.protocols, req.rebalanceTimeoutMs, req.sessionTimeoutMs, resolve);
    switch (group.state) {
      case 'Stable': {
        if (group.protocolName !== group.selectProtocol()) {
          this.maybePrepareRebalance(group, `static member ${instanceId} rejoined with a change of protocol`);
          return;
        }
        // No rebalance: persist the new member id, then answer with the current generation.
        const assignment = new Map([...group.members.values()].map((m) => [m.memberId, m.assignment]));
        const generation = group.generationId;
        void this.storeGroup(group, assignment).then((error) => {
          if (group.members.get(newMemberId) !== member || group.generationId !== generation) return;
          if (error !== NONE) {
            this.logger.warn('could not persist a static member replacement; reverting', { group: group.groupId, error });
            group.updateMember(member, old.protocols, old.rebalanceTimeoutMs, old.sessionTimeoutMs, null);
            group.replaceStaticMember(instanceId, newMemberId, oldMemberId);
            this.scheduleSessionExpiry(group, member);
            resolve({ ...joinError('', error), generationId: group.generationId, leaderId: currentLeader });
          } else if (req.supportSkippingAssignment) {
            // v9+: the leader learns it leads (and the members' subscriptions) but skips the assignment.
            const isLeader = group.isLeader(newMemberId);
            group.invokeJoinCallback(member, {
              ...this.currentGenerationResult(group, member, isLeader),
              skipAssignment: isLeader,
            });
          } else {
            // Before v9: report the old leader id, so a returning leader acts as a follower and keeps the assignment.
            group.invokeJoinCallback(member, { ...this.currentGenerationResult(group, member, false), leaderId: currentLeader });
          }
        });
        return;
      }
      case 'CompletingRebalance':
        // The member list handed to the leader has the old id: rebalance so it gets the new one.
        this.maybePrepareRebalance(group, `static member ${instanceId} rejoined with a new member id`);
        return;
      case 'PreparingRebalance':
        return;
      case 'Empty':
      case 'Dead':
        group.invokeJoinCallback(member, joinError(newMemberId, ErrorCode.UNKNOWN_MEMBER_ID));
        return;
    }
  }

  private maybePrepareRebalance(group: Group, reason: string): void {
    if (group.canRebalance) this.prepareRebalance(group, reason);
  }

  private prepareRebalance(group: Group, reason: string): void {
    if (group.is('CompletingRebalance')) this.resetAndPropagateAssignmentError(group, ErrorCode.REBALANCE_IN_PROGRESS);
    this.cancelTimer(group, 'syncTimer');
    const isInitial = group.is('Empty');
    group.transitionTo('PreparingRebalance', this.scheduler.now());
    this.logger.info('preparing to rebalance group', {
      group: group.groupId,
      generation: group.generationId,
      partition: this.partitionFor(group.groupId),
      reason,
    });
    this.cancelTimer(group, 'joinTimer');
    if (isInitial) {
      const delay = this.config.initialRebalanceDelayMs;
      this.scheduleInitialJoin(group, delay, Math.max(group.rebalanceTimeoutMs - delay, 0));
    } else {
      this.scheduleJoin(group);
      this.tryCompleteJoin(group);
    }
  }

  /** The join phase of a new group: wait the initial delay, again while new members keep coming. */
  private scheduleInitialJoin(group: Group, delayMs: number, remainingMs: number): void {
    group.joinTimerInitial = true;
    group.joinTimer = this.scheduler.schedule(delayMs, () => {
      group.joinTimer = null;
      if (group.newMemberAdded && remainingMs !== 0) {
        group.newMemberAdded = false;
        const next = Math.min(this.config.initialRebalanceDelayMs, remainingMs);
        this.scheduleInitialJoin(group, next, Math.max(remainingMs - next, 0));
      } else {
        this.onCompleteJoin(group);
      }
    });
  }

  /** The join phase: ends when every member has rejoined, or after the largest rebalance timeout. */
  private scheduleJoin(group: Group): void {
    group.joinTimerInitial = false;
    group.joinTimer = this.scheduler.schedule(group.rebalanceTimeoutMs, () => {
      group.joinTimer = null;
      this.onCompleteJoin(group);
    });
  }

  private tryCompleteJoin(group: Group): void {
    if (group.is('PreparingRebalance') && group.joinTimer !== null && !group.joinTimerInitial && group.hasAllMembersJoined) {
      this.cancelTimer(group, 'joinTimer');
      this.onCompleteJoin(group);
    }
  }

  private onCompleteJoin(group: Group): void {
    this.cancelTimer(group, 'joinTimer');
    if (!group.is('PreparingRebalance')) return;
    // Dynamic members that did not rejoin in time are out; static ones keep their place.
    const gone = group.notYetRejoinedMembers().filter((m) => !m.isStatic);
    if (gone.length > 0) {
      this.logger.info('removing members that did not rejoin', { group: group.groupId, members: gone.map((m) => m.memberId) });
      for (const member of gone) this.removeMember(group, member);
    }
    if (!group.maybeElectNewJoinedLeader() && group.size > 0) {
      // Only absent static members left: wait another round for them (or their session expiry).
      this.logger.warn('no member rejoined the group; waiting another rebalance timeout', { group: group.groupId });
      this.scheduleJoin(group);
      return;
    }
    group.initNextGeneration(this.scheduler.now());
    if (group.is('Empty')) {
      this.logger.info('group is now empty', { group: group.groupId, generation: group.generationId });
      void this.storeGroup(group, new Map()).then((error) => {
        if (error !== NONE) this.logger.warn('could not write empty group metadata', { group: group.groupId, error });
      });
      return;
    }
    this.logger.info('stabilized group', { group: group.groupId, generation: group.generationId, members: group.size, protocol: group.protocolName });
    for (const member of group.members.values()) {
      group.invokeJoinCallback(member, this.currentGenerationResult(group, member, group.isLeader(member.memberId)));
      this.scheduleSessionExpiry(group, member);
      member.isNew = false;
      group.pendingSyncMembers.add(member.memberId);
    }
    this.schedulePendingSync(group);
  }

  /** Members that do not SyncGroup within the rebalance timeout are removed and the group rebalances. */
  private schedulePendingSync(group: Group): void {
    this.cancelTimer(group, 'syncTimer');
    const generation = group.generationId;
    group.syncTimer = this.scheduler.schedule(group.rebalanceTimeoutMs, () => {
      group.syncTimer = null;
      if (group.generationId !== generation || !(group.is('CompletingRebalance') || group.is('Stable'))) return;
      if (group.pendingSyncMembers.size === 0) return;
      const pending = [...group.pendingSyncMembers];
      for (const memberId of pending) {
        const member = group.members.get(memberId);
        if (member) this.removeMember(group, member);
      }
      group.pendingSyncMembers.clear();
      this.prepareRebalance(group, `members ${pending.join(', ')} did not sync in time`);
    });
  }

  private removePendingSyncMember(group: Group, memberId: string): void {
    group.pendingSyncMembers.delete(memberId);
    if (group.pendingSyncMembers.size === 0) this.cancelTimer(group, 'syncTimer');
  }

  // ---- SyncGroup --------------------------------------------------------

  async syncGroup(req: SyncGroupParams): Promise<SyncResult> {
    const status = await this.checkGroupStatus(req.groupId, 'sync');
    // A loading coordinator lost the rebalance in progress: the member rejoins (older clients do not know LOAD_IN_PROGRESS here).
    if (status !== null) return syncError(status === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ? ErrorCode.REBALANCE_IN_PROGRESS : status);
    const group = this.groups.get(req.groupId);
    if (!group) return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    return new Promise<SyncResult>((resolve) => this.doSyncGroup(group, req, resolve));
  }

  private doSyncGroup(group: Group, req: SyncGroupParams, resolve: (r: SyncResult) => void): void {
    const { memberId } = req;
    if (group.is('Dead')) return resolve(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (group.isStaticMemberFenced(req.groupInstanceId, memberId)) return resolve(syncError(ErrorCode.FENCED_INSTANCE_ID));
    if (!group.has(memberId)) return resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (req.generationId !== group.generationId) return resolve(syncError(ErrorCode.ILLEGAL_GENERATION));
    if (req.protocolType !== null && group.protocolType !== req.protocolType) {
      return resolve(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    if (req.protocolName !== null && group.protocolName !== req.protocolName) {
      return resolve(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    const member = group.get(memberId);
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      case 'PreparingRebalance':
        return resolve(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      case 'CompletingRebalance': {
        group.invokeSyncCallback(member, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        member.awaitingSync = resolve;
        this.removePendingSyncMember(group, memberId);
        if (!group.isLeader(memberId)) return;
        // The leader's assignment: members it left out get an empty one; ids not in the group are ignored.
        const assignment = new Map<string, Buffer>();
        const missing: string[] = [];
        for (const id of group.members.keys()) {
          const given = req.assignments.get(id);
          if (given === undefined) missing.push(id);
          assignment.set(id, given ?? EMPTY);
        }
        if (missing.length > 0) this.logger.warn('leader left members without an assignment', { group: group.groupId, missing });
        this.logger.info('assignment received from the leader', { group: group.groupId, generation: group.generationId, members: group.size });
        const generation = group.generationId;
        void this.storeGroup(group, assignment).then((error) => {
          if (!group.is('CompletingRebalance') || group.generationId !== generation) return;
          if (error !== NONE) {
            this.resetAndPropagateAssignmentError(group, error);
            this.maybePrepareRebalance(group, 'the group assignment could not be stored');
            return;
          }
          for (const m of group.members.values()) m.assignment = assignment.get(m.memberId) ?? EMPTY;
          this.propagateAssignment(group, NONE);
          group.transitionTo('Stable', this.scheduler.now());
        });
        return;
      }
      case 'Stable':
        this.removePendingSyncMember(group, memberId);
        resolve({ errorCode: NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment });
        this.scheduleSessionExpiry(group, member);
        return;
    }
  }

  private resetAndPropagateAssignmentError(group: Group, error: number): void {
    for (const member of group.members.values()) member.assignment = EMPTY;
    this.propagateAssignment(group, error);
  }

  private propagateAssignment(group: Group, error: number): void {
    const ok = error === NONE;
    for (const member of group.members.values()) {
      const answered = group.invokeSyncCallback(member, {
        errorCode: error,
        protocolType: ok ? group.protocolType : null,
        protocolName: ok ? group.protocolName : null,
        assignment: member.assignment,
      });
      // Its session may have run out while it waited: start a fresh one.
      if (answered) this.scheduleSessionExpiry(group, member);
    }
  }

  // ---- Heartbeat ----------------------------------------------------------

  async heartbeat(req: HeartbeatParams): Promise<number> {
    const status = await this.checkGroupStatus(req.groupId, 'heartbeat');
    // While loading, answer blindly: the member's state is not known yet.
    if (status !== null) return status === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ? NONE : status;
    const group = this.groups.get(req.groupId);
    if (!group) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (group.isStaticMemberFenced(req.groupInstanceId, req.memberId)) return ErrorCode.FENCED_INSTANCE_ID;
    if (!group.has(req.memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (req.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    const member = group.get(req.memberId);
    switch (group.state) {
      case 'Empty':
        return ErrorCode.UNKNOWN_MEMBER_ID;
      case 'CompletingRebalance':
      case 'Stable':
        this.scheduleSessionExpiry(group, member);
        return NONE;
      case 'PreparingRebalance':
        this.scheduleSessionExpiry(group, member);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      case 'Dead':
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
  }

  // ---- sessions and member removal ------------------------------------

  private scheduleSessionExpiry(group: Group, member: Member, timeoutMs = member.sessionTimeoutMs): void {
    member.sessionTimer?.cancel();
    member.sessionTimer = this.scheduler.schedule(timeoutMs, () => {
      member.sessionTimer = null;
      if (group.is('Dead') || group.members.get(member.memberId) !== member) return;
      // A known member parked in a rebalance counts as alive; its session restarts when the rebalance completes.
      if (!member.isNew && (member.isAwaitingJoin || member.isAwaitingSync)) return;
      this.logger.info('member session expired; removing it from the group', {
        group: group.groupId,
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
      });
      this.removeMemberAndUpdateGroup(group, member, `member ${member.memberId} session expired`);
    });
  }

  /** Removes a member without touching the group's state. */
  private removeMember(group: Group, member: Member): void {
    group.invokeJoinCallback(member, joinError(member.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    group.invokeSyncCallback(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    group.remove(member.memberId);
  }

  private removeMemberAndUpdateGroup(group: Group, member: Member, reason: string): void {
    this.removeMember(group, member);
    switch (group.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.maybePrepareRebalance(group, reason);
        break;
      case 'PreparingRebalance':
        this.tryCompleteJoin(group);
        break;
      case 'Empty':
      case 'Dead':
        break;
    }
  }

  private removePendingMemberAndUpdateGroup(group: Group, memberId: string): void {
    group.removePendingMember(memberId);
    if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
  }

  // ---- LeaveGroup -------------------------------------------------------

  async leaveGroup(groupId: string, leaving: LeavingMember[]): Promise<LeaveGroupResult> {
    const status = await this.checkGroupStatus(groupId, 'leave');
    if (status !== null) return { errorCode: status, members: [] };
    const answer = (m: LeavingMember, errorCode: number) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode });
    const group = this.groups.get(groupId);
    if (!group) return { errorCode: NONE, members: leaving.map((m) => answer(m, ErrorCode.UNKNOWN_MEMBER_ID)) };
    if (group.is('Dead')) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    const members = leaving.map((m) => {
      const reason = `member ${m.memberId || m.groupInstanceId} left${m.reason ? ` (${m.reason})` : ''}`;
      if (m.memberId === '') {
        // Administrative removal by instance id.
        const current = m.groupInstanceId !== null ? group.currentStaticMemberId(m.groupInstanceId) : undefined;
        if (current === undefined) return answer(m, ErrorCode.UNKNOWN_MEMBER_ID);
        this.removeMemberAndUpdateGroup(group, group.get(current), reason);
        return answer(m, NONE);
      }
      if (group.isPendingMember(m.memberId)) {
        this.removePendingMemberAndUpdateGroup(group, m.memberId);
        return answer(m, NONE);
      }
      if (group.isStaticMemberFenced(m.groupInstanceId, m.memberId)) return answer(m, ErrorCode.FENCED_INSTANCE_ID);
      const member = group.members.get(m.memberId);
      if (!member) return answer(m, ErrorCode.UNKNOWN_MEMBER_ID);
      this.logger.info('member left the group', { group: groupId, memberId: m.memberId, reason: m.reason ?? null });
      this.removeMemberAndUpdateGroup(group, member, reason);
      return answer(m, NONE);
    });
    return { errorCode: NONE, members };
  }

  // ---- DescribeGroups / ListGroups / DeleteGroups -------------------------

  async describeGroup(groupId: string): Promise<GroupDescription> {
    const status = await this.checkGroupStatus(groupId, 'describe');
    if (status !== null) return { errorCode: status, groupId, state: '', protocolType: '', protocol: '', members: [] };
    const group = this.groups.get(groupId);
    if (!group) return { errorCode: NONE, groupId, state: 'Dead', protocolType: '', protocol: '', members: [] };
    const stable = group.is('Stable') && group.protocolName !== null;
    return {
      errorCode: NONE,
      groupId,
      state: group.state,
      protocolType: group.protocolType ?? '',
      protocol: stable ? group.protocolName! : '',
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: stable ? m.metadataFor(group.protocolName!) : EMPTY,
        assignment: stable ? m.assignment : EMPTY,
      })),
    };
  }

  /** Groups of the partitions this broker leads; LOAD_IN_PROGRESS (with what is known) while any loads. */
  listGroups(statesFilter: readonly string[] = [], typesFilter: readonly string[] = []): { errorCode: number; groups: GroupListing[] } {
    const count = this.host.offsetsTopicPartitionCount();
    if (count !== null) for (let p = 0; p < count; p++) this.syncPartition(p);
    const loading = [...this.owned.values()].some((o) => o.loading);
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(typesFilter.map((t) => t.toLowerCase()));
    const groups: GroupListing[] = [];
    if (types.size === 0 || types.has('classic')) {
      for (const group of this.groups.values()) {
        if (group.is('Dead')) continue;
        if (states.size > 0 && !states.has(group.state.toLowerCase())) continue;
        groups.push({ groupId: group.groupId, protocolType: group.protocolType ?? '', state: group.state });
      }
    }
    return { errorCode: loading ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : NONE, groups };
  }

  /** Deletes empty groups with their offsets (tombstones); per group id, Kafka's error code. */
  async deleteGroups(groupIds: string[]): Promise<Map<string, number>> {
    const results = new Map<string, number>();
    const eligible: Group[] = [];
    for (const groupId of groupIds) {
      const status = await this.checkGroupStatus(groupId, 'delete');
      if (status !== null) {
        results.set(groupId, status);
        continue;
      }
      const group = this.groups.get(groupId);
      if (!group || group.is('Dead')) results.set(groupId, ErrorCode.GROUP_ID_NOT_FOUND);
      else if (!group.is('Empty')) results.set(groupId, ErrorCode.NON_EMPTY_GROUP);
      else {
        group.transitionTo('Dead', this.scheduler.now());
        eligible.push(group);
      }
    }
    await Promise.all(
      eligible.map(async (group) => {
        const records: PendingRecord[] = [...group.offsets.keys()].map((key) => {
          const { topic, partition } = splitOffsetKey(key);
          return { key: encodeOffsetCommitKey(group.groupId, topic, partition), value: null };
        });
        records.push({ key: encodeGroupMetadataKey(group.groupId), value: null });
        this.unloadGroup(group, ErrorCode.COORDINATOR_NOT_AVAILABLE);
        const error = await this.append(this.partitionFor(group.groupId), records, 'group');
        this.logger.info('deleted group', { group: group.groupId, offsets: records.length - 1, error });
        results.set(group.groupId, error);
      }),
    );
    return results;
  }

  // ---- OffsetCommit -------------------------------------------------------

  async commitOffsets(req: OffsetCommitParams): Promise<number[]> {
    const all = (code: number) => req.entries.map(() => code);
    const status = await this.checkGroupStatus(req.groupId, 'commit');
    if (status !== null) return all(status);
    let group = this.groups.get(req.groupId);
    if (!group) {
      if (req.generationId >= 0) {
        // A member of a generation we never saw (or lost). v9+ says so plainly.
        return all(req.apiVersion >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION);
      }
      // A consumer that assigns partitions itself: its group only stores offsets.
      group = this.addGroup(req.groupId);
    }
    const error = this.validateOffsetCommit(group, req);
    if (error !== null) return all(error);
    switch (group.state) {
      case 'Empty':
        return this.storeOffsets(group, req.entries);
      case 'Stable':
      case 'PreparingRebalance':
        // Members may commit while a rebalance is being prepared; a commit counts as a heartbeat.
        this.scheduleSessionExpiry(group, group.get(req.memberId));
        return this.storeOffsets(group, req.entries);
      case 'CompletingRebalance':
        return all(ErrorCode.REBALANCE_IN_PROGRESS);
      case 'Dead':
        return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
  }

  private validateOffsetCommit(group: Group, req: OffsetCommitParams): number | null {
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (req.generationId >= 0 || req.memberId !== '' || req.groupInstanceId !== null) {
      if (group.isStaticMemberFenced(req.groupInstanceId, req.memberId)) return ErrorCode.FENCED_INSTANCE_ID;
      if (!group.has(req.memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (req.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
      return null;
    }
    // No member id and no generation: only allowed while nobody is a member.
    return group.is('Empty') ? null : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  private metadataTooLarge(entry: OffsetCommitEntry): boolean {
    return entry.metadata !== null && entry.metadata.length > this.config.maxMetadataSize;
  }

  private async storeOffsets(group: Group, entries: OffsetCommitEntry[]): Promise<number[]> {
    const now = this.scheduler.now();
    const valid = entries.filter((e) => !this.metadataTooLarge(e));
    if (valid.length === 0) return entries.map(() => ErrorCode.OFFSET_METADATA_TOO_LARGE);
    const committed = new Map<string, CommittedOffset>();
    const records: PendingRecord[] = [];
    for (const entry of valid) {
      const value: CommittedOffset = {
        offset: entry.offset,
        leaderEpoch: entry.leaderEpoch,
        metadata: entry.metadata ?? '',
        commitTimestamp: entry.commitTimestamp >= 0 ? entry.commitTimestamp : now,
        expireTimestamp: entry.expireTimestamp,
      };
      const key = offsetKey(entry.topic, entry.partition);
      committed.set(key, value);
      records.push({ key: encodeOffsetCommitKey(group.groupId, entry.topic, entry.partition), value: encodeOffsetCommitValue(value) });
    }
    for (const key of committed.keys()) group.pendingOffsetCommits.set(key, (group.pendingOffsetCommits.get(key) ?? 0) + 1);
    const error = await this.append(this.partitionFor(group.groupId), records, 'offsets');
    for (const key of committed.keys()) {
      const left = (group.pendingOffsetCommits.get(key) ?? 1) - 1;
      if (left <= 0) group.pendingOffsetCommits.delete(key);
      else group.pendingOffsetCommits.set(key, left);
    }
    if (error === NONE && !group.is('Dead')) for (const [key, value] of committed) group.offsets.set(key, value);
    return entries.map((e) => (this.metadataTooLarge(e) ? ErrorCode.OFFSET_METADATA_TOO_LARGE : error));
  }

  // ---- OffsetFetch --------------------------------------------------------

  /** Committed offsets of the given partitions, or of every partition the group has (null). */
  async fetchOffsets(groupId: string, partitions: TopicPartitionRef[] | null, requireStable: boolean): Promise<OffsetFetchResult> {
    const status = await this.checkGroupStatus(groupId, 'fetch');
    if (status !== null) return { errorCode: status, offsets: [] };
    const none = (p: TopicPartitionRef): FetchedOffset => ({ ...p, offset: -1, leaderEpoch: -1, metadata: '', errorCode: NONE });
    const group = this.groups.get(groupId);
    // Offsets an open transaction wrote (TxnOffsetCommit) are pending too.
    const inTransaction = (key: string) => requireStable && (this.transactionalOffsetsPending?.(groupId, key) ?? false);
    const unstable = (p: TopicPartitionRef): FetchedOffset => ({ ...none(p), errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT });
    if (!group || group.is('Dead')) {
      return { errorCode: NONE, offsets: (partitions ?? []).map((p) => (inTransaction(offsetKey(p.topic, p.partition)) ? unstable(p) : none(p))) };
    }
    const wanted = partitions ?? [...group.offsets.keys()].map(splitOffsetKey);
    const offsets = wanted.map((p): FetchedOffset => {
      const key = offsetKey(p.topic, p.partition);
      if (requireStable && (group.hasPendingOffsetCommit(key) || inTransaction(key))) {
        return unstable(p);
      }
      const committed = group.offsets.get(key);
      if (!committed) return none(p);
      return { ...p, offset: committed.offset, leaderEpoch: committed.leaderEpoch, metadata: committed.metadata, errorCode: NONE };
    });
    return { errorCode: NONE, offsets };
  }

  // ---- OffsetDelete -------------------------------------------------------

  async deleteOffsets(groupId: string, partitions: TopicPartitionRef[]): Promise<OffsetDeleteResult> {
    const status = await this.checkGroupStatus(groupId, 'offset-delete');
    if (status !== null) return { errorCode: status, partitions: [] };
    const group = this.groups.get(groupId);
    if (!group || group.is('Dead')) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, partitions: [] };
    let subscribed: (topic: string) => boolean;
    if (group.is('Empty')) subscribed = () => false;
    else if (group.protocolType === CONSUMER_PROTOCOL_TYPE) subscribed = (topic) => group.isSubscribedToTopic(topic);
    else return { errorCode: ErrorCode.NON_EMPTY_GROUP, partitions: [] };
    const results = partitions.map((p) => (subscribed(p.topic) ? ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC : NONE));
    const doomed = partitions.filter((p, i) => results[i] === NONE && group.offsets.has(offsetKey(p.topic, p.partition)));
    if (doomed.length === 0) return { errorCode: NONE, partitions: results };
    for (const p of doomed) group.offsets.delete(offsetKey(p.topic, p.partition));
    const records = doomed.map((p) => ({ key: encodeOffsetCommitKey(groupId, p.topic, p.partition), value: null }));
    const error = await this.append(this.partitionFor(groupId), records, 'offsets');
    if (error !== NONE) return { errorCode: error, partitions: [] };
    return { errorCode: NONE, partitions: results };
  }

  // ---- offset retention ---------------------------------------------------

  private scheduleRetentionCheck(): void {
    if (this.closed || this.retentionTimer !== null) return;
    this.retentionTimer = this.scheduler.schedule(this.config.offsetsRetentionCheckIntervalMs, () => {
      this.retentionTimer = null;
      // Partitions whose logs closed (broker shutdown, leadership moved) are let go first;
      // with none left the timer stops until this broker leads one again.
      for (const partition of [...this.owned.keys()]) this.syncPartition(partition);
      if (this.owned.size === 0) return;
      void this.expireOffsets()
        .catch((err: unknown) => this.logger.warn('offset expiration failed', { error: String(err) }))
        .finally(() => this.scheduleRetentionCheck());
    });
  }

  /**
   * Kafka's offset retention: offsets of a group that has been Empty for
   * offsets.retention.minutes (of a simple group: since their commit) are
   * removed with tombstones; a Stable consumer group loses offsets of topics
   * it no longer subscribes to; an Empty group left without offsets is
   * removed. Returns the number of offsets removed.
   */
  async expireOffsets(now = this.scheduler.now()): Promise<number> {
    const byPartition = new Map<number, PendingRecord[]>();
    let removed = 0;
    for (const group of [...this.groups.values()]) {
      const partition = this.partitionFor(group.groupId);
      if (!this.isLoaded(partition)) continue;
      const records = byPartition.get(partition) ?? [];
      for (const key of this.expiredOffsets(group, now)) {
        group.offsets.delete(key);
        const { topic, partition: p } = splitOffsetKey(key);
        records.push({ key: encodeOffsetCommitKey(group.groupId, topic, p), value: null });
        removed++;
      }
      if (group.is('Empty') && group.offsets.size === 0 && group.pendingOffsetCommits.size === 0) {
        this.logger.info('removing empty group without offsets', { group: group.groupId, generation: group.generationId });
        group.transitionTo('Dead', now);
        this.unloadGroup(group, ErrorCode.COORDINATOR_NOT_AVAILABLE);
        // A group that only ever stored offsets (generation 0) never wrote metadata.
        if (group.generationId > 0) records.push({ key: encodeGroupMetadataKey(group.groupId), value: null });
      }
      if (records.length > 0) byPartition.set(partition, records);
    }
    await Promise.all(
      [...byPartition].map(async ([partition, records]) => {
        const error = await this.append(partition, records, 'offsets');
        if (error !== NONE) this.logger.warn('could not write offset expiry tombstones', { partition, error });
      }),
    );
    if (removed > 0) this.logger.info('expired committed offsets', { count: removed });
    return removed;
  }

  private expiredOffsets(group: Group, now: number): string[] {
    const retention = this.config.offsetsRetentionMs;
    const pick = (base: (o: CommittedOffset) => number, keep: ReadonlySet<string> | null = null): string[] => {
      const out: string[] = [];
      for (const [key, o] of group.offsets) {
        if (group.hasPendingOffsetCommit(key)) continue;
        if (keep && keep.has(splitOffsetKey(key).topic)) continue;
        const expired = o.expireTimestamp !== null ? now >= o.expireTimestamp : now - base(o) >= retention;
        if (expired) out.push(key);
      }
      return out;
    };
    if (group.protocolType === null) return pick((o) => o.commitTimestamp);
    if (group.is('Empty')) return pick((o) => group.currentStateTimestamp ?? o.commitTimestamp);
    if (group.protocolType === CONSUMER_PROTOCOL_TYPE && group.subscribedTopics !== null && group.is('Stable')) {
      return pick((o) => o.commitTimestamp, group.subscribedTopics);
    }
    return [];
  }

  // ---- persistence ----------------------------------------------------------

  /** Writes the group's metadata record (members with their subscription and assignment). */
  private storeGroup(group: Group, assignment: Map<string, Buffer>): Promise<number> {
    const protocol = group.protocolName;
    const value: GroupMetadataValue = {
      protocolType: group.protocolType ?? '',
      generation: group.generationId,
      protocol,
      leader: group.leaderId,
      currentStateTimestamp: group.currentStateTimestamp ?? -1,
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.sessionTimeoutMs,
        subscription: protocol !== null ? m.metadataFor(protocol) : EMPTY,
        assignment: assignment.get(m.memberId) ?? EMPTY,
      })),
    };
    const record = { key: encodeGroupMetadataKey(group.groupId), value: encodeGroupMetadataValue(value) };
    return this.append(this.partitionFor(group.groupId), [record], 'group');
  }

  /** Appends records as one batch; resolves with the error code to report (NONE when committed). */
  private async append(partition: number, records: PendingRecord[], kind: 'group' | 'offsets'): Promise<number> {
    const log = this.host.offsetsLog(partition);
    if (!log || !log.isOpen || this.owned.get(partition)?.log !== log) return ErrorCode.NOT_COORDINATOR;
    const timestamp = this.scheduler.now();
    try {
      const batch = await buildBatchAsync(
        records.map((r) => ({ key: r.key, value: r.value, timestamp })),
        { compression: this.config.compressionCodec as CompressionType, now: timestamp },
      );
      await log.append(batch);
      return NONE;
    } catch (err) {
      if (!log.isOpen) return ErrorCode.NOT_COORDINATOR;
      const code = err instanceof KafkaError ? err.code : ErrorCode.UNKNOWN_SERVER_ERROR;
      this.logger.warn('appending to __consumer_offsets failed', { partition, kind, error: String(err) });
      return appendErrorToCoordinatorError(code, kind);
    }
  }

  /** Replays a partition: the last record of each key wins; tombstones delete. */
  private async loadPartition(owned: OwnedPartition): Promise<void> {
    const { log, partition } = owned;
    const started = this.scheduler.now();
    const metadata = new Map<string, GroupMetadataValue | null>();
    const offsets = new Map<string, Map<string, CommittedOffset>>();
    let position = log.logStartOffset;
    const end = log.highWatermark;
    let records = 0;
    const applyOffset = (group: string, k: string, value: CommittedOffset | null) => {
      let groupOffsets = offsets.get(group);
      if (!groupOffsets) offsets.set(group, (groupOffsets = new Map()));
      if (value === null) groupOffsets.delete(k);
      else groupOffsets.set(k, value);
    };
    // Offsets committed inside a transaction (TxnOffsetCommit), by producer id: applied when
    // its COMMIT marker comes, dropped on ABORT, left out while the transaction is open.
    const inTransaction = new Map<bigint, Array<[string, string, CommittedOffset | null]>>();
    while (position < end) {
      const { records: bytes } = await log.read(position, this.config.loadBufferSize);
      const { batches } = scanBatches(bytes);
      if (batches.length === 0) break;
      for (const batch of batches) {
        position = batch.nextOffset;
        if (batch.isControl) {
          const pending = inTransaction.get(batch.producerId);
          inTransaction.delete(batch.producerId);
          try {
            if (pending && readTxnMarker(batch)?.commit) for (const [group, k, value] of pending) applyOffset(group, k, value);
          } catch (err) {
            this.logger.warn('skipping an unreadable transaction marker', { partition, offset: batch.baseOffset, error: String(err) });
          }
          continue;
        }
        let txnOffsets: Array<[string, string, CommittedOffset | null]> | undefined;
        if (batch.isTransactional) {
          txnOffsets = inTransaction.get(batch.producerId);
          if (!txnOffsets) inTransaction.set(batch.producerId, (txnOffsets = []));
        }
        for (const record of await batch.recordsAsync()) {
          if (record.offset >= end) break;
          if (record.key === null) continue;
          records++;
          try {
            const key = decodeOffsetsTopicKey(record.key);
            if (key.kind === 'group') {
              metadata.set(key.group, record.value === null ? null : decodeGroupMetadataValue(record.value));
            } else if (key.kind === 'offset') {
              const k = offsetKey(key.topic, key.partition);
              const value = record.value === null ? null : decodeOffsetCommitValue(record.value);
              if (txnOffsets) txnOffsets.push([key.group, k, value]);
              else applyOffset(key.group, k, value);
            }
          } catch (err) {
            this.logger.warn('skipping an unreadable __consumer_offsets record', { partition, offset: record.offset, error: String(err) });
          }
        }
      }
    }
    if (this.owned.get(partition) !== owned) return; // resigned while loading
    const now = this.scheduler.now();
    const groupIds = new Set([...metadata.keys(), ...offsets.keys()]);
    let loaded = 0;
    for (const groupId of groupIds) {
      const value = metadata.get(groupId) ?? null;
      const groupOffsets = offsets.get(groupId);
      if (value === null && (!groupOffsets || groupOffsets.size === 0)) continue;
      const group = value ? this.groupFromMetadata(groupId, value, now) : new Group(groupId, 'Empty', now);
      if (!value) group.currentStateTimestamp = null;
      if (groupOffsets) for (const [k, v] of groupOffsets) group.offsets.set(k, v);
      this.groups.get(groupId)?.transitionTo('Dead', now);
      this.groups.set(groupId, group);
      for (const member of group.members.values()) this.scheduleSessionExpiry(group, member);
      loaded++;
    }
    this.logger.info('loaded __consumer_offsets partition', {
      partition,
      groups: loaded,
      records,
      endOffset: end,
      ms: this.scheduler.now() - started,
    });
  }

  private groupFromMetadata(groupId: string, value: GroupMetadataValue, now: number): Group {
    const group = new Group(groupId, value.members.length === 0 ? 'Empty' : 'Stable', now);
    group.generationId = value.generation;
    group.protocolType = value.protocolType === '' ? null : value.protocolType;
    group.protocolName = value.protocol;
    group.currentStateTimestamp = value.currentStateTimestamp >= 0 ? value.currentStateTimestamp : null;
    for (const m of value.members) {
      const member = new Member(
        m.memberId,
        m.groupInstanceId,
        m.clientId,
        m.clientHost,
        m.rebalanceTimeoutMs,
        m.sessionTimeoutMs,
        value.protocolType,
        [{ name: value.protocol ?? '', metadata: m.subscription }],
      );
      member.assignment = m.assignment;
      group.add(member, null);
    }
    group.leaderId = value.leader !== null && group.has(value.leader) ? value.leader : (group.members.keys().next().value ?? null);
    group.subscribedTopics = group.computeSubscribedTopics();
    return group;
  }

  // ---- helpers --------------------------------------------------------------

  private addGroup(groupId: string): Group {
    const group = new Group(groupId, 'Empty', this.scheduler.now());
    this.groups.set(groupId, group);
    return group;
  }

  /** Forgets a group: timers stop and parked requests get `error`. */
  private unloadGroup(group: Group, error: number): void {
    this.cancelTimer(group, 'joinTimer');
    this.cancelTimer(group, 'syncTimer');
    for (const memberId of [...group.pendingMembers.keys()]) group.removePendingMember(memberId);
    for (const member of group.members.values()) {
      member.sessionTimer?.cancel();
      member.sessionTimer = null;
      group.invokeJoinCallback(member, joinError(member.memberId, error));
      group.invokeSyncCallback(member, syncError(error));
    }
    if (!group.is('Dead')) group.transitionTo('Dead', this.scheduler.now());
    if (this.groups.get(group.groupId) === group) this.groups.delete(group.groupId);
  }

  private cancelTimer(group: Group, which: 'joinTimer' | 'syncTimer'): void {
    group[which]?.cancel();
    group[which] = null;
  }

  // ---- transactional offsets ------------------------------------------------

  private transactionalOffsetsPending: ((groupId: string, key: string) => boolean) | null = null;

  /**
   * Lets the transaction layer say which offsets open transactions wrote
   * (TxnOffsetCommit not yet settled by a marker): OffsetFetch with
   * require_stable answers UNSTABLE_OFFSET_COMMIT for them, as Kafka does.
   */
  setTransactionalOffsetsPendingProvider(provider: ((groupId: string, key: string) => boolean) | null): void {
    this.transactionalOffsetsPending = provider;
  }

  /**
   * Offsets a transaction committed (TxnOffsetCommit, then a COMMIT marker
   * in the group's partition): visible from now on. Their records are already
   * in the log, so nothing is written; a replay applies them from the marker.
   * Waits for the partition's load, so the loaded state cannot replace them.
   */
  async materializeTransactionalOffsets(groupId: string, offsets: ReadonlyMap<string, CommittedOffset>): Promise<void> {
    const partition = this.partitionFor(groupId);
    await this.onBecomeLeader(partition);
    if (this.closed || !this.owned.has(partition)) return;
    const group = this.groups.get(groupId) ?? this.addGroup(groupId);
    if (group.is('Dead')) return;
    for (const [key, value] of offsets) group.offsets.set(key, value);
  }

  /** For tests and tools: the group's current state, or undefined. */
  groupState(groupId: string): GroupState | undefined {
    return this.groups.get(groupId)?.state;
  }

  /** For tests: the group model itself. */
  getGroup(groupId: string): Group | undefined {
    return this.groups.get(groupId);
  }
}

/** Kafka's translation of a failed __consumer_offsets append into what group clients understand. */
export function appendErrorToCoordinatorError(code: number, kind: 'group' | 'offsets'): number {
  switch (code) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    case ErrorCode.REQUEST_TIMED_OUT:
      return kind === 'group' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.REQUEST_TIMED_OUT;
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
    case ErrorCode.INVALID_FETCH_SIZE:
      return kind === 'group' ? ErrorCode.UNKNOWN_SERVER_ERROR : ErrorCode.INVALID_COMMIT_OFFSET_SIZE;
    default:
      return code;
  }
}
