/**
 * Batches BUILT by Ganglion (buildBatch, each codec) are read correctly by
 * real clients.
 *
 * The batches are appended to a Ganglion broker with raw Produce requests
 * (generated codecs over node:net, nothing else of ours on the client side),
 * read back with a raw Fetch to show the broker stored them byte for byte,
 * then consumed with:
 *   - kcat (librdkafka: its own gzip, snappy, lz4 and zstd decoders);
 *   - kafkajs, through its own Fetch request and record-batch decoder. kafkajs
 *     has no group-less consumer, so the Fetch goes through its broker
 *     connection directly; it ships gzip only, so snappy, lz4 and zstd are
 *     decompressed by our codecs registered as its plugins (kcat is the
 *     independent check of the compressed bytes).
 * kcat tests are skipped when kcat is not installed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../../src/broker/broker.js';
import { apiByKey, ApiKey } from '../../../src/protocol/messages/api-table.js';
import {
  decodeResponseHeader,
  encodeRequestHeader,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../../../src/protocol/messages/headers.js';
import { Reader, Writer } from '../../../src/protocol/primitives.js';
import {
  CompressionType,
  buildBatch,
  compressAsync,
  compressionName,
  decompressAsync,
  splitBatches,
  type RecordInput,
} from '../../../src/protocol/records/index.js';

const require = createRequire(import.meta.url);
const kafkajs = require('kafkajs') as typeof import('kafkajs');

const CODECS = [CompressionType.None, CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd];
const HAS_KCAT = spawnSync('kcat', ['-V']).status === 0;
const T0 = 1_700_000_000_000;

interface Expected {
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: [string, string | null][];
}

/** Two batches per codec: the second checks that offsets continue across compressed batches. */
function batchesFor(codec: CompressionType): RecordInput[][] {
  const name = compressionName(codec);
  return [
    [
      {
        key: 'k-1',
        value: `built by ganglion, ${name} — ünïcödé ✓`,
        headers: [
          { key: 'source', value: 'ganglion' },
          { key: 'codec', value: name },
        ],
        timestamp: T0,
      },
      { key: null, value: 'a record without a key', timestamp: T0 + 1 },
      { key: 'k-3', value: null, headers: [{ key: 'nullable', value: null }], timestamp: T0 + 2 },
      { key: 'k-4', value: '', timestamp: T0 + 3 },
      {
        key: 'k-5',
        value: 'ganglion '.repeat(2000),
        headers: [
          { key: 'dup', value: '1' },
          { key: 'dup', value: '2' },
        ],
        timestamp: T0 + 7,
      },
    ],
    [
      { key: 'k-6', value: `second batch, ${name}`, timestamp: T0 + 10 },
      { key: 'k-7', value: 'x'.repeat(300), timestamp: T0 + 11 },
    ],
  ];
}

function text(v: string | Buffer | null | undefined): string | null {
  return v === null || v === undefined ? null : v.toString();
}

function expectedFor(codec: CompressionType): Expected[] {
  return batchesFor(codec)
    .flat()
    .map((r, offset) => ({
      offset,
      timestamp: r.timestamp!,
      key: text(r.key),
      value: text(r.value),
      headers: (r.headers ?? []).map((h) => [h.key, text(h.value)] as [string, string | null]),
    }));
}

const topicFor = (codec: CompressionType): string => `ganglion-built-${compressionName(codec)}`;

// ---------------------------------------------------------------------------
// A minimal client: one connection, one request at a time, generated codecs.

