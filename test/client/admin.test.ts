import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Admin, AdminError, KafkaError, Producer, TimeoutError } from '../../src/client/index.js';
import { ZERO_UUID } from '../../src/protocol/primitives.js';
import { startTestBroker, trackUnhandledRejections, uniqueTopic, type TestBroker } from './helpers.js';

describe('admin', () => {
  let broker: TestBroker;
  let admin: Admin;
  const unhandled = trackUnhandledRejections();
  before(async () => {
    broker = await startTestBroker({ 'num.partitions': 2 });
    admin = new Admin({ 'bootstrap.servers': broker.bootstrapServers });
    await admin.connect();
  });
  after(async () => {
    await admin.close();
    await broker.close();
    unhandled.assertNone();
  });

  it('creates, lists, describes and deletes topics', async () => {
    const a = uniqueTopic('a');
    const b = uniqueTopic('b');
    const created = await admin.createTopics([
      { topic: a, numPartitions: 3, replicationFactor: 1, configs: { 'cleanup.policy': 'compact' } },
      { topic: b },
    ]);
    assert.equal(created[0]!.topic, a);
    assert.equal(created[0]!.numPartitions, 3);
    assert.equal(created[0]!.replicationFactor, 1);
    assert.equal(created[0]!.configs['cleanup.policy'], 'compact');
    assert.notEqual(created[0]!.topicId, ZERO_UUID);
    assert.equal(created[1]!.numPartitions, 2, 'the broker default num.partitions');

    const names = await admin.listTopics();
    assert.ok(names.includes(a) && names.includes(b));

    const [da, db] = await admin.describeTopics([a, b]);
    assert.equal(da!.topic, a);
    assert.equal(da!.topicId, created[0]!.topicId);
    assert.deepEqual(
      da!.partitions.map((p) => [p.partition, p.leader, p.replicas, p.isr]),
      [
        [0, 0, [0], [0]],
        [1, 0, [0], [0]],
        [2, 0, [0], [0]],
      ],
    );
    assert.equal(db!.partitions.length, 2);

    await admin.deleteTopics([a]);
    assert.ok(!(await admin.listTopics()).includes(a));
    await assert.rejects(admin.describeTopics([a]), (e: unknown) => e instanceof AdminError && e.errorName === 'UNKNOWN_TOPIC_OR_PARTITION');
  });

  it('validateOnly creates nothing; errors carry Kafka codes per topic', async () => {
    const t = uniqueTopic('v');
    const [validated] = await admin.createTopics([{ topic: t, numPartitions: 4 }], { validateOnly: true });
    assert.equal(validated!.numPartitions, 4);
    assert.ok(!(await admin.listTopics()).includes(t));

    await admin.createTopics([{ topic: t, numPartitions: 1 }]);
    const other = uniqueTopic('ok');
    const error = await admin.createTopics([{ topic: t }, { topic: other }]).catch((e: unknown) => e);
    assert.ok(error instanceof AdminError);
    assert.ok(error instanceof KafkaError);
    assert.equal(error.errorName, 'TOPIC_ALREADY_EXISTS');
    assert.equal(error.code, 36);
    assert.deepEqual(
      error.failures.map((f) => f.resource),
      [t],
    );
    assert.ok((await admin.listTopics()).includes(other), 'the other topic was created');

    const bad = await admin.createTopics([{ topic: uniqueTopic('rf'), numPartitions: 1, replicationFactor: 3 }]).catch((e: unknown) => e);
    assert.equal((bad as KafkaError).errorName, 'INVALID_REPLICATION_FACTOR');
    await assert.rejects(admin.deleteTopics([uniqueTopic('missing')]), /UNKNOWN_TOPIC_OR_PARTITION/);
  });

  it('creates topics with an explicit replica assignment and adds partitions', async () => {
    const t = uniqueTopic('assign');
    const [created] = await admin.createTopics([{ topic: t, replicaAssignment: [[0], [0]] }]);
    assert.equal(created!.numPartitions, 2);
    await admin.createPartitions([{ topic: t, count: 5 }]);
    assert.equal((await admin.describeTopics([t]))[0]!.partitions.length, 5);
    await admin.createPartitions([{ topic: t, count: 6, assignments: [[0]] }], { validateOnly: true });
    assert.equal((await admin.describeTopics([t]))[0]!.partitions.length, 5);
    const error = await admin.createPartitions([{ topic: t, count: 2 }]).catch((e: unknown) => e);
    assert.equal((error as KafkaError).errorName, 'INVALID_PARTITIONS');
  });

  it('describes and alters topic configs; describes broker configs', async () => {
    const t = uniqueTopic('cfg');
    await admin.createTopics([{ topic: t, numPartitions: 1, configs: { 'retention.ms': '3600000' } }]);
    const [described] = await admin.describeConfigs([{ type: 'topic', name: t }], { includeSynonyms: true });
    const retention = described!.entries.find((e) => e.name === 'retention.ms')!;
    assert.equal(retention.value, '3600000');
    assert.equal(retention.source, 'DYNAMIC_TOPIC_CONFIG');
    assert.equal(retention.isDefault, false);
    assert.ok(retention.synonyms.length >= 1);
    const cleanup = described!.entries.find((e) => e.name === 'cleanup.policy')!;
    assert.equal(cleanup.value, 'delete');
    assert.equal(cleanup.isDefault, true);

    await admin.incrementalAlterConfigs([
      {
        type: 'topic',
        name: t,
        ops: [
          { name: 'retention.ms', op: 'delete' },
          { name: 'segment.bytes', op: 'set', value: '1048576' },
          { name: 'cleanup.policy', op: 'append', value: 'compact' },
        ],
      },
    ]);
    const [after] = await admin.describeConfigs([{ type: 'topic', name: t, keys: ['retention.ms', 'segment.bytes', 'cleanup.policy'] }], {
      includeDocumentation: true,
    });
    const byName = new Map(after!.entries.map((e) => [e.name, e]));
    assert.equal(after!.entries.length, 3);
    assert.equal(byName.get('segment.bytes')!.value, '1048576');
    assert.equal(byName.get('retention.ms')!.isDefault, true);
    assert.equal(byName.get('cleanup.policy')!.value, 'delete,compact');
    assert.ok(byName.get('segment.bytes')!.type !== 'UNKNOWN');

    await admin.alterConfigs([{ type: 'topic', name: t, configs: { 'retention.bytes': '1000000' } }]);
    const [replaced] = await admin.describeConfigs([{ type: 'topic', name: t, keys: ['retention.bytes', 'segment.bytes'] }]);
    const r = new Map(replaced!.entries.map((e) => [e.name, e.value]));
    assert.equal(r.get('retention.bytes'), '1000000');
    assert.notEqual(r.get('segment.bytes'), '1048576', 'AlterConfigs replaces the whole set');

    const error = await admin
      .incrementalAlterConfigs([{ type: 'topic', name: t, ops: [{ name: 'no.such.setting', op: 'set', value: '1' }] }])
      .catch((e: unknown) => e);
    assert.equal((error as KafkaError).errorName, 'INVALID_CONFIG');

    const [brokerConfigs] = await admin.describeConfigs([{ type: 'broker', name: '0', keys: ['num.partitions'] }]);
    assert.equal(brokerConfigs!.entries[0]!.name, 'num.partitions');
    assert.equal(brokerConfigs!.entries[0]!.value, '2');
  });

  it('lists offsets (earliest, latest, by timestamp, max timestamp) and deletes records', async () => {
    const t = uniqueTopic('offsets');
    await admin.createTopics([{ topic: t, numPartitions: 1 }]);
    const producer = new Producer({ 'bootstrap.servers': broker.bootstrapServers });
    const base = 1_700_000_000_000;
    await producer.send(Array.from({ length: 10 }, (_, i) => ({ topic: t, value: `v${i}`, timestamp: base + (i === 5 ? 100_000 : i * 10) })));
    await producer.close();
    const tp = { topic: t, partition: 0 };
    const offsets = await admin.listOffsets([
      { ...tp, spec: 'earliest' },
      { ...tp, spec: 'latest' },
      { ...tp, spec: { timestamp: base + 25 } },
      { ...tp, spec: 'max-timestamp' },
      { ...tp, spec: { timestamp: base + 1_000_000 } },
    ]);
    assert.deepEqual(
      offsets.map((o) => o.offset),
      [0, 10, 3, 5, -1],
    );
    assert.equal(offsets[2]!.timestamp, base + 30);
    assert.equal(offsets[3]!.timestamp, base + 100_000);

    const [deleted] = await admin.deleteRecords([{ ...tp, offset: 4 }]);
    assert.equal(deleted!.lowWatermark, 4);
    const [earliest] = await admin.listOffsets([{ ...tp, spec: 'earliest' }]);
    assert.equal(earliest!.offset, 4);
    const [all] = await admin.deleteRecords([{ ...tp, offset: -1 }]);
    assert.equal(all!.lowWatermark, 10);

    const error = await admin.listOffsets([{ topic: uniqueTopic('none'), partition: 0, spec: 'latest' }]).catch((e: unknown) => e);
    assert.equal((error as KafkaError).errorName, 'UNKNOWN_TOPIC_OR_PARTITION');
    const outOfRange = await admin.deleteRecords([{ ...tp, offset: 50 }]).catch((e: unknown) => e);
    assert.equal((outOfRange as KafkaError).errorName, 'OFFSET_OUT_OF_RANGE');
  });

  it('describes the cluster, log dirs and API versions', async () => {
    const cluster = await admin.describeCluster();
    assert.ok(cluster.clusterId);
    assert.equal(cluster.controllerId, 0);
    assert.deepEqual(cluster.brokers, [{ nodeId: 0, host: '127.0.0.1', port: broker.port, rack: null }]);

    const t = uniqueTopic('dirs');
    await admin.createTopics([{ topic: t, numPartitions: 2 }]);
    const dirs = await admin.describeLogDirs();
    assert.equal(dirs.length, 1);
    assert.equal(dirs[0]!.broker, 0);
    assert.equal(dirs[0]!.error, null);
    assert.ok(dirs[0]!.logDir.length > 0);
    const topic = dirs[0]!.topics.find((x) => x.topic === t);
    assert.deepEqual(topic?.partitions.map((p) => p.partition).sort(), [0, 1]);

    const [versions] = await admin.describeApiVersions();
    const produce = versions!.apis.find((a) => a.name === 'Produce')!;
    assert.ok(produce.maxVersion >= 3 && produce.usableVersion >= 3);
  });

  it('gives a clear timeout error for an unreachable cluster', async () => {
    const lost = new Admin({ 'bootstrap.servers': '127.0.0.1:1', 'reconnect.backoff.max.ms': 100 });
    const started = Date.now();
    const error = await lost.listTopics({ timeoutMs: 800 }).catch((e: unknown) => e);
    assert.ok(error instanceof TimeoutError, String(error));
    assert.match(error.message, /listTopics timed out after 800 ms/);
    assert.match(error.message, /127\.0\.0\.1:1/);
    assert.ok(Date.now() - started < 3000);
    await lost.close();
  });
});
