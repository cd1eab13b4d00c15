/**
 * The broker side of cluster mode against a real ZooKeeper, with the active
 * controller played by the test: it sends LeaderAndIsr / UpdateMetadata /
 * StopReplica through the inter-broker handlers (encoded and decoded at the
 * version under test) and watches what the broker writes to ZooKeeper and
 * hands to its replica manager (a recording stand-in).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { loadBrokerConfig, topicConfigError, type BrokerConfig } from '../../src/config/index.js';
import { parseZooKeeperConnect } from '../../src/config/listeners.js';
import type { PartitionState, TopicRecord } from '../../src/controller/types.js';
import { randomUuid } from '../../src/controller/uuid.js';
import type { CachedPartitionState } from '../../src/controller/zk/metadata-cache.js';
import { MetadataCache } from '../../src/controller/zk/metadata-cache.js';
import { notificationSequence } from '../../src/controller/zk/topic-config-store.js';
import { ZkBrokerController, type HostedReplica, type ZkReplicaDelegate } from '../../src/controller/zk/zk-broker.js';
import type { ApiHandler, RequestContext } from '../../src/broker/handler-registry.js';
import { createInterBrokerHandlers } from '../../src/broker/handlers/inter-broker.js';
import { silentLogger } from '../../src/logging.js';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { ApiKey, apiByKey, type ApiRequest, type ApiResponse } from '../../src/protocol/messages/api-table.js';
import { Reader, Writer, ZERO_UUID, type Uuid } from '../../src/protocol/primitives.js';
import { KafkaZkClient } from '../../src/zookeeper/kafka-zk-client.js';
import { BrokerIdInUseError } from '../../src/zookeeper/types.js';
import { waitFor } from '../helpers/broker.js';
import { skipUnlessZooKeeper, startZooKeeper, type TestZooKeeper } from '../helpers/zookeeper.js';

const skip = skipUnlessZooKeeper();
let zk: TestZooKeeper;
const closers: Array<() => Promise<void>> = [];

before(async () => {
  if (!skip) zk = await startZooKeeper();
});
after(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await zk?.close();
});

const endpoint = (port: number, listenerName = 'PLAINTEXT') => ({ listenerName, host: '127.0.0.1', port, securityProtocol: 'PLAINTEXT' });

/** A replica manager that records what it is told and hosts what LeaderAndIsr gave it. */
class RecordingReplicas implements ZkReplicaDelegate {
  readonly events: string[] = [];
  readonly hosted = new Map<string, HostedReplica>();
  readonly configChanges: Array<{ topic: string; configs: Record<string, string> }> = [];

  getPartition(topic: string, partition: number): HostedReplica | undefined {
    return this.hosted.get(`${topic}-${partition}`);
  }
  async applyPartitionStates(topic: TopicRecord, states: PartitionState[]): Promise<void> {
    this.events.push(`apply ${topic.name} ${states.map((s) => `${s.partition}@${s.leaderEpoch}`).join(',')} ${JSON.stringify(topic.configs)}`);
    for (const s of states) this.hosted.set(`${topic.name}-${s.partition}`, { leaderEpoch: s.leaderEpoch, topicId: topic.topicId });
  }
  async stopReplicas(topic: TopicRecord, partitions: number[], deleteData: boolean): Promise<void> {
    this.events.push(`stop ${topic.name} ${partitions.join(',')} delete=${deleteData}`);
    for (const p of partitions) this.hosted.delete(`${topic.name}-${p}`);
  }
  topicConfigChanged(topic: TopicRecord): void {
    this.configChanges.push({ topic: topic.name, configs: topic.configs });
  }
}

interface Fixture {
  broker: ZkBrokerController;
  replicas: RecordingReplicas;
  /** The test's own ZooKeeper client in the same chroot (plays tools and the controller's writes). */
  admin: KafkaZkClient;
  /** The broker's own ZooKeeper client. */
  session: KafkaZkClient;
  call<K extends ApiKey>(apiKey: K, version: number, request: ApiRequest<K>): Promise<ApiResponse<K>>;
}

let chroots = 0;