class RawClient {
  private pending = Buffer.alloc(0);
  private waiting: ((frame: Buffer) => void) | undefined;
  private correlationId = 0;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      if (this.pending.length < 4) return;
      const size = this.pending.readInt32BE(0);
      if (this.pending.length < 4 + size) return;
      const frame = this.pending.subarray(4, 4 + size);
      this.pending = this.pending.subarray(4 + size);
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve?.(frame);
    });
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  async request<K extends ApiKey>(apiKey: K, version: number, body: unknown): Promise<any> {
    const api = apiByKey(apiKey);
    const correlationId = ++this.correlationId;
    const w = new Writer();
    w.int32(0);
    encodeRequestHeader(
      w,
      { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: 'ganglion-batches-interop' },
      requestHeaderVersion(apiKey, version),
    );
    (api.encodeRequest as (w: Writer, m: unknown, v: number) => void)(w, body, version);
    const frame = w.toBuffer();
    frame.writeInt32BE(frame.length - 4, 0);
    const answer = new Promise<Buffer>((resolve) => (this.waiting = resolve));
    this.socket.write(frame);
    const r = new Reader(await answer);
    const header = decodeResponseHeader(r, responseHeaderVersion(apiKey, version));
    assert.equal(header.correlationId, correlationId);
    const response = api.decodeResponse(r, version);
    assert.equal(r.remaining, 0);
    return response;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Produce one batch, retrying while the auto-created topic gets its leader. */
async function produce(client: RawClient, topic: string, batch: Buffer): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const response = await client.request(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
    });
    const partition = response.responses[0].partitionResponses[0];
    if (partition.errorCode === 0) return Number(partition.baseOffset);
    if (attempt > 20) assert.fail(`Produce to ${topic} keeps failing with error ${partition.errorCode}`);
    await client.request(ApiKey.Metadata, 4, { topics: [{ name: topic }], allowAutoTopicCreation: true });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let broker: RunningBroker;
let logDir: string;
/** The built batches per codec, as sent. */
const built = new Map<CompressionType, Buffer[]>();

before(async () => {
  logDir = mkdtempSync(join(tmpdir(), 'ganglion-built-batches-'));
  broker = await startBroker({ port: 0, logDir, logLevel: 'silent' });
  const client = await RawClient.connect(broker.port);
  try {
    for (const codec of CODECS) {
      const topic = topicFor(codec);
      await client.request(ApiKey.Metadata, 4, { topics: [{ name: topic }], allowAutoTopicCreation: true });
      const batches = batchesFor(codec).map((records) => buildBatch(records, { compression: codec }));
      built.set(codec, batches);
      let next = 0;
      for (const [i, batch] of batches.entries()) {
        const baseOffset = await produce(client, topic, batch);
        assert.equal(baseOffset, next, `${topic} batch ${i} base offset`);
        next += batchesFor(codec)[i]!.length;
      }
    }
  } finally {
    client.close();
  }
});

after(async () => {
  await broker?.close();
  if (logDir !== undefined) rmSync(logDir, { recursive: true, force: true });
});

