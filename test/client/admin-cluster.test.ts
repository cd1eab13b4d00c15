/**
 * Admin's controller-only calls (electLeaders, alterPartitionReassignments,
 * listPartitionReassignments) against two scripted brokers over the wire:
 * each call goes to the controller Metadata names, follows a controller
 * change on NOT_CONTROLLER, and maps Kafka's errors to the client's types.
 * The real cluster paths are covered end to end in test/cli/reassign-*.test.ts
 * and test/cli/leader-election*.test.ts.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Admin, AdminError, ErrorCode, KafkaError, TimeoutError, UnsupportedVersionError } from '../../src/client/index.js';
import { ApiKey } from '../../src/protocol/messages/api-table.js';
import { scriptedBroker, type ScriptedBroker, type ScriptedRequest } from './scripted-broker.js';

/** A request as one of the two brokers saw it. */
type Seen = ScriptedRequest & { node: number };

/** What the scripted cluster answers; tests change it as they go. */
interface Script {
  controllerId: number;
  /** Extra per-API version caps (e.g. ElectLeaders v0 only). */
  maxVersion?: Partial<Record<number, number>>;
  /** Answers a controller API on `node`; the fakes answer ApiVersions and Metadata themselves. */
  answer(node: number, apiKey: number, body: any, version: number): unknown;
}

const SERVED: Array<[number, number, number]> = [
  [ApiKey.ApiVersions, 0, 4],
  [ApiKey.Metadata, 1, 12],
  [ApiKey.ElectLeaders, 0, 2],
  [ApiKey.AlterPartitionReassignments, 0, 0],
  [ApiKey.ListPartitionReassignments, 0, 0],
];

interface FakeCluster {
  seen: Seen[];
  bootstrap: string;
  close(): Promise<void>;
}

/** Two scripted brokers (ids 0 and 1) on free ports, advertising each other in Metadata. */
async function fakeCluster(script: Script): Promise<FakeCluster> {
  const seen: Seen[] = [];
  const ports: number[] = [];
  const brokers: ScriptedBroker[] = [];
  for (let node = 0; node < 2; node++) {
    const broker = await scriptedBroker((req) => {
      seen.push({ ...req, node });
      const { apiKey, apiVersion, body } = req;
      let reply: unknown;
      if (apiKey === ApiKey.ApiVersions) {
        reply = {
          errorCode: ErrorCode.NONE,
          throttleTimeMs: 0,
          apiKeys: SERVED.map(([key, min, max]) => ({ apiKey: key, minVersion: min, maxVersion: script.maxVersion?.[key] ?? max })),
        };
      } else if (apiKey === ApiKey.Metadata) {
        reply = {
          throttleTimeMs: 0,
          brokers: ports.map((port, nodeId) => ({ nodeId, host: '127.0.0.1', port, rack: null })),
          clusterId: 'fake-cluster',
          controllerId: script.controllerId,
          topics: [],
        };
      } else {
        reply = script.answer(node, apiKey, body, apiVersion);
      }
      return { body: reply, version: apiVersion };
    });
    brokers.push(broker);
    ports.push(broker.port);
  }
  return {
    seen,
    bootstrap: `127.0.0.1:${ports[0]}`,
    async close() {
      await Promise.all(brokers.map((b) => b.close()));
    },
  };
}

const electionReply = (results: Array<[string, number, number]>, errorCode: number = ErrorCode.NONE) => ({
  throttleTimeMs: 0,
  errorCode,
  replicaElectionResults: [...new Set(results.map((r) => r[0]))].map((topic) => ({
    topic,
    partitionResult: results.filter((r) => r[0] === topic).map(([, partitionId, code]) => ({ partitionId, errorCode: code, errorMessage: null })),
  })),
});

