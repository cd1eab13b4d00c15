/**
 * The classic group protocol state machine, driven with a fake clock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GroupCoordinator, JoinGroupParams, JoinResult, Protocol } from '../../src/coordinator/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { KafkaError } from '../../src/protocol/errors.js';
import { makeCoordinator, settle, subscription } from './fakes.js';

const RANGE: Protocol = { name: 'range', metadata: subscription(['orders']) };
const ROUNDROBIN: Protocol = { name: 'roundrobin', metadata: subscription(['orders']) };

function joinParams(groupId: string, memberId: string, extra: Partial<JoinGroupParams> = {}): JoinGroupParams {
  return {
    groupId,
    memberId,
    groupInstanceId: null,
    requireKnownMemberId: false,
    supportSkippingAssignment: false,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    rebalanceTimeoutMs: 20000,
    sessionTimeoutMs: 10000,
    protocolType: 'consumer',
    protocols: [RANGE],
    ...extra,
  };
}

/** Tracks a parked promise so a test can check whether it settled. */
function track<T>(promise: Promise<T>): { done: () => boolean; value: () => T; promise: Promise<T> } {
  let settled = false;
  let result: T;
  void promise.then((v) => {
    settled = true;
    result = v;
  });
  return { done: () => settled, value: () => result!, promise };
}

async function sync(c: GroupCoordinator, groupId: string, join: JoinResult, assignments: Record<string, string> = {}) {
  return c.syncGroup({
    groupId,
    generationId: join.generationId,
    memberId: join.memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocolName: join.protocolName,
    assignments: new Map(Object.entries(assignments).map(([k, v]) => [k, Buffer.from(v)])),
  });
}

test('two-step join (v4+): MEMBER_ID_REQUIRED, then the initial delay, then a generation with one leader', async () => {
  const { coordinator: c, scheduler } = await makeCoordinator();
  const first = await c.joinGroup(joinParams('g', '', { requireKnownMemberId: true, clientId: 'app' }));
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  assert.match(first.memberId, /^app-[0-9a-f-]{36}$/);
  const join = track(c.joinGroup(joinParams('g', first.memberId, { requireKnownMemberId: true })));
  await scheduler.advance(2999);
  assert.equal(join.done(), false, 'the initial rebalance delay holds the join');
  assert.equal(c.groupState('g'), 'PreparingRebalance');
  await scheduler.advance(1);
  const result = join.value();
  assert.equal(result.errorCode, ErrorCode.NONE);
  assert.equal(result.generationId, 1);
  assert.equal(result.leaderId, first.memberId);
  assert.equal(result.protocolName, 'range');
  assert.equal(result.members.length, 1);
  assert.equal(c.groupState('g'), 'CompletingRebalance');
  assert.equal(await c.heartbeat({ groupId: 'g', generationId: 1, memberId: first.memberId, groupInstanceId: null }), ErrorCode.NONE);
  const synced = await sync(c, 'g', result, { [first.memberId]: 'A' });
  assert.deepEqual([synced.errorCode, synced.assignment.toString(), synced.protocolName], [ErrorCode.NONE, 'A', 'range']);
  assert.equal(c.groupState('g'), 'Stable');
});

test('the initial delay is extended while new members keep joining, up to the rebalance timeout', async () => {
  const { coordinator: c, scheduler } = await makeCoordinator();
  const a = track(c.joinGroup(joinParams('g', '')));
  await scheduler.advance(2000);
  const b = track(c.joinGroup(joinParams('g', '')));
  await scheduler.advance(2000);
  assert.equal(a.done(), false, 'a member arriving in the delay extends it');
  await scheduler.advance(1000);
  const cc = track(c.joinGroup(joinParams('g', '')));
  await scheduler.advance(6000);
  assert.ok(a.done() && b.done() && cc.done());
  assert.equal(a.value().generationId, 1);
  assert.equal(new Set([a.value().leaderId, b.value().leaderId, cc.value().leaderId]).size, 1);
  const leader = [a, b, cc].find((x) => x.value().memberId === x.value().leaderId)!;
  assert.equal(leader.value().members.length, 3);
  assert.equal([a, b, cc].filter((x) => x.value().members.length === 0).length, 2);
});

