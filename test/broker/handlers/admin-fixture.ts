/**
 * Real broker services for the admin handler tests: a BrokerConfig, a
 * LogManager over a temp directory (no timers), a ReplicaManager and an
 * EmbeddedController driving it. Handlers are called directly; `roundTrip`
 * pushes a response through the generated encoder and decoder.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiHandler, RequestContext } from '../../../src/broker/handler-registry.js';
import { HandlerRegistry } from '../../../src/broker/handler-registry.js';
import { Purgatory } from '../../../src/broker/purgatory.js';
import { ReplicaManager } from '../../../src/broker/replica-manager.js';
import type { BrokerServices } from '../../../src/broker/services.js';
import { logConfigFor } from '../../../src/broker/topic-log-config.js';
import { buildBrokerConfig, topicConfigError } from '../../../src/config/index.js';
import { EmbeddedController } from '../../../src/controller/embedded-controller.js';
import { silentLogger } from '../../../src/logging.js';
import type { Connection } from '../../../src/network/index.js';
import { apiByKey, type ApiKey, type ApiRequest, type ApiResponse } from '../../../src/protocol/messages/api-table.js';
import { Reader, Writer } from '../../../src/protocol/primitives.js';
import { LogManager } from '../../../src/storage/index.js';

export interface AdminFixture extends BrokerServices {
  readonly controller: EmbeddedController;
  readonly dir: string;
  readonly logDir: string;
  close(): Promise<void>;
}

export async function openAdminFixture(values: Record<string, unknown> = {}): Promise<AdminFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'ganglion-admin-'));
  const logDir = join(dir, 'logs');
  const config = buildBrokerConfig({
    values: { 'log.dirs': logDir, 'broker.id': 1, listeners: 'PLAINTEXT://127.0.0.1:19092', ...values },
  });
  const logManager = await LogManager.open(config.logDirs, logConfigFor(config), { timers: false });
  const purgatory = new Purgatory();
  const replicaManager = new ReplicaManager({ brokerId: 1, config, logManager, purgatory, logger: silentLogger });
  const controller = await EmbeddedController.open({
    broker: {
      brokerId: 1,
      rack: config.get('broker.rack'),
      endpoints: config.advertisedListeners.map((e) => ({
        listenerName: e.name,
        host: e.host,
        port: e.port,
        securityProtocol: e.securityProtocol,
      })),
    },
    metadataDir: config.logDirs[0]!,
    numPartitions: config.get('num.partitions'),
    defaultReplicationFactor: config.get('default.replication.factor'),
    deleteTopicEnable: config.get('delete.topic.enable'),
    validateTopicConfigs: (configs) => topicConfigError(configs, config),
    delegate: replicaManager,
  });
  return {
    brokerId: 1,
    config,
    controller,
    replicaManager,
    logManager,
    registry: new HandlerRegistry(),
    logger: silentLogger,
    dir,
    logDir: config.logDirs[0]!,
    async close() {
      purgatory.close();
      await controller.close();
      await logManager.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `fn` with a fresh fixture, closing it afterwards. */
export async function withFixture(fn: (f: AdminFixture) => Promise<void>, values: Record<string, unknown> = {}): Promise<void> {
  const f = await openAdminFixture(values);
  try {
    await fn(f);
  } finally {
    await f.close();
  }
}

const connection: Connection = {
  id: '127.0.0.1:19092-127.0.0.1:50000-0',
  listenerName: 'PLAINTEXT',
  remoteAddress: '127.0.0.1',
  remotePort: 50000,
  localAddress: '127.0.0.1',
  localPort: 19092,
  closed: false,
  close() {},
};

export function context(apiVersion: number, listenerName = 'PLAINTEXT'): RequestContext {
  return { apiVersion, correlationId: 7, clientId: 'admin-test', connection: { ...connection, listenerName } };
}

/**
 * Sends `request` through the generated request codec at `version` (so the
 * handler sees exactly what the dispatcher would decode), calls the handler,
 * checks the answer encodes, and returns it decoded as a client would see it.
 */
export async function call<K extends ApiKey>(
  handler: ApiHandler<K>,
  version: number,
  request: ApiRequest<K>,
  listenerName?: string,
): Promise<ApiResponse<K>> {
  assert.ok(version >= handler.minVersion && version <= handler.maxVersion, `v${version} is advertised`);
  const api = apiByKey(handler.apiKey);
  const w = new Writer(256);
  api.encodeRequest(w, request, version);
  const decodedRequest = api.decodeRequest(new Reader(w.toBuffer()), version);
  const response = await handler.handle(decodedRequest, context(version, listenerName));
  assert.ok(response !== null, 'a response');
  return roundTrip(handler.apiKey, version, response);
}

/** Encodes then decodes a response with the generated codec for `version`. */
export function roundTrip<K extends ApiKey>(apiKey: K, version: number, response: ApiResponse<K>): ApiResponse<K> {
  const api = apiByKey(apiKey);
  const w = new Writer(256);
  api.encodeResponse(w, response, version);
  const bytes = w.toBuffer();
  const r = new Reader(bytes);
  const decoded = api.decodeResponse(r, version);
  return decoded;
}

/** Every version a handler advertises. */
export function versionsOf(handler: ApiHandler): number[] {
  const out: number[] = [];
  for (let v = handler.minVersion; v <= handler.maxVersion; v++) out.push(v);
  return out;
}
