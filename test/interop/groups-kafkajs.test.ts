/**
 * Consumer groups with kafkajs: the seeds' notification scenario (one
 * topic, two groups, each sees every record once), three members splitting
 * six partitions, a consumer resuming after its committed offset, and bad
 * group/offset requests sent raw, answered with Kafka's error codes.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/api-table.js';
import { RawClient, coversExactly, startGroupBroker, waitFor, type GroupTestBroker } from '../coordinator/interop-helpers.js';

let env: GroupTestBroker;
let kafka: Kafka;
let producer: Producer;

before(async () => {
  env = await startGroupBroker({ 'group.max.size': 20, 'offset.metadata.max.bytes': 100 });
  kafka = new Kafka({ brokers: [env.bootstrap], logLevel: logLevel.NOTHING, clientId: 'groups-kafkajs' });
  producer = kafka.producer();
  await producer.connect();
});

after(async () => {
  await producer?.disconnect();
  await env?.cleanup();
});

async function createTopic(topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  await admin.disconnect();
}

interface Member {
  consumer: Consumer;
  assignment: number[];
  values: string[];
}

/** A kafkajs group member that records its latest assignment and every value it reads. */
async function member(groupId: string, topic: string): Promise<Member> {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 300, maxWaitTimeInMs: 100, rebalanceTimeout: 10000 });
  const m: Member = { consumer, assignment: [], values: [] };
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    m.assignment = [...(e.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      m.values.push(message.value!.toString());
    },
  });
  return m;
}

function balanced(members: Member[], partitions: number): boolean {
  return coversExactly(members.map((m) => m.assignment), partitions) && members.every((m) => m.assignment.length > 0);
}

async function produce(topic: string, count: number, partitions: number, start = 0): Promise<void> {
  await producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ partition: (start + i) % partitions, value: String(start + i) })) });
}

test('notifications: one topic, two groups (email x2, push x1); each group sees every record exactly once', async () => {
  await createTopic('notifications', 3);
  const email = await Promise.all([member('email', 'notifications'), member('email', 'notifications')]);
  const push = [await member('push', 'notifications')];
  try {
    await waitFor(() => balanced(email, 3) && balanced(push, 3), 30_000, 'both groups assigned');
    await produce('notifications', 30, 3);
    const all = (ms: Member[]) => ms.flatMap((m) => m.values);
    await waitFor(() => all(email).length >= 30 && all(push).length >= 30, 20_000, 'both groups to read everything');
    const expected = Array.from({ length: 30 }, (_, i) => String(i)).sort();
    assert.deepEqual(all(email).sort(), expected);
    assert.deepEqual(all(push).sort(), expected);
    assert.ok(email.every((m) => m.values.length > 0), 'both email members took part');
  } finally {
    await Promise.all([...email, ...push].map((m) => m.consumer.disconnect()));
  }
});

test('three kafkajs members split six partitions with full coverage and no overlap', async () => {
  await createTopic('orders', 6);
  const members = await Promise.all([0, 1, 2].map(() => member('order-processing', 'orders')));
  try {
    await waitFor(() => balanced(members, 6), 30_000, 'a balanced assignment');
    assert.deepEqual(members.map((m) => m.assignment.length), [2, 2, 2]);
    await produce('orders', 60, 6);
    await waitFor(() => members.flatMap((m) => m.values).length >= 60, 20_000, 'all records');
    assert.equal(new Set(members.flatMap((m) => m.values)).size, 60);
    assert.equal(members.flatMap((m) => m.values).length, 60);
  } finally {
    await Promise.all(members.map((m) => m.consumer.disconnect()));
  }
});

