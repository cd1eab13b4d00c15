/**
 * Every advertised version of the group and offset APIs over the wire
 * (a raw client against an in-process broker): requests decode, responses
 * encode, and each version's own rules hold (two-step join from v4, the
 * protocol name checks of SyncGroup v5, LeaveGroup's top-level error before
 * v3, OffsetFetch's per-partition errors before v2, multi-group fetch v8+).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/api-table.js';
import { RawClient, startGroupBroker, type GroupTestBroker } from './interop-helpers.js';

let env: GroupTestBroker;
let raw: RawClient;
// ConsumerProtocolSubscription v0 for topic "t".
const metadata = Buffer.from([0, 0, 0, 0, 0, 1, 0, 1, 0x74, 0xff, 0xff, 0xff, 0xff]);

before(async () => {
  env = await startGroupBroker({ 'group.initial.rebalance.delay.ms': 0, 'offsets.topic.num.partitions': 2 });
  raw = await RawClient.connect(env.bootstrap);
  const created = await raw.send(ApiKey.CreateTopics, 4, {
    topics: [{ name: 't', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  assert.equal(created.topics[0]!.errorCode, 0);
});

after(async () => {
  raw?.close();
  await env?.cleanup();
});

async function joinAndSync(groupId: string, joinVersion: number, syncVersion: number): Promise<{ memberId: string; generationId: number }> {
  const join = (memberId: string) =>
    raw.send(ApiKey.JoinGroup, joinVersion, {
      groupId,
      sessionTimeoutMs: 10000,
      rebalanceTimeoutMs: 10000,
      memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata }],
      reason: null,
    });
  let joined = await join('');
  if (joinVersion >= 4) {
    assert.equal(joined.errorCode, ErrorCode.MEMBER_ID_REQUIRED, `JoinGroup v${joinVersion}`);
    joined = await join(joined.memberId);
  }
  assert.equal(joined.errorCode, 0, `JoinGroup v${joinVersion}`);
  assert.equal(joined.leader, joined.memberId);
  assert.equal(joined.protocolName, 'range');
  assert.equal(joined.members.length, 1);
  if (joinVersion >= 7) assert.equal(joined.protocolType, 'consumer');
  const sync = (protocolName: string | null) =>
    raw.send(ApiKey.SyncGroup, syncVersion, {
      groupId,
      generationId: joined.generationId,
      memberId: joined.memberId,
      groupInstanceId: null,
      protocolType: syncVersion >= 5 ? 'consumer' : null,
      protocolName,
      assignments: [{ memberId: joined.memberId, assignment: Buffer.from('assigned') }],
    });
  if (syncVersion >= 5) assert.equal((await sync('roundrobin')).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  const synced = await sync(syncVersion >= 5 ? 'range' : null);
  assert.equal(synced.errorCode, 0, `SyncGroup v${syncVersion}`);
  assert.equal(synced.assignment.toString(), 'assigned');
  if (syncVersion >= 5) assert.deepEqual([synced.protocolType, synced.protocolName], ['consumer', 'range']);
  return { memberId: joined.memberId, generationId: joined.generationId };
}

test('JoinGroup v0-9, SyncGroup v0-5, Heartbeat v0-4 and LeaveGroup v0-5 at every version', async () => {
  for (let v = 0; v <= 9; v++) {
    const group = `join-v${v}`;
    const syncVersion = Math.min(v, 5);
    const { memberId, generationId } = await joinAndSync(group, v, syncVersion);
    const hbVersion = Math.min(v, 4);
    const hb = await raw.send(ApiKey.Heartbeat, hbVersion, { groupId: group, generationId, memberId, groupInstanceId: null });
    assert.equal(hb.errorCode, 0, `Heartbeat v${hbVersion}`);
    const leaveVersion = Math.min(v, 5);
    if (leaveVersion < 3) {
      const wrong = await raw.send(ApiKey.LeaveGroup, leaveVersion, { groupId: group, memberId: 'someone-else' });
      assert.equal(wrong.errorCode, ErrorCode.UNKNOWN_MEMBER_ID, `LeaveGroup v${leaveVersion} reports the member's error at the top`);
      const left = await raw.send(ApiKey.LeaveGroup, leaveVersion, { groupId: group, memberId });
      assert.equal(left.errorCode, 0);
    } else {
      const left = await raw.send(ApiKey.LeaveGroup, leaveVersion, {
        groupId: group,
        members: [
          { memberId, groupInstanceId: null, reason: 'done' },
          { memberId: 'someone-else', groupInstanceId: null, reason: null },
        ],
      });
      assert.equal(left.errorCode, 0);
      assert.deepEqual(left.members!.map((m) => m.errorCode), [0, ErrorCode.UNKNOWN_MEMBER_ID]);
    }
  }
});

test('OffsetCommit v0-9 and OffsetFetch v0-9 at every version', async () => {
  for (let v = 0; v <= 9; v++) {
    // v0 has no generation or member: a simple consumer's group.
    const member = v >= 1 ? await joinAndSync(`commit-v${v}`, 5, 3) : { memberId: '', generationId: -1 };
    const groupId = `commit-v${v}`;
    const committed = await raw.send(ApiKey.OffsetCommit, v, {
      groupId,
      generationIdOrMemberEpoch: member.generationId,
      memberId: member.memberId,
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [
        {
          name: 't',
          partitions: [
            { partitionIndex: 0, committedOffset: BigInt(100 + v), committedLeaderEpoch: 7, commitTimestamp: -1n, committedMetadata: `v${v}` },
            { partitionIndex: 5, committedOffset: 1n, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null },
          ],
        },
      ],
    });
    assert.deepEqual(committed.topics[0]!.partitions.map((p) => p.errorCode), [0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], `OffsetCommit v${v}`);
    const topics = [{ name: 't', partitionIndexes: [0, 1] }];
    const fetched =
      v >= 8
        ? await raw.send(ApiKey.OffsetFetch, v, { groups: [{ groupId, memberId: null, memberEpoch: -1, topics }, { groupId: '', memberId: null, memberEpoch: -1, topics: null }], requireStable: true })
        : await raw.send(ApiKey.OffsetFetch, v, { groupId, topics, ...(v >= 7 ? { requireStable: true } : {}) });
    const partitions = v >= 8 ? fetched.groups![0]!.topics[0]!.partitions : fetched.topics![0]!.partitions;
    assert.deepEqual(
      partitions.map((p) => [p.partitionIndex, Number(p.committedOffset), p.metadata, p.errorCode]),
      [
        [0, 100 + v, `v${v}`, 0],
        [1, -1, '', 0],
      ],
      `OffsetFetch v${v}`,
    );
    if (v >= 5) assert.equal(partitions[0]!.committedLeaderEpoch, v >= 6 ? 7 : -1);
    if (v >= 8) assert.equal(fetched.groups!.length, 2);
  }
  // All offsets of a group (null topics, v2+).
  const all = await raw.send(ApiKey.OffsetFetch, 2, { groupId: 'commit-v3', topics: null });
  assert.deepEqual(all.topics!.map((t) => [t.name, t.partitions.length]), [['t', 1]]);
  // Group-level errors: top-level from v2, per partition before.
  const bad1 = await raw.send(ApiKey.JoinGroup, 1, { groupId: '', sessionTimeoutMs: 10000, rebalanceTimeoutMs: 10000, memberId: '', protocolType: 'consumer', protocols: [] });
  assert.equal(bad1.errorCode, ErrorCode.INVALID_GROUP_ID);
});

test('DescribeGroups v0-5, ListGroups v0-5, DeleteGroups v0-2, OffsetDelete v0 and FindCoordinator v0-6', async () => {
  const { memberId } = await joinAndSync('described', 5, 4);
  for (let v = 0; v <= 5; v++) {
    const d = await raw.send(ApiKey.DescribeGroups, v, { groups: ['described', 'unknown'], ...(v >= 3 ? { includeAuthorizedOperations: true } : {}) });
    const [g, u] = d.groups;
    assert.deepEqual([g!.errorCode, g!.groupState, g!.protocolType, g!.protocolData, g!.members[0]!.memberId], [0, 'Stable', 'consumer', 'range', memberId]);
    assert.equal(g!.members[0]!.memberAssignment.toString(), 'assigned');
    assert.equal(u!.groupState, 'Dead');
    if (v >= 3) assert.notEqual(g!.authorizedOperations, -2147483648);
    const l = await raw.send(ApiKey.ListGroups, v, { ...(v >= 4 ? { statesFilter: ['stable'] } : {}), ...(v >= 5 ? { typesFilter: ['classic'] } : {}) });
    assert.equal(l.errorCode, 0);
    assert.ok(l.groups.some((x) => x.groupId === 'described' && x.protocolType === 'consumer'));
    if (v >= 4) assert.ok(l.groups.every((x) => x.groupState === 'Stable'));
  }
  for (let v = 0; v <= 6; v++) {
    const f =
      v >= 4
        ? await raw.send(ApiKey.FindCoordinator, v, { keyType: 0, coordinatorKeys: ['described'] })
        : await raw.send(ApiKey.FindCoordinator, v, { key: 'described', keyType: 0 });
    const node = v >= 4 ? f.coordinators![0]! : { errorCode: f.errorCode!, port: f.port!, nodeId: f.nodeId! };
    assert.deepEqual([node.errorCode, node.port, node.nodeId], [0, env.broker.port, env.broker.brokerId], `FindCoordinator v${v}`);
  }
  // OffsetDelete: a subscribed topic of an active consumer group is refused; unknown topics are reported.
  await raw.send(ApiKey.OffsetCommit, 2, {
    groupId: 'described',
    generationIdOrMemberEpoch: 1,
    memberId,
    retentionTimeMs: -1n,
    topics: [{ name: 't', partitions: [{ partitionIndex: 1, committedOffset: 3n, committedMetadata: '' }] }],
  });
  const od = await raw.send(ApiKey.OffsetDelete, 0, { groupId: 'described', topics: [{ name: 't', partitions: [{ partitionIndex: 1 }] }, { name: 'nope', partitions: [{ partitionIndex: 0 }] }] });
  assert.deepEqual(od.topics.map((t) => t.partitions[0]!.errorCode), [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  for (let v = 0; v <= 2; v++) {
    await raw.send(ApiKey.OffsetCommit, 2, {
      groupId: `gone-v${v}`,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      retentionTimeMs: -1n,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: '' }] }],
    });
    const del = await raw.send(ApiKey.DeleteGroups, v, { groupsNames: ['described', `gone-v${v}`] });
    assert.deepEqual(del.results.map((r) => r.errorCode), [ErrorCode.NON_EMPTY_GROUP, ErrorCode.NONE], `DeleteGroups v${v}`);
  }
});
