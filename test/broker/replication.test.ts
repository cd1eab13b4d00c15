/**
 * Replication through the wire between in-process brokers (the replication
 * harness plays the controller): followers copy the leader byte for byte,
 * the high watermark waits for the ISR, acks=all waits for the followers,
 * min.insync.replicas refuses writes, the ISR shrinks and grows back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode } from '../../src/protocol/errors.js';
import { CompressionType } from '../../src/protocol/records/index.js';
import { sleep, waitFor } from '../helpers/broker.js';
import { ReplicationHarness, batchEnds, connectTo, consumerFetch, logBytes, produce, recordsBatch } from '../helpers/replication-harness.js';

/** Quick fetch turnarounds so tests do not wait on long polls. */
const FAST = { 'replica.fetch.wait.max.ms': 100, 'replica.fetch.backoff.ms': 100 };

async function withHarness(brokers: number, config: Record<string, unknown>, fn: (h: ReplicationHarness) => Promise<void>): Promise<void> {
  const h = await ReplicationHarness.start({ brokers, config: { ...FAST, ...config } });
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

test('records produced on the leader reach every follower byte-exact; the high watermark waits for the whole ISR', () =>
  withHarness(3, {}, async (h) => {
    const topic = await h.createTopic('copied', [[1, 2, 3]]);
    const conn = await connectTo(h, 1);
    try {
      for (let i = 0; i < 20; i++) {
        const compression = i % 3 === 0 ? CompressionType.Gzip : CompressionType.None;
        const r = await produce(conn, 'copied', 0, recordsBatch(10, `b${i}`, { compression }), 1);
        assert.equal(r.errorCode, ErrorCode.NONE);
        assert.equal(r.baseOffset, BigInt(i * 10));
      }
      await waitFor(() => [2, 3].every((id) => h.log(id, 'copied').logEndOffset === 200), { what: 'followers at 200' });
      const leaderBytes = await logBytes(h.log(1, 'copied'));
      assert.ok(leaderBytes.length > 0);
      for (const id of [2, 3]) assert.ok((await logBytes(h.log(id, 'copied'))).equals(leaderBytes), `broker ${id} holds the leader's bytes`);
      await waitFor(() => h.log(1, 'copied').highWatermark === 200, { what: 'leader high watermark 200' });
      // Followers learn the high watermark from the leader's answers.
      await waitFor(() => [2, 3].every((id) => h.log(id, 'copied').highWatermark === 200), { what: 'follower high watermarks' });
      // Followers record the leader's epoch for the data they copied.
      for (const id of [2, 3]) assert.deepEqual(h.log(id, 'copied').leaderEpochEntries(), [{ epoch: 0, startOffset: 0 }]);

      // Broker 3 stops (still in the ISR: replica.lag.time.max.ms is 30 s): the high watermark stays.
      await h.stopBroker(3);
      assert.equal((await produce(conn, 'copied', 0, recordsBatch(10, 'late'), 1)).errorCode, ErrorCode.NONE);
      await waitFor(() => h.log(2, 'copied').logEndOffset === 210, { what: 'broker 2 at 210' });
      await sleep(300);
      assert.equal(h.log(1, 'copied').logEndOffset, 210);
      assert.equal(h.log(1, 'copied').highWatermark, 200);
      // A consumer sees nothing above the high watermark.
      const seen = await consumerFetch(conn, topic, 0, 0);
      assert.equal(seen.errorCode, ErrorCode.NONE);
      assert.equal(seen.highWatermark, 200n);
      assert.equal(batchEnds(seen.records ?? Buffer.alloc(0)).at(-1), 200);
      assert.equal(batchEnds((await consumerFetch(conn, topic, 0, 200)).records ?? Buffer.alloc(0)).length, 0);

      // Back: it catches up and the high watermark moves.
      await h.startBroker(3);
      await waitFor(() => h.log(1, 'copied').highWatermark === 210, { what: 'high watermark 210 after broker 3 returned' });
      assert.ok((await logBytes(h.log(3, 'copied'))).equals(await logBytes(h.log(1, 'copied'))));
      assert.deepEqual(h.state('copied').isr, [1, 2, 3]);
    } finally {
      conn.close();
    }
  }));

test('acks=all answers only once every ISR member has the batch, and times out while one lags', () =>
  withHarness(3, {}, async (h) => {
    await h.createTopic('acked', [[1, 2, 3]]);
    const conn = await connectTo(h, 1);
    try {
      for (let i = 0; i < 5; i++) {
        const r = await produce(conn, 'acked', 0, recordsBatch(4, `a${i}`), -1);
        assert.equal(r.errorCode, ErrorCode.NONE);
        const end = Number(r.baseOffset) + 4;
        // Checked at the moment of the answer: both followers already hold the batch.
        for (const id of [2, 3]) assert.ok(h.log(id, 'acked').logEndOffset >= end, `broker ${id} had offset ${end - 1} when acks=all answered`);
      }
      // A follower in the ISR that stopped fetching holds acks=all back until timeout_ms.
      await h.stopBroker(3);
      const started = Date.now();
      const r = await produce(conn, 'acked', 0, recordsBatch(4, 'stuck'), -1, 800);
      assert.equal(r.errorCode, ErrorCode.REQUEST_TIMED_OUT);
      assert.ok(Date.now() - started >= 750, `answered after ${Date.now() - started} ms`);
      // The batch was written on the leader (and copied to broker 2), only not acknowledged.
      assert.equal(h.log(1, 'acked').logEndOffset, 24);
      await h.startBroker(3);
      await waitFor(() => h.log(1, 'acked').highWatermark === 24, { what: 'high watermark after the follower returned' });
    } finally {
      conn.close();
    }
  }));

test('a single-replica partition answers acks=all at once (the ISR is the leader)', () =>
  withHarness(2, {}, async (h) => {
    await h.createTopic('solo', [[2]]);
    const conn = await connectTo(h, 2);
    try {
      const started = Date.now();
      for (let i = 0; i < 20; i++) assert.equal((await produce(conn, 'solo', 0, recordsBatch(2, `s${i}`), -1)).errorCode, ErrorCode.NONE);
      assert.ok(Date.now() - started < 2000);
      assert.equal(h.log(2, 'solo').highWatermark, 40);
      assert.equal(h.alterPartitionLog.length, 0);
    } finally {
      conn.close();
    }
  }));

test('min.insync.replicas=2: NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrinks under a waiting batch, NOT_ENOUGH_REPLICAS after, back to normal when the follower returns', () =>
  withHarness(2, { 'replica.lag.time.max.ms': 1000 }, async (h) => {
    await h.createTopic('guarded', [[1, 2]], { 'min.insync.replicas': '2' });
    const conn = await connectTo(h, 1);
    try {
      assert.equal((await produce(conn, 'guarded', 0, recordsBatch(3, 'ok'), -1)).errorCode, ErrorCode.NONE);
      await h.stopBroker(2);
      // The ISR still names broker 2: the batch is appended, then waits; the ISR shrinks under it.
      const waiting = await produce(conn, 'guarded', 0, recordsBatch(3, 'waits'), -1, 15_000);
      assert.equal(waiting.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
      assert.deepEqual(h.state('guarded').isr, [1]);
      assert.equal(h.log(1, 'guarded').logEndOffset, 6);
      // Now refused before anything is written.
      const refused = await produce(conn, 'guarded', 0, recordsBatch(3, 'refused'), -1);
      assert.equal(refused.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS);
      assert.equal(h.log(1, 'guarded').logEndOffset, 6);
      // acks=1 does not care.
      assert.equal((await produce(conn, 'guarded', 0, recordsBatch(3, 'one'), 1)).errorCode, ErrorCode.NONE);
      await h.startBroker(2);
      await waitFor(() => h.state('guarded').isr.length === 2, { what: 'broker 2 back in the ISR', timeoutMs: 10_000 });
      assert.equal((await produce(conn, 'guarded', 0, recordsBatch(3, 'again'), -1)).errorCode, ErrorCode.NONE);
      assert.equal(h.log(2, 'guarded').logEndOffset, 12);
    } finally {
      conn.close();
    }
  }));

test('the ISR drops a follower that stops fetching for replica.lag.time.max.ms and takes it back once it caught up', () =>
  withHarness(3, { 'replica.lag.time.max.ms': 1000 }, async (h) => {
    await h.createTopic('isr', [[1, 2, 3]]);
    const conn = await connectTo(h, 1);
    try {
      assert.equal((await produce(conn, 'isr', 0, recordsBatch(5, 'x'), -1)).errorCode, ErrorCode.NONE);
      // Followers fetching regularly stay in, even with nothing new to fetch.
      await sleep(2500);
      assert.deepEqual(h.state('isr').isr, [1, 2, 3]);
      assert.equal(h.alterPartitionLog.length, 0);

      await h.stopBroker(3);
      const stoppedAt = Date.now();
      // A follower that has everything counts as caught up (Kafka's rule): only new data makes it lag.
      await sleep(1500);
      assert.deepEqual(h.state('isr').isr, [1, 2, 3]);
      assert.equal((await produce(conn, 'isr', 0, recordsBatch(5, 'y'), 1)).errorCode, ErrorCode.NONE);
      await waitFor(() => h.state('isr').isr.length === 2, { what: 'broker 3 out of the ISR', timeoutMs: 5000 });
      // Its last catch-up was its last fetch, just before it stopped: out at the first check past the lag time.
      const tookMs = Date.now() - stoppedAt;
      assert.ok(tookMs >= 1500 && tookMs < 4000, `shrunk ${tookMs} ms after the follower stopped`);
      assert.deepEqual(h.state('isr').isr, [1, 2]);
      const shrink = h.alterPartitionLog.at(-1)!;
      assert.equal(shrink.brokerId, 1);
      assert.deepEqual(shrink.proposal.newIsr, [1, 2]);
      assert.equal(shrink.proposal.partitionEpoch, 0);
      // The leader applied the controller's answer: its next proposal builds on partition epoch 1.
      const partition = h.broker(1).replicaManager.getPartition('isr', 0)!;
      assert.deepEqual(partition.isr, [1, 2]);
      assert.equal(partition.partitionEpoch, 1);
      assert.equal(h.broker(1).replicaManager.underReplicatedPartitions().length, 1);

      // acks=all now needs only brokers 1 and 2.
      assert.equal((await produce(conn, 'isr', 0, recordsBatch(5, 'z'), -1)).errorCode, ErrorCode.NONE);

      await h.startBroker(3);
      await waitFor(() => h.state('isr').isr.length === 3, { what: 'broker 3 back in the ISR', timeoutMs: 5000 });
      assert.deepEqual(h.state('isr').isr, [1, 2, 3]);
      assert.equal(h.alterPartitionLog.at(-1)!.proposal.partitionEpoch, 1);
      assert.equal(partition.partitionEpoch, 2);
      assert.equal(h.broker(1).replicaManager.underReplicatedPartitions().length, 0);
      assert.equal(h.log(3, 'isr').logEndOffset, 15);
    } finally {
      conn.close();
    }
  }));

test('a refused AlterPartition keeps the ISR as it was, and the next check proposes again', () =>
  withHarness(2, { 'replica.lag.time.max.ms': 600 }, async (h) => {
    await h.createTopic('refused', [[1, 2]]);
    h.refuseAlterPartition = ErrorCode.INVALID_UPDATE_VERSION;
    await h.stopBroker(2);
    const conn = await connectTo(h, 1);
    assert.equal((await produce(conn, 'refused', 0, recordsBatch(1, 'r'), 1)).errorCode, ErrorCode.NONE);
    conn.close();
    await waitFor(() => h.alterPartitionLog.length >= 2, { what: 'two refused proposals', timeoutMs: 5000 });
    assert.ok(h.alterPartitionLog.every((e) => e.error === ErrorCode.INVALID_UPDATE_VERSION));
    const partition = h.broker(1).replicaManager.getPartition('refused', 0)!;
    assert.deepEqual(partition.isr, [1, 2]);
    assert.equal(partition.isrChangeInFlight, false);
    h.refuseAlterPartition = null;
    await waitFor(() => partition.isr.length === 1, { what: 'the shrink accepted', timeoutMs: 5000 });
  }));

test('a parked acks=all produce answers NOT_LEADER_OR_FOLLOWER when the leader is replaced', () =>
  withHarness(3, {}, async (h) => {
    await h.createTopic('moved', [[1, 2, 3]]);
    const conn = await connectTo(h, 1);
    try {
      await h.stopBroker(3);
      const parked = produce(conn, 'moved', 0, recordsBatch(2, 'p'), -1, 20_000);
      await waitFor(() => h.log(1, 'moved').logEndOffset === 2, { what: 'the batch appended' });
      const started = Date.now();
      await h.electLeader('moved', 0, 2, [2]);
      const answer = await parked;
      assert.equal(answer.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
      assert.ok(Date.now() - started < 2000);
      // Broker 1 now follows broker 2: produce there is refused.
      assert.equal((await produce(conn, 'moved', 0, recordsBatch(1, 'q'), 1)).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
      assert.ok(h.broker(1).replicaManager.fetchers.isFollowing(h.broker(1).replicaManager.getPartition('moved', 0)!));
    } finally {
      conn.close();
    }
  }));
