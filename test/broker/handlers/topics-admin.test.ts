import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createCreatePartitionsHandler,
  createCreateTopicsHandler,
  createDeleteTopicsHandler,
} from '../../../src/broker/handlers/topics-admin.js';
import { ConfigSource } from '../../../src/config/index.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import type { CreateTopicsRequestCreatableTopic } from '../../../src/protocol/messages/create-topics.js';
import { ZERO_UUID } from '../../../src/protocol/primitives.js';
import { call, versionsOf, withFixture } from './admin-fixture.js';

function topic(name: string, numPartitions: number, replicationFactor: number, extra: Partial<CreateTopicsRequestCreatableTopic> = {}) {
  return { name, numPartitions, replicationFactor, assignments: [], configs: [], ...extra };
}

test('CreateTopics creates topics at every advertised version, with v5+ details and the v7 topic id', async () => {
  await withFixture(async (f) => {
    const handler = createCreateTopicsHandler(f);
    assert.deepEqual([handler.minVersion, handler.maxVersion], [0, 7]);
    for (const v of versionsOf(handler)) {
      const name = `orders-v${v}`;
      const res = await call(handler, v, { topics: [topic(name, 3, 1)], timeoutMs: 1000, validateOnly: false });
      assert.equal(res.topics.length, 1);
      const r = res.topics[0]!;
      assert.equal(r.name, name);
      assert.equal(r.errorCode, ErrorCode.NONE, `v${v}: ${r.errorMessage}`);
      if (v >= 1) assert.equal(r.errorMessage, null);
      const created = f.controller.topic(name);
      assert.ok(created, `v${v} created the topic`);
      assert.equal(created.partitions.length, 3);
      assert.ok(f.replicaManager.getPartition(name, 2)?.isLeader, 'the broker hosts and leads the new partitions');
      if (v >= 5) {
        assert.equal(r.numPartitions, 3);
        assert.equal(r.replicationFactor, 1);
        const policy = r.configs?.find((c) => c.name === 'cleanup.policy');
        assert.deepEqual(
          { value: policy?.value, source: policy?.configSource, readOnly: policy?.readOnly },
          { value: 'delete', source: ConfigSource.DEFAULT_CONFIG, readOnly: false },
        );
      }
      if (v >= 7) assert.equal(r.topicId, created.topicId);
    }
  });
});

test('CreateTopics applies configs, explicit assignments and the broker defaults for -1', async () => {
  await withFixture(
    async (f) => {
      const handler = createCreateTopicsHandler(f);
      const res = await call(handler, 7, {
        topics: [
          topic('compacted', 1, 1, {
            configs: [
              { name: 'cleanup.policy', value: 'compact' },
              { name: 'retention.ms', value: '1000' },
            ],
          }),
          topic('placed', -1, -1, {
            assignments: [
              { partitionIndex: 1, brokerIds: [1] },
              { partitionIndex: 0, brokerIds: [1] },
            ],
          }),
          topic('defaults', -1, -1),
        ],
        timeoutMs: 1000,
        validateOnly: false,
      });
      assert.deepEqual(
        res.topics.map((t) => [t.name, t.errorCode, t.numPartitions, t.replicationFactor]),
        [
          ['compacted', 0, 1, 1],
          ['placed', 0, 2, 1],
          ['defaults', 0, 3, 1],
        ],
      );
      const configs = res.topics[0]!.configs!;
      const retention = configs.find((c) => c.name === 'retention.ms');
      assert.deepEqual([retention?.value, retention?.configSource], ['1000', ConfigSource.DYNAMIC_TOPIC_CONFIG]);
      assert.deepEqual(f.controller.topic('compacted')?.configs, { 'cleanup.policy': 'compact', 'retention.ms': '1000' });
      assert.deepEqual(f.replicaManager.getPartition('compacted', 0)?.log.config.cleanupPolicy, ['compact']);
      assert.equal(f.controller.topic('defaults')?.partitions.length, 3);
    },
    { 'num.partitions': 3 },
  );
});

