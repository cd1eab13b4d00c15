import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameClient, frame, sleep, startServer, waitFor } from './helpers.js';

/** Resolves once `read()` stopped changing for `quietMs`. */
async function settle(read: () => number, quietMs = 300, timeoutMs = 5000): Promise<number> {
  const end = Date.now() + timeoutMs;
  let last = read();
  let since = Date.now();
  while (Date.now() < end) {
    await sleep(20);
    const now = read();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return now;
    }
  }
  return read();
}

test('a client that never reads its responses: handler calls and memory stay bounded, then all complete', async () => {
  const responseBytes = 1024 * 1024;
  const n = 128;
  let calls = 0;
  const { server, port } = await startServer({
    handler: (f) => {
      calls++;
      // A fresh buffer per response, so unbounded buffering would show in memory.
      const r = Buffer.allocUnsafe(responseBytes);
      f.copy(r, 0, 0, 4);
      return [r];
    },
  });
  const c = await FrameClient.connect(port);
  try {
    c.socket.pause();
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < n; i++) {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(i);
      c.send(b);
    }
    const stalled = await settle(() => calls);
    const grown = process.memoryUsage().arrayBuffers - before;
    // Kernel socket buffers absorb a few responses (about 4 here); without
    // back-pressure all 128 (128 MiB) would be produced at once.
    assert.ok(stalled < 32, `handler ran ${stalled} times while the client was not reading`);
    assert.ok(grown < 48 * 1024 * 1024, `arrayBuffers grew by ${grown} bytes`);

    c.socket.resume();
    const got = await c.waitFrames(n, 10_000);
    assert.deepEqual(
      got.map((f) => f.readUInt32BE(0)),
      [...Array(n).keys()],
    );
    assert.ok(got.every((f) => f.length === responseBytes));
    assert.equal(calls, n);
  } finally {
    c.destroy();
    await server.stop();
  }
});

test('received-but-unprocessed bytes are bounded: reading pauses while the handler is busy', async () => {
  let calls = 0;
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const { server, port } = await startServer({
    maxInFlightBytesPerConnection: 1024 * 1024,
    handler: async (f) => {
      calls++;
      if (calls === 1) await gate;
      return [f.subarray(0, 4)];
    },
  });
  const c = await FrameClient.connect(port);
  try {
    const n = 2000;
    const body = Buffer.alloc(32 * 1024);
    for (let i = 0; i < n; i++) {
      body.writeUInt32BE(i);
      c.socket.write(frame(body));
    }
    const total = n * (body.length + 4);
    const unsent = await settle(() => c.socket.writableLength);
    // The server took at most its 1 MiB cap plus what kernel buffers hold.
    assert.ok(total - unsent < 24 * 1024 * 1024, `server side absorbed ${total - unsent} of ${total} bytes`);
    assert.equal(calls, 1);

    release();
    const got = await c.waitFrames(n, 10_000);
    assert.deepEqual(
      got.map((f) => f.readUInt32BE(0)),
      [...Array(n).keys()],
    );
  } finally {
    c.destroy();
    await server.stop();
  }
});

test('the queued request count is bounded too', async () => {
  let calls = 0;
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const { server, port } = await startServer({
    maxInFlightBytesPerConnection: 1024 * 1024 * 1024,
    maxQueuedRequestsPerConnection: 8,
    handler: async (f) => {
      calls++;
      if (calls === 1) await gate;
      return [f.subarray(0, 4)];
    },
  });
  const c = await FrameClient.connect(port);
  try {
    const n = 20_000;
    const body = Buffer.alloc(2 * 1024);
    for (let i = 0; i < n; i++) {
      body.writeUInt32BE(i);
      c.socket.write(frame(body));
    }
    const total = n * (body.length + 4);
    const unsent = await settle(() => c.socket.writableLength);
    assert.ok(total - unsent < 24 * 1024 * 1024, `server side absorbed ${total - unsent} of ${total} bytes`);
    release();
    const got = await c.waitFrames(n, 10_000);
    assert.equal(got[n - 1]!.readUInt32BE(0), n - 1);
    await waitFor(() => calls === n);
  } finally {
    c.destroy();
    await server.stop();
  }
});
