/**
 * The admin APIs over the wire with kafkajs' admin client against a real
 * broker from startBroker: create (and refuse to re-create) topics with
 * configs, describe and alter their configs, add partitions, delete records
 * and delete the topics.
 *
 * Skipped, with the reason, while src/broker/handlers/index.ts does not
 * register the admin handlers yet.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { startBroker } from '../../../src/broker/broker.js';
import { HandlerRegistry } from '../../../src/broker/handler-registry.js';
import { registerHandlers } from '../../../src/broker/handlers/index.js';
import { ApiKey } from '../../../src/protocol/messages/api-table.js';
import { openAdminFixture } from './admin-fixture.js';

const { Kafka, ConfigResourceTypes, logLevel } = kafkajs;

const ADMIN_APIS = [ApiKey.CreateTopics, ApiKey.DeleteTopics, ApiKey.CreatePartitions, ApiKey.DescribeConfigs, ApiKey.AlterConfigs, ApiKey.DeleteRecords];

/** Whether the broker's handler set includes the admin APIs this test drives. */
async function adminApisRegistered(): Promise<boolean> {
  const fixture = await openAdminFixture();
  try {
    const registry = new HandlerRegistry();
    registerHandlers(registry, fixture);
    return ADMIN_APIS.every((key) => registry.get(key) !== undefined);
  } finally {
    await fixture.close();
  }
}

const skip = (await adminApisRegistered()) ? false : 'the admin handlers are not registered in src/broker/handlers/index.ts yet';

test('kafkajs admin creates, describes, alters, grows, trims and deletes topics', { skip, timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ganglion-kafkajs-admin-'));
  const broker = await startBroker({ port: 0, host: '127.0.0.1', logDir: join(dir, 'data'), logLevel: 'silent', shutdownGraceMs: 1000 });
  const kafka = new Kafka({ clientId: 'admin-kafkajs-test', brokers: [broker.bootstrapServers], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  const admin = kafka.admin();
  const producer = kafka.producer();
  try {
    await admin.connect();
    const topic = 'kjs-orders';

    assert.equal(
      await admin.createTopics({
        topics: [{ topic, numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '60000' }] }],
        waitForLeaders: true,
      }),
      true,
    );
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] }), false, 'an existing topic is not re-created');
    await assert.rejects(
      admin.createTopics({ topics: [{ topic: 'kjs-bad', configEntries: [{ name: 'retention.ms', value: 'soon' }] }] }),
      (err: Error & { errors?: { type?: string }[] }) => JSON.stringify(err.errors ?? err).includes('INVALID_CONFIG') || /INVALID_CONFIG|not valid/i.test(err.message),
    );
    assert.ok((await admin.listTopics()).includes(topic));

    const describe = async (configNames: string[]) => {
      const { resources } = await admin.describeConfigs({
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames }],
        includeSynonyms: false,
      });
      assert.equal(resources[0]!.errorCode, 0);
      return new Map(resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
    };
    let configs = await describe(['retention.ms', 'cleanup.policy']);
    assert.deepEqual([configs.get('retention.ms'), configs.get('cleanup.policy')], ['60000', 'delete']);

    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'cleanup.policy', value: 'compact,delete' }] }],
    });
    configs = await describe(['retention.ms', 'cleanup.policy']);
    assert.deepEqual([configs.get('retention.ms'), configs.get('cleanup.policy')], ['604800000', 'compact,delete'], 'AlterConfigs replaces the overrides');

    const brokerConfigs = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.BROKER, name: String(broker.brokerId), configNames: ['num.partitions'] }],
      includeSynonyms: false,
    });
    assert.equal(brokerConfigs.resources[0]!.configEntries[0]!.configValue, '1');

    await admin.createPartitions({ topicPartitions: [{ topic, count: 5 }] });
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    assert.equal(metadata!.partitions.length, 5);

    await producer.connect();
    await producer.send({ topic, messages: [0, 1, 2, 3, 4].map((i) => ({ key: `k${i}`, value: `v${i}`, partition: 0 })) });
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '3' }] });
    const offsets = await admin.fetchTopicOffsets(topic);
    const p0 = offsets.find((o) => o.partition === 0)!;
    assert.deepEqual([p0.low, p0.high], ['3', '5']);

    await admin.deleteTopics({ topics: [topic] });
    assert.ok(!(await admin.listTopics()).includes(topic));
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  }
});
