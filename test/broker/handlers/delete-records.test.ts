import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDeleteRecordsHandler } from '../../../src/broker/handlers/delete-records.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { buildBatch } from '../../../src/protocol/records/index.js';
import { call, versionsOf, withFixture, type AdminFixture } from './admin-fixture.js';

async function topicWithRecords(f: AdminFixture, name: string, records: number, configs: Record<string, string> = {}) {
  await f.controller.createTopic({ name, numPartitions: 2, replicationFactor: 1, configs }, false);
  const partition = f.replicaManager.leaderPartition(name, 0);
  for (let i = 0; i < records; i++) await partition.appendAsLeader(buildBatch([{ key: `k${i}`, value: `v${i}` }]));
  assert.equal(partition.highWatermark, records);
}

test('DeleteRecords moves the log start offset at every version and answers the low watermark', async () => {
  await withFixture(async (f) => {
    const handler = createDeleteRecordsHandler(f);
    assert.deepEqual([handler.minVersion, handler.maxVersion], [0, 2]);
    for (const v of versionsOf(handler)) {
      const name = `events-v${v}`;
      await topicWithRecords(f, name, 10);
      const res = await call(handler, v, {
        topics: [
          {
            name,
            partitions: [
              { partitionIndex: 0, offset: 4n },
              { partitionIndex: 1, offset: 0n },
            ],
          },
        ],
        timeoutMs: 1000,
      });
      assert.deepEqual(res.topics, [
        {
          name,
          partitions: [
            { partitionIndex: 0, lowWatermark: 4n, errorCode: ErrorCode.NONE },
            { partitionIndex: 1, lowWatermark: 0n, errorCode: ErrorCode.NONE },
          ],
        },
      ]);
      assert.equal(f.replicaManager.getPartition(name, 0)!.log.logStartOffset, 4);

      const behind = await call(handler, v, { topics: [{ name, partitions: [{ partitionIndex: 0, offset: 2n }] }], timeoutMs: 1000 });
      assert.equal(behind.topics[0]!.partitions[0]!.lowWatermark, 4n, 'an offset below the start changes nothing');

      const all = await call(handler, v, { topics: [{ name, partitions: [{ partitionIndex: 0, offset: -1n }] }], timeoutMs: 1000 });
      assert.deepEqual(all.topics[0]!.partitions[0], { partitionIndex: 0, lowWatermark: 10n, errorCode: ErrorCode.NONE }, '-1 means the high watermark');
    }
  });
});

test('DeleteRecords answers each partition\'s error', async () => {
  await withFixture(async (f) => {
    await topicWithRecords(f, 'events', 5);
    await topicWithRecords(f, 'compacted', 3, { 'cleanup.policy': 'compact' });
    const handler = createDeleteRecordsHandler(f);
    const res = await call(handler, 1, {
      topics: [
        {
          name: 'events',
          partitions: [
            { partitionIndex: 0, offset: 6n },
            { partitionIndex: 0, offset: -2n },
            { partitionIndex: 7, offset: 0n },
          ],
        },
        { name: 'ghost', partitions: [{ partitionIndex: 0, offset: 1n }] },
        { name: 'compacted', partitions: [{ partitionIndex: 0, offset: 1n }] },
        { name: '__consumer_offsets', partitions: [{ partitionIndex: 0, offset: 1n }] },
      ],
      timeoutMs: 1000,
    });
    assert.deepEqual(
      res.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.lowWatermark, p.errorCode])]),
      [
        [
          'events',
          [
            [0, -1n, ErrorCode.OFFSET_OUT_OF_RANGE],
            [0, -1n, ErrorCode.OFFSET_OUT_OF_RANGE],
            [7, -1n, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
          ],
        ],
        ['ghost', [[0, -1n, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
        ['compacted', [[0, -1n, ErrorCode.POLICY_VIOLATION]]],
        ['__consumer_offsets', [[0, -1n, ErrorCode.INVALID_TOPIC_EXCEPTION]]],
      ],
    );
    assert.equal(f.replicaManager.getPartition('events', 0)!.log.logStartOffset, 0);
  });
});
