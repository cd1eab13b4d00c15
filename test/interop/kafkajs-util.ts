/**
 * kafkajs helpers for the interop tests.
 *
 * kafkajs ships only gzip; snappy, lz4 and zstd codecs are plugged in here
 * from the native packages the project already depends on (not from the
 * broker's own codec code). kafkajs has no consumer without a group, and
 * groups do not exist yet, so records are read with kafkajs's own broker
 * connection and Fetch implementation (its private cluster object): the
 * protocol decoding, decompression and record parsing are all kafkajs's.
 */
import * as lz4 from 'lz4-napi';
import * as snappy from 'snappy';
import { Compressor, Decompressor } from 'zstd-napi';
import kafkajs, { type IHeaders, type Kafka, type Message } from 'kafkajs';

// kafkajs is CommonJS whose named exports Node cannot detect: take them from the default export.
const { CompressionCodecs, CompressionTypes, Kafka: KafkaClient, logLevel } = kafkajs;
import type { ConsumedRecord, Header, TestRecord } from './support.js';

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

function snappyDecode(buffer: Buffer): Buffer {
  if (buffer.length >= 16 && buffer.subarray(0, 8).equals(XERIAL_MAGIC)) {
    const blocks: Buffer[] = [];
    let at = 16;
    while (at < buffer.length) {
      const size = buffer.readInt32BE(at);
      at += 4;
      blocks.push(snappy.uncompressSync(buffer.subarray(at, at + size)) as Buffer);
      at += size;
    }
    return Buffer.concat(blocks);
  }
  return snappy.uncompressSync(buffer) as Buffer;
}

let codecsInstalled = false;

/** Registers snappy, lz4 and zstd codecs with kafkajs (once). */
export function installKafkajsCodecs(): void {
  if (codecsInstalled) return;
  codecsInstalled = true;
  const codecs = CompressionCodecs as Record<number, () => unknown>;
  codecs[CompressionTypes.Snappy] = () => ({
    compress: async (encoder: { buffer: Buffer }) => snappy.compressSync(encoder.buffer),
    decompress: async (buffer: Buffer) => snappyDecode(buffer),
  });
  codecs[CompressionTypes.LZ4] = () => ({
    compress: (encoder: { buffer: Buffer }) => lz4.compressFrame(encoder.buffer),
    decompress: (buffer: Buffer) => lz4.decompressFrame(buffer),
  });
  codecs[CompressionTypes.ZSTD] = () => ({
    compress: async (encoder: { buffer: Buffer }) => new Compressor().compress(encoder.buffer),
    decompress: async (buffer: Buffer) => new Decompressor().decompress(buffer),
  });
}

export const KAFKAJS_CODEC = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
} as const;

export function newKafka(bootstrap: string, clientId = 'ganglion-interop'): Kafka {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  installKafkajsCodecs();
  return new KafkaClient({
    brokers: [bootstrap],
    clientId,
    logLevel: logLevel.NOTHING,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
    connectionTimeout: 3000,
  });
}

/** kafkajs headers object from a record's header list (names are unique in our record sets). */
export function toKafkajsMessage(r: TestRecord): Message {
  const headers: IHeaders = {};
  for (const [name, value] of r.headers) headers[name] = value ?? undefined;
  return { key: r.key, value: r.value, headers };
}

function headersFrom(h: Record<string, Buffer | Buffer[] | undefined> | undefined): Header[] {
  const out: Header[] = [];
  for (const [name, v] of Object.entries(h ?? {})) {
    if (Array.isArray(v)) for (const x of v) out.push([name, x]);
    else out.push([name, v ?? null]);
  }
  return out;
}

interface KafkajsBroker {
  fetch(request: unknown): Promise<any>;
}
interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(node: { nodeId: string }): Promise<KafkajsBroker>;
}

