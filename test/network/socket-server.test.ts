import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameClient, MemoryLogger, echo, frame, sleep, startServer, waitFor } from './helpers.js';
import type { Connection } from '../../src/network/types.js';

test('frames split at every byte boundary over a real socket arrive whole and in order', async () => {
  const seen: string[] = [];
  const { server, port } = await startServer({
    handler: (f) => {
      seen.push(f.toString());
      return [f];
    },
  });
  const c = await FrameClient.connect(port);
  try {
    const bytes = Buffer.concat([frame('first'), frame('second frame'), frame('3')]);
    let expected = 0;
    for (let i = 1; i < bytes.length; i++) {
      c.socket.write(bytes.subarray(0, i));
      await sleep(1);
      c.socket.write(bytes.subarray(i));
      expected += 3;
      await c.waitFrames(expected);
    }
    // Byte by byte.
    for (const b of bytes) {
      c.socket.write(Buffer.of(b));
      await new Promise((r) => setImmediate(r));
    }
    expected += 3;
    const got = (await c.waitFrames(expected)).map((f) => f.toString());
    for (let i = 0; i < expected; i += 3) assert.deepEqual(got.slice(i, i + 3), ['first', 'second frame', '3']);
    assert.deepEqual(seen, got);
  } finally {
    c.destroy();
    await server.stop();
  }
});

test('many frames in one chunk are all answered, in order', async () => {
  const { server, port } = await startServer({ handler: echo });
  const c = await FrameClient.connect(port);
  try {
    const n = 2000;
    c.socket.write(Buffer.concat(Array.from({ length: n }, (_, i) => frame(`req-${i}`))));
    const got = await c.waitFrames(n);
    assert.deepEqual(
      got.map((f) => f.toString()),
      Array.from({ length: n }, (_, i) => `req-${i}`),
    );
  } finally {
    c.destroy();
    await server.stop();
  }
});

test('pipelined requests: one handler at a time per connection, responses in request order', async () => {
  let active = 0;
  let maxActive = 0;
  const calls: string[] = [];
  const { server, port } = await startServer({
    handler: async (f) => {
      active++;
      maxActive = Math.max(maxActive, active);
      const s = f.toString();
      calls.push(s);
      const i = Number(s);
      // The first is slow, later ones finish in scrambled times; some sync.
      if (i === 0) await sleep(100);
      else if (i % 3 === 0) await sleep((i * 7) % 11);
      active--;
      return [Buffer.from('r'), Buffer.from(s)];
    },
  });
  const a = await FrameClient.connect(port);
  const b = await FrameClient.connect(port);
  try {
    const n = 60;
    for (let i = 0; i < n; i++) {
      a.send(String(i));
      b.send(String(i));
    }
    const [ga, gb] = await Promise.all([a.waitFrames(n), b.waitFrames(n)]);
    const want = Array.from({ length: n }, (_, i) => `r${i}`);
    assert.deepEqual(
      ga.map((f) => f.toString()),
      want,
    );
    assert.deepEqual(
      gb.map((f) => f.toString()),
      want,
    );
    // Two connections may overlap each other, never themselves.
    assert.ok(maxActive <= 2, `max concurrent handlers ${maxActive}`);
    assert.equal(calls.length, 2 * n);
  } finally {
    a.destroy();
    b.destroy();
    await server.stop();
  }
});

test('handlers never overlap on one connection (sync and async mixed)', async () => {
  let active = 0;
  let overlap = false;
  const order: number[] = [];
  const { server, port } = await startServer({
    handler: (f) => {
      if (active !== 0) overlap = true;
      const i = f.readUInt32BE(0);
      order.push(i);
      if (i % 2 === 0) return [f]; // synchronous
      active++;
      return sleep(i % 5).then(() => {
        active--;
        return [f];
      });
    },
  });
  const c = await FrameClient.connect(port);
  try {
    const n = 200;
    for (let i = 0; i < n; i++) {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(i);
      c.send(b);
    }
    const got = await c.waitFrames(n);
    assert.deepEqual(
      got.map((f) => f.readUInt32BE(0)),
      [...Array(n).keys()],
    );
    assert.deepEqual(order, [...Array(n).keys()]);
    assert.equal(overlap, false);
  } finally {
    c.destroy();
    await server.stop();
  }
});

