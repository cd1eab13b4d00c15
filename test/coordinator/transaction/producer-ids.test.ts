import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { EmbeddedController, PRODUCER_ID_BLOCK_SIZE } from '../../../src/controller/embedded-controller.js';
import { METADATA_FILE_NAME } from '../../../src/controller/metadata-file.js';
import type { ProducerIdBlock, ReplicaDelegate } from '../../../src/controller/types.js';
import { ProducerIdManager } from '../../../src/coordinator/transaction/producer-id-manager.js';
import { makeTempDir, removeDir } from '../../helpers/broker.js';

const delegate: ReplicaDelegate = {
  async applyPartitionStates() {},
  async stopReplicas() {},
  topicConfigChanged() {},
};

function openController(dir: string) {
  return EmbeddedController.open({
    broker: { brokerId: 3, rack: null, endpoints: [] },
    metadataDir: dir,
    numPartitions: 1,
    defaultReplicationFactor: 1,
    deleteTopicEnable: true,
    validateTopicConfigs: () => null,
    delegate,
  });
}

test('the controller hands out disjoint producer-id blocks and persists their end, so a restart never repeats an id', async () => {
  const dir = await makeTempDir('ganglion-pid-');
  try {
    let controller = await openController(dir);
    const a = await controller.allocateProducerIds(3);
    const b = await controller.allocateProducerIds(3);
    assert.deepEqual(a, { brokerId: 3, firstProducerId: 0, size: PRODUCER_ID_BLOCK_SIZE });
    assert.equal(b.firstProducerId, PRODUCER_ID_BLOCK_SIZE);
    const doc = JSON.parse(await readFile(join(dir, METADATA_FILE_NAME), 'utf8'));
    assert.equal(doc.nextProducerId, 2 * PRODUCER_ID_BLOCK_SIZE, 'persisted before the block was returned');
    // No clean close: the persisted allocation alone protects the ids.
    controller = await openController(dir);
    const c = await controller.allocateProducerIds(3);
    assert.equal(c.firstProducerId, 2 * PRODUCER_ID_BLOCK_SIZE);
    await controller.close();
  } finally {
    await removeDir(dir);
  }
});

test('ProducerIdManager generates unique ids across blocks, concurrently, fetching the next block ahead', async () => {
  const handed: ProducerIdBlock[] = [];
  let next = 5000;
  const manager = new ProducerIdManager(1, async (brokerId) => {
    await new Promise((r) => setTimeout(r, 1));
    const block = { brokerId, firstProducerId: next, size: 10 };
    next += 10;
    handed.push(block);
    return block;
  });
  const ids = await Promise.all(Array.from({ length: 95 }, () => manager.generate()));
  assert.equal(new Set(ids).size, 95);
  for (const id of ids) assert.ok(handed.some((b) => id >= b.firstProducerId && id < b.firstProducerId + b.size), `id ${id} is in a handed block`);
  const sequential: number[] = [];
  for (let i = 0; i < 30; i++) sequential.push(await manager.generate());
  assert.deepEqual([...sequential].sort((x, y) => x - y), sequential, 'increasing');
  assert.ok(handed.length <= 14, `at most one spare block fetched: ${handed.length}`);
});

test('a failed block allocation is reported and retried on the next call', async () => {
  let fail = true;
  const manager = new ProducerIdManager(1, async (brokerId) => {
    if (fail) throw new Error('controller unavailable');
    return { brokerId, firstProducerId: 0, size: 100 };
  });
  await assert.rejects(manager.generate(), /controller unavailable/);
  fail = false;
  assert.equal(await manager.generate(), 0);
  assert.equal(await manager.generate(), 1);
});
