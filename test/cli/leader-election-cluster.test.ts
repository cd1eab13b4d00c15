/**
 * `ganglion leader-election` through the bin against a real cluster
 * (Debian's ZooKeeper, broker processes, automatic rebalancing off so only
 * the tool moves leaders): a PREFERRED election (all partitions, one
 * partition, a JSON file) gives leadership back to a returning preferred
 * replica, a second one has nothing to do, and with
 * every in-sync replica dead an UNCLEAN election brings the partition back
 * on the out-of-sync replica (where PREFERRED fails).
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Admin } from '../../src/client/index.js';
import { makeTempDir, removeDir, waitFor } from '../helpers/broker.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';
import { skipUnlessZooKeeper } from '../helpers/zookeeper.js';
import { ganglion } from './helpers.js';

const skip = skipUnlessZooKeeper();

describe('ganglion leader-election on a cluster', { skip }, () => {
  let cluster: TestCluster;
  let admin: Admin;
  let dir: string;

  before(async () => {
    dir = await makeTempDir('ganglion-election-e2e-');
    cluster = await startCluster({ brokers: 3, brokerConfig: { 'auto.leader.rebalance.enable': 'false' } });
    await cluster.waitForController();
    admin = new Admin({ 'bootstrap.servers': cluster.bootstrapServers });
  });
  after(async () => {
    await admin?.close();
    await cluster?.close();
    await removeDir(dir);
  });

  const state = async (topic: string) => (await admin.describeTopics([topic]))[0]!.partitions[0]!;
  const elect = (...args: string[]) => ganglion(['leader-election', '--bootstrap-server', cluster.bootstrapServers, ...args]);

  it('PREFERRED moves leadership back to the first replica once it is in sync again', async () => {
    const created = await ganglion(['topics', '--bootstrap-server', cluster.bootstrapServers, '--create', '--topic', 'pref', '--replica-assignment', '0:1:2']);
    assert.equal(created.code, 0, created.stderr);
    await waitFor(async () => (await state('pref')).leader === 0, { timeoutMs: 10_000, what: 'broker 0 to lead' });
    // A controlled shutdown moves leadership to 1; broker 0 then returns as a follower.
    await cluster.broker(0).restart();
    await waitFor(async () => (await state('pref')).isr.length === 3, { timeoutMs: 30_000, what: 'broker 0 back in the ISR' });
    assert.notEqual((await state('pref')).leader, 0);

    // Every partition of the cluster: only those that needed an election are reported (as Kafka's controller answers).
    const all = await elect('--election-type', 'PREFERRED', '--all-topic-partitions');
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stdout, 'Successfully completed leader election (PREFERRED) for partitions pref-0\n');
    assert.equal((await state('pref')).leader, 0);

    const again = await elect('--election-type', 'preferred', '--topic', 'pref', '--partition', '0');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, 'Valid replica already elected for partitions pref-0\n');
    const nothing = await elect('--election-type', 'PREFERRED', '--all-topic-partitions');
    assert.equal(nothing.code, 0, nothing.stderr);
    assert.equal(nothing.stdout, '');
  });

  it('PREFERRED for one partition through a JSON file', async () => {
    const created = await ganglion(['topics', '--bootstrap-server', cluster.bootstrapServers, '--create', '--topic', 'pref-file', '--replica-assignment', '2:0']);
    assert.equal(created.code, 0, created.stderr);
    await waitFor(async () => (await state('pref-file')).isr.length === 2, { timeoutMs: 10_000, what: 'both replicas in sync' });
    await cluster.broker(2).restart();
    await waitFor(async () => (await state('pref-file')).isr.length === 2, { timeoutMs: 30_000, what: 'broker 2 back in the ISR' });
    assert.equal((await state('pref-file')).leader, 0);
    const file = join(dir, 'elect.json');
    await writeFile(file, '{"partitions": [{"topic": "pref-file", "partition": 0}]}');
    const r = await elect('--election-type', 'PREFERRED', '--path-to-json-file', file);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Successfully completed leader election (PREFERRED) for partitions pref-file-0\n');
    assert.equal((await state('pref-file')).leader, 2);
  });

  it('UNCLEAN elects an out-of-sync replica when no in-sync one is left; PREFERRED cannot', async () => {
    const created = await ganglion(['topics', '--bootstrap-server', cluster.bootstrapServers, '--create', '--topic', 'unclean', '--replica-assignment', '1:2']);
    assert.equal(created.code, 0, created.stderr);
    await waitFor(async () => (await state('unclean')).isr.length === 2, { timeoutMs: 10_000, what: 'both replicas in sync' });
    // Broker 2 dies first and leaves the ISR; then broker 1, the last in-sync replica, dies too.
    await cluster.broker(2).kill('SIGKILL');
    await waitFor(async () => (await state('unclean')).isr.join(',') === '1', { timeoutMs: 30_000, what: 'broker 2 out of the ISR' });
    await cluster.broker(1).kill('SIGKILL');
    await waitFor(async () => (await state('unclean')).leader === -1, { timeoutMs: 30_000, what: 'the partition to go offline' });
    await cluster.broker(2).restart();
    await cluster.waitForController();
    assert.equal((await state('unclean')).leader, -1, 'a clean election cannot pick broker 2');

    const preferred = await elect('--election-type', 'PREFERRED', '--topic', 'unclean', '--partition', '0');
    assert.equal(preferred.code, 1);
    assert.match(preferred.stdout, /^Error completing leader election \(PREFERRED\) for partition: unclean-0: PREFERRED_LEADER_NOT_AVAILABLE: /);
    assert.equal(preferred.stderr, '1 replica(s) could not be elected\n');

    const unclean = await elect('--election-type', 'UNCLEAN', '--topic', 'unclean', '--partition', '0');
    assert.equal(unclean.code, 0, unclean.stderr);
    assert.equal(unclean.stdout, 'Successfully completed leader election (UNCLEAN) for partitions unclean-0\n');
    const after = await state('unclean');
    assert.equal(after.leader, 2);
    assert.deepEqual(after.isr, [2]);
    await cluster.broker(1).restart();
  });
});
