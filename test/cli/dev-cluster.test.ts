/**
 * `ganglion dev-cluster` through the bin: one command starts ZooKeeper and
 * three broker processes on free ports, the cluster takes an RF=3 topic,
 * ZooKeeper's own zkCli sees the brokers under /ganglion, and SIGINT (what
 * Ctrl-C sends) stops everything, leaving every port free again.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeTempDir, removeDir, run, waitFor, type LiveProcess } from '../helpers/broker.js';
import { skipUnlessZooKeeper } from '../helpers/zookeeper.js';
import { ganglion, lines, startGanglion } from './helpers.js';

const skip = skipUnlessZooKeeper();
const ZK_CLI = '/usr/share/zookeeper/bin/zkCli.sh';
const BROKERS = 3;

/** Whether nothing listens on `port` (a listener on it can be opened). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

/** A first port with `count` free ports from it (dev-cluster's brokers use consecutive ports). */
async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 30_000 + Math.floor(Math.random() * 20_000);
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

describe('ganglion dev-cluster', { skip }, () => {
  let dir: string;
  let cluster: LiveProcess | null = null;
  before(async () => {
    dir = await makeTempDir('ganglion-dev-cluster-');
  });
  after(async () => {
    await cluster?.stop(90_000);
    await removeDir(dir);
  });

  it('starts ZooKeeper and three brokers, takes an RF=3 topic, and stops cleanly on Ctrl-C', async () => {
    const zkPort = await freePortRange(1);
    const basePort = await freePortRange(BROKERS);
    const dataDir = join(dir, 'data');
    cluster = startGanglion(['dev-cluster', '--brokers', String(BROKERS), '--zookeeper-port', String(zkPort), '--base-port', String(basePort), '--data-dir', dataDir]);
    await cluster.waitForLine('Press Ctrl-C to stop the cluster.', 90_000);
    const bootstrap = Array.from({ length: BROKERS }, (_, i) => `localhost:${basePort + i}`).join(',');
    assert.ok(cluster.stdoutLines.includes(`Bootstrap servers: ${bootstrap}`), cluster.output());
    for (let i = 0; i < BROKERS; i++) {
      assert.ok(cluster.stdoutLines.some((l) => l.startsWith(`broker ${i}   localhost:${basePort + i}  data: `)), cluster.output());
      assert.ok(existsSync(join(dataDir, `broker-${i}.log`)));
    }

    const created = await ganglion(['topics', '--bootstrap-server', bootstrap, '--create', '--topic', 'dev', '--partitions', '2', '--replication-factor', '3']);
    assert.equal(created.code, 0, created.stderr);
    let described = '';
    await waitFor(
      async () => {
        described = (await ganglion(['topics', '--bootstrap-server', bootstrap, '--describe', '--topic', 'dev'])).stdout;
        return lines(described).filter((l) => /\tReplicas: \d,\d,\d\tIsr: \d,\d,\d\t/.test(l)).length === 2;
      },
      { timeoutMs: 20_000, intervalMs: 300, what: `two partitions with three in-sync replicas (last: ${described})` },
    );
    assert.match(lines(described)[0]!, /^Topic: dev\tTopicId: \S+\tPartitionCount: 2\tReplicationFactor: 3\t/);
    if (existsSync(ZK_CLI)) {
      const r = await run(ZK_CLI, ['-server', `localhost:${zkPort}`, 'ls', '/ganglion/brokers/ids'], { timeoutMs: 60_000 });
      assert.match(r.stdout.toString(), /\[0, 1, 2\]/, r.stdout.toString() + r.stderr.toString());
    }

    const stopping = Date.now();
    cluster.kill('SIGINT');
    const { code } = await cluster.exited;
    const stopMs = Date.now() - stopping;
    assert.equal(code, 0, cluster.output());
    const tail = cluster.stdoutLines.slice(cluster.stdoutLines.indexOf('Stopping the cluster ...'));
    assert.deepEqual(tail.filter((l) => l !== ''), ['Stopping the cluster ...', 'broker 2 stopped', 'broker 1 stopped', 'broker 0 stopped', 'ZooKeeper stopped']);
    assert.ok(await portFree(zkPort), 'ZooKeeper is gone');
    for (let i = 0; i < BROKERS; i++) assert.ok(await portFree(basePort + i), `broker ${i} is gone`);
    // Each broker's controlled shutdown hands its leaderships to those still running: seconds, not minutes.
    assert.ok(stopMs < 60_000, `stopped in ${stopMs} ms`);
    process.stdout.write(`# dev-cluster stopped ${BROKERS} brokers and ZooKeeper in ${stopMs} ms\n`);
  });
});
