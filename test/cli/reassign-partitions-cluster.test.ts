/**
 * `ganglion reassign-partitions` through the bin against a real cluster
 * (Debian's ZooKeeper, broker processes): the seed's scale-out. A fourth
 * broker joins, --generate proposes a spread over brokers 1-3, --execute
 * starts it (printing the rollback plan; --throttle is accepted and said to
 * be unsupported), --verify reports it completed, the replica on broker 0
 * is deleted, and every record is still there when broker 3 is the only
 * replica left serving. A second test catches a reassignment in progress
 * (its new replica's broker is stopped) to check --list, --verify and --cancel,
 * and the listing through kafkajs, a real client; a third moves a partition
 * with kafkajs's alterPartitionReassignments.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { Admin } from '../../src/client/index.js';
import { makeTempDir, removeDir, waitFor } from '../helpers/broker.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';
import { skipUnlessZooKeeper, startZooKeeper, type TestZooKeeper } from '../helpers/zookeeper.js';
import { ganglion, lines } from './helpers.js';

const skip = skipUnlessZooKeeper();
const { Kafka, logLevel } = kafkajs;

describe('ganglion reassign-partitions on a cluster', { skip }, () => {
  let zk: TestZooKeeper;
  let cluster: TestCluster;
  let admin: Admin;
  let kafkajsAdmin: kafkajs.Admin;
  let dir: string;

  before(async () => {
    dir = await makeTempDir('ganglion-reassign-e2e-');
    // A frozen broker must stay registered through a series of slow CLI runs (a loaded
    // machine): sessions of 30 s, which needs ZooKeeper's tickTime above the test default.
    zk = await startZooKeeper({ tickTime: 2000 });
    cluster = await startCluster({
      brokers: 3,
      zk,
      brokerConfig: { 'auto.leader.rebalance.enable': 'false', 'zookeeper.session.timeout.ms': '30000' },
    });
    await cluster.waitForController();
    admin = new Admin({ 'bootstrap.servers': cluster.bootstrapServers });
    kafkajsAdmin = new Kafka({ brokers: cluster.bootstrapServers.split(','), clientId: 'reassign-e2e', logLevel: logLevel.NOTHING }).admin();
    await kafkajsAdmin.connect();
  });
  after(async () => {
    await kafkajsAdmin?.disconnect();
    await admin?.close();
    await cluster?.close();
    await zk?.close();
    await removeDir(dir);
  });

  const replicasOf = async (topic: string) => (await admin.describeTopics([topic]))[0]!.partitions[0]!;
  const bootstrap = () => cluster.bootstrapServers;

  it('moves a partition onto a new broker with --generate, --execute and --verify, data intact', async () => {
    const topic = 'scale-out';
    const created = await ganglion(['topics', '--bootstrap-server', bootstrap(), '--create', '--topic', topic, '--replica-assignment', '0:1:2']);
    assert.equal(created.code, 0, created.stderr);
    const records = Array.from({ length: 200 }, (_, i) => `record-${i}`);
    const produced = await ganglion(
      ['console-producer', '--bootstrap-server', bootstrap(), '--topic', topic, '--producer-property', 'acks=all'],
      { input: `${records.join('\n')}\n` },
    );
    assert.equal(produced.code, 0, produced.stderr);

    await cluster.addBroker(3);
    await cluster.waitForController();

    const topicsFile = join(dir, 'topics-to-move.json');
    await writeFile(topicsFile, JSON.stringify({ topics: [{ topic }], version: 1 }));
    const generated = await ganglion(['reassign-partitions', '--bootstrap-server', bootstrap(), '--generate', '--topics-to-move-json-file', topicsFile, '--broker-list', '1,2,3']);
    assert.equal(generated.code, 0, generated.stderr);
    const out = lines(generated.stdout);
    assert.equal(out[0], 'Current partition replica assignment');
    assert.equal(out[1], `{"version":1,"partitions":[{"topic":"${topic}","partition":0,"replicas":[0,1,2],"log_dirs":["any","any","any"]}]}`);
    assert.equal(out[2], '');
    assert.equal(out[3], 'Proposed partition reassignment configuration');
    const proposal = JSON.parse(out[4]!) as { version: number; partitions: Array<{ topic: string; partition: number; replicas: number[]; log_dirs: string[] }> };
    assert.equal(out.length, 5, generated.stdout);
    assert.equal(proposal.version, 1);
    assert.equal(proposal.partitions.length, 1);
    const target = proposal.partitions[0]!.replicas;
    assert.deepEqual([...target].sort(), [1, 2, 3], 'three replicas on the listed brokers');
    assert.deepEqual(proposal.partitions[0]!.log_dirs, ['any', 'any', 'any']);

    const planFile = join(dir, 'reassignment.json');
    await writeFile(planFile, out[4]!);
    const executed = await ganglion(['reassign-partitions', '--bootstrap-server', bootstrap(), '--execute', '--reassignment-json-file', planFile, '--throttle', '50000000']);
    assert.equal(executed.code, 0, executed.stderr);
    const ex = lines(executed.stdout);
    assert.deepEqual(ex.slice(0, 5), [
      'Current partition replica assignment',
      '',
      `{"version":1,"partitions":[{"topic":"${topic}","partition":0,"replicas":[0,1,2],"log_dirs":["any","any","any"]}]}`,
      '',
      'Save this to use as the --reassignment-json-file option during rollback',
    ]);
    assert.match(ex[5]!, /^Warning: --throttle 50000000 is not supported by this broker version/);
    assert.equal(ex[6], `Successfully started partition reassignment for ${topic}-0`);

    let verified = '';
    await waitFor(
      async () => {
        const r = await ganglion(['reassign-partitions', '--bootstrap-server', bootstrap(), '--verify', '--reassignment-json-file', planFile]);
        assert.equal(r.code, 0, r.stderr);
        verified = r.stdout;
        assert.equal(lines(r.stdout)[0], 'Status of partition reassignment:');
        return r.stdout.includes(`Reassignment of partition ${topic}-0 is completed.`);
      },
      { timeoutMs: 60_000, intervalMs: 500, what: `the reassignment to complete (last --verify: ${verified})` },
    );
    const after = await replicasOf(topic);
    assert.deepEqual(after.replicas, target);
    assert.deepEqual([...after.isr].sort(), [1, 2, 3]);
    assert.ok(target.includes(after.leader));
    // The replica removed from broker 0 is deleted (StopReplica with deletion).
    await waitFor(() => !existsSync(join(cluster.broker(0).logDir, `${topic}-0`)), { timeoutMs: 20_000, what: `${topic}-0 to leave broker 0` });
    assert.ok(existsSync(join(cluster.broker(3).logDir, `${topic}-0`)));
    const listed = await ganglion(['reassign-partitions', '--bootstrap-server', bootstrap(), '--list']);
    assert.equal(listed.stdout, 'No partition reassignments found.\n');

    // With brokers 1 and 2 stopped (controlled shutdown), broker 3 leads alone and serves every record.
    await cluster.broker(1).stop();
    await cluster.broker(2).stop();
    await waitFor(async () => (await replicasOf(topic)).leader === 3, { timeoutMs: 30_000, what: 'broker 3 to lead' });
    const consumed = await ganglion(
      ['console-consumer', '--bootstrap-server', cluster.broker(3).bootstrap, '--topic', topic, '--from-beginning', '--max-messages', String(records.length), '--timeout-ms', '20000'],
      { timeoutMs: 60_000 },
    );
    assert.deepEqual(lines(consumed.stdout), records);
    await cluster.broker(1).restart();
    await cluster.broker(2).restart();
    await cluster.waitForController();
  });

  it('--list, --verify and --cancel catch a reassignment in progress', async () => {
    const topic = 'held-back';
    const created = await ganglion(['topics', '--bootstrap-server', bootstrap(), '--create', '--topic', topic, '--replica-assignment', '1:2']);
    assert.equal(created.code, 0, created.stderr);
    const planFile = join(dir, 'held-back.json');
    await writeFile(planFile, `{"version":1,"partitions":[{"topic":"${topic}","partition":0,"replicas":[1,2,3]}]}`);
    // Broker 3 is registered but frozen: it cannot fetch, so its new replica never catches up.
    // A frozen controller would answer nothing, so make sure another broker holds that seat.
    if ((await cluster.waitForController()) === 3) {
      await cluster.broker(3).restart();
      assert.notEqual(await cluster.waitForController(), 3);
    }
    const frozen = cluster.broker(3);
    process.kill(frozen.pid!, 'SIGSTOP');
    try {
      const executed = await ganglion(['reassign-partitions', '--bootstrap-server', bootstrap(), '--execute', '--reassignment-json-file', planFile]);
      assert.equal(executed.code, 0, executed.stderr);
      assert.match(executed.stdout, new RegExp(`Successfully started partition reassignment for ${topic}-0\n$`));

      const again = await ganglion(['reassign-partitions', '--bootstrap-server', bootstrap(), '--execute', '--reassignment-json-file', planFile]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /^Cannot execute because there is an existing partition assignment\./);

      const listed = await ganglion(['reassign-partitions', '--bootstrap-server', bootstrap(), '--list']);
      assert.equal(listed.stdout, `Current partition reassignments:\n${topic}-0: replicas: 1,2,3. adding: 3.\n`);
      // kafkajs's decoded response (its typings name the fields topic/partitionIndex; the code, name/partition).
      const viaKafkajs = await kafkajsAdmin.listPartitionReassignments({});
      assert.deepEqual(viaKafkajs.topics, [{ name: topic, partitions: [{ partition: 0, replicas: [1, 2, 3], addingReplicas: [3], removingReplicas: [] }] }]);
      const verified = await ganglion(['reassign-partitions', '--bootstrap-server', bootstrap(), '--verify', '--reassignment-json-file', planFile]);
      assert.equal(verified.stdout, `Status of partition reassignment:\nReassignment of partition ${topic}-0 is still in progress.\n`);
      const described = await ganglion(['topics', '--bootstrap-server', bootstrap(), '--describe', '--topic', topic]);
      assert.match(described.stdout, /\tReplicas: 1,2,3\tIsr: 1,2\tAdding Replicas: 3\tRemoving Replicas: \t/);
      assert.match(described.stdout, /ReplicationFactor: 2\t/, 'the replicas being added do not count');

      const cancelled = await ganglion(['reassign-partitions', '--bootstrap-server', bootstrap(), '--cancel', '--reassignment-json-file', planFile]);
      assert.equal(cancelled.code, 0, cancelled.stderr);
      assert.equal(cancelled.stdout, `Successfully cancelled partition reassignment for: ${topic}-0\n`);
      await waitFor(async () => (await replicasOf(topic)).replicas.join(',') === '1,2', { timeoutMs: 20_000, what: 'the original replicas back' });
      const after = await ganglion(['reassign-partitions', '--bootstrap-server', bootstrap(), '--verify', '--reassignment-json-file', planFile]);
      assert.equal(
        after.stdout,
        `Status of partition reassignment:\nThere is no active reassignment of partition ${topic}-0, but replica set is [1,2] rather than [1,2,3].\n`,
      );
      const none = await ganglion(['reassign-partitions', '--bootstrap-server', bootstrap(), '--cancel', '--reassignment-json-file', planFile]);
      assert.equal(none.stdout, 'None of the specified partition reassignments are active.\n');
    } finally {
      process.kill(frozen.pid!, 'SIGCONT');
    }
  });

  it('kafkajs moves a partition with alterPartitionReassignments; a target naming an unknown broker is INVALID_REPLICA_ASSIGNMENT', async () => {
    const topic = 'kafkajs-moved';
    const created = await ganglion(['topics', '--bootstrap-server', bootstrap(), '--create', '--topic', topic, '--replica-assignment', '1:2']);
    assert.equal(created.code, 0, created.stderr);
    await cluster.waitForController();
    await kafkajsAdmin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: [2, 3] }] }] });
    await waitFor(
      async () => {
        const p = await replicasOf(topic);
        const ongoing = await kafkajsAdmin.listPartitionReassignments({ topics: [{ topic, partitions: [0] }] });
        return p.replicas.join(',') === '2,3' && [...p.isr].sort().join(',') === '2,3' && ongoing.topics.every((t) => t.partitions.length === 0);
      },
      { timeoutMs: 60_000, intervalMs: 500, what: `${topic}-0 to move onto brokers 2 and 3` },
    );
    await assert.rejects(
      kafkajsAdmin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: [2, 7] }] }] }),
      (error: Error & { errors?: Array<{ type: string; topic: string; partition: number }> }) => {
        assert.equal(error.name, 'KafkaJSAggregateError', String(error));
        assert.deepEqual(
          error.errors!.map((e) => [e.type, e.topic, e.partition]),
          [['INVALID_REPLICA_ASSIGNMENT', topic, 0]],
        );
        return true;
      },
    );
    assert.deepEqual((await replicasOf(topic)).replicas, [2, 3]);
  });

  it('refuses a plan naming an unknown broker or partition', async () => {
    const planFile = join(dir, 'unknown.json');
    await writeFile(planFile, '{"version":1,"partitions":[{"topic":"scale-out","partition":0,"replicas":[1,7]}]}');
    const r = await ganglion(['reassign-partitions', '--bootstrap-server', bootstrap(), '--execute', '--reassignment-json-file', planFile]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Error: Unknown broker id 7\n');
    await writeFile(planFile, '{"version":1,"partitions":[{"topic":"scale-out","partition":5,"replicas":[1,2]}]}');
    const p = await ganglion(['reassign-partitions', '--bootstrap-server', bootstrap(), '--execute', '--reassignment-json-file', planFile]);
    assert.equal(p.code, 1);
    assert.equal(p.stderr, 'Error: Unable to find partition: scale-out-5\n');
  });
});
