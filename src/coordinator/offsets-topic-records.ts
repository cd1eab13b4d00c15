/**
 * The records of __consumer_offsets, in Kafka's own key and value schemas so
 * that Kafka's tools (kafka-dump-log --offsets-decoder, kafka-console-consumer
 * with the offsets formatter) and Ganglion read the same bytes.
 *
 * Every record is keyed; a key's latest record is its current value, so the
 * topic can be compacted. A null value is a tombstone (offset deleted or
 * expired, group removed).
 *
 * Keys start with an int16 version that says which kind of record it is:
 *   0, 1  offset commit:   group, topic, partition
 *   2     group metadata:  group
 * Higher key versions (the KIP-848 consumer-group records) are not written by
 * Ganglion and are skipped when replaying.
 *
 * Values start with an int16 schema version too:
 *   offset commit   v0 offset, metadata, commitTimestamp
 *                   v1 + expireTimestamp (written when a v2-v4 commit sets a retention time)
 *                   v2 = v0
 *                   v3 offset, leaderEpoch, metadata, commitTimestamp (what we write otherwise)
 *                   v4 = v3, flexible (read only)
 *   group metadata  v0 protocolType, generation, protocol?, leader?, members[memberId,
 *                      clientId, clientHost, sessionTimeout, subscription, assignment]
 *                   v1 members gain rebalanceTimeout (before sessionTimeout)
 *                   v2 + currentStateTimestamp (after leader)
 *                   v3 members gain groupInstanceId (after memberId) (what we write)
 *                   v4 = v3, flexible (read only)
 */
import { Reader, Writer } from '../protocol/primitives.js';

export const OFFSET_COMMIT_KEY_VERSION = 1;
export const GROUP_METADATA_KEY_VERSION = 2;
export const OFFSET_COMMIT_VALUE_VERSION = 3;
export const OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY = 1;
export const GROUP_METADATA_VALUE_VERSION = 3;

export type OffsetsTopicKey =
  | { kind: 'offset'; group: string; topic: string; partition: number }
  | { kind: 'group'; group: string }
  /** A key version Ganglion does not use (e.g. KIP-848 records): skipped on replay. */
  | { kind: 'unknown'; version: number };

export interface OffsetCommitValue {
  offset: number;
  /** -1 when unknown. */
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
  /** Only v1 values carry one (old per-commit retention); null otherwise. */
  expireTimestamp: number | null;
}

export interface GroupMemberValue {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  subscription: Buffer;
  assignment: Buffer;
}

export interface GroupMetadataValue {
  protocolType: string;
  generation: number;
  protocol: string | null;
  leader: string | null;
  /** -1 when unknown (values before v2). */
  currentStateTimestamp: number;
  members: GroupMemberValue[];
}

// ---- keys ---------------------------------------------------------------

export function encodeOffsetCommitKey(group: string, topic: string, partition: number): Buffer {
  return new Writer(16 + group.length + topic.length).int16(OFFSET_COMMIT_KEY_VERSION).string(group).string(topic).int32(partition).toBuffer();
}

export function encodeGroupMetadataKey(group: string): Buffer {
  return new Writer(8 + group.length).int16(GROUP_METADATA_KEY_VERSION).string(group).toBuffer();
}

/** Throws (ProtocolError) on a truncated key. */
export function decodeOffsetsTopicKey(key: Buffer): OffsetsTopicKey {
  const r = new Reader(key);
  const version = r.int16();
  if (version === 0 || version === 1) {
    return { kind: 'offset', group: r.string(), topic: r.string(), partition: r.int32() };
  }
  if (version === GROUP_METADATA_KEY_VERSION) return { kind: 'group', group: r.string() };
  return { kind: 'unknown', version };
}

// ---- offset commit values ---------------------------------------------

export function encodeOffsetCommitValue(value: OffsetCommitValue): Buffer {
  const w = new Writer(48 + value.metadata.length * 3);
  if (value.expireTimestamp !== null) {
    w.int16(OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY)
      .int64(BigInt(value.offset))
      .string(value.metadata)
      .int64(BigInt(value.commitTimestamp))
      .int64(BigInt(value.expireTimestamp));
  } else {
    w.int16(OFFSET_COMMIT_VALUE_VERSION)
      .int64(BigInt(value.offset))
      .int32(value.leaderEpoch)
      .string(value.metadata)
      .int64(BigInt(value.commitTimestamp));
  }
  return w.toBuffer();
}

export function decodeOffsetCommitValue(buf: Buffer): OffsetCommitValue {
  const r = new Reader(buf);
  const version = r.int16();
  if (version < 0 || version > 4) throw new RangeError(`unknown offset commit value version ${version}`);
  const flexible = version >= 4;
  const offset = Number(r.int64());
  const leaderEpoch = version >= 3 ? r.int32() : -1;
  const metadata = flexible ? r.compactString() : r.string();
  const commitTimestamp = Number(r.int64());
  const expireTimestamp = version === 1 ? Number(r.int64()) : null;
  if (flexible) r.taggedFields();
  return { offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp };
}

// ---- group metadata values --------------------------------------------

export function encodeGroupMetadataValue(value: GroupMetadataValue): Buffer {
  const w = new Writer(256);
  w.int16(GROUP_METADATA_VALUE_VERSION)
    .string(value.protocolType)
    .int32(value.generation)
    .nullableString(value.protocol)
    .nullableString(value.leader)
    .int64(BigInt(value.currentStateTimestamp))
    .arrayLength(value.members.length);
  for (const m of value.members) {
    w.string(m.memberId)
      .nullableString(m.groupInstanceId)
      .string(m.clientId)
      .string(m.clientHost)
      .int32(m.rebalanceTimeoutMs)
      .int32(m.sessionTimeoutMs)
      .bytes(m.subscription)
      .bytes(m.assignment);
  }
  return w.toBuffer();
}

export function decodeGroupMetadataValue(buf: Buffer): GroupMetadataValue {
  const r = new Reader(buf);
  const version = r.int16();
  if (version < 0 || version > 4) throw new RangeError(`unknown group metadata value version ${version}`);
  const flexible = version >= 4;
  const str = () => (flexible ? r.compactString() : r.string());
  const nullableStr = () => (flexible ? r.compactNullableString() : r.nullableString());
  const bytes = () => Buffer.from(flexible ? r.compactBytes() : r.bytes());
  const protocolType = str();
  const generation = r.int32();
  const protocol = nullableStr();
  const leader = nullableStr();
  const currentStateTimestamp = version >= 2 ? Number(r.int64()) : -1;
  const count = flexible ? r.compactArrayLength() : r.arrayLength();
  const members: GroupMemberValue[] = [];
  for (let i = 0; i < (count ?? 0); i++) {
    const memberId = str();
    const groupInstanceId = version >= 3 ? nullableStr() : null;
    const clientId = str();
    const clientHost = str();
    const rebalanceTimeoutMs = version >= 1 ? r.int32() : -1;
    const sessionTimeoutMs = r.int32();
    const subscription = bytes();
    const assignment = bytes();
    if (flexible) r.taggedFields();
    members.push({
      memberId,
      groupInstanceId,
      clientId,
      clientHost,
      // v0 had no rebalance timeout: Kafka used the session timeout for both.
      rebalanceTimeoutMs: rebalanceTimeoutMs < 0 ? sessionTimeoutMs : rebalanceTimeoutMs,
      sessionTimeoutMs,
      subscription,
      assignment,
    });
  }
  if (flexible) r.taggedFields();
  return { protocolType, generation, protocol, leader, currentStateTimestamp, members };
}
