/**
 * The in-memory model of a classic consumer group and its members, as
 * Kafka's group coordinator keeps it: the state, the generation, the chosen
 * protocol type and name, the leader, members with their supported protocols
 * (in preference order) and assignments, static instance ids, members that
 * were handed an id but have not joined yet (MEMBER_ID_REQUIRED), and the
 * group's committed offsets. The protocol logic lives in group-coordinator.ts;
 * this file holds the bookkeeping that keeps the counters consistent.
 */
import { ErrorCode } from '../protocol/errors.js';
import { decodeConsumerProtocolSubscription } from '../protocol/messages/consumer-protocol-subscription.js';
import { Reader } from '../protocol/primitives.js';
import type { TimerHandle } from './types.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export const GROUP_STATES: readonly GroupState[] = ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'];

/** The states each state may be entered from (Kafka's validPreviousStates). */
const VALID_PREVIOUS: Record<GroupState, readonly GroupState[]> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
};

export const CONSUMER_PROTOCOL_TYPE = 'consumer';
const EMPTY = Buffer.alloc(0);

export interface Protocol {
  name: string;
  metadata: Buffer;
}

export interface JoinResultMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}

export interface JoinResult {
  errorCode: number;
  memberId: string;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leaderId: string;
  skipAssignment: boolean;
  members: JoinResultMember[];
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export function joinError(memberId: string, errorCode: number): JoinResult {
  return { errorCode, memberId, generationId: -1, protocolType: null, protocolName: null, leaderId: '', skipAssignment: false, members: [] };
}

export function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY };
}

export class Member {
  assignment: Buffer = EMPTY;
  awaitingJoin: ((result: JoinResult) => void) | null = null;
  awaitingSync: ((result: SyncResult) => void) | null = null;
  /** Added by a JoinGroup that has not completed yet; its session timer is the new-member join timeout. */
  isNew = false;
  /** The session (heartbeat) deadline. */
  sessionTimer: TimerHandle | null = null;

  constructor(
    public memberId: string,
    readonly groupInstanceId: string | null,
    public clientId: string,
    public clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    readonly protocolType: string,
    /** In the member's order of preference. */
    public protocols: Protocol[],
  ) {}

  get isStatic(): boolean {
    return this.groupInstanceId !== null;
  }

  get isAwaitingJoin(): boolean {
    return this.awaitingJoin !== null;
  }

  get isAwaitingSync(): boolean {
    return this.awaitingSync !== null;
  }

  metadataFor(protocol: string): Buffer {
    const found = this.protocols.find((p) => p.name === protocol);
    if (!found) throw new Error(`member ${this.memberId} does not support protocol ${protocol}`);
    return found.metadata;
  }

  /** The member's most preferred protocol among the candidates. */
  vote(candidates: ReadonlySet<string>): string {
    const choice = this.protocols.find((p) => candidates.has(p.name));
    if (!choice) throw new Error(`member ${this.memberId} supports none of ${[...candidates].join(', ')}`);
    return choice.name;
  }

  /** Same protocols, in the same order, with the same metadata. */
  matches(protocols: readonly Protocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every((p, i) => p.name === this.protocols[i]!.name && p.metadata.equals(this.protocols[i]!.metadata));
  }
}

export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
  /** Old per-commit retention (OffsetCommit v2-v4 with a retention time); null = the broker's retention. */
  expireTimestamp: number | null;
}

export function offsetKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export function splitOffsetKey(key: string): { topic: string; partition: number } {
  const at = key.lastIndexOf('\u0000');
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
}

export class Group {
  state: GroupState;
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  /** When the group entered its current generation's state (ms), for offset retention. */
  currentStateTimestamp: number | null = null;
  readonly members = new Map<string, Member>();
  /** group.instance.id -> member id */
  readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, not joined yet, with their expiry. */
  readonly pendingMembers = new Map<string, TimerHandle | null>();
  /** Members of this generation that have not sent SyncGroup yet. */
  readonly pendingSyncMembers = new Set<string>();
  numMembersAwaitingJoin = 0;
  /** Protocol name -> members supporting it. */
  private readonly supportedProtocols = new Map<string, number>();
  /** A member joined during the initial rebalance delay (it may be extended). */
  newMemberAdded = false;
  /** Topics the members subscribe to (consumer protocol); null when unknown. */
  subscribedTopics: Set<string> | null = null;
  /** The pending join phase completion (delayed join) and sync expiration. */
  joinTimer: TimerHandle | null = null;
  joinTimerInitial = false;
  syncTimer: TimerHandle | null = null;

  readonly offsets = new Map<string, CommittedOffset>();
  /** Offset commits written but not yet acknowledged, by offset key (count). */
  readonly pendingOffsetCommits = new Map<string, number>();

