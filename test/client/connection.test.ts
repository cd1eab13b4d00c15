import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Admin, BrokerConnection, Cluster, ConnectionError, RequestTimeoutError } from '../../src/client/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/api-table.js';
import { startTestBroker, trackUnhandledRejections, type TestBroker } from './helpers.js';
import { scriptedBroker } from './scripted-broker.js';

const apiVersionsBody = (keys: Array<[number, number, number]>) => ({
  errorCode: ErrorCode.NONE,
  apiKeys: keys.map(([apiKey, minVersion, maxVersion]) => ({ apiKey, minVersion, maxVersion })),
  throttleTimeMs: 0,
});

function open(port: number, requestTimeoutMs = 2000): Promise<BrokerConnection> {
  return BrokerConnection.open({
    host: '127.0.0.1',
    port,
    clientId: 'conn-test',
    requestTimeoutMs,
    connectTimeoutMs: 2000,
    maxResponseBytes: 1 << 20,
  });
}

describe('broker connection', () => {
  const unhandled = trackUnhandledRejections();
  after(() => unhandled.assertNone());

  it('falls back to the ApiVersions version the broker speaks, then picks the highest common version per API', async () => {
    const fake = await scriptedBroker((req) => {
      if (req.apiKey !== ApiKey.ApiVersions) return null;
      if (req.apiVersion > 2) {
        // What a broker that does not know the version does: v0 layout, UNSUPPORTED_VERSION, its own range.
        return { body: { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: [{ apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 2 }] }, version: 0 };
      }
      return { body: apiVersionsBody([[ApiKey.ApiVersions, 0, 2], [ApiKey.Metadata, 0, 7], [ApiKey.Produce, 3, 20]]), version: req.apiVersion };
    });
    try {
      const conn = await open(fake.port);
      assert.deepEqual(
        fake.seen.map((s) => [s.apiKey, s.apiVersion]),
        [
          [ApiKey.ApiVersions, 4],
          [ApiKey.ApiVersions, 2],
        ],
      );
      assert.equal(fake.seen[0]!.clientId, 'conn-test');
      assert.equal(conn.version(ApiKey.Metadata), 7, "the broker's maximum");
      assert.equal(conn.version(ApiKey.Produce), 11, "the client's maximum");
      assert.equal(conn.supports(ApiKey.Fetch), false);
      assert.throws(() => conn.version(ApiKey.Fetch), /does not serve Fetch/);
      assert.throws(() => conn.version(ApiKey.Metadata, 8), /serves Metadata v0-7, this operation needs v8-12/);
      conn.close();
    } finally {
      await fake.close();
    }
  });

  it('falls back to ApiVersions v0 when the broker names no version', async () => {
    const fake = await scriptedBroker((req) => {
      if (req.apiVersion > 0) return { body: { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: [] }, version: 0 };
      return { body: apiVersionsBody([[ApiKey.ApiVersions, 0, 0], [ApiKey.Metadata, 1, 1]]), version: 0 };
    });
    try {
      const conn = await open(fake.port);
      assert.deepEqual(
        fake.seen.map((s) => s.apiVersion),
        [4, 0],
      );
      assert.equal(conn.version(ApiKey.Metadata), 1);
      conn.close();
    } finally {
      await fake.close();
    }
  });

  it('fails a request that gets no answer within its timeout, and drops the connection', async () => {
    const fake = await scriptedBroker((req) =>
      req.apiKey === ApiKey.ApiVersions ? { body: apiVersionsBody([[ApiKey.ApiVersions, 0, 4], [ApiKey.Metadata, 0, 12]]), version: req.apiVersion } : null,
    );
    try {
      const conn = await open(fake.port, 300);
      const closed = new Promise<Error>((resolve) => conn.onClose(resolve));
      const started = Date.now();
      const first = conn.request(ApiKey.Metadata, { topics: [] });
      const second = conn.request(ApiKey.Metadata, { topics: [] }, { timeoutMs: 5000 });
      const error = await first.catch((e: unknown) => e);
      assert.ok(error instanceof RequestTimeoutError);
      assert.equal(error.errorName, 'REQUEST_TIMED_OUT');
      assert.match(error.message, /Metadata request to 127\.0\.0\.1:\d+ got no response within 300 ms/);
      assert.ok(Date.now() - started >= 280);
      const other = await second.catch((e: unknown) => e);
      assert.ok(other instanceof ConnectionError, 'other in-flight requests fail retriably');
      assert.equal(other.retriable, true);
      assert.ok((await closed) instanceof ConnectionError);
      assert.equal(conn.closed, true);
    } finally {
      await fake.close();
    }
  });

  it('rejects with ConnectionError when nothing listens', async () => {
    const error = await open(1).catch((e: unknown) => e);
    assert.ok(error instanceof ConnectionError);
    assert.match(error.message, /127\.0\.0\.1:1: cannot connect: ECONNREFUSED/);
  });
});

