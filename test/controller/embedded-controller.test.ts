import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { assignReplicas } from '../../src/controller/assignment.js';
import { EmbeddedController, type EmbeddedControllerOptions } from '../../src/controller/embedded-controller.js';
import type { ReplicaDelegate, TopicRecord } from '../../src/controller/types.js';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';

function recordingDelegate() {
  const events: string[] = [];
  const delegate: ReplicaDelegate = {
    async applyPartitionStates(topic: TopicRecord, partitions) {
      events.push(`apply ${topic.name} ${partitions.map((p) => p.partition).join(',')}`);
    },
    async stopReplicas(topic, partitions, deleteData) {
      events.push(`stop ${topic.name} ${partitions.join(',')} ${deleteData}`);
    },
    topicConfigChanged(topic) {
      events.push(`config ${topic.name} ${JSON.stringify(topic.configs)}`);
    },
  };
  return { events, delegate };
}

async function withController(
  fn: (c: EmbeddedController, events: string[], open: () => Promise<EmbeddedController>) => Promise<void>,
  overrides: Partial<EmbeddedControllerOptions> = {},
) {
  const dir = await mkdtemp(join(tmpdir(), 'ganglion-ctl-'));
  const { events, delegate } = recordingDelegate();
  const open = () =>
    EmbeddedController.open({
      broker: { brokerId: 1, rack: null, endpoints: [] },
      metadataDir: dir,
      numPartitions: 1,
      defaultReplicationFactor: 1,
      deleteTopicEnable: true,
      validateTopicConfigs: (configs) => ('bogus' in configs ? 'Unknown topic config name: bogus' : null),
      delegate,
      ...overrides,
    });
  try {
    await fn(await open(), events, open);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function rejectsWith(p: Promise<unknown>, code: number) {
  await assert.rejects(p, (err: unknown) => err instanceof KafkaError && err.code === code);
}

test('creates topics with defaults, persists them and replays them on reopen', async () => {
  await withController(async (c, events, open) => {
    const t = await c.createTopic({ name: 'orders', numPartitions: 3, replicationFactor: 1, configs: { 'retention.ms': '1000' } }, false);
    assert.equal(t.partitions.length, 3);
    assert.deepEqual(t.partitions.map((p) => [p.leader, p.isr]), [[1, [1]], [1, [1]], [1, [1]]]);
    const d = await c.createTopic({ name: 'defaults', numPartitions: -1, replicationFactor: -1, configs: {} }, false);
    assert.equal(d.partitions.length, 1);
    assert.deepEqual(events, ['apply orders 0,1,2', 'apply defaults 0']);

    const again = await open();
    assert.equal(again.clusterId, c.clusterId);
    assert.equal(again.topic('orders')?.topicId, t.topicId);
    assert.deepEqual(again.topic('orders')?.configs, { 'retention.ms': '1000' });
    assert.equal(again.topicById(t.topicId)?.name, 'orders');
  });
});

test('rejects bad topic creations with Kafka error codes', async () => {
  await withController(async (c) => {
    await c.createTopic({ name: 'a.b', numPartitions: 1, replicationFactor: 1, configs: {} }, false);
    await rejectsWith(c.createTopic({ name: 'a.b', numPartitions: 1, replicationFactor: 1, configs: {} }, false), ErrorCode.TOPIC_ALREADY_EXISTS);
    await rejectsWith(c.createTopic({ name: 'a_b', numPartitions: 1, replicationFactor: 1, configs: {} }, false), ErrorCode.INVALID_TOPIC_EXCEPTION);
    await rejectsWith(c.createTopic({ name: 'bad name', numPartitions: 1, replicationFactor: 1, configs: {} }, false), ErrorCode.INVALID_TOPIC_EXCEPTION);
    await rejectsWith(c.createTopic({ name: 'x'.repeat(250), numPartitions: 1, replicationFactor: 1, configs: {} }, false), ErrorCode.INVALID_TOPIC_EXCEPTION);
    await rejectsWith(c.createTopic({ name: 'rf', numPartitions: 1, replicationFactor: 3, configs: {} }, false), ErrorCode.INVALID_REPLICATION_FACTOR);
    await rejectsWith(c.createTopic({ name: 'np', numPartitions: 0, replicationFactor: 1, configs: {} }, false), ErrorCode.INVALID_PARTITIONS);
    await rejectsWith(c.createTopic({ name: 'cfg', numPartitions: 1, replicationFactor: 1, configs: { bogus: '1' } }, false), ErrorCode.INVALID_CONFIG);
    await rejectsWith(
      c.createTopic({ name: 'asg', numPartitions: -1, replicationFactor: -1, assignments: new Map([[0, [7]]]), configs: {} }, false),
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
    );
  });
});

test('validate-only creation changes nothing', async () => {
  await withController(async (c, events) => {
    const t = await c.createTopic({ name: 'dry', numPartitions: 2, replicationFactor: 1, configs: {} }, true);
    assert.equal(t.partitions.length, 2);
    assert.equal(c.topic('dry'), undefined);
    assert.deepEqual(events, []);
  });
});

test('adds partitions, alters configs and deletes topics', async () => {
  await withController(async (c, events) => {
    await c.createTopic({ name: 't', numPartitions: 1, replicationFactor: 1, configs: {} }, false);
    await rejectsWith(c.createPartitions('t', 1, null, false), ErrorCode.INVALID_PARTITIONS);
    const grown = await c.createPartitions('t', 3, null, false);
    assert.deepEqual(grown.partitions.map((p) => p.partition), [0, 1, 2]);
    await c.alterTopicConfigs('t', { 'cleanup.policy': 'compact' }, true, false);
    await c.alterTopicConfigs('t', { 'retention.ms': '5' }, true, false);
    assert.deepEqual(c.topic('t')?.configs, { 'cleanup.policy': 'compact', 'retention.ms': '5' });
    await c.alterTopicConfigs('t', { 'retention.ms': null }, true, false);
    assert.deepEqual(c.topic('t')?.configs, { 'cleanup.policy': 'compact' });
    await c.deleteTopic('t');
    assert.equal(c.topic('t'), undefined);
    await rejectsWith(c.deleteTopic('t'), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.deepEqual(events.slice(0, 2), ['apply t 0', 'apply t 1,2']);
    assert.equal(events.at(-1), 'stop t 0,1,2 true');
  });
});

test('topic deletion can be disabled', async () => {
  await withController(
    async (c) => {
      await c.createTopic({ name: 'keep', numPartitions: 1, replicationFactor: 1, configs: {} }, false);
      await rejectsWith(c.deleteTopic('keep'), ErrorCode.TOPIC_DELETION_DISABLED);
    },
    { deleteTopicEnable: false },
  );
});

test('replica placement spreads leaders and followers like Kafka', () => {
  const lists = assignReplicas([0, 1, 2], 6, 3, { startIndex: 0, replicaShift: 0 });
  assert.deepEqual(lists.map((r) => r[0]), [0, 1, 2, 0, 1, 2]);
  for (const replicas of lists) assert.equal(new Set(replicas).size, 3);
  assert.deepEqual(lists[0], [0, 1, 2]);
  assert.deepEqual(lists[3], [0, 2, 1]);
  assert.throws(() => assignReplicas([0], 1, 2));
});
