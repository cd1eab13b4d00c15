/**
 * The "consumer" embedded protocol: a member's subscription (JoinGroup
 * metadata) and its assignment (SyncGroup), each an int16 version followed
 * by the versioned struct. Newer versions than we know are read as the
 * newest we know (Kafka's forward compatibility rule: fields only append).
 */
import {
  decodeConsumerProtocolAssignment,
  encodeConsumerProtocolAssignment,
} from '../../protocol/messages/consumer-protocol-assignment.js';
import {
  decodeConsumerProtocolSubscription,
  encodeConsumerProtocolSubscription,
} from '../../protocol/messages/consumer-protocol-subscription.js';
import { Reader, Writer } from '../../protocol/primitives.js';
import type { TopicPartition } from '../util.js';

export const CONSUMER_PROTOCOL_TYPE = 'consumer';
const SUBSCRIPTION_VERSION = 3;
const ASSIGNMENT_VERSION = 3;

export interface Subscription {
  topics: string[];
  userData: Buffer | null;
  ownedPartitions: TopicPartition[];
  generationId: number;
  rackId: string | null;
}

export interface Assignment {
  partitions: TopicPartition[];
  userData: Buffer | null;
}

function groupTopics(tps: readonly TopicPartition[]): Array<{ topic: string; partitions: number[] }> {
  const m = new Map<string, number[]>();
  for (const tp of tps) {
    const l = m.get(tp.topic);
    if (l === undefined) m.set(tp.topic, [tp.partition]);
    else l.push(tp.partition);
  }
  return [...m].map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }));
}

export function encodeSubscription(s: Subscription): Buffer {
  const w = new Writer(64);
  w.int16(SUBSCRIPTION_VERSION);
  encodeConsumerProtocolSubscription(
    w,
    {
      topics: [...s.topics].sort(),
      userData: s.userData,
      ownedPartitions: groupTopics(s.ownedPartitions),
      generationId: s.generationId,
      rackId: s.rackId,
    },
    SUBSCRIPTION_VERSION,
  );
  return w.toBuffer();
}

export function decodeSubscription(buf: Buffer): Subscription {
  const r = new Reader(buf);
  const version = r.int16();
  const m = decodeConsumerProtocolSubscription(r, Math.max(0, Math.min(version, SUBSCRIPTION_VERSION)));
  return {
    topics: m.topics,
    userData: m.userData,
    ownedPartitions: (m.ownedPartitions ?? []).flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition }))),
    generationId: m.generationId ?? -1,
    rackId: m.rackId ?? null,
  };
}

export function encodeAssignment(a: Assignment): Buffer {
  const w = new Writer(64);
  w.int16(ASSIGNMENT_VERSION);
  encodeConsumerProtocolAssignment(w, { assignedPartitions: groupTopics(a.partitions), userData: a.userData }, ASSIGNMENT_VERSION);
  return w.toBuffer();
}

export function decodeAssignment(buf: Buffer): Assignment {
  if (buf.length === 0) return { partitions: [], userData: null };
  const r = new Reader(buf);
  const version = r.int16();
  const m = decodeConsumerProtocolAssignment(r, Math.max(0, Math.min(version, ASSIGNMENT_VERSION)));
  return {
    partitions: m.assignedPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition }))),
    userData: m.userData,
  };
}