describe('cluster connections against a broker', () => {
  let broker: TestBroker;
  const unhandled = trackUnhandledRejections();
  before(async () => {
    broker = await startTestBroker();
  });
  after(async () => {
    await broker.close();
    unhandled.assertNone();
  });

  it('pipelines requests on one connection', async () => {
    const conn = await open(broker.port);
    const pending = Array.from({ length: 50 }, () => conn.request(ApiKey.Metadata, { topics: [] }));
    assert.equal(conn.inFlight, 50);
    const responses = await Promise.all(pending);
    assert.ok(responses.every((r) => r.brokers.length === 1));
    assert.equal(conn.inFlight, 0);
    conn.close();
  });

  it('fails over to the next bootstrap server', async () => {
    const admin = new Admin({ 'bootstrap.servers': `127.0.0.1:1,${broker.bootstrapServers}` });
    const cluster = await admin.describeCluster();
    assert.equal(cluster.brokers[0]!.port, broker.port);
    await admin.close();
  });

  it('backs off exponentially between reconnect attempts', async () => {
    const cluster = new Cluster({
      bootstrapServers: ['127.0.0.1:1'],
      clientId: 'backoff',
      requestTimeoutMs: 1000,
      connectTimeoutMs: 1000,
      reconnectBackoffMs: 100,
      reconnectBackoffMaxMs: 400,
      retryBackoffMs: 100,
      retryBackoffMaxMs: 1000,
      metadataMaxAgeMs: 300000,
      maxResponseBytes: 1 << 20,
      allowAutoTopicCreation: false,
    });
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      await cluster.connectionTo({ host: '127.0.0.1', port: 1 }).catch(() => undefined);
      times.push(Date.now());
    }
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // 100, 200, 400 ms (±20% jitter).
    assert.ok(gaps[0]! >= 70 && gaps[0]! < 300, `gaps ${gaps}`);
    assert.ok(gaps[1]! >= 150, `gaps ${gaps}`);
    assert.ok(gaps[2]! >= 300 && gaps[2]! < 800, `gaps ${gaps}`);
    cluster.close();
  });

  it('reconnects after the broker restarts and refreshes metadata when it is older than metadata.max.age.ms', async () => {
    const admin = new Admin({ 'bootstrap.servers': broker.bootstrapServers, 'reconnect.backoff.max.ms': 100 });
    assert.equal((await admin.describeCluster()).brokers.length, 1);
    await broker.restart();
    assert.equal((await admin.describeCluster({ timeoutMs: 10000 })).brokers.length, 1);
    await admin.close();

    const cluster = new Cluster({
      bootstrapServers: [broker.bootstrapServers],
      clientId: 'age',
      requestTimeoutMs: 1000,
      connectTimeoutMs: 1000,
      reconnectBackoffMs: 50,
      reconnectBackoffMaxMs: 100,
      retryBackoffMs: 10,
      retryBackoffMaxMs: 100,
      metadataMaxAgeMs: 200,
      maxResponseBytes: 1 << 20,
      allowAutoTopicCreation: false,
    });
    await cluster.refreshMetadata();
    const first = cluster.metadata.fetchedAt;
    cluster.maybeRefresh();
    assert.equal(cluster.metadata.fetchedAt, first, 'fresh metadata is not refetched');
    await new Promise((resolve) => setTimeout(resolve, 250));
    const refreshed = new Promise<void>((resolve) => cluster.onMetadataUpdate(resolve));
    cluster.maybeRefresh();
    await refreshed;
    assert.ok(cluster.metadata.fetchedAt > first);
    cluster.close();
  });
});