test('a null response writes nothing and the next response still comes in order', async () => {
  const { server, port } = await startServer({
    handler: async (f) => {
      const s = f.toString();
      if (s.startsWith('N')) {
        await sleep(20);
        return null;
      }
      return [f];
    },
  });
  const c = await FrameClient.connect(port);
  try {
    for (const s of ['a', 'N1', 'N2', 'b', 'N3', 'c']) c.send(s);
    const got = await c.waitFrames(3);
    assert.deepEqual(
      got.map((f) => f.toString()),
      ['a', 'b', 'c'],
    );
    await sleep(50);
    assert.equal(c.frames.length, 3);
    assert.equal((await c.request('d')).toString(), 'd');
  } finally {
    c.destroy();
    await server.stop();
  }
});

test('response chunks are prefixed with their total size; an empty response is a handler error', async () => {
  const { server, port } = await startServer({
    handler: (f) => (f.toString() === 'empty' ? [Buffer.alloc(0)] : [Buffer.from('ab'), Buffer.alloc(0), Buffer.from('cde'), f]),
  });
  const c = await FrameClient.connect(port);
  try {
    assert.equal((await c.request('X')).toString(), 'abcdeX');
    c.send('empty');
    assert.equal(await c.closedWithin(2000), true);
    assert.equal(c.frames.length, 1);
  } finally {
    c.destroy();
    await server.stop();
  }
});

test('an oversized declared size closes the connection without allocating it; others keep working', async () => {
  const logger = new MemoryLogger();
  const { server, port } = await startServer({ handler: echo, maxRequestBytes: 100 * 1024 * 1024, logger });
  const good = await FrameClient.connect(port);
  const bad = await FrameClient.connect(port);
  try {
    const before = process.memoryUsage().arrayBuffers;
    const b = Buffer.alloc(4 + 16);
    b.writeInt32BE(0x7fffffff, 0);
    bad.socket.write(b);
    assert.equal(await bad.closedWithin(2000), true, 'oversized frame closes the connection');
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.ok(grown < 16 * 1024 * 1024, `arrayBuffers grew by ${grown}`);
    assert.ok(logger.at('warn').includes('closing connection: invalid request frame'));
    assert.equal((await good.request('still here')).toString(), 'still here');
    await waitFor(() => server.connectionCount === 1, 2000, 'server-side cleanup');
  } finally {
    good.destroy();
    bad.destroy();
    await server.stop();
  }
});

test('a size just over maxRequestBytes closes; exactly maxRequestBytes is accepted', async () => {
  const { server, port } = await startServer({ handler: (f) => [Buffer.from(String(f.length))], maxRequestBytes: 1000 });
  const ok = await FrameClient.connect(port);
  const over = await FrameClient.connect(port);
  try {
    assert.equal((await ok.request(Buffer.alloc(1000))).toString(), '1000');
    over.send(Buffer.alloc(1001));
    assert.equal(await over.closedWithin(2000), true);
  } finally {
    ok.destroy();
    over.destroy();
    await server.stop();
  }
});

test('negative and zero sizes close the connection', async () => {
  const { server, port } = await startServer({ handler: echo });
  try {
    for (const size of [-1, -0x80000000, 0]) {
      const c = await FrameClient.connect(port);
      // One valid request first: it is answered before the bad frame closes.
      assert.equal((await c.request('ok')).toString(), 'ok');
      const b = Buffer.alloc(8);
      b.writeInt32BE(size, 0);
      c.socket.write(b);
      assert.equal(await c.closedWithin(2000), true, `size ${size}`);
    }
  } finally {
    await server.stop();
  }
});

test('garbage bytes (an HTTP request, random noise) close the connection without harming the server', async () => {
  let calls = 0;
  const { server, port } = await startServer({
    handler: (f) => {
      calls++;
      return [f];
    },
    maxRequestBytes: 64 * 1024,
  });
  try {
    const http = await FrameClient.connect(port);
    http.socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    assert.equal(await http.closedWithin(2000), true);
    assert.equal(calls, 0);

    // Seeded noise: whatever happens, the process survives and the server serves.
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let k = 0; k < 20; k++) {
      const c = await FrameClient.connect(port);
      c.socket.write(Buffer.from(Array.from({ length: 256 }, rnd)));
      c.socket.end();
      await c.closedWithin(2000);
      c.destroy();
    }
    const c = await FrameClient.connect(port);
    assert.equal((await c.request('fine')).toString(), 'fine');
    c.destroy();
  } finally {
    await server.stop();
  }
});