  constructor(
    readonly groupId: string,
    state: GroupState,
    now: number,
  ) {
    this.state = state;
    this.currentStateTimestamp = now;
  }

  is(state: GroupState): boolean {
    return this.state === state;
  }

  canTransitionTo(target: GroupState): boolean {
    return VALID_PREVIOUS[target].includes(this.state);
  }

  transitionTo(target: GroupState, now: number): void {
    if (!this.canTransitionTo(target)) {
      throw new Error(`group ${this.groupId} should be in ${VALID_PREVIOUS[target].join('/')} to move to ${target}, not ${this.state}`);
    }
    this.state = target;
    this.currentStateTimestamp = now;
  }

  /** A rebalance can start from Stable, CompletingRebalance or Empty. */
  get canRebalance(): boolean {
    return this.canTransitionTo('PreparingRebalance');
  }

  get size(): number {
    return this.members.size;
  }

  get hasAllMembersJoined(): boolean {
    return this.members.size === this.numMembersAwaitingJoin && this.pendingMembers.size === 0;
  }

  /** The largest rebalance timeout of the members (the join phase waits this long). */
  get rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  get(memberId: string): Member {
    const member = this.members.get(memberId);
    if (!member) throw new Error(`group ${this.groupId} has no member ${memberId}`);
    return member;
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  isPendingMember(memberId: string): boolean {
    return this.pendingMembers.has(memberId);
  }

  hasStaticMember(groupInstanceId: string | null): boolean {
    return groupInstanceId !== null && this.staticMembers.has(groupInstanceId);
  }

  currentStaticMemberId(groupInstanceId: string): string | undefined {
    return this.staticMembers.get(groupInstanceId);
  }

  /** A static member id that does not match the member id now registered for the instance. */
  isStaticMemberFenced(groupInstanceId: string | null | undefined, memberId: string): boolean {
    if (groupInstanceId === null || groupInstanceId === undefined) return false;
    const current = this.staticMembers.get(groupInstanceId);
    return current !== undefined && current !== memberId;
  }

  /**
   * Whether a member with these protocols may join: an empty group takes any
   * non-empty protocol type and list; otherwise the type must match and at
   * least one protocol must be supported by every current member.
   */
  supportsProtocols(protocolType: string, protocols: readonly Protocol[]): boolean {
    if (this.is('Empty')) return protocolType.length > 0 && protocols.length > 0;
    return this.protocolType === protocolType && protocols.some((p) => this.supportedProtocols.get(p.name) === this.members.size);
  }

  add(member: Member, callback: ((result: JoinResult) => void) | null): void {
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    if (this.members.size === 0) this.protocolType = member.protocolType;
    if (this.leaderId === null) this.leaderId = member.memberId;
    this.members.set(member.memberId, member);
    this.countProtocols(member, 1);
    member.awaitingJoin = callback;
    if (callback) this.numMembersAwaitingJoin++;
    this.removePendingMember(member.memberId);
  }

  remove(memberId: string): Member | undefined {
    const member = this.members.get(memberId);
    if (!member) return undefined;
    this.members.delete(memberId);
    this.countProtocols(member, -1);
    if (member.isAwaitingJoin) this.numMembersAwaitingJoin--;
    if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
      this.staticMembers.delete(member.groupInstanceId);
    }
    this.pendingSyncMembers.delete(memberId);
    member.sessionTimer?.cancel();
    member.sessionTimer = null;
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null;
    return member;
  }

  addPendingMember(memberId: string, expiry: TimerHandle | null): void {
    this.pendingMembers.set(memberId, expiry);
  }

  removePendingMember(memberId: string): void {
    this.pendingMembers.get(memberId)?.cancel();
    this.pendingMembers.delete(memberId);
  }

  updateMember(
    member: Member,
    protocols: Protocol[],
    rebalanceTimeoutMs: number,
    sessionTimeoutMs: number,
    callback: ((result: JoinResult) => void) | null,
  ): void {
    this.countProtocols(member, -1);
    member.protocols = protocols;
    this.countProtocols(member, 1);
    member.rebalanceTimeoutMs = rebalanceTimeoutMs;
    member.sessionTimeoutMs = sessionTimeoutMs;
    if (callback && !member.isAwaitingJoin) this.numMembersAwaitingJoin++;
    else if (!callback && member.isAwaitingJoin) this.numMembersAwaitingJoin--;
    member.awaitingJoin = callback;
  }

