/**
 * Failover of a three-broker cluster (separate OS processes on a real
 * ZooKeeper) under a real client, confluent-kafka-python:
 * - the leader of a partition is killed with SIGKILL while an idempotent
 *   acks=all producer sends a numbered sequence: another replica takes over,
 *   and every record is readable afterwards, in order, exactly once;
 * - the controller is killed: another broker becomes controller with a
 *   higher epoch, and the cluster still creates topics and serves them;
 * - min.insync.replicas=2 with two of three replicas down (one of them the
 *   controller): acks=all is refused with NOT_ENOUGH_REPLICAS (an error at
 *   the client, nothing written), and accepted again once one replica is
 *   back in the ISR.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { skipUnlessPython, sleep } from '../helpers/broker.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';
import { skipUnlessZooKeeper } from '../helpers/zookeeper.js';
import {
  PythonProducer,
  ackedIds,
  checkAcknowledgedReadable,
  createTopic,
  pythonConsume,
  pythonProduce,
  range,
  waitForPartition,
  wholeCluster,
  withBrokerLogs,
} from './failure-support.js';

const skip = skipUnlessZooKeeper() || skipUnlessPython('confluent_kafka');
const IDEMPOTENT = { 'enable.idempotence': true, 'max.in.flight.requests.per.connection': 5 };

let cluster: TestCluster;

before(async () => {
  if (skip) return;
  cluster = await startCluster({ brokers: 3 });
  await cluster.waitForController();
});

after(async () => {
  await cluster?.close();
});

const fullIsr = (v: { leader: number; isr: number[] }) => v.leader >= 0 && v.isr.length === 3;

test('leader killed with SIGKILL under an idempotent acks=all producer: every record readable, in order, exactly once', { skip, timeout: 90_000 }, () =>
  withBrokerLogs(cluster, async () => {
    await wholeCluster(cluster);
    const topic = 'failover';
    const partitions = 3;
    const count = 12_000;
    await createTopic(cluster, { topic, numPartitions: partitions, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
    const views = await Promise.all(range(0, partitions).map((p) => waitForPartition(cluster, topic, p, fullIsr, 'a leader and a full ISR')));
    // A partition led by a broker that is not the controller: this measures a leader's failover alone.
    const controller = await cluster.controllerId();
    const victimPartition = views.findIndex((v) => v.leader !== controller);
    const victim = views[victimPartition]!.leader;

    const producer = PythonProducer.start(cluster.bootstrapServers, { topic, count, partitions, rate: 2000, progress_every: 200, config: IDEMPOTENT });
    try {
      await producer.waitForAcked(2000, 20_000);
      const killedAt = Date.now();
      await cluster.broker(victim).kill('SIGKILL');
      // More than what was in flight when it died (a few batches): acks from the new leader.
      const resumedAt = producer.acked(victimPartition) + 100;

      const after = await waitForPartition(cluster, topic, victimPartition, (v) => v.leader >= 0 && v.leader !== victim, `a leader other than ${victim}`);
      const electedMs = Date.now() - killedAt;
      assert.ok(after.leaderEpoch > views[victimPartition]!.leaderEpoch, 'the leader epoch was bumped');
      assert.ok(!after.isr.includes(victim), 'the dead broker left the ISR');
      // The client finds the new leader and carries on (the other partitions never stopped).
      await producer.waitForAcked(resumedAt, 30_000, victimPartition);
      const resumedMs = Date.now() - killedAt;
      console.log(`# ${topic}-${victimPartition}: leader ${victim} killed; new leader ${after.leader} in Metadata after ${electedMs} ms, 100 acks past the kill after ${resumedMs} ms`);

      // The dead broker comes back while the producer still runs, truncates to the new leader and rejoins.
      await cluster.broker(victim).restart();
      const summary = await producer.summary();
      assert.equal(summary.fatal, null, 'no fatal idempotence error');
      assert.deepEqual(summary.errors, {}, `no delivery errors: ${summary.first_errors.join('; ')}`);
      assert.equal(summary.unflushed, 0);
      assert.equal(summary.acked, count);

      for (let p = 0; p < partitions; p++) await waitForPartition(cluster, topic, p, fullIsr, 'the restarted broker back in the ISR', { timeoutMs: 30_000 });
      const consumed = await pythonConsume(cluster.bootstrapServers, topic, partitions);
      checkAcknowledgedReadable(consumed, partitions, ackedIds(summary), { exactly: range(0, count) });
    } finally {
      producer.kill();
    }
  }));

test('controller killed with SIGKILL: another broker becomes controller with a higher epoch, and the cluster serves', { skip, timeout: 60_000 }, () =>
  withBrokerLogs(cluster, async () => {
    await wholeCluster(cluster);
    const zk = await cluster.zkClient();
    const old = await cluster.controllerId();
    const oldEpoch = (await zk.getControllerEpoch())!.epoch;
    assert.ok(old !== null);
    await cluster.broker(old).kill('SIGKILL');

    let controller: number | null = null;
    const deadline = Date.now() + 20_000;
    while ((controller = await cluster.controllerId()) === null || controller === old) {
      assert.ok(Date.now() < deadline, `a new controller within 20 s (now ${controller})`);
      await sleep(100);
    }
    const epoch = (await zk.getControllerEpoch())!.epoch;
    assert.ok(epoch > oldEpoch, `controller epoch ${epoch} > ${oldEpoch}`);
    assert.equal(await cluster.waitForController(), controller, 'both live brokers name the new controller');

    // The new controller acts: a topic over the two live brokers, produced to and read back.
    const topic = 'after-controller-failover';
    await createTopic(cluster, { topic, numPartitions: 2, replicationFactor: 2 });
    for (const p of [0, 1]) await waitForPartition(cluster, topic, p, (v) => v.leader >= 0 && v.isr.length === 2, 'a leader and two replicas in the ISR');
    const summary = await pythonProduce(cluster.bootstrapServers, { topic, count: 500, partitions: 2, config: IDEMPOTENT }, 60_000);
    assert.deepEqual(summary.errors, {});
    assert.equal(summary.acked, 500);
    checkAcknowledgedReadable(await pythonConsume(cluster.bootstrapServers, topic, 2), 2, ackedIds(summary), { exactly: range(0, 500) });
    // Three replicas on two live brokers: refused with INVALID_REPLICATION_FACTOR, not half-made.
    await assert.rejects(createTopic(cluster, { topic: 'three-replicas-on-two', numPartitions: 1, replicationFactor: 3 }), /INVALID_REPLICATION_FACTOR|replication factor/i);

    // The old controller returns as an ordinary broker.
    await cluster.broker(old).restart();
    assert.equal(await cluster.waitForController(), controller, 'the returning broker does not take the controller back');
  }));

test('min.insync.replicas=2 with two of three replicas down: acks=all refused with NOT_ENOUGH_REPLICAS, accepted again once one returns', { skip, timeout: 90_000 }, () =>
  withBrokerLogs(cluster, async () => {
    await wholeCluster(cluster);
    const topic = 'min-isr';
    // Led by a broker that is not the controller, so the controller dies with the other follower: the
    // new controller must take the dead followers out of the ISR itself.
    const controller = (await cluster.controllerId())!;
    const leader = (controller + 1) % 3;
    const followers = [controller, (controller + 2) % 3];
    await createTopic(cluster, { topic, replicaAssignment: [[leader, ...followers]], configs: { 'min.insync.replicas': '2' } });
    await waitForPartition(cluster, topic, 0, (v) => v.leader === leader && v.isr.length === 3, 'a leader and a full ISR', { timeoutMs: 30_000 });
    // Not idempotent and no retries: the broker's first answer is what the application sees.
    const oneShot = { 'enable.idempotence': false, retries: 0, 'message.timeout.ms': 10_000 };

    const first = await pythonProduce(cluster.bootstrapServers, { topic, count: 200, first: 0, config: IDEMPOTENT });
    assert.equal(first.acked, 200);

    await Promise.all(followers.map((f) => cluster.broker(f).kill('SIGKILL')));
    await waitForPartition(cluster, topic, 0, (v) => v.leader === leader && v.isr.length === 1, `ISR [${leader}]`, { timeoutMs: 30_000 });

    const refused = await pythonProduce(cluster.bootstrapServers, { topic, count: 20, first: 1000, config: oneShot });
    assert.equal(refused.acked, 0, 'nothing acknowledged with one replica in the ISR');
    assert.equal(refused.errors.NOT_ENOUGH_REPLICAS, 20, `every record refused with NOT_ENOUGH_REPLICAS: ${JSON.stringify(refused.errors)} ${refused.first_errors.join('; ')}`);
    // acks=1 does not need the ISR: the leader still takes writes.
    const acksOne = await pythonProduce(cluster.bootstrapServers, { topic, count: 20, first: 2000, config: { ...oneShot, acks: 1 } });
    assert.equal(acksOne.acked, 20, JSON.stringify(acksOne.errors));

    // One follower back: it catches up, rejoins the ISR, and acks=all works again.
    await cluster.broker(followers[0]!).restart();
    await waitForPartition(cluster, topic, 0, (v) => v.isr.length === 2, 'two replicas in the ISR', { timeoutMs: 30_000 });
    const again = await pythonProduce(cluster.bootstrapServers, { topic, count: 200, first: 3000, config: IDEMPOTENT });
    assert.deepEqual(again.errors, {});
    assert.equal(again.acked, 200);

    await cluster.broker(followers[1]!).restart();
    await waitForPartition(cluster, topic, 0, fullIsr, 'all three replicas back in the ISR', { timeoutMs: 30_000 });
    const consumed = await pythonConsume(cluster.bootstrapServers, topic, 1);
    const acked = [...ackedIds(first), ...ackedIds(acksOne), ...ackedIds(again)];
    checkAcknowledgedReadable(consumed, 1, acked, { exactly: acked, absent: range(1000, 20) });
  }));
