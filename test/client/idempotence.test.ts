/**
 * Idempotence against a lost response: a proxy in front of the broker lets a
 * Produce request through, then drops the connection instead of passing the
 * response back, so the producer resends a batch the broker already wrote.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBroker, type RunningBroker } from '../../src/broker/broker.js';
import { Consumer, Producer } from '../../src/client/index.js';
import { FrameDecoder } from '../../src/network/frame-decoder.js';
import { ApiKey } from '../../src/protocol/messages/api-table.js';
import { pollN, trackUnhandledRejections, uniqueTopic } from './helpers.js';

interface Proxy {
  port: number;
  /** Drop the connection when the next Produce response comes back (the broker has written the batch). */
  dropNextProduceResponse(): void;
  dropped: number;
  close(): Promise<void>;
}

async function startProxy(upstreamPort: () => number): Promise<Proxy> {
  let armed = false;
  const sockets = new Set<net.Socket>();
  const proxy: Proxy = {
    port: 0,
    dropped: 0,
    dropNextProduceResponse: () => {
      armed = true;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: upstreamPort() });
    sockets.add(client);
    sockets.add(upstream);
    const kill = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', kill);
    upstream.on('error', kill);
    client.on('close', kill);
    upstream.on('close', kill);
    const requests = new Map<number, number>();
    const fromClient = new FrameDecoder({ maxFrameBytes: 1 << 30 });
    const fromBroker = new FrameDecoder({ maxFrameBytes: 1 << 30 });
    client.on('data', (chunk: Buffer) => {
      const frames: Buffer[] = [];
      fromClient.push(chunk, frames);
      for (const f of frames) requests.set(f.readInt32BE(4), f.readInt16BE(0));
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      const frames: Buffer[] = [];
      fromBroker.push(chunk, frames);
      for (const f of frames) {
        const apiKey = requests.get(f.readInt32BE(0));
        if (armed && apiKey === ApiKey.Produce) {
          armed = false;
          proxy.dropped++;
          kill();
          return;
        }
        const size = Buffer.alloc(4);
        size.writeInt32BE(f.length);
        client.write(Buffer.concat([size, f]));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as net.AddressInfo).port;
  return proxy;
}

describe('idempotent producer', () => {
  let logDir: string;
  let broker: RunningBroker;
  let proxy: Proxy;
  let bootstrap: string;
  const unhandled = trackUnhandledRejections();

  before(async () => {
    logDir = await mkdtemp(join(tmpdir(), 'ganglion-client-idem-'));
    proxy = await startProxy(() => broker.listeners[0]!.port);
    bootstrap = `127.0.0.1:${proxy.port}`;
    // Clients learn the proxy's address from metadata, so every connection goes through it.
    broker = await startBroker({
      logDir,
      logLevel: 'silent',
      config: { listeners: 'PLAINTEXT://127.0.0.1:0', 'advertised.listeners': `PLAINTEXT://${bootstrap}`, 'num.partitions': 1 },
    });
  });
  after(async () => {
    await proxy.close();
    await broker.close();
    await rm(logDir, { recursive: true, force: true });
    unhandled.assertNone();
  });

  async function logContents(topic: string, expected: number): Promise<string[]> {
    const consumer = new Consumer({ 'bootstrap.servers': bootstrap, 'auto.offset.reset': 'earliest' });
    consumer.assign([{ topic, partition: 0 }]);
    const records = await pollN((ms) => consumer.poll(ms), expected, 3000);
    await consumer.close();
    return records.map((r) => r.value!.toString());
  }

  const settings = { 'linger.ms': 0, 'retry.backoff.ms': 20, 'reconnect.backoff.ms': 20, 'reconnect.backoff.max.ms': 50 };

  it('does not duplicate a batch whose response was lost (the default with acks=all)', async () => {
    const topic = uniqueTopic('idem');
    const producer = new Producer({ 'bootstrap.servers': bootstrap, ...settings });
    assert.equal((await producer.send({ topic, value: 'a' })).offset, 0);
    assert.equal(producer.metrics().idempotent, true);
    assert.ok(producer.metrics().producerId >= 0n);
    proxy.dropNextProduceResponse();
    const dropped = proxy.dropped;
    const b = await producer.send({ topic, value: 'b' });
    assert.equal(proxy.dropped, dropped + 1, 'the response was dropped');
    assert.ok(producer.metrics().retries >= 1);
    assert.equal(b.offset, 1, 'the resend is answered with the offset of the first write');
    assert.equal((await producer.send({ topic, value: 'c' })).offset, 2);
    await producer.close();
    assert.deepEqual(await logContents(topic, 4), ['a', 'b', 'c']);
  });

  it('without idempotence the same loss writes the batch twice (at-least-once)', async () => {
    const topic = uniqueTopic('dup');
    const producer = new Producer({ 'bootstrap.servers': bootstrap, acks: '1', ...settings });
    await producer.send({ topic, value: 'a' });
    assert.equal(producer.metrics().idempotent, false);
    proxy.dropNextProduceResponse();
    await producer.send({ topic, value: 'b' });
    await producer.close();
    assert.deepEqual(await logContents(topic, 3), ['a', 'b', 'b']);
  });

  it('keeps order with several batches in flight per partition across lost responses', async () => {
    const topic = uniqueTopic('pipeline');
    const producer = new Producer({ 'bootstrap.servers': bootstrap, ...settings, 'batch.size': 200, 'linger.ms': 1 });
    const n = 600;
    const sends = [];
    for (let i = 0; i < n; i++) {
      sends.push(producer.send({ topic, value: String(i) }));
      if (i % 150 === 75) proxy.dropNextProduceResponse();
      if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const metadata = await Promise.all(sends);
    await producer.close();
    assert.deepEqual(
      metadata.map((m) => m.offset),
      metadata.map((_, i) => i),
    );
    assert.deepEqual(
      await logContents(topic, n + 1),
      Array.from({ length: n }, (_, i) => String(i)),
    );
  });
});