test('CreateTopics validate_only checks everything and creates nothing', async () => {
  await withFixture(async (f) => {
    const handler = createCreateTopicsHandler(f);
    for (const v of [1, 4, 5, 7]) {
      const res = await call(handler, v, { topics: [topic('dry-run', 4, 1)], timeoutMs: 1000, validateOnly: true });
      const r = res.topics[0]!;
      assert.equal(r.errorCode, ErrorCode.NONE);
      if (v >= 5) assert.equal(r.numPartitions, 4);
      if (v >= 7) assert.equal(r.topicId, ZERO_UUID);
      assert.equal(f.controller.topic('dry-run'), undefined);
      assert.equal(f.logManager.getLog('dry-run', 0), undefined);
    }
    const bad = await call(handler, 5, {
      topics: [topic('dry-bad', 1, 1, { configs: [{ name: 'retention.ms', value: 'soon' }] })],
      timeoutMs: 1000,
      validateOnly: true,
    });
    assert.equal(bad.topics[0]!.errorCode, ErrorCode.INVALID_CONFIG);
  });
});

test('CreateTopics answers each failure with Kafka\'s code and a helpful message', async () => {
  await withFixture(async (f) => {
    const handler = createCreateTopicsHandler(f);
    await call(handler, 5, { topics: [topic('exists', 1, 1)], timeoutMs: 1000, validateOnly: false });
    const res = await call(handler, 7, {
      topics: [
        topic('exists', 1, 1),
        topic('bad name!', 1, 1),
        topic('twice', 1, 1),
        topic('twice', 2, 1),
        topic('rf', 1, 3),
        topic('zero', 0, 1),
        topic('bogus-config', 1, 1, { configs: [{ name: 'no.such.setting', value: '1' }] }),
        topic('bad-value', 1, 1, { configs: [{ name: 'cleanup.policy', value: 'shred' }] }),
        topic('null-config', 1, 1, { configs: [{ name: 'retention.ms', value: null }] }),
        topic('both', 2, 1, { assignments: [{ partitionIndex: 0, brokerIds: [1] }] }),
        topic('unknown-broker', -1, -1, { assignments: [{ partitionIndex: 0, brokerIds: [9] }] }),
        topic('gap', -1, -1, { assignments: [{ partitionIndex: 0, brokerIds: [1] }, { partitionIndex: 2, brokerIds: [1] }] }),
        topic('dup-partition', -1, -1, { assignments: [{ partitionIndex: 0, brokerIds: [1] }, { partitionIndex: 0, brokerIds: [1] }] }),
      ],
      timeoutMs: 1000,
      validateOnly: false,
    });
    const byName = new Map(res.topics.map((t) => [t.name, t]));
    assert.equal(res.topics.length, 12, 'one result per distinct topic');
    const expect = (name: string, code: number, pattern: RegExp) => {
      const r = byName.get(name)!;
      assert.equal(r.errorCode, code, `${name}: ${r.errorMessage}`);
      assert.match(r.errorMessage ?? '', pattern, name);
      assert.equal(r.numPartitions, -1);
      assert.equal(r.topicId, ZERO_UUID);
    };
    expect('exists', ErrorCode.TOPIC_ALREADY_EXISTS, /already exists/);
    expect('bad name!', ErrorCode.INVALID_TOPIC_EXCEPTION, /illegal/);
    expect('twice', ErrorCode.INVALID_REQUEST, /multiple entries/);
    expect('rf', ErrorCode.INVALID_REPLICATION_FACTOR, /larger than available brokers: 1/);
    expect('zero', ErrorCode.INVALID_PARTITIONS, /larger than 0/);
    expect('bogus-config', ErrorCode.INVALID_CONFIG, /no\.such\.setting/);
    expect('bad-value', ErrorCode.INVALID_CONFIG, /cleanup\.policy/);
    expect('null-config', ErrorCode.INVALID_CONFIG, /Null value not supported for topic configs: retention\.ms/);
    expect('both', ErrorCode.INVALID_REQUEST, /cannot be used at the same time/);
    expect('unknown-broker', ErrorCode.INVALID_REPLICA_ASSIGNMENT, /Unknown broker ids in assignment: 9/);
    expect('gap', ErrorCode.INVALID_REPLICA_ASSIGNMENT, /consecutive/);
    expect('dup-partition', ErrorCode.INVALID_REPLICA_ASSIGNMENT, /Partition 0 is assigned more than once/);
    for (const name of ['twice', 'rf', 'both', 'gap']) assert.equal(f.controller.topic(name), undefined, name);
  });
});

