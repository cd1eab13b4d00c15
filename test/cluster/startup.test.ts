/**
 * How `ganglion server-start` fails to join a cluster: one clear error and
 * exit code 1 when ZooKeeper cannot be reached within
 * zookeeper.connection.timeout.ms, when broker.id is not given, and when
 * another live broker has the id (which keeps its registration).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, makeTempDir, removeDir, repoRoot, run, type RunResult } from '../helpers/broker.js';
import { startCluster } from '../helpers/cluster.js';
import { skipUnlessZooKeeper } from '../helpers/zookeeper.js';

const skip = skipUnlessZooKeeper();

async function serverStart(overrides: Record<string, string>): Promise<RunResult> {
  const dir = await makeTempDir('ganglion-startup-');
  const port = await freePort();
  const args = [join(repoRoot, 'bin', 'ganglion.js'), 'server-start', join(repoRoot, 'config', 'server.properties')];
  const settings = {
    'log.dirs': dir,
    listeners: `PLAINTEXT://127.0.0.1:${port}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    ...overrides,
  };
  for (const [k, v] of Object.entries(settings)) args.push('--override', `${k}=${v}`);
  try {
    return await run(process.execPath, args, { cwd: repoRoot, timeoutMs: 30_000 });
  } finally {
    await removeDir(dir);
  }
}

function errorLines(r: RunResult): string[] {
  return r.stderr
    .toString()
    .split('\n')
    .filter((l) => l.startsWith('ganglion: '));
}

test('ZooKeeper unreachable: exit 1 with one clear error once zookeeper.connection.timeout.ms passed', async () => {
  const nobody = await freePort();
  const r = await serverStart({ 'zookeeper.connect': `127.0.0.1:${nobody}/kafka`, 'zookeeper.connection.timeout.ms': '1500' });
  assert.equal(r.code, 1, r.stderr.toString());
  assert.ok(r.durationMs >= 1500 && r.durationMs < 15_000, `exited after ${r.durationMs} ms`);
  assert.deepEqual(errorLines(r), [
    `ganglion: Timed out after 1500 ms waiting for a ZooKeeper connection to 127.0.0.1:${nobody} (zookeeper.connection.timeout.ms)`,
  ]);
});

test('cluster mode needs an explicit broker.id', async () => {
  const r = await serverStart({ 'zookeeper.connect': '127.0.0.1:1', 'broker.id': '-1', 'node.id': '-1' });
  assert.equal(r.code, 1);
  assert.match(errorLines(r).join('\n'), /^ganglion: broker\.id is -1: a broker joining a ZooKeeper cluster \(zookeeper\.connect\) needs an explicit broker\.id/);
});

test('a broker.id already registered: exit 1 naming it; the running broker keeps its registration', { skip }, async () => {
  const cluster = await startCluster({ brokers: 1 });
  try {
    await cluster.waitForController();
    const r = await serverStart({ 'zookeeper.connect': cluster.zkConnect, 'broker.id': '0', 'node.id': '0' });
    assert.equal(r.code, 1, r.stderr.toString());
    assert.deepEqual(errorLines(r), [
      'ganglion: broker.id 0 is already registered in ZooKeeper (/brokers/ids/0): another broker with this id is running',
    ]);
    const zk = await cluster.zkClient();
    assert.deepEqual(await zk.getBrokerIds(), [0]);
    assert.equal((await zk.getBroker(0))?.endpoints[0]?.port, cluster.broker(0).port);
    assert.equal(await cluster.waitForController(5000), 0);
  } finally {
    await cluster.close();
  }
});
