/**
 * Partition assignors, run by the group leader over every member's
 * subscription: `range` and `roundrobin` (Java's RangeAssignor and
 * RoundRobinAssignor algorithms) and `cooperative-sticky` (keeps owned
 * partitions where the balance allows; the incremental protocol then holds
 * back partitions that change owner until their old owner has revoked them).
 */
import { tpKey, type TopicPartition } from '../util.js';
import type { Subscription } from './protocol.js';

export type RebalanceProtocol = 'EAGER' | 'COOPERATIVE';

export interface MemberSubscription extends Subscription {
  memberId: string;
  groupInstanceId: string | null;
}

export interface PartitionAssignor {
  /** The protocol name sent in JoinGroup. */
  readonly name: string;
  readonly protocol: RebalanceProtocol;
  /** memberId → partitions. `partitionsPerTopic` holds the partition count of every subscribed topic that exists. */
  assign(members: readonly MemberSubscription[], partitionsPerTopic: ReadonlyMap<string, number>): Map<string, TopicPartition[]>;
}

/** Java's member ordering: static members by instance id first, then by member id. */
function compareMembers(a: MemberSubscription, b: MemberSubscription): number {
  if (a.groupInstanceId !== null && b.groupInstanceId !== null) return a.groupInstanceId < b.groupInstanceId ? -1 : a.groupInstanceId > b.groupInstanceId ? 1 : 0;
  if (a.groupInstanceId !== null) return -1;
  if (b.groupInstanceId !== null) return 1;
  return a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;
}

function emptyResult(members: readonly MemberSubscription[]): Map<string, TopicPartition[]> {
  return new Map(members.map((m) => [m.memberId, [] as TopicPartition[]]));
}

export class RangeAssignor implements PartitionAssignor {
  readonly protocol = 'EAGER' as const;
  constructor(readonly name = 'range') {}

  assign(members: readonly MemberSubscription[], partitionsPerTopic: ReadonlyMap<string, number>): Map<string, TopicPartition[]> {
    const out = emptyResult(members);
    const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
    for (const topic of topics) {
      const n = partitionsPerTopic.get(topic);
      if (n === undefined) continue;
      const consumers = members.filter((m) => m.topics.includes(topic)).sort(compareMembers);
      const per = Math.floor(n / consumers.length);
      const extra = n % consumers.length;
      consumers.forEach((m, i) => {
        const start = per * i + Math.min(i, extra);
        const length = per + (i + 1 > extra ? 0 : 1);
        for (let p = start; p < start + length; p++) out.get(m.memberId)!.push({ topic, partition: p });
      });
    }
    return out;
  }
}

export class RoundRobinAssignor implements PartitionAssignor {
  readonly protocol = 'EAGER' as const;
  constructor(readonly name = 'roundrobin') {}

  assign(members: readonly MemberSubscription[], partitionsPerTopic: ReadonlyMap<string, number>): Map<string, TopicPartition[]> {
    const out = emptyResult(members);
    const consumers = [...members].sort(compareMembers);
    if (consumers.length === 0) return out;
    const topics = [...new Set(members.flatMap((m) => m.topics))].filter((t) => partitionsPerTopic.has(t)).sort();
    let i = 0;
    for (const topic of topics) {
      for (let p = 0; p < partitionsPerTopic.get(topic)!; p++) {
        // Next consumer (circularly) subscribed to this topic.
        for (let k = 0; k < consumers.length; k++) {
          const m = consumers[i % consumers.length]!;
          i++;
          if (m.topics.includes(topic)) {
            out.get(m.memberId)!.push({ topic, partition: p });
            break;
          }
        }
      }
    }
    return out;
  }
}

/**
 * Sticky balance: every member keeps the owned partitions it is still
 * subscribed to, up to its fair share; the rest go to the least loaded
 * eligible members. Partitions claimed by several members (stale claims)
 * stay with the claim of the highest generation.
 */
export class CooperativeStickyAssignor implements PartitionAssignor {
  readonly protocol = 'COOPERATIVE' as const;
  constructor(readonly name = 'cooperative-sticky') {}