test('a member joining a stable group: heartbeats answer REBALANCE_IN_PROGRESS until all rejoin; followers wait for the leader sync', async () => {
  const { coordinator: c, scheduler } = await makeCoordinator({ config: { initialRebalanceDelayMs: 0 } });
  const first = track(c.joinGroup(joinParams('g', '')));
  await scheduler.advance(0);
  const leaderJoin = first.value();
  await sync(c, 'g', leaderJoin, { [leaderJoin.memberId]: 'all' });
  assert.equal(c.groupState('g'), 'Stable');

  const second = track(c.joinGroup(joinParams('g', '')));
  await settle();
  assert.equal(c.groupState('g'), 'PreparingRebalance');
  const hb = await c.heartbeat({ groupId: 'g', generationId: 1, memberId: leaderJoin.memberId, groupInstanceId: null });
  assert.equal(hb, ErrorCode.REBALANCE_IN_PROGRESS);
  // A commit is still accepted while the rebalance is prepared.
  const commit = await c.commitOffsets({
    groupId: 'g',
    memberId: leaderJoin.memberId,
    groupInstanceId: null,
    generationId: 1,
    apiVersion: 8,
    entries: [{ topic: 'orders', partition: 0, offset: 5, leaderEpoch: -1, metadata: '', commitTimestamp: -1, expireTimestamp: null }],
  });
  assert.deepEqual(commit, [ErrorCode.NONE]);
  assert.equal(second.done(), false);
  const rejoin = track(c.joinGroup(joinParams('g', leaderJoin.memberId)));
  await settle();
  assert.ok(second.done() && rejoin.done(), 'completes as soon as every member rejoined');
  const [l, f] = [rejoin.value(), second.value()];
  assert.equal(l.generationId, 2);
  assert.equal(l.leaderId, leaderJoin.memberId);
  assert.equal(l.members.length, 2);
  assert.equal(f.members.length, 0);
  // Commits are refused between the join and the sync.
  const early = await c.commitOffsets({
    groupId: 'g',
    memberId: f.memberId,
    groupInstanceId: null,
    generationId: 2,
    apiVersion: 8,
    entries: [{ topic: 'orders', partition: 1, offset: 1, leaderEpoch: -1, metadata: null, commitTimestamp: -1, expireTimestamp: null }],
  });
  assert.deepEqual(early, [ErrorCode.REBALANCE_IN_PROGRESS]);
  const followerSync = track(sync(c, 'g', f));
  await settle();
  assert.equal(followerSync.done(), false, 'the follower waits for the leader');
  const leaderSync = await sync(c, 'g', l, { [l.memberId]: 'p0-2', [f.memberId]: 'p3-5', stranger: 'x' });
  assert.equal(leaderSync.assignment.toString(), 'p0-2');
  await settle();
  assert.equal(followerSync.value().assignment.toString(), 'p3-5');
  assert.equal(c.groupState('g'), 'Stable');
  // A stale generation is refused.
  assert.equal(await c.heartbeat({ groupId: 'g', generationId: 1, memberId: f.memberId, groupInstanceId: null }), ErrorCode.ILLEGAL_GENERATION);
  assert.equal(await c.heartbeat({ groupId: 'g', generationId: 2, memberId: 'nobody', groupInstanceId: null }), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal((await sync(c, 'g', { ...f, generationId: 1 })).errorCode, ErrorCode.ILLEGAL_GENERATION);
  await scheduler.advance(0);
});

test('a member whose session expires is removed and the others rebalance without it', async () => {
  const { coordinator: c, scheduler } = await makeCoordinator({ config: { initialRebalanceDelayMs: 0 } });
  const a = track(c.joinGroup(joinParams('g', '', { sessionTimeoutMs: 6000, rebalanceTimeoutMs: 8000 })));
  const b = track(c.joinGroup(joinParams('g', '', { sessionTimeoutMs: 6000, rebalanceTimeoutMs: 8000 })));
  await scheduler.advance(0);
  const [ja, jb] = [a.value(), b.value()];
  assert.equal(ja.generationId, 1);
  const leader = ja.leaderId === ja.memberId ? ja : jb;
  const follower = leader === ja ? jb : ja;
  const fs = track(sync(c, 'g', follower));
  await sync(c, 'g', leader, { [leader.memberId]: 'L', [follower.memberId]: 'F' });
  await settle();
  assert.equal(fs.value().errorCode, ErrorCode.NONE);
  // Only the leader keeps heartbeating.
  for (let t = 0; t < 5; t++) {
    await scheduler.advance(2000);
    const hb = await c.heartbeat({ groupId: 'g', generationId: 1, memberId: leader.memberId, groupInstanceId: null });
    if (hb === ErrorCode.REBALANCE_IN_PROGRESS) break;
    assert.equal(hb, ErrorCode.NONE);
  }
  assert.equal(c.groupState('g'), 'PreparingRebalance', 'the follower expired after 6 s');
  assert.equal(c.getGroup('g')!.has(follower.memberId), false);
  const rejoin = await c.joinGroup(joinParams('g', leader.memberId, { sessionTimeoutMs: 6000 }));
  assert.equal(rejoin.generationId, 2);
  assert.deepEqual(rejoin.members.map((m) => m.memberId), [leader.memberId]);
  assert.equal(
    await c.heartbeat({ groupId: 'g', generationId: 1, memberId: follower.memberId, groupInstanceId: null }),
    ErrorCode.UNKNOWN_MEMBER_ID,
  );
});

test('members that do not rejoin within the rebalance timeout are dropped; members that never sync are dropped too', async () => {
  const { coordinator: c, scheduler } = await makeCoordinator({ config: { initialRebalanceDelayMs: 0 } });
  const a = track(c.joinGroup(joinParams('g', '', { rebalanceTimeoutMs: 10000, sessionTimeoutMs: 30000 })));
  const b = track(c.joinGroup(joinParams('g', '', { rebalanceTimeoutMs: 10000, sessionTimeoutMs: 30000 })));
  await scheduler.advance(0);
  const leader = [a.value(), b.value()].find((j) => j.leaderId === j.memberId)!;
  const follower = [a.value(), b.value()].find((j) => j !== leader)!;
  // The leader syncs, the follower never does: after the rebalance timeout it is removed.
  await sync(c, 'g', leader, { [leader.memberId]: 'x', [follower.memberId]: 'y' });
  assert.equal(c.groupState('g'), 'Stable');
  await scheduler.advance(10000);
  assert.equal(c.getGroup('g')!.has(follower.memberId), false);
  assert.equal(c.groupState('g'), 'PreparingRebalance');
  // Nobody rejoins: after the rebalance timeout the (dynamic) leader is dropped too and the group is empty.
  await scheduler.advance(10000);
  assert.equal(c.groupState('g'), 'Empty');
  assert.equal(c.getGroup('g')!.generationId, 2);
});

test('protocol selection: only protocols every member supports, most votes win', async () => {
  const { coordinator: c, scheduler } = await makeCoordinator({ config: { initialRebalanceDelayMs: 0 } });
  const sticky: Protocol = { name: 'cooperative-sticky', metadata: subscription(['orders']) };
  const joins = [
    track(c.joinGroup(joinParams('g', '', { protocols: [RANGE, ROUNDROBIN] }))),
    track(c.joinGroup(joinParams('g', '', { protocols: [ROUNDROBIN, RANGE, sticky] }))),
    track(c.joinGroup(joinParams('g', '', { protocols: [sticky, ROUNDROBIN, RANGE] }))),
  ];
  await scheduler.advance(0);
  // Candidates: range and roundrobin (sticky is not supported by all). Votes: range 1, roundrobin 2.
  for (const j of joins) assert.equal(j.value().protocolName, 'roundrobin');
  // A member with no common protocol, or another protocol type, is refused.
  const other = await c.joinGroup(joinParams('g', '', { protocols: [sticky] }));
  assert.equal(other.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  const connect = await c.joinGroup(joinParams('g', '', { protocolType: 'connect', protocols: [RANGE] }));
  assert.equal(connect.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  const none = await c.joinGroup(joinParams('fresh', '', { protocols: [] }));
  assert.equal(none.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  // SyncGroup v5 checks the protocol type and name.
  const j = joins[0]!.value();
  const wrongName = await c.syncGroup({
    groupId: 'g',
    generationId: j.generationId,
    memberId: j.memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: new Map(),
  });
  assert.equal(wrongName.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
});

test('static membership: an instance rejoining a stable group gets a new id without a rebalance; the old id is fenced', async () => {
  const { coordinator: c, scheduler, host } = await makeCoordinator({ config: { initialRebalanceDelayMs: 0 } });
  const a = track(c.joinGroup(joinParams('g', '', { groupInstanceId: 'i-a', sessionTimeoutMs: 30000 })));
  const b = track(c.joinGroup(joinParams('g', '', { groupInstanceId: 'i-b', sessionTimeoutMs: 30000 })));
  await scheduler.advance(0);
  const leader = [a.value(), b.value()].find((j) => j.leaderId === j.memberId)!;
  const follower = [a.value(), b.value()].find((j) => j !== leader)!;
  const fs = track(sync(c, 'g', follower));
  await sync(c, 'g', leader, { [leader.memberId]: 'L', [follower.memberId]: 'F' });
  await settle();
  assert.equal(fs.value().assignment.toString(), 'F');
  const followerInstance = follower.memberId.startsWith('i-a') ? 'i-a' : 'i-b';
  const leaderInstance = followerInstance === 'i-a' ? 'i-b' : 'i-a';
  const writes = host.logs.get(c.partitionFor('g'))!.batches.length;

  // The follower restarts (no LeaveGroup; same instance id, unknown member id).
  const back = await c.joinGroup(joinParams('g', '', { groupInstanceId: followerInstance, sessionTimeoutMs: 30000 }));
  assert.equal(back.errorCode, ErrorCode.NONE);
  assert.notEqual(back.memberId, follower.memberId);
  assert.equal(back.generationId, 1, 'no new generation');
  assert.equal(back.leaderId, leader.memberId);
  assert.equal(c.groupState('g'), 'Stable');
  assert.equal(host.logs.get(c.partitionFor('g'))!.batches.length, writes + 1, 'the new member id was persisted');
  const again = await sync(c, 'g', back);
  assert.equal(again.assignment.toString(), 'F', 'it keeps its assignment');
  // The old incarnation is fenced everywhere.
  assert.equal(
    await c.heartbeat({ groupId: 'g', generationId: 1, memberId: follower.memberId, groupInstanceId: followerInstance }),
    ErrorCode.FENCED_INSTANCE_ID,
  );
  const oldCommit = await c.commitOffsets({
    groupId: 'g',
    memberId: follower.memberId,
    groupInstanceId: followerInstance,
    generationId: 1,
    apiVersion: 8,
    entries: [{ topic: 'orders', partition: 0, offset: 1, leaderEpoch: -1, metadata: null, commitTimestamp: -1, expireTimestamp: null }],
  });
  assert.deepEqual(oldCommit, [ErrorCode.FENCED_INSTANCE_ID]);
  const oldJoin = await c.joinGroup(joinParams('g', follower.memberId, { groupInstanceId: followerInstance }));
  assert.equal(oldJoin.errorCode, ErrorCode.FENCED_INSTANCE_ID);

  // A returning static leader before v9 is told the old leader id (acts as a follower) ...
  const leaderBack = await c.joinGroup(joinParams('g', '', { groupInstanceId: leaderInstance, sessionTimeoutMs: 30000 }));
  assert.equal(leaderBack.leaderId, leader.memberId);
  assert.notEqual(leaderBack.memberId, leader.memberId);
  assert.deepEqual([leaderBack.members.length, leaderBack.skipAssignment], [0, false]);
  // ... and from v9 learns it leads, with the members, but skips the assignment (KIP-814).
  const leaderV9 = await c.joinGroup(
    joinParams('g', '', { groupInstanceId: leaderInstance, sessionTimeoutMs: 30000, supportSkippingAssignment: true }),
  );
  assert.equal(leaderV9.leaderId, leaderV9.memberId);
  assert.deepEqual([leaderV9.members.length, leaderV9.skipAssignment], [2, true]);
  assert.equal(c.getGroup('g')!.generationId, 1);

  // LeaveGroup by instance id (administrative removal) triggers the rebalance.
  const left = await c.leaveGroup('g', [
    { memberId: '', groupInstanceId: followerInstance },
    { memberId: 'ghost', groupInstanceId: null },
  ]);
  assert.deepEqual(left.members.map((m) => m.errorCode), [ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID]);
  assert.equal(c.groupState('g'), 'PreparingRebalance');
});

test('group.max.size, invalid group ids and session timeouts get Kafka error codes; a join flood is bounded', async () => {
  const { coordinator: c, scheduler } = await makeCoordinator({ config: { maxGroupSize: 3, initialRebalanceDelayMs: 0 } });
  assert.equal((await c.joinGroup(joinParams('', ''))).errorCode, ErrorCode.INVALID_GROUP_ID);
  assert.equal(await c.heartbeat({ groupId: '', generationId: 1, memberId: 'm', groupInstanceId: null }), ErrorCode.INVALID_GROUP_ID);
  assert.equal((await c.leaveGroup('', [{ memberId: 'm', groupInstanceId: null }])).errorCode, ErrorCode.INVALID_GROUP_ID);
  assert.equal((await c.joinGroup(joinParams('g', '', { sessionTimeoutMs: 10 }))).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
  assert.equal((await c.joinGroup(joinParams('g', '', { sessionTimeoutMs: 10_000_000 }))).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
  assert.equal((await c.joinGroup(joinParams('nope', 'some-member'))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);

  // 50 first-step joins: three ids are handed out, the rest refused.
  const flood = await Promise.all(Array.from({ length: 50 }, () => c.joinGroup(joinParams('g', '', { requireKnownMemberId: true }))));
  const ids = flood.filter((r) => r.errorCode === ErrorCode.MEMBER_ID_REQUIRED).map((r) => r.memberId);
  assert.equal(ids.length, 3);
  assert.equal(flood.filter((r) => r.errorCode === ErrorCode.GROUP_MAX_SIZE_REACHED).length, 47);
  const joins = ids.map((id) => track(c.joinGroup(joinParams('g', id, { requireKnownMemberId: true }))));
  await scheduler.advance(0);
  assert.ok(joins.every((j) => j.value().errorCode === ErrorCode.NONE && j.value().generationId === 1));
  assert.equal((await c.joinGroup(joinParams('g', ''))).errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
  // Unjoined ids expire after the session timeout.
  await c.joinGroup(joinParams('h', '', { requireKnownMemberId: true }));
  assert.equal(c.getGroup('h')!.pendingMembers.size, 1);
  await scheduler.advance(10000);
  assert.equal(c.getGroup('h')!.pendingMembers.size, 0);
});

test('describe, list (with state filter) and delete groups', async () => {
  const { coordinator: c, scheduler } = await makeCoordinator({ config: { initialRebalanceDelayMs: 0 } });
  const j = track(c.joinGroup(joinParams('active', '', { clientId: 'svc' })));
  await scheduler.advance(0);
  await sync(c, 'active', j.value(), { [j.value().memberId]: 'asg' });
  await c.commitOffsets({
    groupId: 'simple',
    memberId: '',
    groupInstanceId: null,
    generationId: -1,
    apiVersion: 8,
    entries: [{ topic: 'orders', partition: 2, offset: 9, leaderEpoch: -1, metadata: 'x', commitTimestamp: -1, expireTimestamp: null }],
  });
  const d = await c.describeGroup('active');
  assert.deepEqual([d.state, d.protocolType, d.protocol, d.members.length], ['Stable', 'consumer', 'range', 1]);
  assert.equal(d.members[0]!.clientId, 'svc');
  assert.equal(d.members[0]!.assignment.toString(), 'asg');
  assert.deepEqual(d.members[0]!.metadata, RANGE.metadata);
  assert.equal((await c.describeGroup('missing')).state, 'Dead');
  assert.deepEqual((await c.describeGroup('simple')).state, 'Empty');

  const all = c.listGroups();
  assert.deepEqual(all.groups.map((g) => [g.groupId, g.state, g.protocolType]).sort(), [
    ['active', 'Stable', 'consumer'],
    ['simple', 'Empty', ''],
  ]);
  assert.deepEqual(c.listGroups(['empty']).groups.map((g) => g.groupId), ['simple']);
  assert.deepEqual(c.listGroups([], ['consumer']).groups, []);

  const deleted = await c.deleteGroups(['active', 'simple', 'missing']);
  assert.deepEqual(Object.fromEntries(deleted), {
    active: ErrorCode.NON_EMPTY_GROUP,
    simple: ErrorCode.NONE,
    missing: ErrorCode.GROUP_ID_NOT_FOUND,
  });
  assert.equal((await c.fetchOffsets('simple', null, false)).offsets.length, 0);
});

test('a failed write of the leader assignment fails the sync and restarts the rebalance', async () => {
  const { coordinator: c, scheduler, host } = await makeCoordinator({ config: { initialRebalanceDelayMs: 0 } });
  const j = track(c.joinGroup(joinParams('g', '')));
  await scheduler.advance(0);
  const log = host.logs.get(c.partitionFor('g'))!;
  log.failWith = new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  const s = await sync(c, 'g', j.value(), { [j.value().memberId]: 'a' });
  assert.equal(s.errorCode, ErrorCode.NOT_COORDINATOR);
  assert.equal(c.groupState('g'), 'PreparingRebalance');
  log.failWith = null;
  const again = await c.joinGroup(joinParams('g', j.value().memberId));
  assert.equal(again.generationId, 2);
});

test('requests while a partition loads get COORDINATOR_LOAD_IN_PROGRESS (heartbeats are answered blindly)', async () => {
  const { coordinator: first, scheduler, host } = await makeCoordinator({ config: { initialRebalanceDelayMs: 0 } });
  const j = track(first.joinGroup(joinParams('g', '')));
  await scheduler.advance(0);
  await sync(first, 'g', j.value(), { [j.value().memberId]: 'a' });
  first.close();

  let release!: () => void;
  const log = host.logs.get(first.partitionFor('g'))!;
  log.readGate = new Promise<void>((resolve) => (release = resolve));
  const { GroupCoordinator } = await import('../../src/coordinator/index.js');
  const { TEST_CONFIG } = await import('./fakes.js');
  const second = new GroupCoordinator({ host, scheduler, config: { ...TEST_CONFIG, initialRebalanceDelayMs: 0 } });
  second.startup();
  assert.equal((await second.joinGroup(joinParams('g', ''))).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  assert.equal((await second.fetchOffsets('g', null, false)).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  assert.equal(await second.heartbeat({ groupId: 'g', generationId: 1, memberId: j.value().memberId, groupInstanceId: null }), ErrorCode.NONE);
  const loadingSync = await sync(second, 'g', j.value());
  assert.equal(loadingSync.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
  release();
  log.readGate = null;
  await second.onBecomeLeader(second.partitionFor('g'));
  // The group came back Stable, same generation, member and assignment.
  assert.equal(second.groupState('g'), 'Stable');
  assert.equal(await second.heartbeat({ groupId: 'g', generationId: 1, memberId: j.value().memberId, groupInstanceId: null }), ErrorCode.NONE);
  assert.equal((await sync(second, 'g', j.value())).assignment.toString(), 'a');
  // Resigning the partition unloads its groups.
  second.onResign(second.partitionFor('g'));
  assert.equal(second.groupState('g'), undefined);
  second.close();
});
