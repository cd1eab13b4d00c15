/**
 * ZooKeeper stopped for 10 s under a three-broker cluster (separate OS
 * processes): the brokers keep serving the partitions they lead (produce
 * acks=1 and acks=all from a new idempotent producer, consume, a consumer
 * group's join and commits, Metadata) while ZooKeeper is gone, and once
 * it returns the cluster is whole again: all brokers registered, one
 * controller every broker names, a new topic created and served, and every
 * record acknowledged during the outage still readable.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { skipUnlessPython, sleep, waitFor } from '../helpers/broker.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';
import { skipUnlessZooKeeper } from '../helpers/zookeeper.js';
import {
  GroupMember,
  ackedIds,
  checkAcknowledgedReadable,
  coordinatorOf,
  createTopic,
  partitionView,
  pythonConsume,
  pythonProduce,
  range,
  waitForPartition,
  withBrokerLogs,
} from './failure-support.js';

const skip = skipUnlessZooKeeper() || skipUnlessPython('confluent_kafka');
const OUTAGE_MS = 10_000;
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

test('ZooKeeper down for 10 s: existing leaders keep serving, and the cluster is whole once it returns', { skip, timeout: 120_000 }, () =>
  withBrokerLogs(cluster, async () => {
    const topic = 'zk-outage';
    const partitions = 3;
    await createTopic(cluster, { topic, numPartitions: partitions, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
    const before = await Promise.all(range(0, partitions).map((p) => waitForPartition(cluster, topic, p, (v) => v.leader >= 0 && v.isr.length === 3, 'a full ISR')));
    // A consumer group has been used before: __consumer_offsets exists, with leaders (creating it needs ZooKeeper).
    const group = 'zk-outage-g';
    await waitFor(async () => (await coordinatorOf(cluster, 0, group)) !== null, { timeoutMs: 30_000, intervalMs: 200, what: 'a group coordinator' });

    await cluster.zk.stop();
    const stoppedAt = Date.now();
    let servedMs: number;
    /** Records acknowledged while ZooKeeper was down. */
    let duringAcked: number[];
    try {
      // Leaders, ISRs and the high watermark need no ZooKeeper while nothing changes.
      const acksAll = await pythonProduce(cluster.bootstrapServers, { topic, count: 1500, first: 0, partitions, config: IDEMPOTENT }, 30_000);
      assert.deepEqual(acksAll.errors, {}, acksAll.first_errors.join('; '));
      assert.equal(acksAll.acked, 1500);
      const acksOne = await pythonProduce(
        cluster.bootstrapServers,
        { topic, count: 300, first: 10_000, partitions, config: { acks: 1, 'enable.idempotence': false } },
        30_000,
      );
      assert.deepEqual(acksOne.errors, {}, acksOne.first_errors.join('; '));
      assert.equal(acksOne.acked, 300);
      duringAcked = [...ackedIds(acksAll), ...ackedIds(acksOne)];
      checkAcknowledgedReadable(await pythonConsume(cluster.bootstrapServers, topic, partitions, 20), partitions, duringAcked);
      // A group member joins, is given every partition, reads them and commits its offsets.
      const member = new GroupMember(0, cluster.bootstrapServers, topic, group);
      try {
        const expected = new Set(duringAcked);
        const read = () => new Set(member.events().filter((e) => e.e === 'msg' && expected.has(e.v!)).map((e) => e.v)).size;
        await waitFor(() => read() === expected.size, { timeoutMs: 20_000, intervalMs: 200, what: 'the group member to read every record' }).catch((error: Error) => {
          throw new Error(`${error.message}: ${read()} of ${expected.size}\n${member.process.output()}`);
        });
        const failedCommits = member.events().filter((e) => e.e === 'commit' && !e.ok);
        assert.deepEqual(failedCommits.slice(0, 3), [], 'offset commits work');
      } finally {
        await member.process.stop(10_000);
      }
      // Every broker still answers Metadata with the same leaders.
      for (const id of [0, 1, 2]) {
        for (let p = 0; p < partitions; p++) assert.equal((await partitionView(cluster, id, topic, p))?.leader, before[p]!.leader, `broker ${id}, partition ${p}`);
      }
      servedMs = Date.now() - stoppedAt;
      assert.ok(servedMs < OUTAGE_MS, `all of that happened while ZooKeeper was down (${servedMs} ms)`);

      await sleep(OUTAGE_MS - servedMs);
    } finally {
      // Also when the test fails meanwhile: the cluster cannot be closed without ZooKeeper.
      await cluster.zk.start();
    }
    const restartedAt = Date.now();

    // Whole again: every broker registered, one controller named by all.
    const zk = await cluster.zkClient();
    await waitFor(async () => JSON.stringify(await zk.getBrokerIds().catch(() => [])) === '[0,1,2]', {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'brokers 0, 1 and 2 registered in ZooKeeper',
    });
    const controller = await cluster.waitForController(30_000);
    const wholeMs = Date.now() - restartedAt;

    // The controller acts: a new topic, led and in sync, produced to and read back.
    const fresh = 'after-zk-outage';
    await createTopic(cluster, { topic: fresh, numPartitions: 2, replicationFactor: 3 });
    for (const p of [0, 1]) await waitForPartition(cluster, fresh, p, (v) => v.leader >= 0 && v.isr.length === 3, 'a full ISR');
    const afterward = await pythonProduce(cluster.bootstrapServers, { topic: fresh, count: 300, partitions: 2, config: IDEMPOTENT }, 30_000);
    assert.equal(afterward.acked, 300, JSON.stringify(afterward.errors));
    checkAcknowledgedReadable(await pythonConsume(cluster.bootstrapServers, fresh, 2), 2, ackedIds(afterward), { exactly: range(0, 300) });
    // The old topic still takes acks=all, and holds everything acknowledged during the outage.
    const more = await pythonProduce(cluster.bootstrapServers, { topic, count: 300, first: 20_000, partitions, config: IDEMPOTENT }, 30_000);
    assert.equal(more.acked, 300, JSON.stringify(more.errors));
    const acked = [...duringAcked, ...ackedIds(more)];
    checkAcknowledgedReadable(await pythonConsume(cluster.bootstrapServers, topic, partitions), partitions, acked, { exactly: acked });
    console.log(`# ZooKeeper down ${OUTAGE_MS} ms (clients served in the first ${servedMs} ms); cluster whole ${wholeMs} ms after it returned, controller ${controller}`);
  }));