  assign(members: readonly MemberSubscription[], partitionsPerTopic: ReadonlyMap<string, number>): Map<string, TopicPartition[]> {
    const out = emptyResult(members);
    const sorted = [...members].sort(compareMembers);
    const all: TopicPartition[] = [];
    for (const topic of [...partitionsPerTopic.keys()].sort()) {
      if (!members.some((m) => m.topics.includes(topic))) continue;
      for (let p = 0; p < partitionsPerTopic.get(topic)!; p++) all.push({ topic, partition: p });
    }
    // Valid previous owner of each partition.
    const owner = new Map<string, { memberId: string; generation: number }>();
    for (const m of sorted) {
      for (const tp of m.ownedPartitions) {
        if (!m.topics.includes(tp.topic) || tp.partition >= (partitionsPerTopic.get(tp.topic) ?? 0)) continue;
        const key = tpKey(tp.topic, tp.partition);
        const prev = owner.get(key);
        if (prev === undefined || m.generationId > prev.generation) owner.set(key, { memberId: m.memberId, generation: m.generationId });
      }
    }
    const total = all.length;
    const n = sorted.length;
    const minQuota = Math.floor(total / Math.max(1, n));
    let maxQuotaSlots = total % Math.max(1, n); // members that may hold minQuota + 1
    const unassigned: TopicPartition[] = [];
    const keepBy = new Map<string, TopicPartition[]>();
    for (const tp of all) {
      const o = owner.get(tpKey(tp.topic, tp.partition));
      if (o === undefined) unassigned.push(tp);
      else {
        const l = keepBy.get(o.memberId) ?? [];
        l.push(tp);
        keepBy.set(o.memberId, l);
      }
    }
    for (const m of sorted) {
      const owned = keepBy.get(m.memberId) ?? [];
      let quota = minQuota;
      if (owned.length > minQuota && maxQuotaSlots > 0) {
        quota = minQuota + 1;
        maxQuotaSlots--;
      }
      out.get(m.memberId)!.push(...owned.slice(0, quota));
      unassigned.push(...owned.slice(quota));
    }
    // Hand out the rest to the least loaded eligible member.
    unassigned.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    for (const tp of unassigned) {
      let best: MemberSubscription | null = null;
      for (const m of sorted) {
        if (!m.topics.includes(tp.topic)) continue;
        if (best === null || out.get(m.memberId)!.length < out.get(best.memberId)!.length) best = m;
      }
      if (best !== null) out.get(best.memberId)!.push(tp);
    }
    return out;
  }
}

/** Incremental protocol: partitions moving between members are withheld this round (the owner revokes, then a rebalance hands them over). */
export function withholdMovingPartitions(
  members: readonly MemberSubscription[],
  assignment: Map<string, TopicPartition[]>,
): Map<string, TopicPartition[]> {
  const ownerOf = new Map<string, string>();
  for (const m of members) for (const tp of m.ownedPartitions) ownerOf.set(tpKey(tp.topic, tp.partition), m.memberId);
  const out = new Map<string, TopicPartition[]>();
  for (const [memberId, tps] of assignment) {
    out.set(
      memberId,
      tps.filter((tp) => {
        const o = ownerOf.get(tpKey(tp.topic, tp.partition));
        return o === undefined || o === memberId;
      }),
    );
  }
  return out;
}

const JAVA_NAMES: Record<string, string> = {
  'org.apache.kafka.clients.consumer.RangeAssignor': 'range',
  'org.apache.kafka.clients.consumer.RoundRobinAssignor': 'roundrobin',
  'org.apache.kafka.clients.consumer.CooperativeStickyAssignor': 'cooperative-sticky',
};

/** The assignor for a `partition.assignment.strategy` entry. */
export function assignorFor(name: string): PartitionAssignor {
  const n = JAVA_NAMES[name] ?? name;
  switch (n) {
    case 'range':
      return new RangeAssignor();
    case 'roundrobin':
      return new RoundRobinAssignor();
    case 'cooperative-sticky':
      return new CooperativeStickyAssignor();
    default:
      throw new TypeError(`unknown partition.assignment.strategy '${name}' (range, roundrobin or cooperative-sticky)`);
  }
}

export const DEFAULT_ASSIGNORS = ['range', 'cooperative-sticky'];
