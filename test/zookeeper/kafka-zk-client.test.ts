import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger, type Logger, type LogFields } from '../../src/logging.js';
import { KafkaZkClient } from '../../src/zookeeper/kafka-zk-client.js';
import { BrokerIdInUseError, TopicExistsError, ZkBadVersionError } from '../../src/zookeeper/types.js';
import { waitFor } from '../helpers/broker.js';
import { skipUnlessZooKeeper, startZooKeeper, type TestZooKeeper } from '../helpers/zookeeper.js';

const skip = skipUnlessZooKeeper();
let zk: TestZooKeeper;
const clients: KafkaZkClient[] = [];

before(async () => {
  if (!skip) zk = await startZooKeeper();
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await zk?.close();
});

/** A client under its own chroot, so the tests of this file do not see each other's nodes. */
async function client(chroot: string, logger: Logger = silentLogger): Promise<KafkaZkClient> {
  const c = await KafkaZkClient.connect({ connect: zk.zkConnect(chroot), sessionTimeoutMs: 6000, connectionTimeoutMs: 5000, logger });
  clients.push(c);
  await c.ensurePersistentPaths();
  return c;
}

function recordingLogger(): Logger & { warnings: { message: string; fields?: LogFields }[] } {
  const warnings: { message: string; fields?: LogFields }[] = [];
  const logger = { ...silentLogger, warn: (message: string, fields?: LogFields) => warnings.push({ message, fields }), child: () => logger, warnings };
  return logger;
}

const endpoint = (port: number) => ({ listenerName: 'PLAINTEXT', host: '127.0.0.1', port, securityProtocol: 'PLAINTEXT' });

test('broker registration: ephemeral node, duplicate id refused, same session re-registers, gone with the session', { skip }, async () => {
  const a = await client('/reg');
  const b = await client('/reg');
  await a.registerBroker({ brokerId: 1, rack: 'r1', endpoints: [endpoint(9092)] });
  await a.registerBroker({ brokerId: 1, rack: 'r1', endpoints: [endpoint(9092)] }); // our own node: fine
  await assert.rejects(b.registerBroker({ brokerId: 1, rack: null, endpoints: [endpoint(9093)] }), BrokerIdInUseError);
  await b.registerBroker({ brokerId: 2, rack: null, endpoints: [endpoint(9093)] });
  assert.deepEqual(await b.getBrokerIds(), [1, 2]);
  assert.deepEqual(await b.getBroker(1), { brokerId: 1, rack: 'r1', endpoints: [endpoint(9092)] });

  let fired = 0;
  await b.getBrokerIds(() => fired++);
  await a.close();
  await waitFor(() => fired === 1, { what: 'the /brokers/ids watch' });
  assert.deepEqual(await b.getBrokerIds(), [2]);
  assert.equal(await b.getBroker(1), null);
});

test('controller election: one winner, epoch bumps, the other wins once the first session ends', { skip }, async () => {
  const a = await client('/elect');
  const b = await client('/elect');
  assert.equal(await a.getControllerEpoch(), null);
  const [ea, eb] = await Promise.all([a.tryElectController(1), b.tryElectController(2)]);
  assert.ok((ea === null) !== (eb === null), `exactly one winner: ${JSON.stringify([ea, eb])}`);
  const [winner, loser, loserId, first] = ea ? [a, b, 2, ea] : [b, a, 1, eb!];
  assert.equal(first.epoch, 1);
  assert.deepEqual(await loser.getControllerEpoch(), first);
  assert.equal(await loser.getControllerId(), loserId === 2 ? 1 : 2);
  assert.equal(await loser.tryElectController(loserId), null);

  let fired = false;
  assert.notEqual(await loser.getControllerId(() => (fired = true)), null);
  await winner.close();
  await waitFor(() => fired, { what: 'the /controller watch' });
  assert.equal(await loser.getControllerId(), null);
  const second = await loser.tryElectController(loserId);
  assert.equal(second?.epoch, 2);
  assert.equal(await loser.getControllerId(), loserId);
});

