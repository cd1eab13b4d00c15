/**
 * Group membership of the Ganglion consumer: partition splitting with each
 * assignor, rebalance on leave, commits and resume, auto-commit.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Admin, Consumer, Producer, tpKey, type ConsumerRecord, type TopicPartition } from '../../src/client/index.js';
import { sleep, startTestBroker, uniqueTopic, type TestBroker } from './helpers.js';

const GROUP_BROKER = { 'group.initial.rebalance.delay.ms': 0 };

interface Member {
  consumer: Consumer;
  records: ConsumerRecord[];
  stop(): Promise<void>;
}

/** A consumer polling in the background until stopped. */
export function runMember(consumer: Consumer, topics: string[]): Member {
  const records: ConsumerRecord[] = [];
  let running = true;
  consumer.subscribe(topics);
  const loop = (async () => {
    while (running) {
      try {
        records.push(...(await consumer.poll(100)));
      } catch (error) {
        if (running) throw error;
      }
    }
  })();
  return {
    consumer,
    records,
    async stop() {
      running = false;
      await loop;
      await consumer.close();
    },
  };
}

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** True when the members' assignments cover exactly `count` partitions of `topic` with none shared, `per` each. */
function balanced(members: Member[], topic: string, count: number, per: number): boolean {
  const seen = new Set<string>();
  for (const m of members) {
    const a = m.consumer.assignment();
    if (a.length !== per) return false;
    for (const tp of a) {
      const k = tpKey(tp.topic, tp.partition);
      if (seen.has(k) || tp.topic !== topic) return false;
      seen.add(k);
    }
  }
  return seen.size === count;
}

describe('consumer groups (Ganglion consumer)', () => {
  let broker: TestBroker;
  let admin: Admin;
  let bootstrap: string;

  before(async () => {
    broker = await startTestBroker(GROUP_BROKER);
    bootstrap = broker.bootstrapServers;
    admin = new Admin({ 'bootstrap.servers': bootstrap });
  });
  after(async () => {
    await admin.close();
    await broker.close();
  });

  const consumerConfig = (group: string, extra: Record<string, string | number | boolean> = {}) => ({
    'bootstrap.servers': bootstrap,
    'group.id': group,
    'auto.offset.reset': 'earliest' as const,
    'heartbeat.interval.ms': 200,
    'session.timeout.ms': 6000,
    ...extra,
  });

  async function produce(topic: string, n: number, partitions: number): Promise<void> {
    const producer = new Producer({ 'bootstrap.servers': bootstrap, 'linger.ms': 0 });
    await Promise.all(Array.from({ length: n }, (_, i) => producer.send({ topic, partition: i % partitions, value: `v${i}` })));
    await producer.close();
  }

  for (const strategy of ['range', 'roundrobin', 'cooperative-sticky']) {
    it(`three members split six partitions (${strategy}), then two after one leaves`, async () => {
      const topic = uniqueTopic('split');
      await admin.createTopics([{ topic, numPartitions: 6, replicationFactor: 1 }]);
      await produce(topic, 60, 6);
      const group = uniqueTopic('g');
      const members = [0, 1, 2].map(() => runMember(new Consumer(consumerConfig(group, { 'partition.assignment.strategy': strategy })), [topic]));
      try {
        await waitFor(() => balanced(members, topic, 6, 2), 15000, `balanced ${strategy} assignment`);
        await waitFor(() => members.reduce((n, m) => n + m.records.length, 0) >= 60, 10000, 'all records');
        const offsets = new Set(members.flatMap((m) => m.records.map((r) => `${r.partition}:${r.offset}`)));
        assert.equal(offsets.size, 60);
        await members[2]!.stop();
        await waitFor(() => balanced(members.slice(0, 2), topic, 6, 3), 15000, 'rebalance after leave');
      } finally {
        await Promise.all(members.slice(0, 2).map((m) => m.stop()));
      }
    });
  }

  it('commitSync then restart resumes after the committed offset', async () => {
    const topic = uniqueTopic('resume');
    await admin.createTopics([{ topic, numPartitions: 1, replicationFactor: 1 }]);
    await produce(topic, 10, 1);
    const group = uniqueTopic('g');
    const c1 = new Consumer(consumerConfig(group, { 'enable.auto.commit': false }));
    c1.subscribe([topic]);
    const got: ConsumerRecord[] = [];
    while (got.length < 10) got.push(...(await c1.poll(500)));
    await c1.commitSync([{ topic, partition: 0, offset: 4 }]);
    assert.deepEqual(await c1.committed([{ topic, partition: 0 }]), [{ topic, partition: 0, offset: 4 }]);
    await c1.close();
    const c2 = new Consumer(consumerConfig(group, { 'enable.auto.commit': false }));
    const assigned: TopicPartition[][] = [];
    c2.subscribe([topic], { onPartitionsAssigned: (tps) => void assigned.push(tps) });
    const again: ConsumerRecord[] = [];
    while (again.length < 6) again.push(...(await c2.poll(500)));
    assert.equal(again[0]!.offset, 4);
    assert.deepEqual(assigned, [[{ topic, partition: 0 }]]);
    await c2.commitSync();
    assert.deepEqual(await c2.committed([{ topic, partition: 0 }]), [{ topic, partition: 0, offset: 10 }]);
    await c2.close();
  });

  it('auto-commit stores positions periodically and on close', async () => {
    const topic = uniqueTopic('auto');
    await admin.createTopics([{ topic, numPartitions: 2, replicationFactor: 1 }]);
    await produce(topic, 20, 2);
    const group = uniqueTopic('g');
    const c1 = new Consumer(consumerConfig(group, { 'auto.commit.interval.ms': 100 }));
    c1.subscribe([topic]);
    const got: ConsumerRecord[] = [];
    while (got.length < 20) got.push(...(await c1.poll(500)));
    const deadline = Date.now() + 5000;
    for (;;) {
      await c1.poll(150);
      const committed = await c1.committed([{ topic, partition: 0 }, { topic, partition: 1 }]);
      if (committed.every((c) => c?.offset === 10)) break;
      assert.ok(Date.now() < deadline, `auto-commit did not happen: ${JSON.stringify(committed)}`);
    }
    await c1.close();
    await produce(topic, 4, 2);
    const c2 = new Consumer(consumerConfig(group));
    c2.subscribe([topic]);
    const more: ConsumerRecord[] = [];
    const end = Date.now() + 8000;
    while (more.length < 4 && Date.now() < end) more.push(...(await c2.poll(300)));
    assert.deepEqual(more.map((r) => r.offset).sort(), [10, 10, 11, 11]);
    await c2.close();
  });
});
