/**
 * `ganglion topics` through the bin against a real cluster (Debian's
 * ZooKeeper, broker processes): the seed's `--create --zookeeper
 * host:port/chroot` form (the znodes it writes are picked up by the
 * controller), --list/--describe/--delete with --zookeeper, --describe's
 * Leader/Replicas/Isr from the brokers, --alter --partitions in a cluster,
 * and the --under-replicated-partitions / --unavailable-partitions reports
 * once a broker is killed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Admin } from '../../src/client/index.js';
import { freePort, waitFor } from '../helpers/broker.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';
import { skipUnlessZooKeeper } from '../helpers/zookeeper.js';
import { ganglion, lines } from './helpers.js';

const skip = skipUnlessZooKeeper();

describe('ganglion topics on a cluster', { skip }, () => {
  let cluster: TestCluster;
  let admin: Admin;

  before(async () => {
    cluster = await startCluster({ brokers: 3, brokerConfig: { 'auto.leader.rebalance.enable': 'false' } });
    await cluster.waitForController();
    admin = new Admin({ 'bootstrap.servers': cluster.bootstrapServers });
  });
  after(async () => {
    await admin?.close();
    await cluster?.close();
  });

  const topics = (...args: string[]) => ganglion(['topics', ...args]);
  const partitions = async (topic: string) => (await admin.describeTopics([topic]))[0]!.partitions;

  it("creates a topic with the seed's --zookeeper form; the controller elects its leaders", async () => {
    const created = await topics('--create', '--zookeeper', cluster.zkConnect, '--replication-factor', '3', '--partitions', '1', '--topic', 'test');
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, 'Created topic test.\n');
    await waitFor(async () => (await partitions('test').catch(() => []))[0]?.isr.length === 3, { timeoutMs: 20_000, what: 'test-0 to have a leader and three in-sync replicas' });

    const described = await topics('--describe', '--bootstrap-server', cluster.bootstrapServers, '--topic', 'test');
    assert.equal(described.code, 0, described.stderr);
    const [topicLine, partitionLine, ...rest] = lines(described.stdout);
    assert.match(topicLine!, /^Topic: test\tTopicId: \S+\tPartitionCount: 1\tReplicationFactor: 3\tConfigs: /);
    const m = /^\tTopic: test\tPartition: 0\tLeader: (\d)\tReplicas: (\d),(\d),(\d)\tIsr: ([\d,]+)\tElr: \tLastKnownElr: $/.exec(partitionLine!);
    assert.ok(m, partitionLine);
    assert.deepEqual([m[2], m[3], m[4]].sort(), ['0', '1', '2']);
    assert.equal(m[1], m[2], 'the preferred replica leads');
    assert.deepEqual(m[5]!.split(',').sort(), ['0', '1', '2']);
    assert.deepEqual(rest, []);

    // The same topic read back from ZooKeeper's nodes.
    const zkDescribed = await topics('--describe', '--zookeeper', cluster.zkConnect, '--topic', 'test');
    assert.equal(zkDescribed.code, 0, zkDescribed.stderr);
    const zkLines = lines(zkDescribed.stdout);
    assert.equal(zkLines[0], topicLine!.replace(/Configs: .*$/, 'Configs: '));
    assert.equal(zkLines[1], partitionLine!.replace('\tElr: \tLastKnownElr: ', ''));

    const again = await topics('--create', '--zookeeper', cluster.zkConnect, '--replication-factor', '3', '--partitions', '1', '--topic', 'test');
    assert.equal(again.code, 1);
    assert.equal(again.stderr, "Error while executing topic command : Topic 'test' already exists.\n");
    const quiet = await topics('--create', '--zookeeper', cluster.zkConnect, '--replication-factor', '3', '--partitions', '1', '--topic', 'test', '--if-not-exists');
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stdout, '');
  });

  it('--zookeeper checks counts and configs like Kafka: RF above the registered brokers, missing flags, bad configs', async () => {
    const rf = await topics('--create', '--zookeeper', cluster.zkConnect, '--replication-factor', '4', '--partitions', '1', '--topic', 'too-wide');
    assert.equal(rf.code, 1);
    assert.equal(rf.stderr, 'Error while executing topic command : Replication factor: 4 larger than available brokers: 3.\n');
    const missing = await topics('--create', '--zookeeper', cluster.zkConnect, '--partitions', '1', '--topic', 'no-rf');
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Missing required argument "[replication-factor]"\n');
    const config = await topics('--create', '--zookeeper', cluster.zkConnect, '--replication-factor', '1', '--partitions', '1', '--topic', 'bad-config', '--config', 'retention.ms=soon');
    assert.equal(config.code, 1);
    assert.match(config.stderr, /^Error while executing topic command : .*retention\.ms/);
    const both = await topics('--list', '--zookeeper', cluster.zkConnect, '--bootstrap-server', cluster.bootstrapServers);
    assert.equal(both.stderr, 'Only one of --bootstrap-server or --zookeeper must be specified\n');
  });

  it('--alter --partitions grows a replicated topic', async () => {
    const created = await topics('--create', '--bootstrap-server', cluster.bootstrapServers, '--topic', 'growing', '--partitions', '1', '--replication-factor', '3');
    assert.equal(created.code, 0, created.stderr);
    const altered = await topics('--alter', '--bootstrap-server', cluster.bootstrapServers, '--topic', 'growing', '--partitions', '3');
    assert.equal(altered.code, 0, altered.stderr);
    await waitFor(async () => (await partitions('growing')).filter((p) => p.leader >= 0 && p.isr.length === 3).length === 3, {
      timeoutMs: 20_000,
      what: 'three led partitions with three in-sync replicas each',
    });
    const listed = await topics('--list', '--zookeeper', cluster.zkConnect);
    assert.ok(lines(listed.stdout).includes('growing'), listed.stdout);
    const described = await topics('--describe', '--zookeeper', cluster.zkConnect, '--topic', 'growing');
    assert.match(described.stdout, /PartitionCount: 3\tReplicationFactor: 3/);
  });

  it('reports under-replicated and unavailable partitions once a broker dies', async () => {
    const created = await topics('--create', '--bootstrap-server', cluster.bootstrapServers, '--topic', 'lonely', '--replica-assignment', '2');
    assert.equal(created.code, 0, created.stderr);
    const shared = await topics('--create', '--bootstrap-server', cluster.bootstrapServers, '--topic', 'shared', '--replica-assignment', '0:1:2');
    assert.equal(shared.code, 0, shared.stderr);
    await waitFor(async () => (await partitions('lonely'))[0]?.leader === 2, { timeoutMs: 10_000, what: 'broker 2 to lead lonely-0' });
    await waitFor(async () => (await partitions('shared'))[0]?.isr.length === 3, { timeoutMs: 10_000, what: 'shared-0 fully in sync' });
    const healthy = await topics('--describe', '--bootstrap-server', cluster.bootstrapServers, '--under-replicated-partitions');
    assert.equal(healthy.stdout, '');

    await cluster.broker(2).kill('SIGKILL');
    await waitFor(async () => (await partitions('shared'))[0]!.isr.length === 2, { timeoutMs: 30_000, what: 'broker 2 to leave the ISR' });
    const under = await topics('--describe', '--bootstrap-server', cluster.bootstrapServers, '--under-replicated-partitions', '--topic', 'shared|lonely');
    assert.equal(under.code, 0, under.stderr);
    // As in Kafka, an offline partition keeps its last ISR, so lonely-0 (one replica, one in the ISR) is not under-replicated: it is unavailable.
    const underLines = lines(under.stdout);
    assert.equal(underLines.length, 1, under.stdout);
    assert.match(underLines[0]!, /^\tTopic: shared\tPartition: 0\tLeader: 0\tReplicas: 0,1,2\tIsr: 0,1\t/);
    // Metadata names the dead broker's replicas as offline.
    assert.deepEqual((await partitions('shared'))[0]!.offlineReplicas, [2]);
    const unavailable = await topics('--describe', '--bootstrap-server', cluster.bootstrapServers, '--unavailable-partitions');
    assert.equal(unavailable.code, 0, unavailable.stderr);
    assert.deepEqual(
      lines(unavailable.stdout).map((l) => l.split('\t').slice(1, 4).join(' ')),
      ['Topic: lonely Partition: 0 Leader: none'],
    );
    const zkUnavailable = await topics('--describe', '--zookeeper', cluster.zkConnect, '--unavailable-partitions');
    assert.deepEqual(
      lines(zkUnavailable.stdout).map((l) => l.split('\t').slice(1, 4).join(' ')),
      ['Topic: lonely Partition: 0 Leader: none'],
    );
    await cluster.broker(2).restart();
    await cluster.waitForController();
  });

  it('--delete --zookeeper marks the topic; the controller removes it', async () => {
    const created = await topics('--create', '--zookeeper', cluster.zkConnect, '--replication-factor', '2', '--partitions', '2', '--topic', 'doomed');
    assert.equal(created.code, 0, created.stderr);
    await waitFor(async () => (await partitions('doomed').catch(() => [])).length === 2, { timeoutMs: 20_000, what: 'doomed to exist' });
    const deleted = await topics('--delete', '--zookeeper', cluster.zkConnect, '--topic', 'doomed');
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout, 'Topic doomed is marked for deletion.\nNote: This will have no impact if delete.topic.enable is not set to true.\n');
    await waitFor(async () => !lines((await topics('--list', '--zookeeper', cluster.zkConnect)).stdout).some((l) => l.startsWith('doomed')), {
      timeoutMs: 30_000,
      intervalMs: 500,
      what: 'doomed to be gone from ZooKeeper',
    });
  });

  it('says clearly when ZooKeeper is unreachable', async () => {
    const port = await freePort();
    const started = Date.now();
    const r = await topics('--list', '--zookeeper', `127.0.0.1:${port}/ganglion`);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`^Error while executing topic command : ZooKeeper is unreachable: Timed out after 10000 ms waiting for a ZooKeeper connection to 127\\.0\\.0\\.1:${port}`),
    );
    assert.ok(Date.now() - started < 25_000);
  });
});
