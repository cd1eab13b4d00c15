/**
 * The active controller against a real ZooKeeper, with "brokers" that are
 * registrations plus tiny servers recording what the controller sends
 * (LeaderAndIsr, UpdateMetadata, StopReplica) over the wire. Checks the
 * state it writes in Kafka's znodes and the requests brokers receive.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { HandlerRegistry, defineHandler } from '../../src/broker/handler-registry.js';
import { createRequestDispatcher } from '../../src/broker/request-dispatcher.js';
import { loadBrokerConfig } from '../../src/config/index.js';
import { KafkaController } from '../../src/controller/zk/kafka-controller.js';
import { silentLogger } from '../../src/logging.js';
import { SocketServer } from '../../src/network/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey, type ApiRequest } from '../../src/protocol/messages/api-table.js';
import { KafkaZkClient } from '../../src/zookeeper/index.js';
import { waitFor } from '../helpers/broker.js';
import { skipUnlessZooKeeper, startZooKeeper, type TestZooKeeper } from '../helpers/zookeeper.js';

const skip = skipUnlessZooKeeper();

interface FakeBroker {
  id: number;
  zk: KafkaZkClient;
  server: SocketServer;
  leaderAndIsr: ApiRequest<typeof ApiKey.LeaderAndIsr>[];
  updateMetadata: ApiRequest<typeof ApiKey.UpdateMetadata>[];
  stopReplica: ApiRequest<typeof ApiKey.StopReplica>[];
}

let zkServer: TestZooKeeper;
const chroots = { n: 0 };

before(async () => {
  if (!skip) zkServer = await startZooKeeper();
});
after(async () => {
  await zkServer?.close();
});

async function zkClient(chroot: string): Promise<KafkaZkClient> {
  const client = await KafkaZkClient.connect({
    connect: zkServer.zkConnect(chroot),
    sessionTimeoutMs: 4000,
    connectionTimeoutMs: 5000,
    logger: silentLogger,
  });
  await client.ensurePersistentPaths();
  return client;
}

async function fakeBroker(id: number, chroot: string): Promise<FakeBroker> {
  const registry = new HandlerRegistry();
  const broker = { id } as FakeBroker;
  broker.leaderAndIsr = [];
  broker.updateMetadata = [];
  broker.stopReplica = [];
  registry.register(
    defineHandler({
      apiKey: ApiKey.ApiVersions,
      minVersion: 0,
      maxVersion: 3,
      handle: () => ({ errorCode: 0, apiKeys: registry.supportedVersions(), throttleTimeMs: 0 }),
    }),
    defineHandler({
      apiKey: ApiKey.LeaderAndIsr,
      minVersion: 0,
      maxVersion: 7,
      handle: (request) => {
        broker.leaderAndIsr.push(request);
        return { errorCode: 0, topics: [] };
      },
    }),
    defineHandler({
      apiKey: ApiKey.UpdateMetadata,
      minVersion: 0,
      maxVersion: 8,
      handle: (request) => {
        broker.updateMetadata.push(request);
        return { errorCode: 0 };
      },
    }),
    defineHandler({
      apiKey: ApiKey.StopReplica,
      minVersion: 0,
      maxVersion: 4,
      handle: (request) => {
        broker.stopReplica.push(request);
        return { errorCode: 0, partitionErrors: [] };
      },
    }),
  );
  broker.server = new SocketServer({
    listeners: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 0 }],
    handler: createRequestDispatcher({ registry, logger: silentLogger }),
    maxRequestBytes: 1 << 24,
  });
  const [bound] = await broker.server.start();
  broker.zk = await zkClient(chroot);
  await broker.zk.registerBroker({
    brokerId: id,
    rack: null,
    endpoints: [{ listenerName: 'PLAINTEXT', host: '127.0.0.1', port: bound!.port, securityProtocol: 'PLAINTEXT' }],
  });
  return broker;
}

async function controllerFor(brokerId: number, zk: KafkaZkClient, settings: Record<string, string> = {}): Promise<KafkaController> {
  const config = await loadBrokerConfig({ values: { 'broker.id': brokerId, 'auto.leader.rebalance.enable': 'false', ...settings } });
  const controller = new KafkaController({ brokerId, zk, config, logger: silentLogger });
  await controller.startup();
  return controller;
}

/** A cluster of three fake brokers, broker 1's controller started first. */
async function cluster(settings: Record<string, string> = {}) {
  const chroot = `/controller-test-${++chroots.n}`;
  const brokers = [await fakeBroker(1, chroot), await fakeBroker(2, chroot), await fakeBroker(3, chroot)];
  const controllers = [await controllerFor(1, brokers[0]!.zk, settings), await controllerFor(2, brokers[1]!.zk, settings)];
  const admin = await zkClient(chroot);
  return {
    brokers,
    controllers,
    admin,
    chroot,
    async close() {
      for (const c of controllers) await c.shutdown();
      for (const b of brokers) {
        await b.zk.close().catch(() => undefined);
        await b.server.stop({ graceMs: 0 });
      }
      await admin.close();
    },
  };
}

