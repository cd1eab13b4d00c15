/**
 * A replica that missed its topic's deletion (its broker was down) keeps the
 * log on disk. When a topic of the same name is created later, the log's
 * stored topic id (partition.metadata) tells the two apart: the replica
 * manager deletes the stale log instead of serving its records under the
 * new topic. Real LogManager, ReplicaManager and EmbeddedController over a
 * temp directory; each "restart" reopens them from disk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Purgatory } from '../../src/broker/purgatory.js';
import { ReplicaManager } from '../../src/broker/replica-manager.js';
import { logConfigFor } from '../../src/broker/topic-log-config.js';
import { buildBrokerConfig, topicConfigError, type BrokerConfig } from '../../src/config/index.js';
import { EmbeddedController } from '../../src/controller/embedded-controller.js';
import type { PartitionState, TopicRecord } from '../../src/controller/types.js';
import { randomUuid } from '../../src/controller/uuid.js';
import { silentLogger } from '../../src/logging.js';
import { LogManager, type PartitionLog } from '../../src/storage/index.js';
import { readPartitionMetadata } from '../../src/storage/partition-metadata.js';
import { splitBatches } from '../../src/protocol/records/index.js';
import { makeBatch } from '../storage/make-batch.js';

const BROKER = 1;

/** One broker's storage and replica manager, opened over `logDir` as a start-up would. */
interface Node {
  config: BrokerConfig;
  logManager: LogManager;
  replicaManager: ReplicaManager;
  purgatory: Purgatory;
  close(): Promise<void>;
}

async function openNode(logDir: string): Promise<Node> {
  const config = buildBrokerConfig({ values: { 'log.dirs': logDir, 'broker.id': BROKER, listeners: 'PLAINTEXT://127.0.0.1:19092' } });
  const logManager = await LogManager.open(config.logDirs, logConfigFor(config), { timers: false, cleaner: false });
  const purgatory = new Purgatory();
  const replicaManager = new ReplicaManager({ brokerId: BROKER, config, logManager, purgatory, logger: silentLogger });
  return {
    config,
    logManager,
    replicaManager,
    purgatory,
    async close() {
      await replicaManager.shutdown();
      purgatory.close();
      await logManager.close();
    },
  };
}

