/**
 * A consumer group on a three-broker cluster (separate OS processes on a
 * real ZooKeeper) survives the death of its coordinator: two
 * confluent-kafka-python members consume an RF=3 topic that a producer
 * keeps feeding, committing each record's offset (synchronously) after
 * reading it; the group coordinator's broker (FindCoordinator) is killed
 * with SIGKILL. The coordinator moves with the leadership of the group's
 * __consumer_offsets partition (offsets.topic.replication.factor=3), the
 * members carry on, a member given a partition never starts below an offset
 * whose commit was acknowledged before (committed offsets survive), and
 * every acknowledged record is consumed.
 *
 * (librdkafka, not kafkajs: kafkajs keeps addressing a dead coordinator
 * for tens of seconds and goes on processing a revoked partition's fetched
 * batch, which would blur what this test is about.)
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/api-table.js';
import { skipUnlessPython, waitFor } from '../helpers/broker.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';
import { skipUnlessZooKeeper } from '../helpers/zookeeper.js';
import { GroupMember, PythonProducer, coordinatorOf, ackedIds, createTopic, range, waitForPartition, withBrokerLogs } from './failure-support.js';

const skip = skipUnlessZooKeeper() || skipUnlessPython('confluent_kafka');

let cluster: TestCluster;

before(async () => {
  if (skip) return;
  cluster = await startCluster({
    brokers: 3,
    brokerConfig: {
      'offsets.topic.replication.factor': '3',
      'offsets.topic.num.partitions': '3',
      'group.initial.rebalance.delay.ms': '0',
    },
  });
  await cluster.waitForController();
});

after(async () => {
  await cluster?.close();
});

let members: GroupMember[] = [];

test('group coordinator killed with SIGKILL: members carry on, committed offsets survive, every record consumed', { skip, timeout: 120_000 }, () =>
  withBrokerLogs(cluster, async () => {
    const topic = 'group-failover';
    const group = 'group-failover-g';
    const partitions = 3;
    const count = 3000;
    await createTopic(cluster, { topic, numPartitions: partitions, replicationFactor: 3 });
    for (const p of range(0, partitions)) await waitForPartition(cluster, topic, p, (v) => v.leader >= 0 && v.isr.length === 3, 'a full ISR');

    const producer = PythonProducer.start(cluster.bootstrapServers, {
      topic,
      count,
      partitions,
      rate: 300,
      config: { 'enable.idempotence': true, 'max.in.flight.requests.per.connection': 5 },
    });
    members = [0, 1].map((id) => new GroupMember(id, cluster.bootstrapServers, topic, group));
    const allEvents = () => members.flatMap((m) => m.events()).sort((a, b) => a.t - b.t);
    const consumed = () => allEvents().filter((e) => e.e === 'msg');
    const deliveredCount = () => members.reduce((n, m) => n + m.delivered, 0);
    try {
      await waitFor(() => deliveredCount() >= 600, { timeoutMs: 30_000, intervalMs: 100, what: '600 records consumed' });
      const victim = await coordinatorOf(cluster, 0, group);
      assert.ok(victim !== null, 'the group has a coordinator');
      const others = [0, 1, 2].filter((id) => id !== victim);
      const consumedAtKill = deliveredCount();
      const killedAt = Date.now();
      await cluster.broker(victim).kill('SIGKILL');

      // The coordinator moves to the new leader of the group's offsets partition.
      let moved: number | null = null;
      await waitFor(async () => {
        moved = await coordinatorOf(cluster, others[0]!, group).catch(() => null);
        return moved !== null && moved !== victim;
      }, { timeoutMs: 30_000, intervalMs: 100, what: 'a new coordinator' });
      const movedMs = Date.now() - killedAt;
      // The members carry on.
      await waitFor(() => deliveredCount() >= consumedAtKill + 300, { timeoutMs: 30_000, intervalMs: 100, what: 'consumption to resume (+300 records)' });
      const resumedMs = Date.now() - killedAt;

      const summary = await producer.summary(60_000);
      assert.deepEqual(summary.errors, {}, summary.first_errors.join('; '));
      assert.equal(summary.acked, count);
      const acked = ackedIds(summary);
      const seen = () => new Set(consumed().map((e) => e.v));
      // Cheap progress check first: enough deliveries before the full comparison.
      const allSeen = () => deliveredCount() >= acked.length && acked.every((i) => seen().has(i));
      await waitFor(allSeen, { timeoutMs: 45_000, intervalMs: 250, what: 'every acknowledged record consumed' }).catch(
        (error: Error) => {
          throw new Error(`${error.message}: ${seen().size} of ${acked.length}`);
        },
      );
      await Promise.all(members.map((m) => m.process.stop(15_000)));

      const events = allEvents();
      const commits = events.filter((e) => e.e === 'commit');
      const failedCommits = commits.filter((e) => !e.ok);
      const duplicates = consumed().length - seen().size;
      console.log(
        `# coordinator ${victim} killed: FindCoordinator names ${moved} after ${movedMs} ms; consumption resumed (+300) after ${resumedMs} ms; ` +
          `${duplicates} records delivered twice, ${failedCommits.length} failed commits, ${events.filter((e) => e.e === 'assign').length} assignments`,
      );

      // Committed offsets survive: when a member is given a partition, it starts at (or past) every offset
      // whose commit had been acknowledged by then. Both members run on this machine's clock.
      const violations: string[] = [];
      for (const member of members) {
        const own = events.filter((e) => e.member === member.id);
        let startsPending = new Map<number, number>();
        for (const e of own) {
          if (e.e === 'assign') {
            startsPending = new Map();
            for (const p of e.p as number[]) {
              const before = commits.filter((c) => c.ok && c.p === p && c.t < e.t).reduce((max, c) => Math.max(max, c.o!), 0);
              startsPending.set(p, before);
            }
          } else if (e.e === 'msg' && startsPending.has(e.p as number)) {
            const committed = startsPending.get(e.p as number)!;
            if (e.o! < committed) violations.push(`member ${member.id} started partition ${e.p} at ${e.o}, below its acknowledged commit ${committed}`);
            startsPending.delete(e.p as number);
          }
        }
      }
      assert.deepEqual(violations, [], 'no committed offset lost');
      // Records come again only where a commit failed: at most one per failed commit.
      assert.ok(duplicates <= failedCommits.length, `${duplicates} duplicates, ${failedCommits.length} failed commits`);

      // The new coordinator holds the group's final offsets: the end of every partition.
      const fetched = await cluster.request(moved!, ApiKey.OffsetFetch, {
        groups: [{ groupId: group, topics: [{ name: topic, partitionIndexes: range(0, partitions) }] }],
        requireStable: false,
      });
      assert.equal(fetched.groups?.[0]?.errorCode, ErrorCode.NONE);
      const offsets = fetched.groups?.[0]?.topics?.[0]?.partitions ?? [];
      for (const p of range(0, partitions)) {
        assert.equal(Number(offsets.find((x) => x.partitionIndex === p)?.committedOffset), count / partitions, `committed offset of partition ${p}`);
      }
    } finally {
      producer.kill();
      for (const m of members) m.process.kill('SIGKILL');
    }
  }, () => members.map((m) => m.process.output()).join('\n')));
