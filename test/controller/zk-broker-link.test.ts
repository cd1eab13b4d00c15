/**
 * A cluster broker's requests to the controller, against scripted
 * controllers on real sockets (the broker's own socket server and request
 * dispatcher): AlterPartition at the newest version both sides speak (by
 * topic id from v2, ISR with broker epochs from v3), NOT_CONTROLLER followed
 * to the controller the next metadata names, refusals as KafkaError, and the
 * controlled-shutdown retries.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { defineHandler, HandlerRegistry } from '../../src/broker/handler-registry.js';
import { createApiVersionsHandler } from '../../src/broker/handlers/api-versions.js';
import { createRequestDispatcher } from '../../src/broker/request-dispatcher.js';
import type { BrokerServices } from '../../src/broker/services.js';
import type { BrokerRegistration } from '../../src/controller/types.js';
import { randomUuid } from '../../src/controller/uuid.js';
import { controlledShutdown } from '../../src/controller/zk/controlled-shutdown.js';
import { ControllerClient } from '../../src/controller/zk/controller-client.js';
import { ControllerLink } from '../../src/controller/zk/controller-link.js';
import { silentLogger } from '../../src/logging.js';
import { SocketServer } from '../../src/network/index.js';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { ApiKey, type ApiRequest, type ApiResponse } from '../../src/protocol/messages/api-table.js';
import { ZERO_UUID } from '../../src/protocol/primitives.js';

type AlterPartition = typeof ApiKey.AlterPartition;
type ControlledShutdown = typeof ApiKey.ControlledShutdown;

interface Seen {
  apiKey: number;
  version: number;
  body: unknown;
}

interface ScriptedController {
  port: number;
  seen: Seen[];
  stop(): Promise<void>;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A broker socket serving AlterPartition / ControlledShutdown as scripted, up to the given versions. */
async function scriptedController(script: {
  alterPartitionMax?: number;
  alterPartition?: (body: ApiRequest<AlterPartition>, version: number) => ApiResponse<AlterPartition>;
  controlledShutdown?: (body: ApiRequest<ControlledShutdown>) => ApiResponse<ControlledShutdown>;
}): Promise<ScriptedController> {
  const seen: Seen[] = [];
  const registry = new HandlerRegistry();
  registry.register(createApiVersionsHandler({ registry } as unknown as BrokerServices));
  registry.register(
    defineHandler({
      apiKey: ApiKey.AlterPartition,
      minVersion: 0,
      maxVersion: script.alterPartitionMax ?? 3,
      handle(body, context) {
        seen.push({ apiKey: ApiKey.AlterPartition, version: context.apiVersion, body });
        return script.alterPartition!(body, context.apiVersion);
      },
    }),
    defineHandler({
      apiKey: ApiKey.ControlledShutdown,
      minVersion: 0,
      maxVersion: 3,
      handle(body, context) {
        seen.push({ apiKey: ApiKey.ControlledShutdown, version: context.apiVersion, body });
        return script.controlledShutdown!(body);
      },
    }),
  );
  const server = new SocketServer({
    listeners: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 0 }],
    handler: createRequestDispatcher({ registry, logger: silentLogger }),
    maxRequestBytes: 1 << 20,
    logger: silentLogger,
  });
  const [bound] = await server.start();
  const controller = { port: bound!.port, seen, stop: () => server.stop({ graceMs: 0 }) };
  cleanups.push(controller.stop);
  return controller;
}

