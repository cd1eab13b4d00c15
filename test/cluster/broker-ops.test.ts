/**
 * What a cluster broker does for admin clients and on shutdown, across
 * three broker processes on a real ZooKeeper:
 * - a topic config changed through one broker reaches every broker
 *   (/config/changes), partitions added and topics deleted show on every
 *   broker, and deleted partitions leave every broker's disk;
 * - SIGTERM runs a controlled shutdown (leadership and ISR membership move
 *   away before the broker exits, so acks=-1 keeps working), and the
 *   restarted broker catches up and rejoins every ISR (AlterPartition from
 *   the leaders), with nothing acknowledged lost.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { Admin, Consumer } from '../../src/client/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/api-table.js';
import { waitFor } from '../helpers/broker.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';
import { skipUnlessZooKeeper } from '../helpers/zookeeper.js';

const { Kafka, logLevel } = kafkajs;
const skip = skipUnlessZooKeeper();
/** DescribeConfigs resource type of topics. */
const TOPIC_RESOURCE = 2;

let cluster: TestCluster;

before(async () => {
  if (skip) return;
  cluster = await startCluster({ brokers: 3 });
  await cluster.waitForController();
});

after(async () => {
  await cluster?.close();
});

function admin(): Admin {
  return new Admin({ 'bootstrap.servers': cluster.bootstrapServers });
}

async function topicConfig(brokerId: number, topic: string, key: string): Promise<string | null | undefined> {
  const response = await cluster.request(brokerId, ApiKey.DescribeConfigs, {
    resources: [{ resourceType: TOPIC_RESOURCE, resourceName: topic, configurationKeys: [key] }],
    includeSynonyms: false,
    includeDocumentation: false,
  });
  return response.results[0]?.configs.find((c) => c.name === key)?.value;
}

async function partitionsOf(brokerId: number, topic: string) {
  const t = (await cluster.metadata(brokerId, [topic])).topics[0]!;
  return { errorCode: t.errorCode, partitions: [...t.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex) };
}

test('config changes, new partitions and deletions made through one broker show on every broker', { skip }, async () => {
  const a = admin();
  try {
    await a.createTopics([{ topic: 'ops', numPartitions: 2, replicationFactor: 2 }]);
    await a.incrementalAlterConfigs([{ type: 'topic', name: 'ops', ops: [{ name: 'retention.ms', op: 'set', value: '12345' }] }]);
    for (const id of [0, 1, 2]) {
      await waitFor(async () => (await topicConfig(id, 'ops', 'retention.ms')) === '12345', { timeoutMs: 10_000, what: `retention.ms on broker ${id}` });
    }

    await a.createPartitions([{ topic: 'ops', count: 4 }]);
    for (const id of [0, 1, 2]) {
      await waitFor(
        async () => {
          const { partitions } = await partitionsOf(id, 'ops');
          return partitions.length === 4 && partitions.every((p) => p.leaderId >= 0 && p.replicaNodes.length === 2);
        },
        { timeoutMs: 10_000, what: `four led partitions on broker ${id}` },
      );
    }
    const hosting = async (id: number) => (await readdir(cluster.broker(id).logDir)).filter((d) => d.startsWith('ops-'));
    // Two replicas of four partitions over three brokers: eight replica logs in all.
    await waitFor(async () => (await Promise.all([0, 1, 2].map(hosting))).flat().length === 8, { timeoutMs: 10_000, what: 'eight replica logs' });

    await a.deleteTopics(['ops']);
    // The broker that answered has it gone; the others' UpdateMetadata is in flight at the same time.
    for (const id of [0, 1, 2]) {
      await waitFor(async () => (await partitionsOf(id, 'ops')).errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, {
        timeoutMs: 5000,
        what: `broker ${id} to forget 'ops'`,
      });
    }
    await waitFor(async () => (await Promise.all([0, 1, 2].map(hosting))).flat().length === 0, { timeoutMs: 10_000, what: 'the replica logs deleted' });
    assert.deepEqual(await (await cluster.zkClient()).getTopics(), []);
  } finally {
    await a.close();
  }
});

