/**
 * Consumer-group administration (what Admin's group methods send): list and
 * describe groups, read, alter and delete committed offsets, delete groups.
 * Each function makes one attempt; Admin retries retriable errors
 * (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, connection loss).
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ApiKey } from '../protocol/messages/api-table.js';
import type { Cluster } from './cluster.js';
import type { BrokerConnection } from './connection.js';
import type { TopicPartitionOffset } from './assignment.js';
import { findCoordinator, type CoordinatorInfo } from './group/coordinator.js';
import { CONSUMER_PROTOCOL_TYPE, decodeAssignment } from './group/protocol.js';
import { tpKey, type TopicPartition } from './util.js';

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  state: string;
  /** The broker that coordinates the group. */
  coordinatorId: number;
}

export interface GroupMemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** Partitions assigned to the member (consumer groups only). */
  assignment: TopicPartition[];
}

export interface GroupDescription {
  groupId: string;
  /** Empty, PreparingRebalance, CompletingRebalance, Stable, Dead. */
  state: string;
  protocolType: string;
  /** The assignor in use. */
  protocol: string;
  members: GroupMemberDescription[];
  coordinator: CoordinatorInfo;
}

export interface CommittedOffset extends TopicPartitionOffset {
  metadata: string | null;
  leaderEpoch: number;
}

export interface GroupDeletion {
  groupId: string;
  /** Null when deleted. */
  error: KafkaError | null;
}

async function coordinatorConn(cluster: Cluster, groupId: string, deadline: number): Promise<{ conn: BrokerConnection; info: CoordinatorInfo }> {
  const info = await findCoordinator(cluster, groupId, deadline);
  const conn = await cluster.connectionTo({ host: info.host, port: info.port });
  return { conn, info };
}

/** Groups of every broker (each answers for the groups it coordinates). */
export async function listGroups(cluster: Cluster, states?: readonly string[]): Promise<ListedGroup[]> {
  const md = await cluster.refreshMetadata();
  const out: ListedGroup[] = [];
  for (const broker of md.brokers.values()) {
    const conn = await cluster.connectionToNode(broker.nodeId);
    const res = await conn.request(ApiKey.ListGroups, (v) => (v >= 4 && states !== undefined ? { statesFilter: [...states] } : {}));
    if (res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode, `ListGroups on broker ${broker.nodeId}`);
    for (const g of res.groups) {
      if (states !== undefined && g.groupState !== undefined && !states.some((s) => s.toLowerCase() === g.groupState!.toLowerCase())) continue;
      out.push({ groupId: g.groupId, protocolType: g.protocolType, state: g.groupState ?? '', coordinatorId: broker.nodeId });
    }
  }
  return out.sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
}

export async function describeGroup(cluster: Cluster, groupId: string, deadline: number): Promise<GroupDescription> {
  const { conn, info } = await coordinatorConn(cluster, groupId, deadline);
  const res = await conn.request(ApiKey.DescribeGroups, { groups: [groupId], includeAuthorizedOperations: false });
  const g = res.groups[0];
  if (g === undefined) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `DescribeGroups returned nothing for '${groupId}'`);
  if (g.errorCode !== ErrorCode.NONE) throw new KafkaError(g.errorCode, `group '${groupId}'`);
  return {
    groupId: g.groupId,
    state: g.groupState,
    protocolType: g.protocolType,
    protocol: g.protocolData,
    coordinator: info,
    members: g.members.map((m) => {
      let assignment: TopicPartition[] = [];
      if (g.protocolType === CONSUMER_PROTOCOL_TYPE && m.memberAssignment.length > 0) {
        try {
          assignment = decodeAssignment(m.memberAssignment).partitions;
        } catch {
          assignment = [];
        }
      }
      return { memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? null, clientId: m.clientId, clientHost: m.clientHost, assignment };
    }),
  };
}

