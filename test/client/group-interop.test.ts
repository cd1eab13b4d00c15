/**
 * A Ganglion group member and a kafkajs member in the same group (protocol
 * type "consumer", assignor "roundrobin") split a topic's partitions.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { Admin, Consumer, tpKey } from '../../src/client/index.js';
import { sleep, startTestBroker, uniqueTopic, type TestBroker } from './helpers.js';

const require = createRequire(import.meta.url);
const { Kafka, logLevel, PartitionAssigners } = require('kafkajs') as typeof import('kafkajs');

describe('group interop with kafkajs', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startTestBroker({ 'group.initial.rebalance.delay.ms': 0 });
  });
  after(async () => {
    await broker.close();
  });

  it('a Ganglion member and a kafkajs member share six partitions', async () => {
    const topic = uniqueTopic('interop');
    const group = uniqueTopic('g');
    const admin = new Admin({ 'bootstrap.servers': broker.bootstrapServers });
    await admin.createTopics([{ topic, numPartitions: 6, replicationFactor: 1 }]);
    await admin.close();
    const kafka = new Kafka({ brokers: [broker.bootstrapServers], logLevel: logLevel.NOTHING });
    const kjs = kafka.consumer({
      groupId: group,
      heartbeatInterval: 300,
      sessionTimeout: 10000,
      partitionAssigners: [(cfg) => ({ ...PartitionAssigners.roundRobin(cfg), name: 'roundrobin' })],
    });
    let kjsAssigned: string[] = [];
    kjs.on(kjs.events.GROUP_JOIN, (e) => {
      kjsAssigned = Object.entries(e.payload.memberAssignment).flatMap(([t, ps]) => (ps as number[]).map((p) => tpKey(t, p)));
    });
    await kjs.connect();
    await kjs.subscribe({ topics: [topic], fromBeginning: true });
    await kjs.run({ eachMessage: async () => {} });
    const ours = new Consumer({
      'bootstrap.servers': broker.bootstrapServers,
      'group.id': group,
      'partition.assignment.strategy': 'roundrobin',
      'heartbeat.interval.ms': 300,
    });
    ours.subscribe([topic]);
    let running = true;
    const loop = (async () => {
      while (running) await ours.poll(100);
    })();
    try {
      const end = Date.now() + 25000;
      for (;;) {
        const mine = ours.assignment().map((tp) => tpKey(tp.topic, tp.partition));
        const all = new Set([...mine, ...kjsAssigned]);
        if (mine.length === 3 && kjsAssigned.length === 3 && all.size === 6) break;
        assert.ok(Date.now() < end, `not split: ours ${mine} kafkajs ${kjsAssigned}`);
        await sleep(100);
      }
    } finally {
      running = false;
      await loop;
      await ours.close();
      await kjs.disconnect();
    }
  });
});