/** kafkajs's internal cluster (connection pool, metadata, per-broker request methods). */
export async function kafkajsCluster(kafka: Kafka): Promise<KafkajsCluster> {
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  if (!symbol) throw new Error('kafkajs internals changed: no createCluster symbol');
  const cluster = (kafka as any)[symbol]({}) as KafkajsCluster;
  await cluster.connect();
  return cluster;
}

export interface FetchOptions {
  /** Start offset per partition (default 0). */
  from?: Record<number, number>;
  /** Stop once this many records were read (default: until every partition reaches its high watermark). */
  count?: number;
  maxWaitTime?: number;
  timeoutMs?: number;
}

/** Reads `partitions` of `topic` with kafkajs's Fetch until each reaches its high watermark. */
export async function kafkajsFetchAll(kafka: Kafka, topic: string, partitions: number[], options: FetchOptions = {}): Promise<ConsumedRecord[]> {
  const cluster = await kafkajsCluster(kafka);
  try {
    await cluster.addTargetTopic(topic);
    const next = new Map(partitions.map((p) => [p, options.from?.[p] ?? 0]));
    const done = new Set<number>();
    const out: ConsumedRecord[] = [];
    const deadline = Date.now() + (options.timeoutMs ?? 15_000);
    while (done.size < partitions.length && (options.count === undefined || out.length < options.count)) {
      if (Date.now() > deadline) throw new Error(`kafkajs fetch of ${topic} timed out with ${out.length} records`);
      const leaders = cluster.findLeaderForPartitions(topic, partitions.filter((p) => !done.has(p)));
      for (const [nodeId, ps] of Object.entries(leaders)) {
        const broker = await cluster.findBroker({ nodeId });
        const response = await broker.fetch({
          maxWaitTime: options.maxWaitTime ?? 100,
          minBytes: 1,
          topics: [{ topic, partitions: ps.map((p) => ({ partition: p, fetchOffset: String(next.get(p)), maxBytes: 4 * 1024 * 1024 })) }],
        });
        for (const t of response.responses) {
          for (const p of t.partitions) {
            if (p.errorCode !== 0) throw new Error(`kafkajs fetch ${topic}-${p.partition}: error ${p.errorCode}`);
            const from = next.get(p.partition)!;
            for (const m of p.messages) {
              const offset = Number(m.offset);
              if (offset < from || m.isControlRecord) continue;
              out.push({
                partition: p.partition,
                offset,
                timestamp: Number(m.timestamp),
                key: m.key ?? null,
                value: m.value ?? null,
                headers: headersFrom(m.headers),
              });
              next.set(p.partition, offset + 1);
            }
            if (next.get(p.partition)! >= Number(p.highWatermark)) done.add(p.partition);
          }
        }
      }
    }
    return out;
  } finally {
    await cluster.disconnect();
  }
}

/**
 * Parks a kafkajs Fetch on `partition` at `offset` (max wait `maxWaitTime`)
 * and resolves when it answers, with the records and the answer time.
 */
export async function kafkajsLongPoll(
  kafka: Kafka,
  topic: string,
  partition: number,
  offset: number,
  maxWaitTime: number,
): Promise<{ start: () => Promise<{ at: number; count: number }>; close: () => Promise<void> }> {
  const cluster = await kafkajsCluster(kafka);
  await cluster.addTargetTopic(topic);
  const leaders = cluster.findLeaderForPartitions(topic, [partition]);
  const broker = await cluster.findBroker({ nodeId: Object.keys(leaders)[0]! });
  return {
    async start() {
      const response = await broker.fetch({
        maxWaitTime,
        minBytes: 1,
        topics: [{ topic, partitions: [{ partition, fetchOffset: String(offset), maxBytes: 1024 * 1024 }] }],
      });
      const at = Date.now();
      const count = response.responses.flatMap((t: any) => t.partitions).reduce((n: number, p: any) => n + p.messages.length, 0);
      return { at, count };
    },
    close: () => cluster.disconnect(),
  };
}
