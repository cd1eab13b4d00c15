/**
 * The ISR of a three-broker cluster (separate OS processes on a real
 * ZooKeeper) under an idempotent acks=all confluent-kafka-python producer:
 * - a SIGSTOPped follower leaves the ISR within replica.lag.time.max.ms
 *   (the leader's AlterPartition, its ZooKeeper session still alive) and
 *   rejoins after SIGCONT;
 * - a broker SIGSTOPped past its ZooKeeper session is fenced (deregistered,
 *   its leadership moved, dropped from every ISR); after SIGCONT it registers
 *   again, truncates what it wrote as a stale leader, rejoins every ISR with
 *   a byte-identical log, and no acknowledged record is lost.
 *
 * Sessions here are 10 s (not the harness's 6 s; ZooKeeper's most with its
 * 500 ms tick) so a follower stopped for a lag-based shrink (3 s lag,
 * checked every 1.5 s) and the checks made meanwhile keeps its session with
 * room to spare on a loaded machine.
 */
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot, run, skipUnlessPython, waitFor } from '../helpers/broker.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';
import { skipUnlessZooKeeper } from '../helpers/zookeeper.js';
import { PythonProducer, ackedIds, checkAcknowledgedReadable, createTopic, pythonConsume, range, waitForPartition, wholeCluster, withBrokerLogs } from './failure-support.js';

const skip = skipUnlessZooKeeper() || skipUnlessPython('confluent_kafka');
const SESSION_MS = 10_000;
const LAG_MS = 3000;
const IDEMPOTENT = { 'enable.idempotence': true, 'max.in.flight.requests.per.connection': 5 };

let cluster: TestCluster;

before(async () => {
  if (skip) return;
  cluster = await startCluster({
    brokers: 3,
    brokerConfig: { 'zookeeper.session.timeout.ms': String(SESSION_MS), 'replica.lag.time.max.ms': String(LAG_MS) },
  });
  await cluster.waitForController();
});

after(async () => {
  await cluster?.close();
});

const fullIsr = (v: { leader: number; isr: number[] }) => v.leader >= 0 && v.isr.length === 3;

function signal(id: number, sig: 'SIGSTOP' | 'SIGCONT'): void {
  const pid = cluster.broker(id).pid;
  assert.ok(pid !== undefined, `broker ${id} is running`);
  process.kill(pid, sig);
}

/** Every replica's first segment of the partition has the same bytes (a fenced leader's extra writes are gone). */
async function assertReplicasIdentical(topic: string, partition: number, replicas: readonly number[]): Promise<void> {
  const file = (id: number) => join(cluster.broker(id).logDir, `${topic}-${partition}`, '00000000000000000000.log');
  const size = async (id: number) => (await stat(file(id)).catch(() => null))?.size ?? -1;
  await waitFor(async () => {
    const sizes = await Promise.all(replicas.map(size));
    return sizes[0]! > 0 && sizes.every((s) => s === sizes[0]);
  }, { timeoutMs: 15_000, intervalMs: 100, what: `replicas of ${topic}-${partition} of equal size` });
  const [first, ...rest] = await Promise.all(replicas.map((id) => readFile(file(id))));
  for (const [k, other] of rest.entries()) assert.ok(first!.equals(other), `${topic}-${partition}: broker ${replicas[k + 1]}'s log equals broker ${replicas[0]}'s`);
}

test('a SIGSTOPped follower leaves the ISR within replica.lag.time.max.ms and rejoins after SIGCONT', { skip, timeout: 90_000 }, () =>
  withBrokerLogs(cluster, async () => {
    await wholeCluster(cluster);
    const topic = 'isr-lag';
    await createTopic(cluster, { topic, numPartitions: 1, replicationFactor: 3 });
    const before = await waitForPartition(cluster, topic, 0, fullIsr, 'a leader and a full ISR');
    const controller = await cluster.controllerId();
    // Not the controller: a stopped controller could not commit the shrink.
    const follower = before.replicas.find((r) => r !== before.leader && r !== controller)!;
    const others = before.replicas.filter((r) => r !== follower);

    const count = 4000;
    const producer = PythonProducer.start(cluster.bootstrapServers, { topic, count, rate: 400, progress_every: 100, config: IDEMPOTENT });
    try {
      await producer.waitForAcked(400, 20_000);
      signal(follower, 'SIGSTOP');
      const stoppedAt = Date.now();
      const shrunk = await waitForPartition(cluster, topic, 0, (v) => !v.isr.includes(follower), `broker ${follower} out of the ISR`, {
        via: others,
        timeoutMs: LAG_MS + 6000,
      });
      const shrinkMs = Date.now() - stoppedAt;
      // The leader's doing (AlterPartition), not a broker death: same leader and epoch, the session still there.
      assert.equal(shrunk.leader, before.leader);
      assert.equal(shrunk.leaderEpoch, before.leaderEpoch);
      assert.deepEqual(shrunk.isr, others.sort((a, b) => a - b));
      assert.ok((await (await cluster.zkClient()).getBrokerIds()).includes(follower), 'the stopped broker is still registered');
      const zkState = await (await cluster.zkClient()).getPartitionState(topic, 0);
      assert.deepEqual([...zkState!.isr].sort(), shrunk.isr, 'the shrunk ISR is in ZooKeeper');
      // acks=all carries on with the two in-sync replicas.
      await producer.waitForAcked(producer.acked() + 100, 5000);

      signal(follower, 'SIGCONT');
      const resumedAt = Date.now();
      const regrown = await waitForPartition(cluster, topic, 0, fullIsr, `broker ${follower} back in the ISR`);
      const expandMs = Date.now() - resumedAt;
      // Still the same leader epoch: the follower's session never expired (a broker death bumps it).
      assert.equal(regrown.leaderEpoch, before.leaderEpoch, 'no broker death on the way');
      console.log(`# ISR shrank ${shrinkMs} ms after SIGSTOP (replica.lag.time.max.ms=${LAG_MS}); grew back ${expandMs} ms after SIGCONT`);
      assert.ok(shrinkMs <= LAG_MS + 4000, `shrunk within lag + 4 s (took ${shrinkMs} ms)`);

      const summary = await producer.summary(30_000);
      assert.deepEqual(summary.errors, {}, summary.first_errors.join('; '));
      assert.equal(summary.acked, count);
      checkAcknowledgedReadable(await pythonConsume(cluster.bootstrapServers, topic, 1, 20), 1, ackedIds(summary), { exactly: range(0, count) });
      await assertReplicasIdentical(topic, 0, before.replicas);
    } finally {
      producer.kill();
      // Never leave a stopped broker behind for the next test.
      if (cluster.broker(follower).running) process.kill(cluster.broker(follower).pid!, 'SIGCONT');
    }
  }));