/** Committed offsets of a group: for `partitions`, or every partition it has offsets for. */
export async function listGroupOffsets(
  cluster: Cluster,
  groupId: string,
  partitions: readonly TopicPartition[] | undefined,
  deadline: number,
): Promise<CommittedOffset[]> {
  const { conn } = await coordinatorConn(cluster, groupId, deadline);
  let topics: Array<{ name: string; partitionIndexes: number[] }> | null = null;
  if (partitions !== undefined) {
    const m = new Map<string, number[]>();
    for (const tp of partitions) m.set(tp.topic, [...(m.get(tp.topic) ?? []), tp.partition]);
    topics = [...m].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
  }
  const res = await conn.request(ApiKey.OffsetFetch, { groupId, topics, requireStable: false }, { minVersion: 2, maxVersion: 7 });
  if (res.errorCode !== undefined && res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode, `OffsetFetch for group '${groupId}'`);
  const out: CommittedOffset[] = [];
  for (const t of res.topics ?? []) {
    for (const p of t.partitions) {
      if (p.errorCode !== ErrorCode.NONE) throw new KafkaError(p.errorCode, `OffsetFetch ${tpKey(t.name, p.partitionIndex)} for group '${groupId}'`);
      if (p.committedOffset < 0n) continue;
      out.push({ topic: t.name, partition: p.partitionIndex, offset: Number(p.committedOffset), metadata: p.metadata, leaderEpoch: p.committedLeaderEpoch ?? -1 });
    }
  }
  return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

/** Commits offsets for a group as an outside client (generation -1, no member): refused with UNKNOWN_MEMBER_ID while the group has members. */
export async function alterGroupOffsets(cluster: Cluster, groupId: string, offsets: readonly TopicPartitionOffset[], deadline: number): Promise<void> {
  const { conn } = await coordinatorConn(cluster, groupId, deadline);
  const m = new Map<string, TopicPartitionOffset[]>();
  for (const o of offsets) m.set(o.topic, [...(m.get(o.topic) ?? []), o]);
  const res = await conn.request(ApiKey.OffsetCommit, (v) => ({
    groupId,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    ...(v >= 2 && v <= 4 ? { retentionTimeMs: -1n } : {}),
    topics: [...m].map(([name, list]) => ({
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
      if (p.errorCode !== ErrorCode.NONE) throw new KafkaError(p.errorCode, `commit of ${tpKey(t.name, p.partitionIndex)} for group '${groupId}'`);
    }
  }
}

export async function deleteGroup(cluster: Cluster, groupId: string, deadline: number): Promise<void> {
  const { conn } = await coordinatorConn(cluster, groupId, deadline);
  const res = await conn.request(ApiKey.DeleteGroups, { groupsNames: [groupId] });
  const r = res.results.find((x) => x.groupId === groupId);
  if (r !== undefined && r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, `group '${groupId}'`);
}

/** Deletes a group's committed offsets for partitions (OffsetDelete); per-partition errors are thrown. */
export async function deleteGroupOffsets(cluster: Cluster, groupId: string, partitions: readonly TopicPartition[], deadline: number): Promise<void> {
  const { conn } = await coordinatorConn(cluster, groupId, deadline);
  const m = new Map<string, number[]>();
  for (const tp of partitions) m.set(tp.topic, [...(m.get(tp.topic) ?? []), tp.partition]);
  const res = await conn.request(ApiKey.OffsetDelete, {
    groupId,
    topics: [...m].map(([name, ps]) => ({ name, partitions: ps.map((partitionIndex) => ({ partitionIndex })) })),
  });
  if (res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode, `OffsetDelete for group '${groupId}'`);
  for (const t of res.topics) {
    for (const p of t.partitions) {
      if (p.errorCode !== ErrorCode.NONE) throw new KafkaError(p.errorCode, `${tpKey(t.name, p.partitionIndex)} of group '${groupId}'`);
    }
  }
}
