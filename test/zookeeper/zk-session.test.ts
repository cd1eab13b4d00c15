import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseZooKeeperConnect } from '../../src/config/listeners.js';
import { silentLogger } from '../../src/logging.js';
import { ZkConnectionError } from '../../src/zookeeper/types.js';
import { ZkSession, isZkError, type ZkSessionState } from '../../src/zookeeper/zk-session.js';
import { freePort, waitFor } from '../helpers/broker.js';
import { expireSession, skipUnlessZooKeeper, startZooKeeper, type TestZooKeeper } from '../helpers/zookeeper.js';

const skip = skipUnlessZooKeeper();
let zk: TestZooKeeper;
const sessions: ZkSession[] = [];

before(async () => {
  if (!skip) zk = await startZooKeeper();
});
after(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await zk?.close();
});

async function open(chroot = '', sessionTimeoutMs = 4000): Promise<ZkSession> {
  const s = await ZkSession.connect({ connect: zk.zkConnect(chroot), sessionTimeoutMs, connectionTimeoutMs: 5000, logger: silentLogger });
  sessions.push(s);
  return s;
}

test('a missing chroot is created, and paths are relative to it', { skip }, async () => {
  const root = await open();
  assert.equal(await root.exists('/kafka'), null);
  const chrooted = await open('/kafka/cluster-a');
  await chrooted.create('/hello', Buffer.from('x'));
  assert.equal((await root.getData('/kafka/cluster-a/hello')).data.toString(), 'x');
  assert.deepEqual(await chrooted.getChildren('/'), ['hello']);
});

test('typed errors, versions, ephemeral owners, multi naming the failing op', { skip }, async () => {
  const s = await open('/ops');
  await s.create('/n', Buffer.from('a'));
  await assert.rejects(s.create('/n'), (e) => isZkError(e, 'NODE_EXISTS') && e.path === '/n');
  await assert.rejects(s.getData('/missing'), (e) => isZkError(e, 'NO_NODE'));
  const stat = await s.setData('/n', Buffer.from('b'), 0);
  assert.equal(stat.version, 1);
  await assert.rejects(s.setData('/n', Buffer.from('c'), 0), (e) => isZkError(e, 'BAD_VERSION'));
  const eph = await s.create('/e', Buffer.alloc(0), 'ephemeral');
  assert.equal(eph, '/e');
  assert.equal((await s.exists('/e'))!.ephemeralOwner, s.sessionId);
  assert.equal((await s.exists('/n'))!.ephemeralOwner, null);

  // Version 0 must stay conditional inside a multi (the library alone would send -1).
  await s.create('/v', Buffer.from('0'));
  await s.setData('/v', Buffer.from('1'));
  await assert.rejects(s.multi([{ op: 'check', path: '/v', version: 0 }, { op: 'create', path: '/x' }]), (e) => isZkError(e, 'BAD_VERSION') && e.path === '/v');
  assert.equal(await s.exists('/x'), null, 'nothing of a failed multi commits');
  const results = await s.multi([
    { op: 'check', path: '/v', version: 1 },
    { op: 'create', path: '/x' },
    { op: 'setData', path: '/n', data: Buffer.from('d'), version: 1 },
  ]);
  assert.equal(results[1]!.path, '/x');
  assert.equal(results[2]!.stat!.version, 2);

  await s.mkdirp('/deep/a/b');
  await s.removeRecursive('/deep');
  assert.equal(await s.exists('/deep'), null);
});

test('ZkConnectionError within the connection timeout when nothing listens', { skip }, async () => {
  const port = await freePort();
  const parsed = parseZooKeeperConnect('zookeeper.connect', `127.0.0.1:${port}/kafka`);
  assert.ok(parsed.ok);
  const started = Date.now();
  await assert.rejects(
    ZkSession.connect({ connect: parsed.value, sessionTimeoutMs: 6000, connectionTimeoutMs: 800, logger: silentLogger }),
    (e) => e instanceof ZkConnectionError && e.message.includes(`127.0.0.1:${port}`) && e.message.includes('800 ms'),
  );
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 790 && elapsed < 2500, `gave up after ${elapsed} ms`);
});

test('session expiry: a new session is made and onNewSession listeners run', { skip }, async () => {
  const s = await open('/expiry');
  const states: ZkSessionState[] = [];
  s.onStateChange((state) => states.push(state));
  await s.create('/eph', Buffer.alloc(0), 'ephemeral');
  const oldId = s.sessionId;
  let renewed = 0;
  s.onNewSession(async () => {
    renewed++;
    await s.create('/eph', Buffer.alloc(0), 'ephemeral');
  });

  await expireSession(zk, s);
  await waitFor(() => renewed === 1, { what: 'onNewSession', timeoutMs: 10_000 });
  assert.notEqual(s.sessionId, oldId);
  assert.ok(s.connected);
  assert.ok(states.includes('expired'), `states: ${states.join(',')}`);
  assert.equal((await s.exists('/eph'))!.ephemeralOwner, s.sessionId);
});

test('ZooKeeper down and back within the session timeout: same session, watches survive', { skip }, async () => {
  const s = await open('/outage', 6000);
  await s.create('/w');
  let fired = false;
  await s.getData('/w', () => (fired = true));
  const id = s.sessionId;
  await zk.stop();
  await waitFor(() => !s.connected, { what: 'disconnect' });
  await zk.start();
  await waitFor(() => s.connected, { what: 'reconnect', timeoutMs: 10_000 });
  assert.equal(s.sessionId, id);
  const other = await open('/outage');
  await other.setData('/w', Buffer.from('changed'));
  await waitFor(() => fired, { what: 'the data watch set before the outage' });
});

test('an error code newer than the client library (THROTTLED_OP, -127) becomes SYSTEM_ERROR instead of an uncaught throw', async () => {
  const { default: zookeeper } = await import('node-zookeeper-client');
  const error = (zookeeper.Exception as unknown as { create(code: number): { getCode(): number } }).create(-127);
  assert.equal(error.getCode(), zookeeper.Exception.SYSTEM_ERROR);
});