test('SIGTERM moves leadership away first; the restarted broker catches up and rejoins every ISR; nothing acknowledged is lost', { skip }, async () => {
  const topic = 'shutdown';
  const a = admin();
  try {
    await a.createTopics([{ topic, numPartitions: 3, replicationFactor: 3 }]);
  } finally {
    await a.close();
  }
  const kafka = new Kafka({
    brokers: cluster.bootstrapServers.split(','),
    clientId: 'cluster-ops',
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 2000 },
  });
  const sent: Buffer[] = [];
  const produce = async (count: number) => {
    // Idempotent: a send retried after a partial failure (a leader that has not applied its
    // LeaderAndIsr yet answers UNKNOWN_TOPIC_OR_PARTITION) must not duplicate the partitions that succeeded.
    const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const batch = Array.from({ length: count }, () => randomBytes(64));
      await producer.send({ topic, acks: -1, messages: batch.map((value) => ({ value })) });
      sent.push(...batch);
    } finally {
      await producer.disconnect();
    }
  };
  await produce(100);

  const victim = (await partitionsOf(0, topic)).partitions[0]!.leaderId;
  const others = [0, 1, 2].filter((id) => id !== victim);
  const started = Date.now();
  await cluster.broker(victim).stop();
  const stoppedIn = Date.now() - started;
  const output = [...cluster.broker(victim).process!.stdoutLines, ...cluster.broker(victim).process!.stderrLines].join('\n');
  assert.match(output, /controlled shutdown succeeded/, 'the controller confirmed the controlled shutdown');
  assert.equal(cluster.broker(victim).process!.exitCode, 0);
  assert.ok(stoppedIn < 20_000, `stopped in ${stoppedIn} ms`);

  // Right after the exit the survivors lead everything and the victim is out of every ISR.
  for (const id of others) {
    const { partitions } = await partitionsOf(id, topic);
    for (const p of partitions) {
      assert.notEqual(p.leaderId, victim, `broker ${id}: ${topic}-${p.partitionIndex} moved away from ${victim}`);
      assert.ok(!p.isrNodes.includes(victim), `broker ${id}: ${victim} left the ISR of ${topic}-${p.partitionIndex}`);
    }
  }
  await produce(100);

  await cluster.broker(victim).restart();
  await cluster.waitForController();
  await waitFor(
    async () => {
      const views = await Promise.all([0, 1, 2].map((id) => partitionsOf(id, topic)));
      return views.every((v) => v.partitions.every((p) => p.isrNodes.length === 3));
    },
    { timeoutMs: 30_000, intervalMs: 200, what: `broker ${victim} back in every ISR on every broker` },
  );

  // The partitions' end offsets say how many records the log holds (a retried send would show here).
  const a2 = admin();
  let ends: number[];
  try {
    ends = (await a2.listOffsets([0, 1, 2].map((partition) => ({ topic, partition, spec: 'latest' as const })))).map((o) => o.offset);
  } finally {
    await a2.close();
  }
  const consumer = new Consumer({ 'bootstrap.servers': cluster.bootstrapServers, 'auto.offset.reset': 'earliest' });
  const got: Buffer[] = [];
  const where: string[] = [];
  try {
    consumer.assign([0, 1, 2].map((partition) => ({ topic, partition })));
    const deadline = Date.now() + 30_000;
    let quietSince = Date.now();
    while (Date.now() < deadline && Date.now() - quietSince < 2000) {
      const records = await consumer.poll(500);
      if (records.length > 0) quietSince = Date.now();
      for (const r of records) {
        got.push(r.value!);
        where.push(`${r.partition}@${r.offset}:${r.value!.toString('hex').slice(0, 8)}`);
      }
    }
  } finally {
    await consumer.close();
  }
  assert.equal(ends.reduce((x, y) => x + y, 0), sent.length, `end offsets ${JSON.stringify(ends)}`);
  assert.equal(got.length, sent.length, where.join(' '));
  const key = (b: Buffer) => b.toString('hex');
  assert.deepEqual(got.map(key).sort(), sent.map(key).sort());
});
