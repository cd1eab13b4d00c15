import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { ListenerBindError, SocketServer } from '../../src/network/socket-server.js';
import type { Connection } from '../../src/network/types.js';
import { FrameClient, HOST, echo, sleep, startServer, waitFor } from './helpers.js';

test('500 concurrent connections each complete a request/response', async () => {
  const { server, port } = await startServer({
    handler: async (f) => {
      await sleep(1);
      return [Buffer.from('ack:'), f];
    },
  });
  const clients: FrameClient[] = [];
  try {
    const n = 500;
    for (let i = 0; i < n; i += 100) {
      clients.push(...(await Promise.all(Array.from({ length: 100 }, () => FrameClient.connect(port)))));
    }
    await waitFor(() => server.connectionCount === n, 3000, 'all connections accepted');
    const answers = await Promise.all(clients.map((c, i) => c.request(`c${i}`)));
    answers.forEach((a, i) => assert.equal(a.toString(), `ack:c${i}`));
  } finally {
    for (const c of clients) c.destroy();
    await server.stop();
  }
});

test('idle connections are closed after connectionsMaxIdleMs; busy ones are not', async () => {
  const idleMs = 300;
  const { server, port } = await startServer({
    connectionsMaxIdleMs: idleMs,
    handler: async (f) => {
      if (f.toString() === 'slow') await sleep(2 * idleMs);
      return [f];
    },
  });
  try {
    const t0 = Date.now();
    const idle = await FrameClient.connect(port);
    const chatty = await FrameClient.connect(port);
    const busy = await FrameClient.connect(port);
    const slow = busy.request('slow');
    let pinging = true;
    const pinger = (async () => {
      for (let i = 0; pinging; i++) {
        assert.equal((await chatty.request(`ping${i}`)).toString(), `ping${i}`);
        await sleep(20);
      }
    })();
    await idle.closed;
    const idleFor = Date.now() - t0;
    assert.ok(idleFor >= idleMs - 50, `idle connection closed after ${idleFor} ms`);
    // Busy for twice the idle time, yet answered: a request in progress is not idleness.
    assert.equal((await slow).toString(), 'slow');
    pinging = false;
    await pinger;
    assert.equal(chatty.isClosed, false);
    await busy.closed; // idle again after its response
    await chatty.closed;
  } finally {
    await server.stop();
  }
});

test('maxConnections: connections beyond the cap are refused, and accepted again below it', async () => {
  const { server, port } = await startServer({ handler: echo, maxConnections: 2 });
  try {
    const a = await FrameClient.connect(port);
    const b = await FrameClient.connect(port);
    await waitFor(() => server.connectionCount === 2);
    const c = await FrameClient.connect(port);
    assert.equal(await c.closedWithin(2000), true, 'third connection refused');
    assert.equal((await a.request('a')).toString(), 'a');
    a.destroy();
    await waitFor(() => server.connectionCount === 1);
    const d = await FrameClient.connect(port);
    assert.equal((await d.request('d')).toString(), 'd');
    b.destroy();
    d.destroy();
  } finally {
    await server.stop();
  }
});