test('controller writes with a stale epoch are refused with ZkBadVersionError', { skip }, async () => {
  const a = await client('/fence');
  const b = await client('/fence');
  const old = (await a.tryElectController(1))!;
  const partitions = new Map([[0, [1, 2]]]);
  await a.createTopic('t', 'AAAAAAAAAAAAAAAAAAAAAQ', partitions, {});
  const created = await a.createPartitionStates('t', new Map([[0, { leader: 1, leaderEpoch: 0, isr: [1, 2], controllerEpoch: old.epoch }]]), old);
  assert.equal(created.get(0)!.zkVersion, 0);

  // The first controller's session ends; the second takes over and bumps the epoch.
  await a.close();
  const current = await waitForElection(b, 2);
  assert.equal(current.epoch, old.epoch + 1);

  // A write under the old epoch (a zombie controller's) is refused; under the new one it commits.
  const zombie = await client('/fence');
  const state = (await zombie.getPartitionState('t', 0))!;
  await assert.rejects(zombie.updatePartitionStates('t', new Map([[0, { ...state, leader: 2, leaderEpoch: 1 }]]), old), ZkBadVersionError);
  assert.equal((await b.getPartitionState('t', 0))!.leader, 1);
  const updated = await b.updatePartitionStates('t', new Map([[0, { ...state, leader: 2, leaderEpoch: 1, controllerEpoch: current.epoch }]]), current);
  assert.equal(updated.get(0)!.zkVersion, 1);
  assert.deepEqual(await b.getPartitionState('t', 0), updated.get(0));
  // A stale partition version is refused too, even under the current epoch.
  await assert.rejects(b.updatePartitionStates('t', new Map([[0, state]]), current), ZkBadVersionError);

  const assignment = (await b.getTopicAssignment('t'))!;
  await assert.rejects(b.setTopicAssignment(assignment, assignment.zkVersion, old), ZkBadVersionError);
  assert.equal(await b.setTopicAssignment({ ...assignment, partitions: new Map([[0, [2, 1]]]) }, assignment.zkVersion, current), assignment.zkVersion + 1);

  await b.markTopicForDeletion('t');
  await assert.rejects(b.deleteTopicNodes('t', old), ZkBadVersionError);
  await b.deleteTopicNodes('t', current);
  assert.equal(await b.getTopicAssignment('t'), null);
  assert.deepEqual(await b.getTopicsMarkedForDeletion(), []);
  assert.deepEqual(await b.getTopicConfig('t'), {});
});

async function waitForElection(c: KafkaZkClient, brokerId: number) {
  let epoch = null;
  await waitFor(async () => (epoch = await c.tryElectController(brokerId)) !== null, { what: 'election', timeoutMs: 10_000 });
  return epoch!;
}

test('topics: create, read back with topic id and configs, duplicates refused, watches fire', { skip }, async () => {
  const a = await client('/topics');
  let topicsChanged = false;
  assert.deepEqual(await a.getTopics(() => (topicsChanged = true)), []);
  const topicId = 'Zm9vYmFyYmF6cXV4MTIzNA';
  await a.createTopic('orders', topicId, new Map([[0, [1, 2]], [1, [2, 1]]]), { 'cleanup.policy': 'compact' });
  await waitFor(() => topicsChanged, { what: 'the /brokers/topics watch' });
  assert.deepEqual(await a.getTopics(), ['orders']);
  const assignment = (await a.getTopicAssignment('orders'))!;
  assert.equal(assignment.topicId, topicId);
  assert.deepEqual([...assignment.partitions], [[0, [1, 2]], [1, [2, 1]]]);
  assert.deepEqual(await a.getTopicConfig('orders'), { 'cleanup.policy': 'compact' });
  await assert.rejects(a.createTopic('orders', topicId, new Map([[0, [1]]]), {}), TopicExistsError);
  assert.deepEqual(await a.getTopicConfig('orders'), { 'cleanup.policy': 'compact' }, 'a refused create leaves the config alone');

  let created = false;
  assert.equal(await a.getTopicAssignment('later', () => (created = true)), null);
  await a.createTopic('later', topicId, new Map([[0, [1]]]), {});
  await waitFor(() => created, { what: 'a watch on a topic created later' });
});