async function zkClient(chroot: string, via?: { port: number; sessionTimeoutMs: number }): Promise<KafkaZkClient> {
  const connect = via ? parsedConnect(`127.0.0.1:${via.port}${chroot}`) : zk.zkConnect(chroot);
  const client = await KafkaZkClient.connect({ connect, sessionTimeoutMs: via?.sessionTimeoutMs ?? 6000, connectionTimeoutMs: 5000, logger: silentLogger });
  closers.push(() => client.close());
  await client.ensurePersistentPaths();
  return client;
}

async function brokerConfig(settings: Record<string, unknown> = {}): Promise<BrokerConfig> {
  return loadBrokerConfig({
    values: {
      'broker.id': 1,
      'zookeeper.connect': zk.connect,
      listeners: 'PLAINTEXT://127.0.0.1:19092',
      'log.dirs': '/nonexistent',
      ...settings,
    },
  });
}

function parsedConnect(text: string) {
  const parsed = parseZooKeeperConnect('zookeeper.connect', text);
  if (!parsed.ok) throw new Error(`bad connect string ${text}`);
  return parsed.value;
}

/**
 * A TCP relay to ZooKeeper that can cut every connection and refuse new ones
 * for a while: a network partition, long enough for the server to expire
 * the sessions behind it.
 */
async function zkRelay(): Promise<{ port: number; partition(ms: number): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let cut = false;
  const server = net.createServer((client) => {
    if (cut) return client.destroy();
    const upstream = net.connect(zk.port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    async partition(ms) {
      cut = true;
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => setTimeout(resolve, ms));
      cut = false;
    },
  };
}

async function fixture(
  settings: Record<string, unknown> = {},
  chroot = `/zk-broker-${++chroots}`,
  via?: { port: number; sessionTimeoutMs: number },
): Promise<Fixture> {
  const config = await brokerConfig(settings);
  const session = await zkClient(chroot, via);
  const admin = await zkClient(chroot);
  const replicas = new RecordingReplicas();
  const broker = new ZkBrokerController({
    registration: { brokerId: 1, rack: null, endpoints: [endpoint(19092)] },
    clusterId: 'test-cluster',
    zk: session,
    onNewSession: (listener) => session.session.onNewSession(listener),
    config,
    replicaManager: replicas,
    validateTopicConfigs: (configs) => topicConfigError(configs, config),
    logger: silentLogger,
  });
  closers.push(() => broker.close());
  await broker.start();
  const handlers = new Map<number, ApiHandler<any>>(createInterBrokerHandlers(broker).map((h) => [h.apiKey, h]));
  return {
    broker,
    replicas,
    admin,
    session,
    // Through the codecs at `version`, as the controller's request and the broker's answer travel.
    async call(apiKey, version, request) {
      const api = apiByKey(apiKey);
      const w = new Writer();
      api.encodeRequest(w, request, version);
      const decoded = api.decodeRequest(new Reader(w.toBuffer()), version);
      const handler = handlers.get(apiKey)!;
      assert.ok(version >= handler.minVersion && version <= handler.maxVersion, `v${version} is served`);
      const context = { apiVersion: version, correlationId: 1, clientId: 'controller', connection: {} } as unknown as RequestContext;
      const response = await handler.handle(decoded, context);
      const out = new Writer();
      api.encodeResponse(out, response!, version);
      return api.decodeResponse(new Reader(out.toBuffer()), version);
    },
  };
}

/** An UpdateMetadata v8 naming brokers 1 and 2 (and whichever partition states are given). */
function updateMetadata(
  controllerEpoch: number,
  topics: Array<{ name: string; topicId: Uuid; states: Array<Partial<CachedPartitionState> & { partition: number }> }>,
  brokers = [1, 2],
): ApiRequest<typeof ApiKey.UpdateMetadata> {
  return {
    controllerId: 2,
    controllerEpoch,
    brokerEpoch: -1n,
    topicStates: topics.map((t) => ({
      topicName: t.name,
      topicId: t.topicId,
      partitionStates: t.states.map((s) => ({
        partitionIndex: s.partition,
        controllerEpoch,
        leader: s.leader ?? 1,
        leaderEpoch: s.leaderEpoch ?? 0,
        isr: s.isr ?? [1, 2],
        zkVersion: s.partitionEpoch ?? 0,
        replicas: s.replicas ?? [1, 2],
        offlineReplicas: s.offlineReplicas ?? [],
      })),
    })),
    liveBrokers: brokers.map((id) => ({
      id,
      endpoints: [{ port: 19091 + id, host: '127.0.0.1', listener: 'PLAINTEXT', securityProtocol: 0 }],
      rack: id === 2 ? 'rack-b' : null,
    })),
  };
}

function leaderAndIsr(controllerEpoch: number, topic: string, topicId: Uuid, states: Array<Partial<PartitionState> & { partition: number }>): ApiRequest<typeof ApiKey.LeaderAndIsr> {
  return {
    controllerId: 2,
    controllerEpoch,
    brokerEpoch: -1n,
    type: 0,
    topicStates: [
      {
        topicName: topic,
        topicId,
        partitionStates: states.map((s) => ({
          topicName: topic,
          partitionIndex: s.partition,
          controllerEpoch,
          leader: s.leader ?? 1,
          leaderEpoch: s.leaderEpoch ?? 0,
          isr: s.isr ?? [1, 2],
          partitionEpoch: s.partitionEpoch ?? 0,
          replicas: s.replicas ?? [1, 2],
          addingReplicas: [],
          removingReplicas: [],
          isNew: false,
          leaderRecoveryState: 0,
        })),
      },
    ],
    liveLeaders: [],
  };
}

async function rejectsWith(p: Promise<unknown>, code: number, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof KafkaError, `a KafkaError, got ${String(err)}`);
    assert.equal(err.errorName, new KafkaError(code).errorName);
    if (message) assert.match(err.message, message);
    return true;
  });
}

