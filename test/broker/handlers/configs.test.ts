import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConfigOperation,
  ConfigResourceType,
  createAlterConfigsHandler,
  createDescribeConfigsHandler,
  createIncrementalAlterConfigsHandler,
} from '../../../src/broker/handlers/configs.js';
import { ConfigSource, ConfigType } from '../../../src/config/index.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { call, versionsOf, withFixture, type AdminFixture } from './admin-fixture.js';

const TOPIC = ConfigResourceType.TOPIC;
const BROKER = ConfigResourceType.BROKER;

async function createTopic(f: AdminFixture, name: string, configs: Record<string, string> = {}) {
  await f.controller.createTopic({ name, numPartitions: 1, replicationFactor: 1, configs }, false);
}

test('DescribeConfigs describes a topic at every version, shaped per version', async () => {
  await withFixture(
    async (f) => {
      await createTopic(f, 'orders', { 'retention.ms': '1000' });
      const handler = createDescribeConfigsHandler(f);
      assert.deepEqual([handler.minVersion, handler.maxVersion], [0, 4]);
      for (const v of versionsOf(handler)) {
        const res = await call(handler, v, {
          resources: [{ resourceType: TOPIC, resourceName: 'orders', configurationKeys: ['retention.ms', 'segment.bytes', 'no.such.key'] }],
          includeSynonyms: v >= 1,
          includeDocumentation: v >= 3,
        });
        const result = res.results[0]!;
        assert.deepEqual([result.errorCode, result.errorMessage, result.resourceName], [0, null, 'orders']);
        assert.deepEqual(
          result.configs.map((c) => c.name),
          ['retention.ms', 'segment.bytes'],
          'only the requested, known keys',
        );
        const [retention, segment] = result.configs;
        assert.equal(retention!.value, '1000');
        assert.equal(segment!.value, '1048576');
        if (v === 0) {
          assert.deepEqual([retention!.isDefault, segment!.isDefault], [false, false]);
        } else {
          assert.equal(retention!.configSource, ConfigSource.DYNAMIC_TOPIC_CONFIG);
          assert.equal(segment!.configSource, ConfigSource.STATIC_BROKER_CONFIG);
          assert.deepEqual(retention!.synonyms![0], { name: 'retention.ms', value: '1000', source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
          assert.ok(retention!.synonyms!.some((s) => s.name === 'log.retention.hours' && s.source === ConfigSource.DEFAULT_CONFIG));
          assert.deepEqual(segment!.synonyms![0], { name: 'log.segment.bytes', value: '1048576', source: ConfigSource.STATIC_BROKER_CONFIG });
        }
        if (v >= 3) {
          assert.equal(retention!.configType, ConfigType.LONG);
          assert.ok(retention!.documentation && retention!.documentation.length > 10);
        }
      }
    },
    { 'log.segment.bytes': 1048576 },
  );
});

test('DescribeConfigs leaves out synonyms and documentation unless asked, and lists all keys for null or empty', async () => {
  await withFixture(async (f) => {
    await createTopic(f, 'plain');
    const handler = createDescribeConfigsHandler(f);
    const res = await call(handler, 4, {
      resources: [
        { resourceType: TOPIC, resourceName: 'plain', configurationKeys: null },
        { resourceType: TOPIC, resourceName: 'plain', configurationKeys: [] },
      ],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    for (const result of res.results) {
      assert.ok(result.configs.length > 20, 'every topic setting');
      const policy = result.configs.find((c) => c.name === 'cleanup.policy')!;
      assert.deepEqual(
        [policy.value, policy.configSource, policy.synonyms, policy.documentation, policy.configType, policy.readOnly],
        ['delete', ConfigSource.DEFAULT_CONFIG, [], null, ConfigType.LIST, false],
      );
    }
  });
});

test('DescribeConfigs describes this broker and the cluster defaults, and refuses other broker ids', async () => {
  await withFixture(
    async (f) => {
      const handler = createDescribeConfigsHandler(f);
      for (const v of versionsOf(handler)) {
        const res = await call(handler, v, {
          resources: [
            { resourceType: BROKER, resourceName: '1', configurationKeys: ['num.partitions', 'broker.id', 'log.retention.hours'] },
            { resourceType: BROKER, resourceName: '', configurationKeys: null },
            { resourceType: BROKER, resourceName: '2', configurationKeys: null },
            { resourceType: BROKER, resourceName: 'one', configurationKeys: null },
            { resourceType: ConfigResourceType.BROKER_LOGGER, resourceName: '1', configurationKeys: null },
            { resourceType: 99, resourceName: 'x', configurationKeys: null },
          ],
          includeSynonyms: v >= 1,
          includeDocumentation: v >= 3,
        });
        const [self, defaults, other, notNumber, logger, unknown] = res.results;
        assert.equal(self!.errorCode, ErrorCode.NONE);
        const byName = new Map(self!.configs.map((c) => [c.name, c]));
        assert.equal(byName.get('num.partitions')!.value, '4');
        assert.equal(byName.get('broker.id')!.readOnly, true);
        assert.equal(byName.get('log.retention.hours')!.value, '168');
        if (v >= 1) {
          assert.equal(byName.get('num.partitions')!.configSource, ConfigSource.STATIC_BROKER_CONFIG);
          assert.equal(byName.get('log.retention.hours')!.configSource, ConfigSource.DEFAULT_CONFIG);
        } else {
          assert.equal(byName.get('num.partitions')!.isDefault, false);
          assert.equal(byName.get('log.retention.hours')!.isDefault, true);
        }
        assert.deepEqual([defaults!.errorCode, defaults!.configs], [ErrorCode.NONE, []], 'no dynamic defaults are set');
        assert.equal(other!.errorCode, ErrorCode.INVALID_REQUEST);
        assert.match(other!.errorMessage!, /expected 1 or empty string, but received 2/);
        assert.equal(notNumber!.errorCode, ErrorCode.INVALID_REQUEST);
        assert.match(notNumber!.errorMessage!, /must be an integer/);
        assert.equal(logger!.errorCode, ErrorCode.INVALID_REQUEST);
        assert.match(logger!.errorMessage!, /BROKER_LOGGER/);
        assert.deepEqual([unknown!.errorCode, unknown!.resourceType, unknown!.configs], [ErrorCode.INVALID_REQUEST, 99, []]);
      }
    },
    { 'num.partitions': 4 },
  );
});

test('DescribeConfigs answers unknown and invalid topics per resource', async () => {
  await withFixture(async (f) => {
    const handler = createDescribeConfigsHandler(f);
    const res = await call(handler, 2, {
      resources: [
        { resourceType: TOPIC, resourceName: 'ghost', configurationKeys: null },
        { resourceType: TOPIC, resourceName: 'bad/name', configurationKeys: null },
      ],
      includeSynonyms: false,
    });
    assert.deepEqual(
      res.results.map((r) => [r.resourceName, r.errorCode, r.configs.length]),
      [
        ['ghost', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 0],
        ['bad/name', ErrorCode.INVALID_TOPIC_EXCEPTION, 0],
      ],
    );
    assert.match(res.results[0]!.errorMessage!, /The topic 'ghost' does not exist/);
  });
});

test('AlterConfigs replaces a topic\'s overrides at every version, honouring validate_only', async () => {
  await withFixture(async (f) => {
    await createTopic(f, 'orders', { 'retention.ms': '1000', 'segment.ms': '60000' });
    const handler = createAlterConfigsHandler(f);
    assert.deepEqual([handler.minVersion, handler.maxVersion], [0, 2]);
    for (const v of versionsOf(handler)) {
      const dry = await call(handler, v, {
        resources: [{ resourceType: TOPIC, resourceName: 'orders', configs: [{ name: 'cleanup.policy', value: 'compact' }] }],
        validateOnly: true,
      });
      assert.deepEqual(dry.responses, [{ errorCode: 0, errorMessage: null, resourceType: TOPIC, resourceName: 'orders' }]);
      assert.deepEqual(f.controller.topic('orders')!.configs, { 'retention.ms': '1000', 'segment.ms': '60000' });
    }
    const res = await call(handler, 2, {
      resources: [
        {
          resourceType: TOPIC,
          resourceName: 'orders',
          configs: [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'retention.ms', value: null },
          ],
        },
      ],
      validateOnly: false,
    });
    assert.equal(res.responses[0]!.errorCode, ErrorCode.NONE);
    assert.deepEqual(f.controller.topic('orders')!.configs, { 'cleanup.policy': 'compact' }, 'the set is replaced, nulls dropped');
    assert.deepEqual(f.replicaManager.getPartition('orders', 0)!.log.config.cleanupPolicy, ['compact'], 'the log follows');
  });
});

test('AlterConfigs reports bad configs, unknown topics and unsupported resources', async () => {
  await withFixture(async (f) => {
    await createTopic(f, 'orders');
    const handler = createAlterConfigsHandler(f);
    const res = await call(handler, 1, {
      resources: [
        {
          resourceType: TOPIC,
          resourceName: 'orders',
          configs: [
            { name: 'retention.ms', value: 'forever' },
            { name: 'no.such.key', value: '1' },
          ],
        },
        { resourceType: TOPIC, resourceName: 'ghost', configs: [] },
        { resourceType: BROKER, resourceName: '1', configs: [{ name: 'num.partitions', value: '3' }] },
        { resourceType: BROKER, resourceName: '', configs: [{ name: 'num.partitions', value: '3' }] },
        { resourceType: ConfigResourceType.BROKER_LOGGER, resourceName: '1', configs: [] },
      ],
      validateOnly: false,
    });
    const [bad, ghost, broker, clusterDefault, logger] = res.responses;
    assert.equal(bad!.errorCode, ErrorCode.INVALID_CONFIG);
    assert.match(bad!.errorMessage!, /retention\.ms/);
    assert.match(bad!.errorMessage!, /no\.such\.key/, 'every problem is listed');
    assert.equal(ghost!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(broker!.errorCode, ErrorCode.INVALID_REQUEST);
    assert.match(broker!.errorMessage!, /Dynamic broker configs are not supported yet/);
    assert.equal(clusterDefault!.errorCode, ErrorCode.INVALID_REQUEST);
    assert.match(clusterDefault!.errorMessage!, /cluster-wide broker defaults/);
    assert.equal(logger!.errorCode, ErrorCode.INVALID_REQUEST);
    assert.deepEqual(f.controller.topic('orders')!.configs, {});

    const dupes = await call(handler, 0, {
      resources: [
        { resourceType: TOPIC, resourceName: 'orders', configs: [{ name: 'retention.ms', value: '1' }, { name: 'retention.ms', value: '2' }] },
      ],
      validateOnly: false,
    });
    assert.equal(dupes.responses[0]!.errorCode, ErrorCode.INVALID_REQUEST);
    assert.match(dupes.responses[0]!.errorMessage!, /duplicate config keys: retention\.ms/);
  });
});

test('IncrementalAlterConfigs applies SET, DELETE, APPEND and SUBTRACT at every version', async () => {
  await withFixture(async (f) => {
    await createTopic(f, 'events', { 'retention.ms': '1000', 'segment.ms': '60000' });
    const handler = createIncrementalAlterConfigsHandler(f);
    assert.deepEqual([handler.minVersion, handler.maxVersion], [0, 1]);
    const alter = async (v: number, configs: { name: string; configOperation: number; value: string | null }[], validateOnly = false) =>
      (await call(handler, v, { resources: [{ resourceType: TOPIC, resourceName: 'events', configs }], validateOnly })).responses[0]!;

    for (const v of versionsOf(handler)) {
      const dry = await alter(v, [{ name: 'retention.ms', configOperation: ConfigOperation.SET, value: '5' }], true);
      assert.equal(dry.errorCode, ErrorCode.NONE);
      assert.equal(f.controller.topic('events')!.configs['retention.ms'], '1000', 'validate_only changes nothing');
    }

    let r = await alter(1, [
      { name: 'retention.ms', configOperation: ConfigOperation.SET, value: '2000' },
      { name: 'segment.ms', configOperation: ConfigOperation.DELETE, value: null },
      { name: 'cleanup.policy', configOperation: ConfigOperation.APPEND, value: 'compact' },
    ]);
    assert.equal(r.errorCode, ErrorCode.NONE, r.errorMessage ?? '');
    assert.deepEqual(f.controller.topic('events')!.configs, { 'retention.ms': '2000', 'cleanup.policy': 'delete,compact' });
    assert.deepEqual(f.replicaManager.getPartition('events', 0)!.log.config.cleanupPolicy, ['delete', 'compact']);

    r = await alter(0, [{ name: 'cleanup.policy', configOperation: ConfigOperation.APPEND, value: 'compact,delete' }]);
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.equal(f.controller.topic('events')!.configs['cleanup.policy'], 'delete,compact', 'appending present values is a no-op');

    r = await alter(0, [{ name: 'cleanup.policy', configOperation: ConfigOperation.SUBTRACT, value: 'delete' }]);
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.equal(f.controller.topic('events')!.configs['cleanup.policy'], 'compact');
  });
});

test('IncrementalAlterConfigs explains refused operations', async () => {
  await withFixture(async (f) => {
    await createTopic(f, 'events');
    const handler = createIncrementalAlterConfigsHandler(f);
    const alter = async (configs: { name: string; configOperation: number; value: string | null }[], resourceType: number = TOPIC, resourceName = 'events') =>
      (await call(handler, 1, { resources: [{ resourceType, resourceName, configs }], validateOnly: false })).responses[0]!;
    const cases: [Awaited<ReturnType<typeof alter>>, number, RegExp][] = [
      [await alter([{ name: 'retention.ms', configOperation: ConfigOperation.APPEND, value: '5' }]), ErrorCode.INVALID_CONFIG, /append is not allowed for config key: retention\.ms/],
      [await alter([{ name: 'retention.ms', configOperation: ConfigOperation.SET, value: 'x' }]), ErrorCode.INVALID_CONFIG, /retention\.ms/],
      [await alter([{ name: 'bogus', configOperation: ConfigOperation.SET, value: '1' }]), ErrorCode.INVALID_CONFIG, /Unknown topic configuration 'bogus'/],
      [await alter([{ name: 'retention.ms', configOperation: ConfigOperation.SET, value: null }]), ErrorCode.INVALID_REQUEST, /Null value not supported/],
      [await alter([{ name: 'retention.ms', configOperation: 9, value: '1' }]), ErrorCode.INVALID_REQUEST, /Unknown config operation 9/],
      [
        await alter([
          { name: 'retention.ms', configOperation: ConfigOperation.SET, value: '1' },
          { name: 'retention.ms', configOperation: ConfigOperation.DELETE, value: null },
        ]),
        ErrorCode.INVALID_REQUEST,
        /duplicate config keys/,
      ],
      [await alter([{ name: 'cleanup.policy', configOperation: ConfigOperation.APPEND, value: 'shred' }]), ErrorCode.INVALID_CONFIG, /cleanup\.policy/],
      [await alter([], TOPIC, 'ghost'), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, /'ghost' does not exist/],
      [await alter([{ name: 'log.retention.ms', configOperation: ConfigOperation.SET, value: '1' }], BROKER, '1'), ErrorCode.INVALID_REQUEST, /Dynamic broker configs are not supported yet/],
    ];
    for (const [response, code, message] of cases) {
      assert.equal(response.errorCode, code, response.errorMessage ?? '');
      assert.match(response.errorMessage ?? '', message);
    }
    assert.deepEqual(f.controller.topic('events')!.configs, {});

    const twice = await call(handler, 0, {
      resources: [
        { resourceType: TOPIC, resourceName: 'events', configs: [] },
        { resourceType: TOPIC, resourceName: 'events', configs: [] },
      ],
      validateOnly: false,
    });
    assert.deepEqual(twice.responses.map((r) => r.errorCode), [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST]);
  });
});