test('DeleteTopics deletes by name at every version, and by topic id in v6', async () => {
  await withFixture(async (f) => {
    const create = createCreateTopicsHandler(f);
    const handler = createDeleteTopicsHandler(f);
    assert.deepEqual([handler.minVersion, handler.maxVersion], [0, 6]);
    for (const v of versionsOf(handler)) {
      const name = `doomed-v${v}`;
      await call(create, 7, { topics: [topic(name, 2, 1)], timeoutMs: 1000, validateOnly: false });
      const id = f.controller.topic(name)!.topicId;
      assert.ok(f.logManager.getLog(name, 1));
      const request =
        v >= 6 ? { topics: [{ name, topicId: ZERO_UUID }], timeoutMs: 1000 } : { topicNames: [name], timeoutMs: 1000 };
      const res = await call(handler, v, request);
      assert.equal(res.responses.length, 1);
      const r = res.responses[0]!;
      assert.deepEqual([r.name, r.errorCode], [name, ErrorCode.NONE]);
      if (v >= 5) assert.equal(r.errorMessage, null);
      if (v >= 6) assert.equal(r.topicId, id);
      assert.equal(f.controller.topic(name), undefined);
      assert.equal(f.replicaManager.getPartition(name, 0), undefined);
      assert.equal(f.logManager.getLog(name, 1), undefined, 'the data is gone');
    }

    await call(create, 7, { topics: [topic('by-id', 1, 1)], timeoutMs: 1000, validateOnly: false });
    const id = f.controller.topic('by-id')!.topicId;
    const missingId = Buffer.alloc(16, 7).toString('base64url');
    const res = await call(handler, 6, {
      topics: [
        { name: null, topicId: id },
        { name: null, topicId: missingId },
        { name: 'never-was', topicId: ZERO_UUID },
        { name: 'by-id', topicId: id },
        { name: null, topicId: ZERO_UUID },
      ],
      timeoutMs: 1000,
    });
    assert.deepEqual(
      res.responses.map((r) => [r.name, r.topicId, r.errorCode]),
      [
        ['by-id', id, ErrorCode.NONE],
        [null, missingId, ErrorCode.UNKNOWN_TOPIC_ID],
        ['never-was', ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
        ['by-id', id, ErrorCode.INVALID_REQUEST],
        [null, ZERO_UUID, ErrorCode.INVALID_REQUEST],
      ],
    );
    assert.match(res.responses[1]!.errorMessage!, /does not exist/);
    assert.match(res.responses[3]!.errorMessage!, /both topic name and topic id/);
    assert.equal(f.controller.topic('by-id'), undefined);

    const unknown = await call(handler, 1, { topicNames: ['ghost', 'ghost'], timeoutMs: 1000 });
    assert.deepEqual(unknown.responses.map((r) => [r.name, r.errorCode]), [['ghost', ErrorCode.INVALID_REQUEST]]);
  });
});

test('DeleteTopics refuses when delete.topic.enable is false, with the code each version knows', async () => {
  await withFixture(
    async (f) => {
      await call(createCreateTopicsHandler(f), 7, { topics: [topic('kept', 1, 1)], timeoutMs: 1000, validateOnly: false });
      const handler = createDeleteTopicsHandler(f);
      for (const v of versionsOf(handler)) {
        const request = v >= 6 ? { topics: [{ name: 'kept', topicId: ZERO_UUID }], timeoutMs: 1000 } : { topicNames: ['kept'], timeoutMs: 1000 };
        const r = (await call(handler, v, request)).responses[0]!;
        assert.equal(r.errorCode, v >= 3 ? ErrorCode.TOPIC_DELETION_DISABLED : ErrorCode.INVALID_REQUEST, `v${v}`);
        if (v >= 5) assert.match(r.errorMessage!, /delete\.topic\.enable=false/);
      }
      assert.ok(f.controller.topic('kept'));
    },
    { 'delete.topic.enable': false },
  );
});

test('CreatePartitions grows topics at every version, with assignments and validate_only', async () => {
  await withFixture(async (f) => {
    const create = createCreateTopicsHandler(f);
    const handler = createCreatePartitionsHandler(f);
    assert.deepEqual([handler.minVersion, handler.maxVersion], [0, 3]);
    for (const v of versionsOf(handler)) {
      const name = `grow-v${v}`;
      await call(create, 7, { topics: [topic(name, 1, 1)], timeoutMs: 1000, validateOnly: false });
      const dry = await call(handler, v, { topics: [{ name, count: 3, assignments: null }], timeoutMs: 1000, validateOnly: true });
      assert.deepEqual(dry.results, [{ name, errorCode: 0, errorMessage: null }]);
      assert.equal(f.controller.topic(name)!.partitions.length, 1, 'validate_only changes nothing');
      const res = await call(handler, v, { topics: [{ name, count: 3, assignments: null }], timeoutMs: 1000, validateOnly: false });
      assert.deepEqual(res.results, [{ name, errorCode: 0, errorMessage: null }]);
      assert.equal(f.controller.topic(name)!.partitions.length, 3);
      assert.ok(f.replicaManager.getPartition(name, 2)?.isLeader);
    }
    const placed = await call(handler, 3, {
      topics: [{ name: 'grow-v0', count: 5, assignments: [{ brokerIds: [1] }, { brokerIds: [1] }] }],
      timeoutMs: 1000,
      validateOnly: false,
    });
    assert.equal(placed.results[0]!.errorCode, ErrorCode.NONE);
    assert.equal(f.controller.topic('grow-v0')!.partitions.length, 5);
  });
});

test('CreatePartitions explains what is wrong', async () => {
  await withFixture(async (f) => {
    await call(createCreateTopicsHandler(f), 7, { topics: [topic('three', 3, 1)], timeoutMs: 1000, validateOnly: false });
    const handler = createCreatePartitionsHandler(f);
    const res = await call(handler, 2, {
      topics: [
        { name: 'ghost', count: 2, assignments: null },
        { name: 'three', count: 2, assignments: null },
        { name: 'dup', count: 2, assignments: null },
        { name: 'dup', count: 3, assignments: null },
      ],
      timeoutMs: 1000,
      validateOnly: false,
    });
    assert.deepEqual(
      res.results.map((r) => [r.name, r.errorCode]),
      [
        ['ghost', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
        ['three', ErrorCode.INVALID_PARTITIONS],
        ['dup', ErrorCode.INVALID_REQUEST],
      ],
    );
    assert.match(res.results[0]!.errorMessage!, /'ghost' does not exist/);
    assert.match(res.results[1]!.errorMessage!, /currently has 3 partitions/);
    const mismatch = await call(handler, 3, {
      topics: [{ name: 'three', count: 5, assignments: [{ brokerIds: [1] }] }],
      timeoutMs: 1000,
      validateOnly: false,
    });
    assert.equal(mismatch.results[0]!.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assert.match(mismatch.results[0]!.errorMessage!, /by 2 but 1 assignments/);
    const unknownBroker = await call(handler, 3, {
      topics: [{ name: 'three', count: 4, assignments: [{ brokerIds: [7] }] }],
      timeoutMs: 1000,
      validateOnly: false,
    });
    assert.equal(unknownBroker.results[0]!.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assert.equal(f.controller.topic('three')!.partitions.length, 3);
  });
});