test('stop() lets an in-flight request finish and flush its response, then closes', async () => {
  let started = false;
  let calls = 0;
  const { server, port } = await startServer({
    handler: async (f) => {
      calls++;
      started = true;
      await sleep(200);
      return [Buffer.from('done:'), f];
    },
  });
  const c = await FrameClient.connect(port);
  c.send('slow');
  c.send('queued'); // dropped at shutdown: not started yet
  await waitFor(() => started);
  const t0 = Date.now();
  await server.stop({ graceMs: 5000 });
  const took = Date.now() - t0;
  assert.ok(took >= 150, `stop returned after ${took} ms`);
  assert.ok(took < 2000, `stop took ${took} ms`);
  await c.closed;
  assert.deepEqual(
    c.frames.map((f) => f.toString()),
    ['done:slow'],
  );
  assert.equal(calls, 1);
  assert.equal(server.connectionCount, 0);
  // No longer accepting.
  const s = net.connect({ port, host: HOST });
  const [err] = await once(s, 'error');
  assert.equal((err as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  await server.stop(); // idempotent
});

test('stop() is bounded by graceMs when a handler never finishes', async () => {
  let started = false;
  const { server, port } = await startServer({
    handler: () => {
      started = true;
      return new Promise<Buffer[]>(() => {});
    },
  });
  const c = await FrameClient.connect(port);
  const idle = await FrameClient.connect(port);
  c.send('hang');
  await waitFor(() => started);
  const t0 = Date.now();
  await server.stop({ graceMs: 100 });
  const took = Date.now() - t0;
  assert.ok(took >= 90 && took < 1000, `stop took ${took} ms`);
  await c.closed;
  await idle.closed;
  assert.equal(c.frames.length, 0);
});

test('stop() with a response larger than the socket buffers still delivers it whole', async () => {
  const big = Buffer.alloc(8 * 1024 * 1024, 7);
  let started = false;
  const { server, port } = await startServer({
    handler: async () => {
      started = true;
      await sleep(50);
      return [big];
    },
  });
  const c = await FrameClient.connect(port);
  c.send('x');
  await waitFor(() => started);
  c.socket.pause(); // the client reads slowly
  const stopped = server.stop({ graceMs: 5000 });
  await sleep(200);
  c.socket.resume();
  await stopped;
  await c.closed;
  assert.equal(c.frames.length, 1);
  assert.equal(c.frames[0]!.length, big.length);
});

test('EADDRINUSE gives a clear error; listeners already bound are released', async () => {
  const { server, port } = await startServer({ handler: echo });
  // A port that is free now, for the listener that binds before the clash.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, HOST, r));
  const firstPort = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  try {
    const clash = new SocketServer({
      listeners: [
        { name: 'FIRST', host: HOST, port: firstPort },
        { name: 'CLASH', host: HOST, port },
      ],
      handler: echo,
      maxRequestBytes: 1024,
    });
    await assert.rejects(clash.start(), (err: unknown) => {
      assert.ok(err instanceof ListenerBindError);
      assert.equal(err.code, 'EADDRINUSE');
      assert.equal(err.listener.name, 'CLASH');
      assert.match(err.message, new RegExp(`listener CLASH cannot bind 127\\.0\\.0\\.1:${port}: address already in use`));
      return true;
    });
    assert.equal(clash.connectionCount, 0);
    await clash.stop();
    // FIRST was released: its port can be bound again.
    const again = await startServer({ handler: echo, listeners: [{ name: 'AGAIN', host: HOST, port: firstPort }] });
    assert.equal(again.port, firstPort);
    await again.server.stop();
  } finally {
    await server.stop();
  }
});

test('EACCES (privileged port) gives a clear error', { skip: process.getuid?.() === 0 && 'running as root' }, async () => {
  const s = new SocketServer({ listeners: [{ name: 'LOW', host: HOST, port: 1 }], handler: echo, maxRequestBytes: 1024 });
  await assert.rejects(s.start(), (err: unknown) => {
    assert.ok(err instanceof ListenerBindError);
    assert.equal(err.code, 'EACCES');
    assert.match(err.message, /listener LOW cannot bind 127\.0\.0\.1:1: permission denied/);
    return true;
  });
});

test('ListenerBindError explains common bind failures', () => {
  const l = { name: 'LOW', host: '', port: 80 };
  const eacces = new ListenerBindError(l, Object.assign(new Error('listen EACCES'), { code: 'EACCES' }));
  assert.equal(eacces.code, 'EACCES');
  assert.equal(eacces.message, 'listener LOW cannot bind *:80: permission denied (ports below 1024 need privileges) (EACCES)');
  const other = new ListenerBindError(l, Object.assign(new Error('something odd'), { code: 'EWHATEVER' }));
  assert.equal(other.message, 'listener LOW cannot bind *:80: something odd');
  assert.ok(other.cause instanceof Error);
});

test('several listeners: each connection knows its listener; host "" binds all interfaces', async () => {
  const seen: string[] = [];
  const server = new SocketServer({
    listeners: [
      { name: 'INTERNAL', host: HOST, port: 0 },
      { name: 'EXTERNAL', host: '', port: 0 },
    ],
    handler: (f, conn: Connection) => {
      seen.push(conn.listenerName);
      return [Buffer.from(conn.listenerName)];
    },
    maxRequestBytes: 1024,
  });
  const bound = await server.start();
  try {
    assert.deepEqual(
      bound.map((b) => b.name),
      ['INTERNAL', 'EXTERNAL'],
    );
    assert.ok(bound.every((b) => b.port > 0));
    assert.deepEqual(server.listeners, bound);
    const a = await FrameClient.connect(bound[0]!.port);
    const b = await FrameClient.connect(bound[1]!.port, HOST);
    assert.equal((await a.request('?')).toString(), 'INTERNAL');
    assert.equal((await b.request('?')).toString(), 'EXTERNAL');
    a.destroy();
    b.destroy();
    await assert.rejects(server.start(), /called twice/);
  } finally {
    await server.stop();
  }
});

test('options are validated', () => {
  const base = { listeners: [{ name: 'P', host: HOST, port: 0 }], handler: echo, maxRequestBytes: 1024 };
  assert.throws(() => new SocketServer({ ...base, listeners: [] }), RangeError);
  assert.throws(() => new SocketServer({ ...base, maxRequestBytes: 0 }), RangeError);
  assert.throws(() => new SocketServer({ ...base, maxRequestBytes: 2 ** 31 }), RangeError);
  assert.throws(() => new SocketServer({ ...base, listeners: [{ name: 'P', host: HOST, port: 70000 }] }), RangeError);
  assert.throws(
    () =>
      new SocketServer({
        ...base,
        listeners: [
          { name: 'P', host: HOST, port: 0 },
          { name: 'P', host: HOST, port: 0 },
        ],
      }),
    RangeError,
  );
  assert.throws(() => new SocketServer({ ...base, maxConnections: 0 }), RangeError);
});