function lastState(broker: FakeBroker, topic: string, partition: number) {
  for (let i = broker.leaderAndIsr.length - 1; i >= 0; i--) {
    const t = broker.leaderAndIsr[i]!.topicStates?.find((s) => s.topicName === topic);
    const p = t?.partitionStates.find((s) => s.partitionIndex === partition);
    if (p) return p;
  }
  return undefined;
}

test('one controller wins; a new topic gets leaders, its state is written to ZooKeeper, replicas get LeaderAndIsr', { skip }, async () => {
  const c = await cluster();
  try {
    assert.equal(c.controllers[0]!.isActive, true);
    assert.equal(c.controllers[1]!.isActive, false);
    assert.equal(await c.admin.getControllerId(), 1);

    await c.admin.createTopic('orders', 'AAAAAAAAAAAAAAAAAAAAAQ', new Map([[0, [2, 3, 1]], [1, [3, 1, 2]]]), {});
    await waitFor(async () => (await c.admin.getPartitionState('orders', 1)) !== null, { what: 'partition states' });
    const state = await c.admin.getPartitionState('orders', 0);
    assert.deepEqual({ leader: state!.leader, isr: state!.isr, leaderEpoch: state!.leaderEpoch }, { leader: 2, isr: [2, 3, 1], leaderEpoch: 0 });
    for (const b of c.brokers) {
      await waitFor(() => lastState(b, 'orders', 0) !== undefined && lastState(b, 'orders', 1) !== undefined, { what: `LeaderAndIsr on ${b.id}` });
      assert.equal(lastState(b, 'orders', 0)!.leader, 2);
      assert.equal(lastState(b, 'orders', 0)!.isNew, true);
      await waitFor(() => b.updateMetadata.some((u) => u.topicStates?.some((t) => t.topicName === 'orders')), { what: 'UpdateMetadata' });
    }
  } finally {
    await c.close();
  }
});

test('a dead leader is replaced from the ISR with a bumped leader epoch; a dead follower leaves the ISR', { skip }, async () => {
  const c = await cluster();
  try {
    await c.admin.createTopic('payments', 'AAAAAAAAAAAAAAAAAAAAAg', new Map([[0, [3, 1, 2]], [1, [1, 3, 2]]]), {});
    await waitFor(async () => (await c.admin.getPartitionState('payments', 1)) !== null, { what: 'states' });
    await c.brokers[2]!.zk.close(); // broker 3 dies
    await waitFor(async () => (await c.admin.getPartitionState('payments', 0))?.leader === 1, { what: 'new leader' });
    const p0 = (await c.admin.getPartitionState('payments', 0))!;
    assert.deepEqual([p0.leaderEpoch, p0.isr], [1, [1, 2]]);
    await waitFor(async () => !(await c.admin.getPartitionState('payments', 1))!.isr.includes(3), { what: 'ISR shrink' });
    const p1 = (await c.admin.getPartitionState('payments', 1))!;
    assert.deepEqual([p1.leader, p1.isr, p1.leaderEpoch], [1, [1, 2], 1]);
    await waitFor(() => lastState(c.brokers[1]!, 'payments', 0)?.leaderEpoch === 1, { what: 'LeaderAndIsr to broker 2' });
  } finally {
    await c.close();
  }
});