test('a broker whose ZooKeeper session expires is fenced and rejoins cleanly, losing no acknowledged record', { skip, timeout: 90_000 }, () =>
  withBrokerLogs(cluster, async () => {
    await wholeCluster(cluster);
    const topic = 'isr-fenced';
    const partitions = 3;
    await createTopic(cluster, { topic, numPartitions: partitions, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
    const before = await Promise.all(range(0, partitions).map((p) => waitForPartition(cluster, topic, p, fullIsr, 'a leader and a full ISR')));
    const controller = await cluster.controllerId();
    // A leader that is not the controller (the controller's own fencing is the failover test's business).
    const victimPartition = before.findIndex((v) => v.leader !== controller);
    const victim = before[victimPartition]!.leader;
    const others = [0, 1, 2].filter((id) => id !== victim);
    const zk = await cluster.zkClient();

    const count = 9000;
    const producer = PythonProducer.start(cluster.bootstrapServers, { topic, count, partitions, rate: 500, progress_every: 100, config: IDEMPOTENT });
    try {
      await producer.waitForAcked(500, 20_000);
      signal(victim, 'SIGSTOP');
      const stoppedAt = Date.now();
      await waitFor(async () => !(await zk.getBrokerIds()).includes(victim), { timeoutMs: SESSION_MS + 10_000, intervalMs: 100, what: `/brokers/ids/${victim} to go` });
      const expiredMs = Date.now() - stoppedAt;
      for (let p = 0; p < partitions; p++) {
        const fenced = await waitForPartition(cluster, topic, p, (v) => v.leader >= 0 && v.leader !== victim && !v.isr.includes(victim), `broker ${victim} fenced`, { via: others });
        if (p === victimPartition) assert.ok(fenced.leaderEpoch > before[p]!.leaderEpoch, 'the new leader has a higher epoch');
      }
      const movedMs = Date.now() - stoppedAt;
      // The tool lists every partition as under-replicated, the fenced broker out of each ISR.
      const describe = await run(
        process.execPath,
        [join(repoRoot, 'bin', 'ganglion.js'), 'topics', '--bootstrap-server', cluster.broker(others[0]!).bootstrap, '--describe', '--under-replicated-partitions'],
        { timeoutMs: 30_000 },
      );
      for (let p = 0; p < partitions; p++) {
        const line = describe.stdout.toString().split('\n').find((l) => new RegExp(`Topic: ${topic}\\s+Partition: ${p}\\s`).test(l));
        assert.ok(line, `${topic}-${p} listed as under-replicated:\n${describe.stdout.toString()}${describe.stderr.toString()}`);
        const shownIsr = /Isr: ([0-9,]+)/.exec(line)?.[1]?.split(',').map(Number).sort((a, b) => a - b);
        assert.deepEqual(shownIsr, others, line);
      }

      signal(victim, 'SIGCONT');
      const resumedAt = Date.now();
      await waitFor(async () => (await zk.getBrokerIds()).includes(victim), { timeoutMs: 20_000, intervalMs: 100, what: `/brokers/ids/${victim} registered again` });
      const registeredMs = Date.now() - resumedAt;
      await cluster.waitForController();
      for (let p = 0; p < partitions; p++) await waitForPartition(cluster, topic, p, fullIsr, `broker ${victim} back in the ISR`, { timeoutMs: 30_000 });
      const rejoinedMs = Date.now() - resumedAt;
      console.log(
        `# session of broker ${victim} expired ${expiredMs} ms after SIGSTOP (session ${SESSION_MS} ms), leadership moved by ${movedMs} ms; ` +
          `after SIGCONT registered again in ${registeredMs} ms, back in every ISR in ${rejoinedMs} ms`,
      );

      const summary = await producer.summary();
      assert.equal(summary.fatal, null);
      assert.deepEqual(summary.errors, {}, summary.first_errors.join('; '));
      assert.equal(summary.acked, count);
      checkAcknowledgedReadable(await pythonConsume(cluster.bootstrapServers, topic, partitions), partitions, ackedIds(summary), { exactly: range(0, count) });
      for (let p = 0; p < partitions; p++) await assertReplicasIdentical(topic, p, [0, 1, 2]);
    } finally {
      producer.kill();
      if (cluster.broker(victim).running) process.kill(cluster.broker(victim).pid!, 'SIGCONT');
    }
  }));