  /**
   * Moves a static member to a new member id; a request still parked under
   * the old id is answered FENCED_INSTANCE_ID.
   */
  replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMemberId: string): Member {
    const member = this.members.get(oldMemberId);
    if (!member) throw new Error(`cannot replace unknown static member ${oldMemberId} of group ${this.groupId}`);
    this.members.delete(oldMemberId);
    this.invokeJoinCallback(member, joinError(oldMemberId, ErrorCode.FENCED_INSTANCE_ID));
    this.invokeSyncCallback(member, syncError(ErrorCode.FENCED_INSTANCE_ID));
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId;
    this.staticMembers.set(groupInstanceId, newMemberId);
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMemberId);
    return member;
  }

  /** Answers a parked JoinGroup; false when none was parked. */
  invokeJoinCallback(member: Member, result: JoinResult): boolean {
    const callback = member.awaitingJoin;
    if (!callback) return false;
    member.awaitingJoin = null;
    this.numMembersAwaitingJoin--;
    callback(result);
    return true;
  }

  /** Answers a parked SyncGroup; false when none was parked. */
  invokeSyncCallback(member: Member, result: SyncResult): boolean {
    const callback = member.awaitingSync;
    if (!callback) return false;
    member.awaitingSync = null;
    callback(result);
    return true;
  }

  /** Protocols every member supports. */
  candidateProtocols(): Set<string> {
    const all = new Set<string>();
    for (const [name, count] of this.supportedProtocols) if (count === this.members.size) all.add(name);
    return all;
  }

  /**
   * Kafka's protocol selection: each member votes for its most preferred
   * protocol among those all members support; the most votes win (ties go
   * to the protocol the earliest-joined voter preferred).
   */
  selectProtocol(): string {
    if (this.members.size === 0) throw new Error(`cannot select a protocol for empty group ${this.groupId}`);
    const candidates = this.candidateProtocols();
    const votes = new Map<string, number>();
    for (const member of this.members.values()) {
      const choice = member.vote(candidates);
      votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best = '';
    let bestVotes = -1;
    for (const [name, count] of votes) {
      if (count > bestVotes) {
        best = name;
        bestVotes = count;
      }
    }
    return best;
  }

  /** Keeps the leader if it rejoined, else picks any member that did; false when nobody rejoined. */
  maybeElectNewJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    const leader = this.members.get(this.leaderId);
    if (leader?.isAwaitingJoin) return true;
    for (const member of this.members.values()) {
      if (member.isAwaitingJoin) {
        this.leaderId = member.memberId;
        return true;
      }
    }
    return false;
  }

  notYetRejoinedMembers(): Member[] {
    return [...this.members.values()].filter((m) => !m.isAwaitingJoin);
  }

  /** Starts the next generation: CompletingRebalance with a protocol, or Empty when nobody is left. */
  initNextGeneration(now: number): void {
    this.generationId++;
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo('CompletingRebalance', now);
    } else {
      this.protocolName = null;
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo('Empty', now);
    }
    this.pendingSyncMembers.clear();
  }

  /** Member list for the leader's JoinGroup response, with each member's metadata for the chosen protocol. */
  currentMemberMetadata(): JoinResultMember[] {
    const protocol = this.protocolName;
    if (protocol === null) return [];
    return [...this.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadataFor(protocol) }));
  }

  /**
   * The union of the members' subscribed topics when the group uses the
   * consumer protocol and every subscription parses; null otherwise (unknown).
   */
  computeSubscribedTopics(): Set<string> | null {
    if (this.protocolType !== CONSUMER_PROTOCOL_TYPE) return null;
    if (this.members.size === 0) return new Set();
    const protocol = this.protocolName;
    if (protocol === null) return null;
    const topics = new Set<string>();
    try {
      for (const member of this.members.values()) {
        for (const topic of parseSubscribedTopics(member.metadataFor(protocol))) topics.add(topic);
      }
    } catch {
      return null;
    }
    return topics;
  }

  isSubscribedToTopic(topic: string): boolean {
    return this.subscribedTopics === null ? true : this.subscribedTopics.has(topic);
  }

  hasPendingOffsetCommit(key: string): boolean {
    return (this.pendingOffsetCommits.get(key) ?? 0) > 0;
  }

  private countProtocols(member: Member, delta: number): void {
    for (const p of member.protocols) {
      const next = (this.supportedProtocols.get(p.name) ?? 0) + delta;
      if (next <= 0) this.supportedProtocols.delete(p.name);
      else this.supportedProtocols.set(p.name, next);
    }
  }
}

/** Topics of a ConsumerProtocolSubscription (any version: the version prefix picks the schema). */
export function parseSubscribedTopics(metadata: Buffer): string[] {
  const r = new Reader(metadata);
  const version = r.int16();
  // Newer versions are readable as the newest we know: fields are only ever appended.
  return decodeConsumerProtocolSubscription(r, Math.max(0, Math.min(version, 3))).topics;
}
