/**
 * Committed offsets: validation, storage as __consumer_offsets records,
 * replay after a restart, require_stable, deletion and retention.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  GroupCoordinator,
  decodeGroupMetadataValue,
  decodeOffsetCommitValue,
  decodeOffsetsTopicKey,
  type GroupCoordinator as Coordinator,
  type JoinGroupParams,
  type OffsetCommitEntry,
} from '../../src/coordinator/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { FakeScheduler, MemoryHost, TEST_CONFIG, makeCoordinator, settle, subscription } from './fakes.js';

function entry(topic: string, partition: number, offset: number, metadata: string | null = null): OffsetCommitEntry {
  return { topic, partition, offset, leaderEpoch: -1, metadata, commitTimestamp: -1, expireTimestamp: null };
}

function simpleCommit(c: Coordinator, groupId: string, entries: OffsetCommitEntry[], apiVersion = 8) {
  return c.commitOffsets({ groupId, memberId: '', groupInstanceId: null, generationId: -1, apiVersion, entries });
}

function joinParams(groupId: string, memberId: string, topics = ['orders']): JoinGroupParams {
  return {
    groupId,
    memberId,
    groupInstanceId: null,
    requireKnownMemberId: false,
    supportSkippingAssignment: false,
    clientId: 'c',
    clientHost: '/127.0.0.1',
    rebalanceTimeoutMs: 10000,
    sessionTimeoutMs: 10000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription(topics) }],
  };
}

/** A one-member consumer group, Stable at generation 1. */
async function stableGroup(c: Coordinator, scheduler: FakeScheduler, groupId: string, topics = ['orders']) {
  const joining = c.joinGroup(joinParams(groupId, '', topics));
  await scheduler.advance(0);
  const join = await joining;
  await c.syncGroup({
    groupId,
    generationId: join.generationId,
    memberId: join.memberId,
    groupInstanceId: null,
    protocolType: null,
    protocolName: null,
    assignments: new Map([[join.memberId, Buffer.from('a')]]),
  });
  return join;
}

test('a simple consumer commits to a new group; fetch returns offsets with metadata and leader epoch', async () => {
  const { coordinator: c } = await makeCoordinator();
  const codes = await simpleCommit(c, 'simple', [
    { ...entry('orders', 0, 10, 'first'), leaderEpoch: 4 },
    entry('orders', 1, 20),
    entry('orders', 2, 30, 'x'.repeat(4097)),
  ]);
  assert.deepEqual(codes, [ErrorCode.NONE, ErrorCode.NONE, ErrorCode.OFFSET_METADATA_TOO_LARGE]);
  assert.deepEqual(await simpleCommit(c, 'simple', [entry('orders', 3, 1, 'y'.repeat(5000))]), [ErrorCode.OFFSET_METADATA_TOO_LARGE]);
  const fetched = await c.fetchOffsets('simple', [{ topic: 'orders', partition: 0 }, { topic: 'orders', partition: 1 }, { topic: 'orders', partition: 2 }, { topic: 'nope', partition: 0 }], false);
  assert.equal(fetched.errorCode, ErrorCode.NONE);
  assert.deepEqual(
    fetched.offsets.map((o) => [o.topic, o.partition, o.offset, o.leaderEpoch, o.metadata, o.errorCode]),
    [
      ['orders', 0, 10, 4, 'first', 0],
      ['orders', 1, 20, -1, '', 0],
      ['orders', 2, -1, -1, '', 0],
      ['nope', 0, -1, -1, '', 0],
    ],
  );
  const all = await c.fetchOffsets('simple', null, false);
  assert.deepEqual(all.offsets.map((o) => `${o.topic}-${o.partition}@${o.offset}`).sort(), ['orders-0@10', 'orders-1@20']);
  const unknown = await c.fetchOffsets('never-seen', [{ topic: 'orders', partition: 0 }], false);
  assert.deepEqual(unknown.offsets.map((o) => o.offset), [-1]);
});