// ---- the metadata cache, without ZooKeeper ----------------------------------------------------

test('metadata cache: upserts states, keeps topic ids across id-less updates, drops partitions led by -2', () => {
  const cache = new MetadataCache((topic): Record<string, string> => (topic === 't' ? { 'retention.ms': '5' } : {}));
  const id = randomUuid();
  const state = (partition: number, leader: number): CachedPartitionState => ({
    partition,
    leader,
    leaderEpoch: 1,
    partitionEpoch: 2,
    replicas: [1, 2],
    isr: [1, 2],
    offlineReplicas: [],
    controllerEpoch: 1,
  });
  const brokers = [{ brokerId: 1, rack: null, endpoints: [endpoint(1)] }];
  let changes = cache.apply({ controllerId: 1, liveBrokers: brokers, topics: [{ name: 't', topicId: id, partitions: [state(1, 2), state(0, 1)] }] });
  assert.deepEqual([...changes.added], ['t']);
  assert.equal(cache.controllerId, 1);
  const t = cache.topic('t')!;
  assert.deepEqual(t.partitions.map((p) => [p.partition, p.leader]), [[0, 1], [1, 2]]);
  assert.deepEqual(t.configs, { 'retention.ms': '5' });
  assert.equal(cache.topicById(id), t);

  // An update without topic ids (before v7) keeps the id; brokers are replaced wholesale.
  changes = cache.apply({ controllerId: 2, liveBrokers: [], topics: [{ name: 't', topicId: null, partitions: [state(1, 1)] }] });
  assert.deepEqual([...changes.updated], ['t']);
  assert.equal(cache.topic('t')!.topicId, id);
  assert.equal(cache.topic('t')!.partitions[1]!.leader, 1);
  assert.deepEqual(cache.brokers(), []);

  changes = cache.apply({ controllerId: 2, liveBrokers: [], topics: [{ name: 't', topicId: id, partitions: [state(0, -2), state(1, -2)] }] });
  assert.deepEqual([...changes.removed], ['t']);
  assert.equal(cache.topic('t'), undefined);
  assert.equal(cache.topicById(id), undefined);
  assert.equal(notificationSequence('config_change_0000000042'), 42);
});

// ---- requests from the controller -------------------------------------------------------------

test('UpdateMetadata v8 fills the cache: brokers with racks, controller, partitions, topic ids, configs from ZooKeeper', { skip }, async () => {
  const f = await fixture();
  const id = randomUuid();
  await f.admin.createTopic('orders', id, new Map([[0, [1, 2]], [1, [2, 1]]]), { 'retention.ms': '60000' });
  const response = await f.call(ApiKey.UpdateMetadata, 8, updateMetadata(3, [{ name: 'orders', topicId: id, states: [{ partition: 0 }, { partition: 1, leader: 2, offlineReplicas: [1] }] }]));
  assert.equal(response.errorCode, ErrorCode.NONE);
  assert.equal(f.broker.controllerId, 2);
  assert.deepEqual(f.broker.brokers(), [
    { brokerId: 1, rack: null, endpoints: [endpoint(19092)] },
    { brokerId: 2, rack: 'rack-b', endpoints: [endpoint(19093)] },
  ]);
  const orders = f.broker.topic('orders')!;
  assert.equal(orders.topicId, id);
  assert.deepEqual(orders.configs, { 'retention.ms': '60000' });
  assert.deepEqual(orders.partitions.map((p) => p.leader), [1, 2]);
  assert.equal(f.broker.topicById(id)?.name, 'orders');
  assert.equal(f.broker.link.brokerAddress(2)?.port, 19093);
  assert.equal(f.broker.link.brokerAddress(3), undefined);
});

