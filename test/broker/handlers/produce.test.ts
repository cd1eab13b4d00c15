/**
 * Produce refusals that need no real client to show: old versions are listed
 * (so librdkafka compresses, KAFKA-18659) but answered UNSUPPORTED_VERSION,
 * and keyless records are refused on compacted topics, as in Kafka.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ApiKey } from '../../../src/protocol/messages/api-table.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { buildBatch } from '../../../src/protocol/records/index.js';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';
import { RawConnection } from '../../interop/raw-client.js';

let b: TestBroker;
let conn: RawConnection;

before(async () => {
  b = await startTestBroker();
  conn = await RawConnection.connect(b.port);
});

after(async () => {
  conn.close();
  await b.close();
});

function produce(topic: string, records: Buffer, version: number) {
  return conn.request(ApiKey.Produce, version, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  });
}

test('ApiVersions lists Produce from v0, like Kafka 4.0', async () => {
  const versions = await conn.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
  const entry = versions.apiKeys.find((k) => k.apiKey === ApiKey.Produce);
  assert.deepEqual([entry?.minVersion, entry?.maxVersion], [0, 11]);
});

test('Produce v0-2 is answered UNSUPPORTED_VERSION and appends nothing', async () => {
  await conn.request(ApiKey.Metadata, 9, { topics: [{ name: 'old-produce' }], allowAutoTopicCreation: true });
  for (const version of [0, 1, 2]) {
    const response = await produce('old-produce', buildBatch([{ value: 'x' }]), version);
    const partition = response.responses[0]!.partitionResponses[0]!;
    assert.equal(partition.errorCode, ErrorCode.UNSUPPORTED_VERSION, `v${version}`);
  }
  const ok = await produce('old-produce', buildBatch([{ value: 'y' }]), 3);
  assert.equal(ok.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
  assert.equal(ok.responses[0]!.partitionResponses[0]!.baseOffset, 0n);
});

test('a compacted topic refuses records without a key', async () => {
  const created = await conn.request(ApiKey.CreateTopics, 5, {
    topics: [{ name: 'compacted', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'cleanup.policy', value: 'compact' }] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  assert.equal(created.topics[0]!.errorCode, ErrorCode.NONE);
  const keyless = await produce('compacted', buildBatch([{ key: 'a', value: '1' }, { key: null, value: '2' }]), 9);
  assert.equal(keyless.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.INVALID_RECORD);
  const keyed = await produce('compacted', buildBatch([{ key: 'a', value: '1' }]), 9);
  assert.equal(keyed.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
});