test('commit validation: generations, members, and GROUP_ID_NOT_FOUND from v9', async () => {
  const { coordinator: c, scheduler } = await makeCoordinator({ config: { initialRebalanceDelayMs: 0 } });
  // A member's commit for a group the coordinator does not know.
  assert.deepEqual(await c.commitOffsets({ groupId: 'lost', memberId: 'm', groupInstanceId: null, generationId: 3, apiVersion: 8, entries: [entry('orders', 0, 1)] }), [
    ErrorCode.ILLEGAL_GENERATION,
  ]);
  assert.deepEqual(await c.commitOffsets({ groupId: 'lost', memberId: 'm', groupInstanceId: null, generationId: 3, apiVersion: 9, entries: [entry('orders', 0, 1)] }), [
    ErrorCode.GROUP_ID_NOT_FOUND,
  ]);
  const join = await stableGroup(c, scheduler, 'g');
  const commit = (memberId: string, generationId: number) =>
    c.commitOffsets({ groupId: 'g', memberId, groupInstanceId: null, generationId, apiVersion: 8, entries: [entry('orders', 0, 7)] });
  assert.deepEqual(await commit(join.memberId, 1), [ErrorCode.NONE]);
  assert.deepEqual(await commit(join.memberId, 0), [ErrorCode.ILLEGAL_GENERATION]);
  assert.deepEqual(await commit('stranger', 1), [ErrorCode.UNKNOWN_MEMBER_ID]);
  // No member id and no generation: refused while the group has members.
  assert.deepEqual(await simpleCommit(c, 'g', [entry('orders', 0, 8)]), [ErrorCode.UNKNOWN_MEMBER_ID]);
  assert.equal((await c.fetchOffsets('g', [{ topic: 'orders', partition: 0 }], false)).offsets[0]!.offset, 7);
  // The empty group id is allowed for offsets (as in Kafka), but not for membership.
  assert.deepEqual(await simpleCommit(c, '', [entry('orders', 0, 1)]), [ErrorCode.NONE]);
});

test('offsets and group metadata are __consumer_offsets records in Kafka schemas, replayed by a new coordinator', async () => {
  const scheduler = new FakeScheduler();
  const host = new MemoryHost(3);
  const { coordinator: c } = await makeCoordinator({ host, scheduler, config: { initialRebalanceDelayMs: 0 } });
  const join = await stableGroup(c, scheduler, 'orders-app');
  await c.commitOffsets({ groupId: 'orders-app', memberId: join.memberId, groupInstanceId: null, generationId: 1, apiVersion: 8, entries: [entry('orders', 0, 5, 'm0'), entry('orders', 1, 6)] });
  await c.commitOffsets({ groupId: 'orders-app', memberId: join.memberId, groupInstanceId: null, generationId: 1, apiVersion: 8, entries: [entry('orders', 0, 15)] });
  await simpleCommit(c, 'tool', [entry('payments', 2, 99)]);
  await simpleCommit(c, 'tool', [entry('payments', 1, 50)]);
  assert.equal((await c.deleteOffsets('tool', [{ topic: 'payments', partition: 2 }])).errorCode, ErrorCode.NONE);

  const log = host.logs.get(c.partitionFor('orders-app'))!;
  const records = log.records();
  assert.ok(records.every((r) => r.key !== null), 'every record is keyed (compaction-safe)');
  const kinds = records.map((r) => decodeOffsetsTopicKey(r.key!).kind);
  assert.ok(kinds.includes('group') && kinds.includes('offset'));
  const groupRecord = records.filter((r) => decodeOffsetsTopicKey(r.key!).kind === 'group').at(-1)!;
  const meta = decodeGroupMetadataValue(groupRecord.value!);
  assert.deepEqual([meta.protocolType, meta.generation, meta.protocol, meta.leader, meta.members.length], ['consumer', 1, 'range', join.memberId, 1]);
  assert.equal(meta.members[0]!.assignment.toString(), 'a');
  const lastOffset = records.filter((r) => r.value && decodeOffsetsTopicKey(r.key!).kind === 'offset').at(-1)!;
  assert.equal(decodeOffsetCommitValue(lastOffset.value!).offset, 15);
  const toolLog = host.logs.get(c.partitionFor('tool'))!;
  assert.ok(toolLog.records().some((r) => r.value === null), 'OffsetDelete wrote a tombstone');
  c.close();

  const restarted = new GroupCoordinator({ host, scheduler, config: TEST_CONFIG });
  restarted.startup();
  await Promise.all([0, 1, 2].map((p) => restarted.onBecomeLeader(p)));
  assert.equal(restarted.groupState('orders-app'), 'Stable');
  const fetched = await restarted.fetchOffsets('orders-app', null, false);
  assert.deepEqual(fetched.offsets.map((o) => [o.partition, o.offset, o.metadata]).sort(), [
    [0, 15, ''],
    [1, 6, ''],
  ]);
  const tool = await restarted.fetchOffsets('tool', null, false);
  assert.deepEqual(tool.offsets.map((o) => [o.topic, o.partition, o.offset]), [['payments', 1, 50]]);
  assert.equal(restarted.groupState('tool'), 'Empty');
  // The loaded member keeps its session: without heartbeats it expires and the group empties.
  await scheduler.advance(9999);
  assert.equal(restarted.groupState('orders-app'), 'Stable');
  await scheduler.advance(1);
  assert.equal(restarted.groupState('orders-app'), 'Empty');
  restarted.close();
});