test('UpdateMetadata v0, v2 and v4: host/port brokers, listeners named by security protocol, ungrouped states', { skip }, async () => {
  const f = await fixture();
  const state = { topicName: 'old', partitionIndex: 0, controllerEpoch: 1, leader: 1, leaderEpoch: 4, isr: [1], zkVersion: 7, replicas: [1] };
  await f.call(ApiKey.UpdateMetadata, 0, {
    controllerId: 1,
    controllerEpoch: 1,
    ungroupedPartitionStates: [state],
    liveBrokers: [{ id: 1, v0Host: 'h0', v0Port: 9000 }],
  });
  assert.deepEqual(f.broker.brokers(), [{ brokerId: 1, rack: null, endpoints: [{ listenerName: 'PLAINTEXT', host: 'h0', port: 9000, securityProtocol: 'PLAINTEXT' }] }]);
  assert.equal(f.broker.topic('old')!.partitions[0]!.leaderEpoch, 4);
  assert.equal(f.broker.topic('old')!.topicId, ZERO_UUID);

  await f.call(ApiKey.UpdateMetadata, 2, {
    controllerId: 1,
    controllerEpoch: 1,
    ungroupedPartitionStates: [{ ...state, leaderEpoch: 5 }],
    liveBrokers: [{ id: 1, endpoints: [{ port: 9001, host: 'h1', securityProtocol: 1 }], rack: 'r' }],
  });
  assert.deepEqual(f.broker.brokers(), [{ brokerId: 1, rack: 'r', endpoints: [{ listenerName: 'SSL', host: 'h1', port: 9001, securityProtocol: 'SSL' }] }]);
  assert.equal(f.broker.topic('old')!.partitions[0]!.leaderEpoch, 5);

  await f.call(ApiKey.UpdateMetadata, 4, {
    controllerId: 1,
    controllerEpoch: 1,
    ungroupedPartitionStates: [{ ...state, leader: -2 }],
    liveBrokers: [{ id: 1, endpoints: [{ port: 9001, host: 'h1', listener: 'INTERNAL', securityProtocol: 0 }], rack: null }],
  });
  assert.equal(f.broker.topic('old'), undefined);
  assert.equal(f.broker.brokers()[0]!.endpoints[0]!.listenerName, 'INTERNAL');
});

test('requests from an older controller epoch answer STALE_CONTROLLER_EPOCH and change nothing', { skip }, async () => {
  const f = await fixture();
  const id = randomUuid();
  assert.equal((await f.call(ApiKey.UpdateMetadata, 8, updateMetadata(5, [{ name: 't', topicId: id, states: [{ partition: 0 }] }]))).errorCode, ErrorCode.NONE);
  const stale = await f.call(ApiKey.UpdateMetadata, 8, updateMetadata(4, [], [1]));
  assert.equal(stale.errorCode, ErrorCode.STALE_CONTROLLER_EPOCH);
  assert.equal(f.broker.brokers().length, 2);
  assert.ok(f.broker.topic('t'));

  const lai = await f.call(ApiKey.LeaderAndIsr, 7, leaderAndIsr(4, 't', id, [{ partition: 0, leaderEpoch: 9 }]));
  assert.equal(lai.errorCode, ErrorCode.STALE_CONTROLLER_EPOCH);
  assert.deepEqual(lai.topics!.flatMap((t) => t.partitionErrors.map((p) => p.errorCode)), [ErrorCode.STALE_CONTROLLER_EPOCH]);
  const sr = await f.call(ApiKey.StopReplica, 4, { controllerId: 2, controllerEpoch: 4, brokerEpoch: -1n, topicStates: [{ topicName: 't', partitionStates: [{ partitionIndex: 0, leaderEpoch: -2, deletePartition: true }] }] });
  assert.equal(sr.errorCode, ErrorCode.STALE_CONTROLLER_EPOCH);
  assert.deepEqual(f.replicas.events, []);
});