test('the controller dies: another broker takes over with a higher epoch and keeps serving', { skip }, async () => {
  const c = await cluster();
  try {
    const firstEpoch = (await c.admin.getControllerEpoch())!.epoch;
    await c.controllers[0]!.shutdown();
    await c.brokers[0]!.zk.close(); // broker 1 and its controller are gone
    await waitFor(() => c.controllers[1]!.isActive, { what: 'failover', timeoutMs: 10_000 });
    assert.equal(await c.admin.getControllerId(), 2);
    assert.equal((await c.admin.getControllerEpoch())!.epoch, firstEpoch + 1);
    await c.admin.createTopic('after-failover', 'AAAAAAAAAAAAAAAAAAAAAw', new Map([[0, [1, 2]]]), {});
    // Broker 1 is dead: broker 2 leads.
    await waitFor(async () => (await c.admin.getPartitionState('after-failover', 0))?.leader === 2, { what: 'leader' });
    const refused = await c.controllers[0]!.electLeaders('PREFERRED', null).catch((e: { code: number }) => e.code);
    assert.equal(refused, ErrorCode.NOT_CONTROLLER);
  } finally {
    await c.close();
  }
});

test('AlterPartition commits ISR changes based on the current state and refuses stale ones', { skip }, async () => {
  const c = await cluster();
  try {
    await c.admin.createTopic('isr', 'AAAAAAAAAAAAAAAAAAAABA', new Map([[0, [1, 2, 3]]]), {});
    await waitFor(async () => (await c.admin.getPartitionState('isr', 0)) !== null, { what: 'state' });
    const before = (await c.admin.getPartitionState('isr', 0))!;
    const controller = c.controllers[0]!;
    const [ok] = await controller.alterPartition(1, [
      { topic: 'isr', topicId: null, partition: 0, leaderEpoch: before.leaderEpoch, partitionEpoch: before.zkVersion, newIsr: [1, 2] },
    ]);
    assert.equal(ok!.errorCode, ErrorCode.NONE);
    assert.deepEqual(ok!.isr, [1, 2]);
    assert.equal(ok!.partitionEpoch, before.zkVersion + 1);
    assert.deepEqual((await c.admin.getPartitionState('isr', 0))!.isr, [1, 2]);

    const [stale] = await controller.alterPartition(1, [
      { topic: 'isr', topicId: null, partition: 0, leaderEpoch: before.leaderEpoch, partitionEpoch: before.zkVersion, newIsr: [1] },
    ]);
    assert.equal(stale!.errorCode, ErrorCode.INVALID_UPDATE_VERSION);
    const [notLeader] = await controller.alterPartition(2, [
      { topic: 'isr', topicId: null, partition: 0, leaderEpoch: before.leaderEpoch, partitionEpoch: ok!.partitionEpoch, newIsr: [2] },
    ]);
    assert.equal(notLeader!.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  } finally {
    await c.close();
  }
});

test('a reassignment adds the new replica, completes once it is in the ISR, and stops the removed one', { skip }, async () => {
  const c = await cluster();
  try {
    await c.admin.createTopic('moving', 'AAAAAAAAAAAAAAAAAAAABQ', new Map([[0, [1, 2]]]), {});
    await waitFor(async () => (await c.admin.getPartitionState('moving', 0)) !== null, { what: 'state' });
    const controller = c.controllers[0]!;
    const [started] = await controller.alterReassignments([{ topic: 'moving', partition: 0, replicas: [3, 2] }]);
    assert.equal(started!.errorCode, ErrorCode.NONE);
    const ongoing = await controller.listReassignments(null);
    assert.deepEqual(ongoing, [{ topic: 'moving', partition: 0, replicas: [3, 2, 1], adding: [3], removing: [1] }]);
    const assignment = (await c.admin.getTopicAssignment('moving'))!;
    assert.deepEqual(assignment.partitions.get(0), [3, 2, 1]);
    await waitFor(() => lastState(c.brokers[2]!, 'moving', 0) !== undefined, { what: 'new replica told to follow' });

    // The new replica caught up: the leader adds it to the ISR.
    const state = (await c.admin.getPartitionState('moving', 0))!;
    await controller.alterPartition(1, [
      { topic: 'moving', partition: 0, topicId: null, leaderEpoch: state.leaderEpoch, partitionEpoch: state.zkVersion, newIsr: [1, 2, 3] },
    ]);
    await waitFor(async () => (await c.admin.getTopicAssignment('moving'))!.partitions.get(0)!.length === 2, { what: 'completion' });
    const done = (await c.admin.getPartitionState('moving', 0))!;
    assert.equal(done.leader, 3);
    assert.deepEqual([...done.isr].sort(), [2, 3]);
    assert.deepEqual(await controller.listReassignments(null), []);
    await waitFor(() => c.brokers[0]!.stopReplica.some((r) => r.topicStates?.some((t) => t.topicName === 'moving' && t.partitionStates[0]!.deletePartition)), {
      what: 'StopReplica with deletion to the removed replica',
    });
  } finally {
    await c.close();
  }
});

test('controlled shutdown moves leadership away and reports what cannot move', { skip }, async () => {
  const c = await cluster();
  try {
    await c.admin.createTopic('shut', 'AAAAAAAAAAAAAAAAAAAABg', new Map([[0, [2, 1]], [1, [2]]]), {});
    await waitFor(async () => (await c.admin.getPartitionState('shut', 1)) !== null, { what: 'states' });
    const remaining = await c.controllers[0]!.controlledShutdown(2);
    // A single-replica partition cannot move and does not hold the shutdown up.
    assert.deepEqual(remaining, []);
    const p0 = (await c.admin.getPartitionState('shut', 0))!;
    assert.deepEqual([p0.leader, p0.isr, p0.leaderEpoch], [1, [1], 1]);
    const elected = await c.controllers[0]!.electLeaders('PREFERRED', [{ topic: 'shut', partition: 0 }]);
    assert.equal(elected[0]!.errorCode, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE);
  } finally {
    await c.close();
  }
});

test('topic deletion stops and deletes the replicas and removes the znodes', { skip }, async () => {
  const c = await cluster();
  try {
    await c.admin.createTopic('doomed', 'AAAAAAAAAAAAAAAAAAAABw', new Map([[0, [1, 3]]]), {});
    await waitFor(async () => (await c.admin.getPartitionState('doomed', 0)) !== null, { what: 'state' });
    await c.admin.markTopicForDeletion('doomed');
    await waitFor(async () => (await c.admin.getTopics()).includes('doomed') === false, { what: 'deletion' });
    assert.deepEqual(await c.admin.getTopicsMarkedForDeletion(), []);
    await waitFor(() => c.brokers[2]!.stopReplica.some((r) => r.topicStates?.some((t) => t.topicName === 'doomed')), { what: 'StopReplica' });
    await waitFor(() => c.brokers[1]!.updateMetadata.some((u) => u.topicStates?.some((t) => t.topicName === 'doomed' && t.partitionStates[0]!.leader === -2)), {
      what: 'deletion announced in UpdateMetadata',
    });
  } finally {
    await c.close();
  }
});

test('auto leader rebalance gives leadership back to the preferred replica once it is in sync again', { skip }, async () => {
  const c = await cluster({ 'auto.leader.rebalance.enable': 'true', 'leader.imbalance.check.interval.seconds': '1' });
  try {
    await c.admin.createTopic('balanced', 'AAAAAAAAAAAAAAAAAAAACA', new Map([[0, [3, 2]]]), {});
    await waitFor(async () => (await c.admin.getPartitionState('balanced', 0)) !== null, { what: 'state' });
    await c.brokers[2]!.zk.close(); // broker 3, the preferred leader, dies
    await waitFor(async () => (await c.admin.getPartitionState('balanced', 0))?.leader === 2, { what: 'failover to 2' });
    // Broker 3 comes back; its leader adds it to the ISR again.
    c.brokers[2]!.zk = await zkClient(c.chroot);
    await c.brokers[2]!.zk.registerBroker({
      brokerId: 3,
      rack: null,
      endpoints: [{ listenerName: 'PLAINTEXT', host: '127.0.0.1', port: c.brokers[2]!.server.listeners[0]!.port, securityProtocol: 'PLAINTEXT' }],
    });
    const state = (await c.admin.getPartitionState('balanced', 0))!;
    // Not yet in sync: the rebalance must not pick it.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal((await c.admin.getPartitionState('balanced', 0))!.leader, 2);
    const [added] = await c.controllers[0]!.alterPartition(2, [
      { topic: 'balanced', topicId: null, partition: 0, leaderEpoch: state.leaderEpoch, partitionEpoch: state.zkVersion, newIsr: [2, 3] },
    ]);
    assert.equal(added!.errorCode, ErrorCode.NONE);
    await waitFor(async () => (await c.admin.getPartitionState('balanced', 0))?.leader === 3, { what: 'preferred leader back', timeoutMs: 10_000 });
  } finally {
    await c.close();
  }
});
