/**
 * A three-broker cluster on a real ZooKeeper, every broker its own OS
 * process: registration under /brokers/ids (checked with ZooKeeper's own
 * zkCli), a replicated topic created with Ganglion's Admin client, the same
 * leaders / replicas / ISR from every broker, records produced with kafkajs
 * acks=-1 and consumed back by a kafkajs consumer group, byte for byte.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { Admin } from '../../src/client/index.js';
import { run, waitFor } from '../helpers/broker.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';
import { skipUnlessZooKeeper } from '../helpers/zookeeper.js';

const { Kafka, logLevel } = kafkajs;
const skip = skipUnlessZooKeeper();
const ZK_CLI = '/usr/share/zookeeper/bin/zkCli.sh';

let cluster: TestCluster;

before(async () => {
  if (skip) return;
  cluster = await startCluster({
    brokers: 3,
    brokerConfig: { 'offsets.topic.replication.factor': '3', 'offsets.topic.num.partitions': '6' },
  });
  await cluster.waitForController();
});

after(async () => {
  await cluster?.close();
});

/** Each partition's leader, replicas and ISR as one broker's Metadata reports them. */
async function partitionView(brokerId: number, topic: string): Promise<string> {
  const metadata = await cluster.metadata(brokerId, [topic]);
  const t = metadata.topics[0]!;
  if (t.errorCode !== 0) return `error ${t.errorCode}`;
  return JSON.stringify(
    [...t.partitions]
      .sort((a, b) => a.partitionIndex - b.partitionIndex)
      .map((p) => ({ p: p.partitionIndex, leader: p.leaderId, epoch: p.leaderEpoch, replicas: p.replicaNodes, isr: [...p.isrNodes].sort() })),
  );
}

test('brokers 0, 1 and 2 are registered in ZooKeeper and agree on one controller', { skip }, async () => {
  const ids = await (await cluster.zkClient()).getBrokerIds();
  assert.deepEqual(ids, [0, 1, 2]);
  if (existsSync(ZK_CLI)) {
    // ZooKeeper's own client, reading Kafka's path under the cluster's chroot.
    const r = await run(ZK_CLI, ['-server', cluster.zk.connect, 'ls', `${cluster.chroot}/brokers/ids`], { timeoutMs: 60_000 });
    assert.match(r.stdout.toString(), /\[0, 1, 2\]/, r.stdout.toString() + r.stderr.toString());
  }
  const controller = await cluster.controllerId();
  assert.ok(controller !== null && [0, 1, 2].includes(controller));
  for (const id of [0, 1, 2]) {
    const metadata = await cluster.metadata(id);
    assert.equal(metadata.controllerId, controller, `broker ${id} names the controller`);
    assert.deepEqual(metadata.brokers.map((b) => b.nodeId).sort(), [0, 1, 2]);
  }
});

test('an RF=3 topic: same leaders/replicas/ISR from every broker; kafkajs acks=-1 in, consumer group out, byte-exact', { skip }, async () => {
  const topic = 'replicated';
  const admin = new Admin({ 'bootstrap.servers': cluster.bootstrapServers });
  try {
    // Answered once the controller has elected leaders and this broker's metadata shows them.
    const [created] = await admin.createTopics([{ topic, numPartitions: 3, replicationFactor: 3 }]);
    assert.equal(created?.numPartitions, 3);
    assert.equal(created?.replicationFactor, 3);
  } finally {
    await admin.close();
  }

  // Every broker learns the same state (the ISR starts as all three replicas).
  let views: string[] = [];
  await waitFor(
    async () => {
      views = await Promise.all([0, 1, 2].map((id) => partitionView(id, topic)));
      return views.every((v) => v === views[0]) && !views[0]!.startsWith('error');
    },
    { timeoutMs: 15_000, intervalMs: 100, what: 'the same partition states from every broker' },
  );
  const partitions = JSON.parse(views[0]!) as Array<{ leader: number; replicas: number[]; isr: number[] }>;
  assert.equal(partitions.length, 3);
  for (const p of partitions) {
    assert.deepEqual([...p.replicas].sort(), [0, 1, 2]);
    assert.deepEqual(p.isr, [0, 1, 2]);
    assert.ok(p.replicas.includes(p.leader));
  }
  // Kafka's placement spreads leaders over the brokers.
  assert.equal(new Set(partitions.map((p) => p.leader)).size, 3);

  const kafka = new Kafka({
    brokers: cluster.bootstrapServers.split(','),
    clientId: 'cluster-basic',
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 2000 },
  });
  const sent = Array.from({ length: 300 }, (_, i) => ({
    key: randomBytes(8),
    value: randomBytes(1 + (i % 7) * 97),
    headers: { n: Buffer.from(String(i)) },
  }));
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let i = 0; i < sent.length; i += 50) {
      const acks = await producer.send({ topic, acks: -1, messages: sent.slice(i, i + 50) });
      for (const a of acks) assert.equal(a.errorCode, 0);
    }
  } finally {
    await producer.disconnect();
  }

  const received: Array<{ key: Buffer; value: Buffer; n: string }> = [];
  const consumer = kafka.consumer({ groupId: 'cluster-basic', sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        received.push({ key: message.key!, value: message.value!, n: message.headers!.n!.toString() });
      },
    });
    await waitFor(() => received.length >= sent.length, { timeoutMs: 60_000, intervalMs: 100, what: `${sent.length} records (have ${received.length})` });
  } finally {
    await consumer.disconnect();
  }
  assert.equal(received.length, sent.length, 'each record exactly once');
  const byIndex = new Map(received.map((r) => [Number(r.n), r]));
  sent.forEach((s, i) => {
    const r = byIndex.get(i);
    assert.ok(r, `record ${i} consumed`);
    assert.ok(r.key.equals(s.key) && r.value.equals(s.value), `record ${i} byte-exact`);
  });

  // Followers hold the leader's bytes: every replica's log of a partition is the same file.
  const logOf = (brokerId: number, p: number) => join(cluster.broker(brokerId).logDir, `${topic}-${p}`, '00000000000000000000.log');
  for (const p of [0, 1, 2]) {
    await waitFor(async () => {
      const sizes = await Promise.all([0, 1, 2].map(async (b) => (await stat(logOf(b, p)).catch(() => null))?.size ?? -1));
      return sizes[0]! > 0 && sizes.every((s) => s === sizes[0]);
    }, { timeoutMs: 10_000, intervalMs: 100, what: `three equal replicas of ${topic}-${p}` });
    const [a, b, c] = await Promise.all([0, 1, 2].map((id) => readFile(logOf(id, p))));
    assert.ok(a!.equals(b!) && a!.equals(c!), `${topic}-${p} is byte-identical on every replica`);
  }

  // The group's offsets live in a replicated __consumer_offsets.
  const offsets = JSON.parse(await partitionView(0, '__consumer_offsets')) as Array<{ replicas: number[] }>;
  assert.equal(offsets.length, 6);
  assert.ok(offsets.every((p) => p.replicas.length === 3));
});