test('LeaderAndIsr v7 applies newer leader epochs only, refuses states not naming this broker, answers per topic id', { skip }, async () => {
  const f = await fixture();
  const id = randomUuid();
  await f.admin.createTopic('t', id, new Map([[0, [1, 2]], [1, [2, 3]]]), { 'cleanup.policy': 'compact' });
  let r = await f.call(ApiKey.LeaderAndIsr, 7, leaderAndIsr(1, 't', id, [{ partition: 0, leaderEpoch: 3 }, { partition: 1, replicas: [2, 3], leader: 2 }]));
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.equal(r.topics![0]!.topicId, id);
  assert.deepEqual(r.topics![0]!.partitionErrors.map((p) => [p.partitionIndex, p.errorCode]), [
    [0, ErrorCode.NONE],
    [1, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
  ]);
  // The replica manager gets the topic's configs from ZooKeeper with the states.
  assert.deepEqual(f.replicas.events, ['apply t 0@3 {"cleanup.policy":"compact"}']);

  // The same epoch again (a new controller resending), then an older one: ignored, as Kafka does.
  r = await f.call(ApiKey.LeaderAndIsr, 7, leaderAndIsr(1, 't', id, [{ partition: 0, leaderEpoch: 3 }]));
  assert.equal(r.topics![0]!.partitionErrors[0]!.errorCode, ErrorCode.STALE_CONTROLLER_EPOCH);
  r = await f.call(ApiKey.LeaderAndIsr, 7, leaderAndIsr(1, 't', id, [{ partition: 0, leaderEpoch: 2 }]));
  assert.equal(r.topics![0]!.partitionErrors[0]!.errorCode, ErrorCode.STALE_CONTROLLER_EPOCH);
  r = await f.call(ApiKey.LeaderAndIsr, 7, leaderAndIsr(2, 't', id, [{ partition: 0, leaderEpoch: 4, leader: 2 }]));
  assert.equal(r.topics![0]!.partitionErrors[0]!.errorCode, ErrorCode.NONE);
  // Another topic id for a hosted partition of the same name.
  r = await f.call(ApiKey.LeaderAndIsr, 7, leaderAndIsr(2, 't', randomUuid(), [{ partition: 0, leaderEpoch: 5 }]));
  assert.equal(r.topics![0]!.partitionErrors[0]!.errorCode, ErrorCode.INCONSISTENT_TOPIC_ID);
  assert.equal(f.replicas.events.length, 2);
});

test('LeaderAndIsr v1 (ungrouped, by name) and v4 (grouped, by name) answer with named partition errors', { skip }, async () => {
  const f = await fixture();
  await f.admin.createTopic('a', randomUuid(), new Map([[0, [1]]]), {});
  const state = { topicName: 'a', partitionIndex: 0, controllerEpoch: 1, leader: 1, leaderEpoch: 1, isr: [1], partitionEpoch: 0, replicas: [1], isNew: true };
  let r = await f.call(ApiKey.LeaderAndIsr, 1, { controllerId: 1, controllerEpoch: 1, ungroupedPartitionStates: [state], liveLeaders: [{ brokerId: 1, hostName: 'h', port: 1 }] });
  assert.deepEqual(r.partitionErrors, [{ topicName: 'a', partitionIndex: 0, errorCode: ErrorCode.NONE }]);
  r = await f.call(ApiKey.LeaderAndIsr, 4, {
    controllerId: 1,
    controllerEpoch: 1,
    brokerEpoch: -1n,
    topicStates: [{ topicName: 'a', partitionStates: [{ ...state, leaderEpoch: 2 }] }],
    liveLeaders: [],
  });
  assert.deepEqual(r.partitionErrors?.map((p) => [p.topicName, p.errorCode]), [['a', ErrorCode.NONE]]);
  assert.deepEqual(f.replicas.events, ['apply a 0@1 {}', 'apply a 0@2 {}']);
});

test('StopReplica: v3+ fences older leader epochs and deletes per partition; v0-2 use the request-wide flag', { skip }, async () => {
  const f = await fixture();
  const id = randomUuid();
  await f.admin.createTopic('s', id, new Map([[0, [1]], [1, [1]], [2, [1]]]), {});
  await f.call(ApiKey.LeaderAndIsr, 7, leaderAndIsr(1, 's', id, [0, 1, 2].map((partition) => ({ partition, leaderEpoch: 5, replicas: [1], isr: [1] }))));
  f.replicas.events.length = 0;
  const r = await f.call(ApiKey.StopReplica, 4, {
    controllerId: 2,
    controllerEpoch: 1,
    brokerEpoch: -1n,
    topicStates: [
      {
        topicName: 's',
        partitionStates: [
          { partitionIndex: 0, leaderEpoch: 4, deletePartition: true },
          { partitionIndex: 1, leaderEpoch: -2, deletePartition: true },
          { partitionIndex: 2, leaderEpoch: 6, deletePartition: false },
        ],
      },
    ],
  });
  assert.deepEqual(
    r.partitionErrors.map((p) => [p.partitionIndex, p.errorCode]).sort(),
    [[0, ErrorCode.FENCED_LEADER_EPOCH], [1, ErrorCode.NONE], [2, ErrorCode.NONE]],
  );
  assert.deepEqual(f.replicas.events.sort(), ['stop s 1 delete=true', 'stop s 2 delete=false']);

  f.replicas.events.length = 0;
  const v0 = await f.call(ApiKey.StopReplica, 0, { controllerId: 2, controllerEpoch: 1, deletePartitions: true, ungroupedPartitions: [{ topicName: 's', partitionIndex: 0 }] });
  assert.deepEqual(v0.partitionErrors, [{ topicName: 's', partitionIndex: 0, errorCode: ErrorCode.NONE }]);
  const v1 = await f.call(ApiKey.StopReplica, 1, { controllerId: 2, controllerEpoch: 1, brokerEpoch: -1n, deletePartitions: false, topics: [{ name: 's', partitionIndexes: [2] }] });
  assert.equal(v1.partitionErrors[0]!.errorCode, ErrorCode.NONE);
  assert.deepEqual(f.replicas.events, ['stop s 0 delete=true', 'stop s 2 delete=false']);
});

// ---- admin writes ---------------------------------------------------------------------------------

test('createTopic writes Kafka znodes, answers once the controller\'s metadata arrives; validation as Kafka', { skip }, async () => {
  const f = await fixture();
  await f.call(ApiKey.UpdateMetadata, 8, updateMetadata(1, []));

  await rejectsWith(
    f.broker.createTopic({ name: 'big', numPartitions: 1, replicationFactor: 3, configs: {} }, false),
    ErrorCode.INVALID_REPLICATION_FACTOR,
    /Replication factor: 3 larger than available brokers: 2\./,
  );
  await rejectsWith(f.broker.createTopic({ name: 'bad', numPartitions: 1, replicationFactor: 1, configs: { 'cleanup.policy': 'nope' } }, false), ErrorCode.INVALID_CONFIG);
  const dry = await f.broker.createTopic({ name: 'dry', numPartitions: 2, replicationFactor: 2, configs: {} }, true);
  assert.equal(dry.partitions.length, 2);
  assert.equal(await f.admin.getTopicAssignment('dry'), null);

  const creating = f.broker.createTopic({ name: 'new.topic', numPartitions: 2, replicationFactor: 2, configs: { 'retention.ms': '1000' } }, false);
  let settled = false;
  void creating.then(() => (settled = true), () => (settled = true));
  await waitFor(async () => (await f.admin.getTopicAssignment('new.topic')) !== null, { what: 'the assignment znode' });
  const assignment = (await f.admin.getTopicAssignment('new.topic'))!;
  assert.deepEqual([...assignment.partitions.values()].map((r) => [...r].sort()), [[1, 2], [1, 2]]);
  assert.deepEqual(await f.admin.getTopicConfig('new.topic'), { 'retention.ms': '1000' });
  assert.equal(settled, false, 'no answer before the controller acted');

  // The controller elects leaders and tells everyone.
  const states = [...assignment.partitions].map(([partition, replicas]) => ({ partition, replicas, leader: replicas[0]!, isr: replicas }));
  await f.call(ApiKey.UpdateMetadata, 8, updateMetadata(1, [{ name: 'new.topic', topicId: assignment.topicId!, states }]));
  const created = await creating;
  assert.equal(created.topicId, assignment.topicId);
  assert.deepEqual(created.configs, { 'retention.ms': '1000' });

  await rejectsWith(f.broker.createTopic({ name: 'new.topic', numPartitions: 1, replicationFactor: 1, configs: {} }, false), ErrorCode.TOPIC_ALREADY_EXISTS);
  await rejectsWith(f.broker.createTopic({ name: 'new_topic', numPartitions: 1, replicationFactor: 1, configs: {} }, false), ErrorCode.INVALID_TOPIC_EXCEPTION, /collides/);
  // A topic another broker just wrote (not yet in this broker's cache) exists too.
  await f.admin.createTopic('elsewhere', randomUuid(), new Map([[0, [2]]]), {});
  await rejectsWith(f.broker.createTopic({ name: 'elsewhere', numPartitions: 1, replicationFactor: 1, configs: {} }, false), ErrorCode.TOPIC_ALREADY_EXISTS);
});

test('deleteTopic marks the topic and answers once it leaves the metadata; disabled deletion is refused', { skip }, async () => {
  const f = await fixture();
  const id = randomUuid();
  await f.admin.createTopic('doomed', id, new Map([[0, [1, 2]]]), {});
  await f.call(ApiKey.UpdateMetadata, 8, updateMetadata(1, [{ name: 'doomed', topicId: id, states: [{ partition: 0 }] }]));
  await rejectsWith(f.broker.deleteTopic('missing'), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const deleting = f.broker.deleteTopic('doomed');
  await waitFor(async () => (await f.admin.getTopicsMarkedForDeletion()).includes('doomed'), { what: 'the deletion marker' });
  await f.call(ApiKey.UpdateMetadata, 8, updateMetadata(1, [{ name: 'doomed', topicId: id, states: [{ partition: 0, leader: -2 }] }]));
  await deleting;
  assert.equal(f.broker.topic('doomed'), undefined);

  const g = await fixture({ 'delete.topic.enable': false });
  await g.admin.createTopic('kept', id, new Map([[0, [1]]]), {});
  await g.call(ApiKey.UpdateMetadata, 8, updateMetadata(1, [{ name: 'kept', topicId: id, states: [{ partition: 0, replicas: [1], isr: [1] }] }]));
  await rejectsWith(g.broker.deleteTopic('kept'), ErrorCode.TOPIC_DELETION_DISABLED);
  assert.deepEqual(await g.admin.getTopicsMarkedForDeletion(), []);
});

test('createPartitions extends the assignment conditionally and waits for the new leaders', { skip }, async () => {
  const f = await fixture();
  const id = randomUuid();
  await f.admin.createTopic('grow', id, new Map([[0, [1, 2]]]), {});
  await f.call(ApiKey.UpdateMetadata, 8, updateMetadata(1, [{ name: 'grow', topicId: id, states: [{ partition: 0 }] }]));
  await rejectsWith(f.broker.createPartitions('grow', 1, null, false), ErrorCode.INVALID_PARTITIONS);
  await rejectsWith(f.broker.createPartitions('grow', 2, [[1, 3]], false), ErrorCode.INVALID_REPLICA_ASSIGNMENT, /Unknown broker ids/);
  const dry = await f.broker.createPartitions('grow', 3, null, true);
  assert.equal(dry.partitions.length, 3);
  assert.equal((await f.admin.getTopicAssignment('grow'))!.partitions.size, 1);

  const growing = f.broker.createPartitions('grow', 2, [[2, 1]], false);
  await waitFor(async () => (await f.admin.getTopicAssignment('grow'))!.partitions.size === 2, { what: 'the grown assignment' });
  const assignment = (await f.admin.getTopicAssignment('grow'))!;
  assert.deepEqual(assignment.partitions.get(1), [2, 1]);
  assert.equal(assignment.topicId, id);
  await f.call(ApiKey.UpdateMetadata, 8, updateMetadata(1, [{ name: 'grow', topicId: id, states: [{ partition: 1, leader: 2, replicas: [2, 1] }] }]));
  assert.equal((await growing).partitions.length, 2);
});

test('topic configs: AlterConfigs writes ZooKeeper and applies here; other brokers\' changes arrive through /config/changes', { skip }, async () => {
  const f = await fixture();
  const id = randomUuid();
  await f.admin.createTopic('cfg', id, new Map([[0, [1, 2]]]), { 'retention.ms': '1000' });
  await f.call(ApiKey.UpdateMetadata, 8, updateMetadata(1, [{ name: 'cfg', topicId: id, states: [{ partition: 0 }] }]));

  await f.broker.alterTopicConfigs('cfg', { 'segment.bytes': '1048576' }, true, false);
  assert.deepEqual(await f.admin.getTopicConfig('cfg'), { 'retention.ms': '1000', 'segment.bytes': '1048576' });
  assert.deepEqual(f.broker.topic('cfg')!.configs, { 'retention.ms': '1000', 'segment.bytes': '1048576' });
  assert.ok(f.replicas.configChanges.some((c) => c.configs['segment.bytes'] === '1048576'));
  await rejectsWith(f.broker.alterTopicConfigs('cfg', { 'retention.ms': 'soon' }, true, false), ErrorCode.INVALID_CONFIG);
  await rejectsWith(f.broker.alterTopicConfigs('nope', {}, false, false), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  await f.broker.alterTopicConfigs('cfg', { 'retention.ms': '5' }, false, true);
  assert.deepEqual(await f.admin.getTopicConfig('cfg'), { 'retention.ms': '1000', 'segment.bytes': '1048576' }, 'validate only writes nothing');

  // Another broker (here the test's client) changes it: the notification brings it here.
  f.replicas.configChanges.length = 0;
  await f.admin.setTopicConfig('cfg', { 'retention.ms': '2000' });
  await f.admin.setTopicConfig('unknown-here', { 'retention.ms': '3' });
  await waitFor(() => f.broker.topic('cfg')!.configs['retention.ms'] === '2000', { what: 'the changed config' });
  assert.deepEqual(f.replicas.configChanges, [{ topic: 'cfg', configs: { 'retention.ms': '2000' } }]);
  assert.equal(f.broker.topic('unknown-here'), undefined);
});

test('registration: /brokers/ids/<id> while running; a duplicate id is refused; re-registered after session expiry', { skip }, async () => {
  const chroot = `/zk-broker-${++chroots}`;
  const relay = await zkRelay();
  const sessionTimeoutMs = 2000;
  const f = await fixture({}, chroot, { port: relay.port, sessionTimeoutMs });
  assert.deepEqual(await f.admin.getBrokerIds(), [1]);
  assert.deepEqual((await f.admin.getBroker(1))?.endpoints, [endpoint(19092)]);

  const other = await zkClient(chroot);
  const config = await brokerConfig();
  const twin = new ZkBrokerController({
    registration: { brokerId: 1, rack: null, endpoints: [endpoint(19099)] },
    clusterId: 'test-cluster',
    zk: other,
    onNewSession: (listener) => other.session.onNewSession(listener),
    config,
    replicaManager: new RecordingReplicas(),
    validateTopicConfigs: () => null,
    logger: silentLogger,
  });
  await assert.rejects(twin.start(), BrokerIdInUseError);
  await twin.close();

  // Cut off from ZooKeeper past its session timeout: the server expires the session and its node
  // goes; once reachable again the broker gets a new session and registers again.
  const before = f.session.session.sessionId;
  await relay.partition(sessionTimeoutMs * 2);
  await waitFor(async () => !(await f.admin.getBrokerIds()).includes(1) || f.session.session.sessionId !== before, { what: 'the expiry', timeoutMs: 10_000 });
  await waitFor(() => f.session.session.sessionId !== before, { what: 'a new session', timeoutMs: 15_000 });
  await waitFor(async () => (await f.admin.getBrokerIds()).includes(1), { what: 'registration again', timeoutMs: 10_000 });
  assert.deepEqual((await f.admin.getBroker(1))?.endpoints, [endpoint(19092)]);

  // Config changes are watched again in the new session.
  const id = randomUuid();
  await f.admin.createTopic('after-expiry', id, new Map([[0, [1]]]), {});
  await f.call(ApiKey.UpdateMetadata, 8, updateMetadata(1, [{ name: 'after-expiry', topicId: id, states: [{ partition: 0, replicas: [1], isr: [1] }] }]));
  await f.admin.setTopicConfig('after-expiry', { 'retention.ms': '777' });
  await waitFor(() => f.broker.topic('after-expiry')!.configs['retention.ms'] === '777', { what: 'the config change after the new session' });
});