describe('Admin controller calls', () => {
  let cluster: FakeCluster | null = null;
  let admin: Admin | null = null;
  afterEach(async () => {
    await admin?.close();
    await cluster?.close();
    admin = null;
    cluster = null;
  });
  const adminFor = (c: FakeCluster, extra: Record<string, string> = {}) =>
    new Admin({ 'bootstrap.servers': c.bootstrap, 'retry.backoff.ms': '20', 'retry.backoff.max.ms': '50', ...extra });

  it('electLeaders goes to the controller, follows it after NOT_CONTROLLER, and reports each partition', async () => {
    const script: Script = {
      controllerId: 0,
      answer(node, apiKey) {
        assert.equal(apiKey, ApiKey.ElectLeaders);
        if (node === 0) {
          // Broker 0 lost the controllership: metadata now names broker 1.
          script.controllerId = 1;
          return electionReply([], ErrorCode.NOT_CONTROLLER);
        }
        return electionReply([
          ['t', 0, ErrorCode.NONE],
          ['t', 1, ErrorCode.ELECTION_NOT_NEEDED],
          ['u', 0, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE],
        ]);
      },
    };
    cluster = await fakeCluster(script);
    admin = adminFor(cluster);
    const results = await admin.electLeaders('PREFERRED', [
      { topic: 't', partition: 0 },
      { topic: 't', partition: 1 },
      { topic: 'u', partition: 0 },
    ]);
    assert.deepEqual(
      results.map((r) => [r.topic, r.partition, r.error?.errorName ?? null]),
      [
        ['t', 0, null],
        ['t', 1, 'ELECTION_NOT_NEEDED'],
        ['u', 0, 'PREFERRED_LEADER_NOT_AVAILABLE'],
      ],
    );
    assert.ok(results[2]!.error instanceof KafkaError);
    const elections = cluster.seen.filter((s) => s.apiKey === ApiKey.ElectLeaders);
    assert.deepEqual(
      elections.map((s) => s.node),
      [0, 1],
    );
    const request = elections[1]!;
    assert.equal(request.apiVersion, 2);
    assert.equal(request.body.electionType, 0);
    assert.deepEqual(request.body.topicPartitions, [
      { topic: 't', partitions: [0, 1] },
      { topic: 'u', partitions: [0] },
    ]);
    assert.ok(request.body.timeoutMs > 0);
  });

  it('electLeaders with null partitions asks for every partition, UNCLEAN as election type 1', async () => {
    cluster = await fakeCluster({ controllerId: 1, answer: () => electionReply([['t', 0, ErrorCode.NONE]]) });
    admin = adminFor(cluster);
    await admin.electLeaders('UNCLEAN', null);
    const request = cluster.seen.find((s) => s.apiKey === ApiKey.ElectLeaders)!;
    assert.equal(request.node, 1);
    assert.equal(request.body.topicPartitions, null);
    assert.equal(request.body.electionType, 1);
  });

  it('v0 (no top-level error): NOT_CONTROLLER on every partition is followed too', async () => {
    const script: Script = {
      controllerId: 0,
      maxVersion: { [ApiKey.ElectLeaders]: 0 },
      answer(node) {
        if (node === 0) {
          script.controllerId = 1;
          return electionReply([['t', 0, ErrorCode.NOT_CONTROLLER]]);
        }
        return electionReply([['t', 0, ErrorCode.NONE]]);
      },
    };
    cluster = await fakeCluster(script);
    admin = adminFor(cluster);
    const results = await admin.electLeaders('PREFERRED', [{ topic: 't', partition: 0 }]);
    assert.equal(results[0]!.error, null);
    assert.deepEqual(
      cluster.seen.filter((s) => s.apiKey === ApiKey.ElectLeaders).map((s) => [s.node, s.apiVersion]),
      [
        [0, 0],
        [1, 0],
      ],
    );
  });

  it('an UNCLEAN election needs ElectLeaders v1: a v0-only controller is UnsupportedVersionError at once', async () => {
    cluster = await fakeCluster({ controllerId: 0, maxVersion: { [ApiKey.ElectLeaders]: 0 }, answer: () => assert.fail('not sent') });
    admin = adminFor(cluster);
    await assert.rejects(admin.electLeaders('UNCLEAN', null, { timeoutMs: 5000 }), UnsupportedVersionError);
  });

  it('no controller known: retried until the call times out', async () => {
    cluster = await fakeCluster({ controllerId: -1, answer: () => assert.fail('not sent') });
    admin = adminFor(cluster);
    const started = Date.now();
    await assert.rejects(admin.listPartitionReassignments({ timeoutMs: 500 }), (error: Error) => {
      assert.ok(error instanceof TimeoutError);
      assert.match(error.message, /listPartitionReassignments timed out after 500 ms.*no active controller/);
      return true;
    });
    assert.ok(Date.now() - started < 3000);
  });

  it('alterPartitionReassignments sends targets and cancellations; failed partitions reject as AdminError', async () => {
    cluster = await fakeCluster({
      controllerId: 1,
      answer: (_node, apiKey, body) => {
        assert.equal(apiKey, ApiKey.AlterPartitionReassignments);
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          responses: body.topics.map((t: any) => ({
            name: t.name,
            partitions: t.partitions.map((p: any) => ({
              partitionIndex: p.partitionIndex,
              errorCode: p.replicas === null ? ErrorCode.NO_REASSIGNMENT_IN_PROGRESS : ErrorCode.NONE,
              errorMessage: null,
            })),
          })),
        };
      },
    });
    admin = adminFor(cluster);
    await admin.alterPartitionReassignments([{ topic: 't', partition: 0, replicas: [2, 1, 0] }]);
    await assert.rejects(
      admin.alterPartitionReassignments([
        { topic: 't', partition: 0, replicas: [0, 1, 2] },
        { topic: 't', partition: 1, replicas: null },
      ]),
      (error: Error) => {
        assert.ok(error instanceof AdminError);
        assert.equal(error.code, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
        assert.deepEqual(
          error.failures.map((f) => [f.resource, f.error.errorName]),
          [['t-1', 'NO_REASSIGNMENT_IN_PROGRESS']],
        );
        return true;
      },
    );
    const requests = cluster.seen.filter((s) => s.apiKey === ApiKey.AlterPartitionReassignments);
    assert.ok(requests.every((r) => r.node === 1));
    assert.deepEqual(requests[1]!.body.topics, [
      {
        name: 't',
        partitions: [
          { partitionIndex: 0, replicas: [0, 1, 2] },
          { partitionIndex: 1, replicas: null },
        ],
      },
    ]);
  });

  it('a top-level error of the controller rejects with that KafkaError', async () => {
    cluster = await fakeCluster({
      controllerId: 0,
      answer: () => ({ throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'not allowed here', responses: [] }),
    });
    admin = adminFor(cluster);
    await assert.rejects(admin.alterPartitionReassignments([{ topic: 't', partition: 0, replicas: [1] }]), (error: Error) => {
      assert.ok(error instanceof KafkaError);
      assert.equal(error.code, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      assert.match(error.message, /not allowed here/);
      return true;
    });
  });

  it('listPartitionReassignments returns the ongoing moves, for given partitions or all', async () => {
    cluster = await fakeCluster({
      controllerId: 0,
      answer: (_node, apiKey) => {
        assert.equal(apiKey, ApiKey.ListPartitionReassignments);
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          topics: [{ name: 't', partitions: [{ partitionIndex: 2, replicas: [0, 1, 3], addingReplicas: [3], removingReplicas: [1] }] }],
        };
      },
    });
    admin = adminFor(cluster);
    const all = await admin.listPartitionReassignments();
    assert.deepEqual(all, [{ topic: 't', partition: 2, replicas: [0, 1, 3], addingReplicas: [3], removingReplicas: [1] }]);
    await admin.listPartitionReassignments({ partitions: [{ topic: 't', partition: 2 }] });
    const requests = cluster.seen.filter((s) => s.apiKey === ApiKey.ListPartitionReassignments);
    assert.equal(requests[0]!.body.topics, null);
    assert.deepEqual(requests[1]!.body.topics, [{ name: 't', partitionIndexes: [2] }]);
  });
});