test('config changes: config written, notifications in order name the entity', { skip }, async () => {
  const a = await client('/configs');
  let notified = false;
  assert.deepEqual(await a.getConfigChangeNotifications(() => (notified = true)), []);
  await a.setTopicConfig('t1', { 'retention.ms': '1000' });
  await a.setTopicConfig('t2', { 'segment.bytes': '2048' });
  await waitFor(() => notified, { what: 'the /config/changes watch' });
  const notifications = await a.getConfigChangeNotifications();
  assert.deepEqual(notifications, ['config_change_0000000000', 'config_change_0000000001']);
  assert.deepEqual(await Promise.all(notifications.map((n) => a.getConfigChangeEntity(n))), ['topics/t1', 'topics/t2']);
  assert.deepEqual(await a.getTopicConfig('t1'), { 'retention.ms': '1000' });
});

test('corrupt JSON in a node reads as absent with a warning naming the path; never a throw', { skip }, async () => {
  const logger = recordingLogger();
  const a = await client('/corrupt', logger);
  const s = a.session;
  await s.create('/brokers/ids/7', Buffer.from('{"version":5,'));
  await s.mkdirp('/brokers/topics/bad');
  await s.setData('/brokers/topics/bad', Buffer.from('{"version":1,"partitions":{"0":"x"}}'));
  await s.create('/controller', Buffer.from('garbage'));
  await s.mkdirp('/config/topics/bad');
  await s.setData('/config/topics/bad', Buffer.from('[]'));
  await s.create('/admin/reassign_partitions', Buffer.from('{"version":1}'));
  await s.mkdirp('/brokers/topics/bad/partitions/0/state');
  await s.setData('/brokers/topics/bad/partitions/0/state', Buffer.from('{}'));

  assert.equal(await a.getBroker(7), null);
  assert.equal(await a.getTopicAssignment('bad'), null);
  assert.equal(await a.getControllerId(), null);
  assert.deepEqual(await a.getTopicConfig('bad'), {});
  assert.deepEqual(await a.getPartitionReassignment(), []);
  assert.equal(await a.getPartitionState('bad', 0), null);
  const paths = logger.warnings.map((w) => w.fields?.path);
  assert.deepEqual(paths, [
    '/brokers/ids/7',
    '/brokers/topics/bad',
    '/controller',
    '/config/topics/bad',
    '/admin/reassign_partitions',
    '/brokers/topics/bad/partitions/0/state',
  ]);
});

test('producer id blocks from two clients never overlap', { skip }, async () => {
  const a = await client('/pids');
  const b = await client('/pids');
  const blocks = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).allocateProducerIdBlock(i % 2, 1000)));
  const starts = blocks.map((x) => x.firstProducerId).sort((x, y) => x - y);
  assert.deepEqual(starts, Array.from({ length: 20 }, (_, i) => i * 1000));
  assert.ok(blocks.every((x) => x.size === 1000));
  const raw = await a.session.getData('/latest_producer_id_block');
  assert.match(raw.data.toString(), /"block_start":"19000","block_end":"19999"/);
});

test('cluster id: created once, then read back by everyone', { skip }, async () => {
  const a = await client('/cluster');
  const b = await client('/cluster');
  const ids = await Promise.all([a.getOrCreateClusterId('first'), b.getOrCreateClusterId('second')]);
  assert.equal(ids[0], ids[1]);
  assert.equal(await b.getOrCreateClusterId('third'), ids[0]);
});