async function withDir(fn: (logDir: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'ganglion-stale-replica-'));
  try {
    await fn(join(root, 'logs'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function leaderState(partition = 0, leaderEpoch = 0): PartitionState {
  return { partition, replicas: [BROKER], isr: [BROKER], leader: BROKER, leaderEpoch, partitionEpoch: 0 };
}

function topicRecord(name: string, topicId: string, partitions = 1): TopicRecord {
  return {
    name,
    topicId,
    internal: false,
    partitions: Array.from({ length: partitions }, (_, p) => leaderState(p)),
    configs: {},
  };
}

/** Appends `count` one-record batches whose values are `${tag}-<i>`. */
async function appendValues(log: PartitionLog, tag: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await log.append(makeBatch([{ value: `${tag}-${i}` }]));
}

/** Every record value in the log, oldest first. */
async function values(log: PartitionLog): Promise<string[]> {
  const out: string[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const batches = [...splitBatches((await log.read(offset, 1 << 20)).records)];
    assert.ok(batches.length > 0, `nothing read at ${offset} below the log end ${log.logEndOffset}`);
    for (const b of batches) for (const r of b.records()) out.push(String(r.value));
    offset = batches.at(-1)!.lastOffset + 1;
  }
  return out;
}

/** A log for t-0 stored under topic id `id` with three records, left on disk by a clean shutdown. */
async function leaveLogOnDisk(logDir: string, topic: TopicRecord): Promise<void> {
  const node = await openNode(logDir);
  await node.replicaManager.applyPartitionStates(topic, topic.partitions);
  const partition = node.replicaManager.getPartition(topic.name, 0)!;
  await appendValues(partition.log, 'old', 3);
  assert.equal(partition.log.topicId, topic.topicId);
  await node.close();
}

test('a log on disk from a deleted topic of the same name is deleted: the new topic starts empty, the old records are gone', () =>
  withDir(async (logDir) => {
    const idA = randomUuid();
    const idB = randomUuid();
    await leaveLogOnDisk(logDir, topicRecord('t', idA));

    const node = await openNode(logDir);
    try {
      const stale = node.logManager.getLog('t', 0)!;
      assert.equal(stale.topicId, idA);
      assert.equal(stale.logEndOffset, 3);
      await node.replicaManager.applyPartitionStates(topicRecord('t', idB), [leaderState()]);
      const partition = node.replicaManager.getPartition('t', 0)!;
      assert.notEqual(partition.log, stale);
      assert.equal(stale.isOpen, false);
      assert.equal(partition.log.topicId, idB);
      assert.equal(partition.log.logEndOffset, 0);
      assert.equal(partition.highWatermark, 0);
      assert.equal(await readPartitionMetadata(partition.log.dir), idB);
      assert.deepEqual(await values(partition.log), []);
      // The new topic's own records start at offset 0.
      await appendValues(partition.log, 'new', 2);
    } finally {
      await node.close();
    }

    // After another restart only the new topic's records exist, and no old log directory remains.
    const again = await openNode(logDir);
    try {
      await again.replicaManager.applyPartitionStates(topicRecord('t', idB), [leaderState()]);
      const log = again.replicaManager.getPartition('t', 0)!.log;
      assert.equal(log.topicId, idB);
      assert.deepEqual(await values(log), ['new-0', 'new-1']);
      const dirs = (await readdir(logDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
      assert.deepEqual(dirs, ['t-0']);
    } finally {
      await again.close();
    }
  }));

test('a log whose stored topic id matches keeps its records', () =>
  withDir(async (logDir) => {
    const idA = randomUuid();
    await leaveLogOnDisk(logDir, topicRecord('t', idA));
    const node = await openNode(logDir);
    try {
      const onDisk = node.logManager.getLog('t', 0)!;
      await node.replicaManager.applyPartitionStates(topicRecord('t', idA), [leaderState(0, 1)]);
      const partition = node.replicaManager.getPartition('t', 0)!;
      assert.equal(partition.log, onDisk);
      assert.deepEqual(await values(partition.log), ['old-0', 'old-1', 'old-2']);
    } finally {
      await node.close();
    }
  }));

test('a log written before topic ids were stored keeps its records and gets the topic id stored', () =>
  withDir(async (logDir) => {
    const first = await openNode(logDir);
    await appendValues(await first.logManager.createLog('t', 0), 'old', 2); // no topic id given: no partition.metadata
    await first.close();

    const idA = randomUuid();
    const node = await openNode(logDir);
    try {
      assert.equal(node.logManager.getLog('t', 0)!.topicId, null);
      await node.replicaManager.applyPartitionStates(topicRecord('t', idA), [leaderState()]);
      const log = node.replicaManager.getPartition('t', 0)!.log;
      assert.deepEqual(await values(log), ['old-0', 'old-1']);
      assert.equal(log.topicId, idA);
      assert.equal(await readPartitionMetadata(log.dir), idA);
    } finally {
      await node.close();
    }
  }));

test('a hosted partition told of a topic with another id drops its log and starts empty', () =>
  withDir(async (logDir) => {
    const node = await openNode(logDir);
    try {
      const idA = randomUuid();
      await node.replicaManager.applyPartitionStates(topicRecord('t', idA), [leaderState(0, 5)]);
      await appendValues(node.replicaManager.getPartition('t', 0)!.log, 'old', 3);
      const changes: boolean[] = [];
      node.replicaManager.onLeadershipChange((c) => changes.push(c.isLeader));
      // A lower leader epoch than the hosted partition's: a new topic's first state, not a stale one.
      await node.replicaManager.applyPartitionStates(topicRecord('t', randomUuid()), [leaderState(0, 0)]);
      const partition = node.replicaManager.getPartition('t', 0)!;
      assert.equal(partition.leaderEpoch, 0);
      assert.deepEqual(await values(partition.log), []);
      assert.deepEqual(changes, [false, true]); // the old partition's leadership ended, the new one's began
    } finally {
      await node.close();
    }
  }));

test('StopReplica with delete removes a log on disk that is not hosted (yet)', () =>
  withDir(async (logDir) => {
    const topic = topicRecord('t', randomUuid());
    await leaveLogOnDisk(logDir, topic);
    const node = await openNode(logDir);
    try {
      assert.ok(node.logManager.getLog('t', 0));
      assert.equal(node.replicaManager.getPartition('t', 0), undefined);
      await node.replicaManager.stopReplicas(topic, [0], false);
      assert.ok(node.logManager.getLog('t', 0), 'without delete the log stays');
      await node.replicaManager.stopReplicas(topic, [0], true);
      assert.equal(node.logManager.getLog('t', 0), undefined);
    } finally {
      await node.close();
    }
    const again = await openNode(logDir);
    try {
      assert.equal(again.logManager.getLog('t', 0), undefined);
    } finally {
      await again.close();
    }
  }));

test('single node (EmbeddedController): logs keep their records across restarts; a topic deleted and recreated starts empty', () =>
  withDir(async (logDir) => {
    const start = async () => {
      const node = await openNode(logDir);
      const controller = await EmbeddedController.open({
        broker: { brokerId: BROKER, rack: null, endpoints: [{ listenerName: 'PLAINTEXT', host: '127.0.0.1', port: 19092, securityProtocol: 'PLAINTEXT' }] },
        metadataDir: node.config.logDirs[0]!,
        numPartitions: 1,
        defaultReplicationFactor: 1,
        deleteTopicEnable: true,
        validateTopicConfigs: (configs) => topicConfigError(configs, node.config),
        delegate: node.replicaManager,
      });
      return {
        node,
        controller,
        async close() {
          await controller.close();
          await node.close();
        },
      };
    };
    const spec = { name: 't', numPartitions: 2, replicationFactor: 1, configs: {} };

    const first = await start();
    const created = await first.controller.createTopic(spec, false);
    await appendValues(first.node.replicaManager.getPartition('t', 0)!.log, 'one', 2);
    await first.close();

    const second = await start();
    const log = second.node.replicaManager.getPartition('t', 0)!.log;
    assert.equal(log.topicId, created.topicId);
    assert.deepEqual(await values(log), ['one-0', 'one-1']);
    await second.controller.deleteTopic('t');
    const recreated = await second.controller.createTopic(spec, false);
    assert.notEqual(recreated.topicId, created.topicId);
    assert.deepEqual(await values(second.node.replicaManager.getPartition('t', 0)!.log), []);
    await second.close();
  }));