test('require_stable: a partition whose commit is being written answers UNSTABLE_OFFSET_COMMIT', async () => {
  const { coordinator: c, host } = await makeCoordinator();
  await simpleCommit(c, 'g', [entry('orders', 0, 1)]);
  const log = host.logs.get(c.partitionFor('g'))!;
  let release!: () => void;
  log.appendGate = new Promise<void>((resolve) => (release = resolve));
  const inFlight = simpleCommit(c, 'g', [entry('orders', 0, 2)]);
  await settle();
  const stable = await c.fetchOffsets('g', [{ topic: 'orders', partition: 0 }], true);
  assert.equal(stable.offsets[0]!.errorCode, ErrorCode.UNSTABLE_OFFSET_COMMIT);
  const relaxed = await c.fetchOffsets('g', [{ topic: 'orders', partition: 0 }], false);
  assert.deepEqual([relaxed.offsets[0]!.offset, relaxed.offsets[0]!.errorCode], [1, ErrorCode.NONE]);
  log.appendGate = null;
  release();
  assert.deepEqual(await inFlight, [ErrorCode.NONE]);
  assert.equal((await c.fetchOffsets('g', [{ topic: 'orders', partition: 0 }], true)).offsets[0]!.offset, 2);
});

test('OffsetDelete refuses partitions of subscribed topics and unknown groups', async () => {
  const { coordinator: c, scheduler } = await makeCoordinator({ config: { initialRebalanceDelayMs: 0 } });
  const join = await stableGroup(c, scheduler, 'g', ['orders']);
  await c.commitOffsets({ groupId: 'g', memberId: join.memberId, groupInstanceId: null, generationId: 1, apiVersion: 8, entries: [entry('orders', 0, 1), entry('payments', 0, 2)] });
  const result = await c.deleteOffsets('g', [{ topic: 'orders', partition: 0 }, { topic: 'payments', partition: 0 }]);
  assert.deepEqual(result, { errorCode: ErrorCode.NONE, partitions: [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ErrorCode.NONE] });
  const left = await c.fetchOffsets('g', null, false);
  assert.deepEqual(left.offsets.map((o) => o.topic), ['orders']);
  assert.equal((await c.deleteOffsets('nobody', [{ topic: 'orders', partition: 0 }])).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  assert.equal((await c.deleteOffsets('', [])).errorCode, ErrorCode.INVALID_GROUP_ID);
});

test('retention: offsets of a group empty for offsets.retention.minutes expire with tombstones; the group goes', async () => {
  const retention = 60_000;
  const { coordinator: c, scheduler, host } = await makeCoordinator({
    config: { initialRebalanceDelayMs: 0, offsetsRetentionMs: retention, offsetsRetentionCheckIntervalMs: 10_000 },
  });
  const join = await stableGroup(c, scheduler, 'consumers');
  await c.commitOffsets({ groupId: 'consumers', memberId: join.memberId, groupInstanceId: null, generationId: 1, apiVersion: 8, entries: [entry('orders', 0, 3)] });
  await simpleCommit(c, 'simple', [entry('orders', 1, 4)]);
  // An active group's offsets do not expire however old.
  await scheduler.advance(5000);
  assert.equal(await c.heartbeat({ groupId: 'consumers', generationId: 1, memberId: join.memberId, groupInstanceId: null }), ErrorCode.NONE);
  const left = await c.leaveGroup('consumers', [{ memberId: join.memberId, groupInstanceId: null }]);
  assert.equal(left.members[0]!.errorCode, ErrorCode.NONE);
  assert.equal(c.groupState('consumers'), 'Empty');
  // The simple group's offset expires 60 s after its commit; the consumer group's 60 s after it became empty.
  await scheduler.advance(retention - 5000);
  assert.equal(c.groupState('simple'), undefined);
  assert.equal(c.groupState('consumers'), 'Empty');
  await scheduler.advance(10_000);
  assert.equal(c.groupState('consumers'), undefined);
  assert.equal((await c.fetchOffsets('consumers', null, false)).offsets.length, 0);
  const tombstones = [...host.logs.values()].flatMap((l) => l.records()).filter((r) => r.value === null);
  assert.equal(tombstones.length, 3, 'two offsets and the consumer group metadata');

  const replayed = new GroupCoordinator({ host, scheduler, config: TEST_CONFIG });
  await Promise.all([0, 1, 2].map((p) => replayed.onBecomeLeader(p)));
  assert.equal(replayed.groupState('consumers'), undefined);
  assert.equal(replayed.groupState('simple'), undefined);
  replayed.close();
  c.close();
});

test('__consumer_offsets is created on the first group request', async () => {
  const host = new MemoryHost(3, false);
  const { coordinator: c } = await makeCoordinator({ host });
  assert.equal(host.created, false);
  assert.deepEqual(await simpleCommit(c, 'g', [entry('orders', 0, 1)]), [ErrorCode.NONE]);
  assert.equal(host.created, true);
  assert.equal((await c.fetchOffsets('g', null, false)).offsets[0]!.offset, 1);
});
