/**
 * `ganglion zookeeper-server-start` through the bin: Debian's ZooKeeper runs
 * in the foreground with the given zoo.cfg-format file (its clientPort and
 * dataDir), a real ZooKeeper client can use it, and SIGTERM stops it. Bad
 * invocations fail with one clear line.
 */
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/logging.js';
import { parseZooKeeperConnect } from '../../src/config/listeners.js';
import { ZkSession } from '../../src/zookeeper/index.js';
import { freePort, makeTempDir, removeDir, waitFor, type LiveProcess } from '../helpers/broker.js';
import { skipUnlessZooKeeper } from '../helpers/zookeeper.js';
import { ganglion, startGanglion } from './helpers.js';

const skip = skipUnlessZooKeeper();

describe('ganglion zookeeper-server-start', () => {
  let dir: string;
  let zk: LiveProcess | null = null;
  before(async () => {
    dir = await makeTempDir('ganglion-zk-start-');
  });
  after(async () => {
    await zk?.stop(10_000);
    await removeDir(dir);
  });

  it('runs ZooKeeper with the file until SIGTERM', { skip }, async () => {
    const port = await freePort();
    const dataDir = join(dir, 'zk-data');
    const file = join(dir, 'zookeeper.properties');
    await writeFile(file, `dataDir=${dataDir}\nclientPort=${port}\nmaxClientCnxns=0\nadmin.enableServer=false\n`);
    zk = startGanglion(['zookeeper-server-start', file]);
    const connect = parseZooKeeperConnect('zookeeper.connect', `127.0.0.1:${port}/probe`);
    assert.ok(connect.ok);
    let session: ZkSession | null = null;
    await waitFor(
      async () => {
        session = await ZkSession.connect({ connect: connect.value, sessionTimeoutMs: 6000, connectionTimeoutMs: 1000, logger: silentLogger }).catch(() => null);
        return session !== null;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: `ZooKeeper to accept a session on port ${port}\n${zk.output()}` },
    );
    // A real write and read through the chroot (created on connect), stored in the configured dataDir.
    await session!.create('/hello', Buffer.from('world'));
    assert.equal((await session!.getData('/hello')).data.toString(), 'world');
    await session!.close();
    assert.ok((await readdir(join(dataDir, 'version-2'))).length > 0, 'ZooKeeper writes to the dataDir of the file');

    zk.kill('SIGTERM');
    const { code, signal } = await zk.exited;
    assert.ok(code !== null || signal !== null);
    assert.ok(zk.stderrLines.some((l) => l.startsWith(`Starting ZooKeeper from /usr/share/java/zookeeper.jar with ${file}`)), zk.output());
    await waitFor(async () => (await ZkSession.connect({ connect: connect.value, sessionTimeoutMs: 6000, connectionTimeoutMs: 500, logger: silentLogger }).then(
      async (s) => {
        await s.close();
        return false;
      },
      () => true,
    )), { timeoutMs: 10_000, what: 'ZooKeeper to be gone' });
  });

  it('fails with one clear line without a file, with a missing one, with -daemon or without dataDir', async () => {
    const none = await ganglion(['zookeeper-server-start']);
    assert.equal(none.code, 1);
    assert.equal(none.stderr, 'USAGE: ganglion zookeeper-server-start zookeeper.properties\n');
    const missing = await ganglion(['zookeeper-server-start', join(dir, 'nope.properties')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^ganglion zookeeper-server-start: Cannot read configuration file .*nope\.properties: ENOENT\n$/);
    const daemon = await ganglion(['zookeeper-server-start', '-daemon', 'config/zookeeper.properties']);
    assert.equal(daemon.code, 1);
    assert.match(daemon.stderr, /^-daemon is not supported/);
    const noDir = join(dir, 'no-dir.properties');
    await writeFile(noDir, 'clientPort=2181\n');
    const r = await ganglion(['zookeeper-server-start', noDir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /sets no dataDir/);
  });
});