test('a handler that throws or rejects closes only its connection', async () => {
  const logger = new MemoryLogger();
  const { server, port } = await startServer({
    logger,
    handler: async (f) => {
      const s = f.toString();
      if (s === 'throw-sync') throw new Error('boom');
      if (s === 'reject') return Promise.reject(new Error('async boom'));
      if (s === 'bad-result') return 'not an array' as unknown as Buffer[];
      return [f];
    },
  });
  const syncThrow = await startServer({
    logger,
    handler: (f) => {
      if (f.toString() === 'throw') throw new Error('sync boom');
      return [f];
    },
  });
  try {
    const good = await FrameClient.connect(port);
    for (const what of ['throw-sync', 'reject', 'bad-result']) {
      const c = await FrameClient.connect(port);
      c.send(what);
      c.send('never answered');
      assert.equal(await c.closedWithin(2000), true, what);
      assert.equal(c.frames.length, 0);
      assert.equal((await good.request(`after ${what}`)).toString(), `after ${what}`);
    }
    const s1 = await FrameClient.connect(syncThrow.port);
    const s2 = await FrameClient.connect(syncThrow.port);
    s1.send('throw');
    assert.equal(await s1.closedWithin(2000), true);
    assert.equal((await s2.request('ok')).toString(), 'ok');
    assert.equal(logger.at('error').filter((m) => m === 'request handler failed; closing connection').length, 4);
    good.destroy();
    s2.destroy();
  } finally {
    await server.stop();
    await syncThrow.server.stop();
  }
});

test('Connection: identity, listener name, idempotent close() from a handler, late results dropped', async () => {
  let seen: Connection | undefined;
  let release: () => void = () => {};
  const { server, port } = await startServer({
    handler: async (f, conn) => {
      seen = conn;
      if (f.toString() === 'close-me') {
        conn.close('asked to');
        conn.close('again');
        return [f];
      }
      if (f.toString() === 'slow') {
        await new Promise<void>((r) => (release = r));
        return [f];
      }
      return [f];
    },
  });
  try {
    const c = await FrameClient.connect(port);
    assert.equal((await c.request('hi')).toString(), 'hi');
    assert.ok(seen);
    assert.equal(seen.listenerName, 'PLAINTEXT');
    assert.equal(seen.remoteAddress, '127.0.0.1');
    assert.equal(seen.remotePort, c.socket.localPort);
    assert.equal(seen.localPort, port);
    assert.match(seen.id, /^127\.0\.0\.1:\d+-127\.0\.0\.1:\d+-\d+$/);
    assert.equal(seen.closed, false);
    c.send('close-me');
    assert.equal(await c.closedWithin(2000), true);
    assert.equal(c.frames.length, 1, 'the response of a closing connection is dropped');
    assert.equal(seen.closed, true);

    // Closed from outside while a handler is in flight: its result is dropped silently.
    const d = await FrameClient.connect(port);
    d.send('slow');
    await waitFor(() => seen !== undefined && seen.remotePort === d.socket.localPort);
    const conn = seen;
    conn.close();
    release();
    assert.equal(await d.closedWithin(2000), true);
    conn.close();
    await waitFor(() => server.connectionCount === 0);
  } finally {
    await server.stop();
  }
});

test('a client that half-closes still gets every response, then the server closes', async () => {
  const { server, port } = await startServer({
    handler: async (f) => {
      await sleep(5);
      return [f];
    },
  });
  try {
    const c = await FrameClient.connect(port);
    for (let i = 0; i < 10; i++) c.send(`m${i}`);
    c.socket.end();
    await c.closed;
    assert.deepEqual(
      c.frames.map((f) => f.toString()),
      Array.from({ length: 10 }, (_, i) => `m${i}`),
    );
    await waitFor(() => server.connectionCount === 0);
  } finally {
    await server.stop();
  }
});
