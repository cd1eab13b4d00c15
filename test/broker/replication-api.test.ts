/**
 * The replication APIs on the wire: OffsetForLeaderEpoch answers and errors
 * (as Kafka's), follower fetches (replica id in v4-14, replica_state in
 * v15+) reading past the high watermark and moving it, and fetches from a
 * broker that is not a replica.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BrokerConnection } from '../../src/client/connection.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/api-table.js';
import type { TopicRecord } from '../../src/controller/types.js';
import { ReplicationHarness, batchEnds, connectTo, produce, recordsBatch } from '../helpers/replication-harness.js';

describe('OffsetForLeaderEpoch', () => {
  let h: ReplicationHarness;
  let leader: BrokerConnection;
  let follower: BrokerConnection;
  let outsider: BrokerConnection;

  before(async () => {
    h = await ReplicationHarness.start({ brokers: 3, config: { 'replica.fetch.wait.max.ms': 100 } });
    await h.createTopic('epochs', [[1, 2]]);
    leader = await connectTo(h, 1);
    follower = await connectTo(h, 2);
    outsider = await connectTo(h, 3);
    // Epoch 0: offsets 0-5; epoch 2 (after two elections of broker 1): offsets 6-8.
    assert.equal((await produce(leader, 'epochs', 0, recordsBatch(6, 'e0'), -1)).errorCode, ErrorCode.NONE);
    await h.electLeader('epochs', 0, 1, [1, 2]);
    await h.electLeader('epochs', 0, 1, [1, 2]);
    assert.equal((await produce(leader, 'epochs', 0, recordsBatch(3, 'e2'), -1)).errorCode, ErrorCode.NONE);
  });
  after(async () => {
    for (const c of [leader, follower, outsider]) c?.close();
    await h?.close();
  });

  async function ask(conn: BrokerConnection, version: number, topic: string, partition: number, leaderEpoch: number, currentLeaderEpoch = -1) {
    const response = await conn.request(
      ApiKey.OffsetForLeaderEpoch,
      { replicaId: -1, topics: [{ topic, partitions: [{ partition, currentLeaderEpoch, leaderEpoch }] }] },
      { version },
    );
    assert.equal(response.topics[0]!.topic, topic);
    return response.topics[0]!.partitions[0]!;
  }

  test('answers the end of each epoch the leader knows, as Kafka does', async () => {
    // Epoch 1 wrote nothing: epoch 2 starting at the same offset replaced it.
    assert.deepEqual(h.log(1, 'epochs').leaderEpochEntries(), [
      { epoch: 0, startOffset: 0 },
      { epoch: 2, startOffset: 6 },
    ]);
    for (const version of [1, 2, 3, 4]) {
      const e0 = await ask(leader, version, 'epochs', 0, 0);
      assert.deepEqual([e0.errorCode, e0.leaderEpoch, e0.endOffset], [ErrorCode.NONE, 0, 6n], `v${version} epoch 0`);
      // Unknown epoch between known ones: the largest below it, ending where the next starts.
      const e1 = await ask(leader, version, 'epochs', 0, 1);
      assert.deepEqual([e1.leaderEpoch, e1.endOffset], [0, 6n], `v${version} epoch 1`);
      // The current epoch ends at the log end.
      const e2 = await ask(leader, version, 'epochs', 0, 2);
      assert.deepEqual([e2.leaderEpoch, e2.endOffset], [2, 9n], `v${version} epoch 2`);
      // Newer than any epoch: undefined.
      const e9 = await ask(leader, version, 'epochs', 0, 9);
      assert.deepEqual([e9.errorCode, e9.leaderEpoch, e9.endOffset], [ErrorCode.NONE, -1, -1n], `v${version} epoch 9`);
    }
    // v0 has no epoch in its answer.
    const v0 = await ask(leader, 0, 'epochs', 0, 0);
    assert.equal(v0.errorCode, ErrorCode.NONE);
    assert.equal(v0.endOffset, 6n);
  });

  test("checks current_leader_epoch (v2+) before anything else", async () => {
    const fenced = await ask(leader, 4, 'epochs', 0, 0, 1);
    assert.equal(fenced.errorCode, ErrorCode.FENCED_LEADER_EPOCH);
    assert.equal(fenced.endOffset, -1n);
    assert.equal((await ask(leader, 2, 'epochs', 0, 0, 7)).errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
    assert.equal((await ask(leader, 3, 'epochs', 0, 0, 2)).errorCode, ErrorCode.NONE);
    // On a follower, a stale epoch is still FENCED; the right one gets NOT_LEADER_OR_FOLLOWER.
    assert.equal((await ask(follower, 4, 'epochs', 0, 0, 0)).errorCode, ErrorCode.FENCED_LEADER_EPOCH);
    assert.equal((await ask(follower, 4, 'epochs', 0, 0, 2)).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  });

  test('only the leader answers; unknown partitions are UNKNOWN_TOPIC_OR_PARTITION', async () => {
    assert.equal((await ask(follower, 4, 'epochs', 0, 0)).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    // Broker 3 hosts no replica of an existing partition.
    assert.equal((await ask(outsider, 4, 'epochs', 0, 0)).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assert.equal((await ask(leader, 4, 'epochs', 5, 0)).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal((await ask(leader, 4, 'no-such-topic', 0, 0)).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});

describe('follower fetches', () => {
  let h: ReplicationHarness;
  let leader: BrokerConnection;
  let topic: TopicRecord;

  before(async () => {
    // Broker 2 is a replica that the test impersonates: it is stopped, so only our fetches count.
    h = await ReplicationHarness.start({ brokers: 3, config: { 'replica.fetch.wait.max.ms': 100 } });
    topic = await h.createTopic('follow', [[1, 2]]);
    await h.stopBroker(2);
    leader = await connectTo(h, 1);
    for (let i = 0; i < 4; i++) assert.equal((await produce(leader, 'follow', 0, recordsBatch(5, `f${i}`), 1)).errorCode, ErrorCode.NONE);
  });
  after(async () => {
    leader?.close();
    await h?.close();
  });

  async function fetchAs(version: number, replicaId: number, fetchOffset: number, currentLeaderEpoch = 0, maxWaitMs = 0) {
    const response = await leader.request(
      ApiKey.Fetch,
      {
        replicaId: version <= 14 ? replicaId : undefined,
        replicaState: version >= 15 ? { replicaId, replicaEpoch: -1n } : undefined,
        maxWaitMs,
        minBytes: 1,
        maxBytes: 1 << 20,
        isolationLevel: 1,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: 'follow',
            topicId: topic.topicId,
            partitions: [
              { partition: 0, currentLeaderEpoch, fetchOffset: BigInt(fetchOffset), lastFetchedEpoch: -1, logStartOffset: 0n, partitionMaxBytes: 1 << 20 },
            ],
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      },
      { version },
    );
    return response.responses[0]!.partitions[0]!;
  }

  test('a replica reads past the high watermark, and its fetch offset moves the high watermark (v4-14 replica_id, v15+ replica_state)', async () => {
    const log = h.log(1, 'follow');
    assert.equal(log.logEndOffset, 20);
    assert.equal(log.highWatermark, 0);
    for (const version of [4, 11, 14, 15, 17]) {
      const data = await fetchAs(version, 2, 0);
      assert.equal(data.errorCode, ErrorCode.NONE, `v${version}`);
      assert.equal(batchEnds(data.records ?? Buffer.alloc(0)).at(-1), 20, `v${version} reads to the log end`);
      assert.equal(data.highWatermark, 0n);
    }
    // Fetching from 10 says the replica has 0-9: the high watermark (ISR 1, 2) moves to 10.
    const at10 = await fetchAs(15, 2, 10);
    assert.equal(at10.errorCode, ErrorCode.NONE);
    assert.equal(log.highWatermark, 10);
    assert.equal(at10.highWatermark, 10n, 'the answer carries the high watermark its own fetch moved');
    const state = h.broker(1).replicaManager.getPartition('follow', 0)!.followerState(2)!;
    assert.equal(state.logEndOffset, 10);
    // A consumer is still held at the high watermark.
    const asConsumer = await fetchAs(12, -1, 0);
    assert.equal(batchEnds(asConsumer.records ?? Buffer.alloc(0)).at(-1), 10);
    // At the log end the replica is caught up; the high watermark follows.
    await fetchAs(4, 2, 20);
    assert.equal(log.highWatermark, 20);
  });

  test('a replica fetch at the log end waits for new data, not for the high watermark', async () => {
    const log = h.log(1, 'follow');
    const end = log.logEndOffset;
    // The produce needs its own connection: a broker answers one connection's requests in order.
    const producer = await connectTo(h, 1);
    const waiting = fetchAs(17, 2, end, 0, 5000);
    const started = Date.now();
    setTimeout(() => void produce(producer, 'follow', 0, recordsBatch(2, 'late'), 1).finally(() => producer.close()), 200);
    const data = await waiting;
    assert.ok(Date.now() - started < 3000, `answered after ${Date.now() - started} ms`);
    assert.equal(batchEnds(data.records ?? Buffer.alloc(0)).at(-1), end + 2);
  });

  test('a broker that is not a replica is refused: UNKNOWN_LEADER_EPOCH with an epoch, NOT_LEADER_OR_FOLLOWER without', async () => {
    assert.equal((await fetchAs(17, 3, 0, 0)).errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
    assert.equal((await fetchAs(12, 3, 0, -1)).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assert.equal(h.broker(1).replicaManager.getPartition('follow', 0)!.followerState(3), undefined);
  });

  test('a replica fetch with a stale or future leader epoch is fenced like a consumer fetch', async () => {
    await h.electLeader('follow', 0, 1, [1, 2]);
    assert.equal((await fetchAs(17, 2, 0, 0)).errorCode, ErrorCode.FENCED_LEADER_EPOCH);
    assert.equal((await fetchAs(17, 2, 0, 5)).errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
    assert.equal((await fetchAs(17, 2, 0, 1)).errorCode, ErrorCode.NONE);
  });
});