for (const codec of CODECS) {
  const name = compressionName(codec);

  test(`${name}: the broker stores our batches byte for byte`, async () => {
    const client = await RawClient.connect(broker.port);
    try {
      const response = await client.request(ApiKey.Fetch, 4, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 16 << 20,
        isolationLevel: 0,
        topics: [{ topic: topicFor(codec), partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 16 << 20 }] }],
      });
      const partition = response.responses[0].partitions[0];
      assert.equal(partition.errorCode, 0);
      const stored = [...splitBatches(partition.records)];
      const sent = built.get(codec)!;
      assert.equal(stored.length, sent.length);
      stored.forEach((batch, i) => {
        batch.validate();
        assert.equal(batch.compression, codec);
        // The broker sets the base offset and the leader epoch (bytes 0-7 and
        // 12-15, outside the CRC); everything else is what we built.
        assert.ok(batch.buffer.subarray(16).equals(sent[i]!.subarray(16)), `batch ${i} differs from the one built`);
        assert.equal(batch.buffer.readInt32BE(8), sent[i]!.readInt32BE(8));
      });
    } finally {
      client.close();
    }
  });

  test(`${name}: kcat reads batches built by Ganglion`, { skip: HAS_KCAT ? false : 'kcat is not installed' }, async () => {
    // Asynchronously: the broker runs in this process.
    const result = await new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        'kcat',
        ['-b', `127.0.0.1:${broker.port}`, '-C', '-t', topicFor(codec), '-p', '0', '-o', 'beginning', '-e', '-q', '-J'],
        { encoding: 'utf8', timeout: 30_000 },
        (error, stdout, stderr) => resolve({ status: error === null ? 0 : (typeof error.code === 'number' ? error.code : 1), stdout, stderr }),
      );
    });
    assert.equal(result.status, 0, `kcat failed: ${result.stderr}`);
    const got = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { offset: number; ts: number; key: string | null; payload: string | null; headers?: (string | null)[] });
    const want = expectedFor(codec);
    assert.equal(got.length, want.length, `kcat read ${got.length} records: ${result.stdout}`);
    got.forEach((record, i) => {
      const w = want[i]!;
      assert.equal(record.offset, w.offset);
      assert.equal(record.ts, w.timestamp);
      assert.equal(record.key, w.key, `record ${i} key`);
      assert.equal(record.payload, w.value, `record ${i} value`);
      const pairs: [string | null, string | null][] = [];
      const flat = record.headers ?? [];
      for (let h = 0; h < flat.length; h += 2) pairs.push([flat[h]!, flat[h + 1]!]);
      assert.deepEqual(pairs, w.headers, `record ${i} headers`);
    });
  });

  test(`${name}: kafkajs reads batches built by Ganglion`, async () => {
    for (const type of [CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd]) {
      (kafkajs.CompressionCodecs as Record<number, unknown>)[type] = () => ({
        compress: (encoder: { buffer: Buffer }) => compressAsync(type, encoder.buffer),
        decompress: (buffer: Buffer) => decompressAsync(type, buffer),
      });
    }
    const kafka = new kafkajs.Kafka({
      clientId: 'ganglion-batches-interop',
      brokers: [`127.0.0.1:${broker.port}`],
      logLevel: kafkajs.logLevel.NOTHING,
    });
    // No group coordinator needed: kafkajs's own cluster and broker connection.
    const createCluster = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
    assert.ok(createCluster !== undefined, 'kafkajs internals changed: no createCluster symbol');
    const cluster = (kafka as unknown as Record<symbol, (o: object) => any>)[createCluster]({});
    await cluster.connect();
    try {
      const topic = topicFor(codec);
      await cluster.addTargetTopic(topic);
      const leader = cluster.findTopicPartitionMetadata(topic)[0].leader;
      const kbroker = await cluster.findBroker({ nodeId: String(leader) });
      const fetched = await kbroker.fetch({
        replicaId: -1,
        isolationLevel: 1,
        maxWaitTime: 100,
        maxBytes: 16 << 20,
        topics: [{ topic, partitions: [{ partition: 0, fetchOffset: '0', maxBytes: 16 << 20 }] }],
      });
      const partition = fetched.responses[0].partitions[0];
      assert.equal(partition.errorCode, 0);
      const messages = partition.messages as {
        offset: string;
        timestamp: string;
        key: Buffer | null;
        value: Buffer | null;
        headers: Record<string, Buffer | null | (Buffer | null)[]>;
      }[];
      const want = expectedFor(codec);
      assert.equal(messages.length, want.length);
      messages.forEach((m, i) => {
        const w = want[i]!;
        assert.equal(m.offset, String(w.offset));
        assert.equal(m.timestamp, String(w.timestamp));
        assert.equal(text(m.key), w.key, `record ${i} key`);
        assert.equal(text(m.value), w.value, `record ${i} value`);
        // kafkajs folds repeated header keys into an array.
        const headers: Record<string, string | null | (string | null)[]> = {};
        for (const [k, v] of w.headers) {
          const existing = headers[k];
          headers[k] = existing === undefined ? v : [...(Array.isArray(existing) ? existing : [existing]), v];
        }
        const got = Object.fromEntries(
          Object.entries(m.headers).map(([k, v]) => [k, Array.isArray(v) ? v.map(text) : text(v)]),
        );
        assert.deepEqual(got, headers, `record ${i} headers`);
      });
    } finally {
      await cluster.disconnect();
    }
  });
}