/** The metadata a broker's link reads: which broker is controller, where brokers listen, and its update signal. */
function metadata(brokers: Record<number, number>, controllerId: number) {
  const waiters: Array<() => void> = [];
  const state = {
    controllerId,
    brokers,
    /** An UpdateMetadata arrived. */
    update(next: { controllerId?: number; brokers?: Record<number, number> }) {
      if (next.controllerId !== undefined) state.controllerId = next.controllerId;
      if (next.brokers) state.brokers = next.brokers;
      for (const w of waiters.splice(0)) w();
    },
    registration(id: number): BrokerRegistration | undefined {
      const port = state.brokers[id];
      return port === undefined ? undefined : { brokerId: id, rack: null, endpoints: [{ listenerName: 'INTERNAL', host: '127.0.0.1', port, securityProtocol: 'PLAINTEXT' }] };
    },
    next(timeoutMs: number): Promise<void> {
      return new Promise((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
  return state;
}

function link(meta: ReturnType<typeof metadata>, requestTimeoutMs = 5000) {
  const client = new ControllerClient({ brokerId: 7, requestTimeoutMs, maxResponseBytes: 1 << 20, logger: silentLogger });
  cleanups.push(() => client.close());
  return new ControllerLink({
    brokerId: 7,
    brokerEpoch: () => -1n,
    listenerName: 'INTERNAL',
    client,
    controllerId: () => meta.controllerId,
    broker: (id) => meta.registration(id),
    replicasOf: () => [7, 8, 9],
    nextMetadataUpdate: (ms) => meta.next(ms),
    requestTimeoutMs,
    logger: silentLogger,
  });
}

const committed = (body: ApiRequest<AlterPartition>, version: number, errorCode: number = ErrorCode.NONE): ApiResponse<AlterPartition> => ({
  throttleTimeMs: 0,
  errorCode: ErrorCode.NONE,
  topics: body.topics.map((t) => ({
    ...(version >= 2 ? { topicId: t.topicId } : { topicName: t.topicName }),
    partitions: t.partitions.map((p) => ({
      partitionIndex: p.partitionIndex,
      errorCode,
      leaderId: 7,
      leaderEpoch: p.leaderEpoch,
      isr: version >= 3 ? p.newIsrWithEpochs!.map((b) => b.brokerId) : p.newIsr!,
      leaderRecoveryState: 0,
      partitionEpoch: p.partitionEpoch + 1,
    })),
  })),
});

test('AlterPartition: v3 by topic id with ISR epochs; v1 by name when the controller stops there or no topic id is known', async () => {
  const v3 = await scriptedController({ alterPartition: committed });
  const meta = metadata({ 1: v3.port }, 1);
  const topicId = randomUuid();
  const state = await link(meta).alterPartition({ topic: 't', topicId, partition: 2, leaderEpoch: 4, partitionEpoch: 9, newIsr: [7, 8] });
  assert.deepEqual(state, { partition: 2, replicas: [7, 8, 9], isr: [7, 8], leader: 7, leaderEpoch: 4, partitionEpoch: 10 });
  assert.equal(v3.seen[0]!.version, 3);
  const body = v3.seen[0]!.body as ApiRequest<AlterPartition>;
  assert.equal(body.brokerId, 7);
  assert.equal(body.topics[0]!.topicId, topicId);
  assert.deepEqual(body.topics[0]!.partitions[0]!.newIsrWithEpochs!.map((b) => [b.brokerId, b.brokerEpoch]), [[7, -1n], [8, -1n]]);

  // The same controller, a partition whose topic id this broker never learned: by name.
  await link(meta).alterPartition({ topic: 'u', topicId: ZERO_UUID, partition: 0, leaderEpoch: 1, partitionEpoch: 1, newIsr: [7] });
  assert.equal(v3.seen[1]!.version, 1);
  assert.equal((v3.seen[1]!.body as ApiRequest<AlterPartition>).topics[0]!.topicName, 'u');

  const v1 = await scriptedController({ alterPartitionMax: 1, alterPartition: committed });
  const old = metadata({ 1: v1.port }, 1);
  await link(old).alterPartition({ topic: 't', topicId, partition: 0, leaderEpoch: 1, partitionEpoch: 1, newIsr: [7, 9] });
  assert.equal(v1.seen[0]!.version, 1);
  assert.deepEqual((v1.seen[0]!.body as ApiRequest<AlterPartition>).topics[0]!.partitions[0]!.newIsr, [7, 9]);
});

test('AlterPartition: NOT_CONTROLLER waits for the next metadata and goes to the new controller', async () => {
  const stale = await scriptedController({ alterPartition: () => ({ throttleTimeMs: 0, errorCode: ErrorCode.NOT_CONTROLLER, topics: [] }) });
  const fresh = await scriptedController({ alterPartition: committed });
  const meta = metadata({ 1: stale.port, 2: fresh.port }, 1);
  const pending = link(meta).alterPartition({ topic: 't', topicId: randomUuid(), partition: 0, leaderEpoch: 2, partitionEpoch: 3, newIsr: [7] });
  // The old controller keeps refusing until the metadata names another one.
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.ok(stale.seen.length >= 1);
  assert.equal(fresh.seen.length, 0);
  meta.update({ controllerId: 2 });
  const state = await pending;
  assert.equal(state.partitionEpoch, 4);
  assert.equal(fresh.seen.length, 1);
});

test('AlterPartition: refusals reject with Kafka\'s code; no reachable controller ends with REQUEST_TIMED_OUT', async () => {
  const fenced = await scriptedController({ alterPartition: (body, v) => committed(body, v, ErrorCode.FENCED_LEADER_EPOCH) });
  const meta = metadata({ 1: fenced.port }, 1);
  const proposal = { topic: 't', topicId: randomUuid(), partition: 0, leaderEpoch: 2, partitionEpoch: 3, newIsr: [7] };
  await assert.rejects(link(meta).alterPartition(proposal), (err: unknown) => err instanceof KafkaError && err.code === ErrorCode.FENCED_LEADER_EPOCH);

  const broken = await scriptedController({ alterPartition: () => ({ throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, topics: [] }) });
  await assert.rejects(link(metadata({ 1: broken.port }, 1)).alterPartition(proposal), (err: unknown) => err instanceof KafkaError && err.code === ErrorCode.CLUSTER_AUTHORIZATION_FAILED);

  // The named controller is not listening, and no other is named: give up at controller.socket.timeout.ms.
  await fenced.stop();
  const started = Date.now();
  await assert.rejects(link(meta, 800).alterPartition(proposal), (err: unknown) => err instanceof KafkaError && err.code === ErrorCode.REQUEST_TIMED_OUT);
  assert.ok(Date.now() - started < 5000);
  await assert.rejects(link(metadata({}, -1), 300).alterPartition(proposal), /no live controller is known/);
});

test('controlled shutdown: retried with backoff while partitions remain, controller looked up each time; gives up after max retries', async () => {
  let answers = 0;
  const controller = await scriptedController({
    controlledShutdown: (body) => {
      answers++;
      assert.equal(body.brokerId, 7);
      return answers < 3
        ? { errorCode: ErrorCode.NONE, remainingPartitions: [{ topicName: 't', partitionIndex: answers }] }
        : { errorCode: ErrorCode.NONE, remainingPartitions: [] };
    },
  });
  const client = new ControllerClient({ brokerId: 7, requestTimeoutMs: 2000, maxResponseBytes: 1 << 20, logger: silentLogger });
  cleanups.push(() => client.close());
  let lookups = 0;
  const options = {
    brokerId: 7,
    brokerEpoch: -1n,
    maxRetries: 3,
    retryBackoffMs: 100,
    client,
    logger: silentLogger,
    locateController: async () => {
      lookups++;
      return { brokerId: 1, host: '127.0.0.1', port: controller.port };
    },
  };
  const started = Date.now();
  assert.equal(await controlledShutdown(options), true);
  assert.equal(answers, 3);
  assert.equal(lookups, 3);
  assert.ok(Date.now() - started >= 200, 'backed off between attempts');
  assert.equal(controller.seen[0]!.version, 3);
  assert.equal((controller.seen[0]!.body as ApiRequest<ControlledShutdown>).brokerEpoch, -1n);

  // Refused every time: false after max retries; no controller at all: false too.
  const refusing = await scriptedController({ controlledShutdown: () => ({ errorCode: ErrorCode.NOT_CONTROLLER, remainingPartitions: [] }) });
  assert.equal(await controlledShutdown({ ...options, locateController: async () => ({ brokerId: 2, host: '127.0.0.1', port: refusing.port }) }), false);
  assert.equal(refusing.seen.length, 3);
  assert.equal(await controlledShutdown({ ...options, maxRetries: 2, locateController: async () => undefined }), false);
});