test('a restarted consumer resumes after its committed offset', async () => {
  await createTopic('resume', 2);
  await produce('resume', 10, 2);
  const first = await member('resumer', 'resume');
  await waitFor(() => first.values.length >= 10, 20_000, 'the first 10 records');
  await first.consumer.disconnect(); // commits what it processed and leaves
  const admin = kafka.admin();
  await admin.connect();
  const committed = await admin.fetchOffsets({ groupId: 'resumer', topics: ['resume'] });
  assert.deepEqual(committed[0]!.partitions.map((p) => [p.partition, p.offset]).sort(), [
    [0, '5'],
    [1, '5'],
  ]);
  await admin.disconnect();
  await produce('resume', 10, 2, 10);
  const second = await member('resumer', 'resume');
  try {
    await waitFor(() => second.values.length >= 10, 20_000, 'the next 10 records');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(second.values.map(Number).sort((a, b) => a - b), [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  } finally {
    await second.consumer.disconnect();
  }
});

test('bad group and offset requests get Kafka error codes and leave the offsets topic readable', async () => {
  await createTopic('audit', 1);
  const raw = await RawClient.connect(env.bootstrap);
  try {
    // FindCoordinator, batched (v4+), answers this broker for every group.
    const found = await raw.send(ApiKey.FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['a', 'b'] });
    assert.deepEqual(found.coordinators!.map((c) => [c.errorCode, c.port]), [
      [0, env.broker.port],
      [0, env.broker.port],
    ]);
    // Transactional ids are coordinated by this broker too (the transaction coordinator).
    const txn = await raw.send(ApiKey.FindCoordinator, 3, { key: 'tx', keyType: 1 });
    assert.deepEqual([txn.errorCode, txn.port], [ErrorCode.NONE, env.broker.port]);

    // A member via the two-step join (v5), a single-member generation, then its assignment.
    const protocols = [{ name: 'range', metadata: Buffer.from([0, 0, 0, 0, 0, 1, 0, 5, 0x61, 0x75, 0x64, 0x69, 0x74, 0xff, 0xff, 0xff, 0xff]) }];
    const join = (memberId: string, groupId = 'bad') =>
      raw.send(ApiKey.JoinGroup, 5, { groupId, sessionTimeoutMs: 10000, rebalanceTimeoutMs: 5000, memberId, groupInstanceId: null, protocolType: 'consumer', protocols });
    const first = await join('');
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    const joined = await join(first.memberId);
    assert.deepEqual([joined.errorCode, joined.generationId, joined.leader], [0, 1, first.memberId]);
    const synced = await raw.send(ApiKey.SyncGroup, 3, {
      groupId: 'bad',
      generationId: 1,
      memberId: first.memberId,
      groupInstanceId: null,
      assignments: [{ memberId: first.memberId, assignment: Buffer.from([0, 0]) }],
    });
    assert.equal(synced.errorCode, 0);

    const commit = (version: number, fields: { generationId?: number; memberId?: string; topic?: string; partition?: number; metadata?: string; groupId?: string }) =>
      raw.send(ApiKey.OffsetCommit, version, {
        groupId: fields.groupId ?? 'bad',
        generationIdOrMemberEpoch: fields.generationId ?? 1,
        memberId: fields.memberId ?? first.memberId,
        groupInstanceId: null,
        retentionTimeMs: -1n,
        topics: [{ name: fields.topic ?? 'audit', partitions: [{ partitionIndex: fields.partition ?? 0, committedOffset: 42n, committedLeaderEpoch: -1, committedMetadata: fields.metadata ?? 'ok' }] }],
      });
    const codeOf = (r: Awaited<ReturnType<typeof commit>>) => r.topics[0]!.partitions[0]!.errorCode;
    assert.equal(codeOf(await commit(8, {})), ErrorCode.NONE);
    assert.equal(codeOf(await commit(8, { topic: 'no-such-topic' })), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(codeOf(await commit(8, { partition: 7 })), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(codeOf(await commit(8, { generationId: 0 })), ErrorCode.ILLEGAL_GENERATION);
    assert.equal(codeOf(await commit(8, { memberId: 'intruder' })), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(codeOf(await commit(8, { metadata: 'x'.repeat(101) })), ErrorCode.OFFSET_METADATA_TOO_LARGE);
    assert.equal(codeOf(await commit(8, { generationId: -1, memberId: '' })), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(codeOf(await commit(8, { groupId: 'ghost-group', generationId: 3 })), ErrorCode.ILLEGAL_GENERATION);
    assert.equal(codeOf(await commit(9, { groupId: 'ghost-group', generationId: 3 })), ErrorCode.GROUP_ID_NOT_FOUND);

    const hb = (groupId: string, generationId: number, memberId: string) => raw.send(ApiKey.Heartbeat, 3, { groupId, generationId, memberId, groupInstanceId: null });
    assert.equal((await hb('bad', 1, first.memberId)).errorCode, ErrorCode.NONE);
    assert.equal((await hb('bad', 0, first.memberId)).errorCode, ErrorCode.ILLEGAL_GENERATION);
    assert.equal((await hb('bad', 1, 'nobody')).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await hb('', 1, 'nobody')).errorCode, ErrorCode.INVALID_GROUP_ID);
    assert.equal((await join('', '')).errorCode, ErrorCode.INVALID_GROUP_ID);
    const tooShort = await raw.send(ApiKey.JoinGroup, 5, { groupId: 'bad', sessionTimeoutMs: 10, rebalanceTimeoutMs: 10, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols });
    assert.equal(tooShort.errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
    const otherType = await raw.send(ApiKey.JoinGroup, 5, { groupId: 'bad', sessionTimeoutMs: 10000, rebalanceTimeoutMs: 5000, memberId: '', groupInstanceId: null, protocolType: 'connect', protocols });
    assert.equal(otherType.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);

    // A join flood: 40 new members against group.max.size=20.
    const flood = await Promise.all(Array.from({ length: 40 }, () => join('', 'flooded')));
    const codes = flood.map((r) => r.errorCode);
    assert.equal(codes.filter((c) => c === ErrorCode.MEMBER_ID_REQUIRED).length, 20);
    assert.equal(codes.filter((c) => c === ErrorCode.GROUP_MAX_SIZE_REACHED).length, 20);

    // DeleteGroups refuses the active group; DescribeGroups and ListGroups see it.
    const del = await raw.send(ApiKey.DeleteGroups, 2, { groupsNames: ['bad', 'never-was'] });
    assert.deepEqual(del.results.map((r) => r.errorCode), [ErrorCode.NON_EMPTY_GROUP, ErrorCode.GROUP_ID_NOT_FOUND]);
    const described = await raw.send(ApiKey.DescribeGroups, 5, { groups: ['bad'], includeAuthorizedOperations: false });
    assert.deepEqual([described.groups[0]!.groupState, described.groups[0]!.protocolData, described.groups[0]!.members.length], ['Stable', 'range', 1]);
    const listed = await raw.send(ApiKey.ListGroups, 4, { statesFilter: ['Stable'] });
    assert.ok(listed.groups.some((g) => g.groupId === 'bad'));
    assert.ok(!listed.groups.some((g) => g.groupId === 'flooded'));
  } finally {
    raw.close();
  }

  // After all that the offsets topic replays cleanly: the one good commit survives a restart.
  await env.restart();
  const admin = new Kafka({ brokers: [env.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchOffsets({ groupId: 'bad', topics: ['audit'] });
    assert.deepEqual(offsets[0]!.partitions.map((p) => [p.partition, p.offset, p.metadata]), [[0, '42', 'ok']]);
  } finally {
    await admin.disconnect();
  }
  await producer.disconnect();
  kafka = new Kafka({ brokers: [env.bootstrap], logLevel: logLevel.NOTHING, clientId: 'groups-kafkajs' });
  producer = kafka.producer();
  await producer.connect();
});
