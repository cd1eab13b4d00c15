/**
 * What the real-client interop tests share: the record sets they produce,
 * Java's murmur2 partitioner (where keyed records must land), the round-trip
 * check (byte-exact, per-partition order, same key -> same partition), the
 * JSON shape exchanged with the Python client scripts, and a raw view of what
 * the broker stored (to see which codec a client really used).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ApiKey } from '../../src/protocol/messages/api-table.js';
import { ZERO_UUID } from '../../src/protocol/primitives.js';
import { scanBatches } from '../../src/protocol/records/index.js';
import { describeRun, PYTHON, repoRoot, run } from '../helpers/broker.js';
import { RawConnection } from './raw-client.js';

export type Header = [name: string, value: Buffer | null];

export interface TestRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: Header[];
}

export interface ConsumedRecord extends TestRecord {
  partition: number;
  offset: number;
  timestamp?: number;
}

export interface Ack {
  partition: number;
  offset: number;
}

// ---------------------------------------------------------------------------
// Java's partitioner

/** Kafka's `Utils.murmur2` (the Java client's default partitioner hash), as a signed int32. */
export function murmur2(data: Buffer): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = (0x9747b28c ^ length) | 0;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length % 4;
  if (rest >= 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Java's default partitioner picks for a keyed record. */
export function javaPartition(key: Buffer, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

// ---------------------------------------------------------------------------
// Record sets

export interface RecordSetOptions {
  count: number;
  /** Distinct keys, reused round-robin (default 7). */
  keys?: number;
  /** Binary keys, values and header values (default true); false gives printable ASCII. */
  binary?: boolean;
  /** Record `nullAt` gets a null value and `emptyAt` an empty one (defaults 3 and 4; -1 for none). */
  nullAt?: number;
  emptyAt?: number;
  /** Per-record headers (default true): a sequence number, a binary value and an empty value. */
  headers?: boolean;
  /** Largest value (default 300 bytes). */
  maxValueBytes?: number;
  /**
   * Values mostly made of a repeated phrase (plus a few random bytes), so
   * that codecs shrink them: librdkafka sends a batch uncompressed when
   * compressing does not make it smaller.
   */
  compressible?: boolean;
  tag?: string;
}

function ascii(n: number): Buffer {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.';
  const bytes = randomBytes(n);
  for (let i = 0; i < n; i++) bytes[i] = alphabet.charCodeAt(bytes[i]! % alphabet.length);
  return bytes;
}

/** Keyed records with headers, one null value and one empty value. */
export function makeRecords(options: RecordSetOptions): TestRecord[] {
  const { count, keys = 7, binary = true, nullAt = 3, emptyAt = 4, headers = true, maxValueBytes = 300, tag = 'r', compressible = false } = options;
  const phrase = 'the quick brown fox jumps over the lazy dog; ';
  const keyBytes: Buffer[] = [];
  for (let k = 0; k < keys; k++) {
    keyBytes.push(binary ? Buffer.concat([Buffer.from(`key-${k}-`), Buffer.from([0, 0xff, k & 0xff, 0x80])]) : Buffer.from(`key-${k}`));
  }
  const records: TestRecord[] = [];
  for (let i = 0; i < count; i++) {
    // Compressible values are never tiny: a lone small record in a batch would not shrink.
    const size = (compressible ? 200 : 1) + ((i * 37) % maxValueBytes);
    const body = compressible
      ? Buffer.concat([Buffer.from(phrase.repeat(Math.ceil(size / phrase.length)).slice(0, size)), binary ? randomBytes(8) : ascii(8)])
      : binary
        ? randomBytes(size)
        : ascii(size);
    let value: Buffer | null = Buffer.concat([Buffer.from(`${tag}-${i}:`), body]);
    if (i === nullAt) value = null;
    if (i === emptyAt) value = Buffer.alloc(0);
    const hs: Header[] = headers
      ? [
          ['seq', Buffer.from(String(i))],
          ['blob', binary ? randomBytes(1 + (i % 16)) : ascii(1 + (i % 16))],
          ['empty', Buffer.alloc(0)],
        ]
      : [];
    records.push({ key: keyBytes[i % keys]!, value, headers: hs });
  }
  return records;
}

// ---------------------------------------------------------------------------
// Checking a round trip

function show(b: Buffer | null): string {
  if (b === null) return 'null';
  const printable = b.every((c) => c >= 0x20 && c < 0x7f);
  return printable ? JSON.stringify(b.toString('latin1')) : `0x${b.toString('hex').slice(0, 80)}${b.length > 40 ? '…' : ''} (${b.length} B)`;
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  if (a === null || b === null) return a === b;
  return a.equals(b);
}

function sameHeaders(a: Header[], b: Header[], emptyHeaderMayBeNull: boolean): boolean {
  if (a.length !== b.length) return false;
  return a.every(([name, value], i) => {
    const [name2, value2] = b[i]!;
    if (name !== name2) return false;
    if (emptyHeaderMayBeNull && ((value?.length === 0 && value2 === null) || (value2?.length === 0 && value === null))) return true;
    return sameBytes(value, value2);
  });
}

export interface RoundTripOptions {
  partitions: number;
  /** Keys must land where Java's murmur2 partitioner puts them. */
  javaPartitioner?: boolean;
  /** The producer's acknowledgements, in produce order: each record must be at its acknowledged offset. */
  acks?: Ack[];
  /** First offset of every partition (default 0). */
  startOffset?: number;
  /** Some clients cannot tell an empty header value from a null one. */
  emptyHeaderMayBeNull?: boolean;
  /** Records were produced with no headers but these (same for all, e.g. kcat -H). */
  label?: string;
}

/**
 * Every produced record comes back exactly once and byte-exact (key, value,
 * headers in order); each partition's offsets are contiguous from startOffset
 * and keep the produce order; records with the same key share a partition.
 */
export function checkRoundTrip(produced: TestRecord[], consumed: ConsumedRecord[], options: RoundTripOptions): void {
  const label = options.label ?? 'round trip';
  const start = options.startOffset ?? 0;
  assert.equal(consumed.length, produced.length, `${label}: consumed ${consumed.length} records, produced ${produced.length}`);

  // Same key -> same partition (and Java's partition when asked).
  const keyPartition = new Map<string, number>();
  const byPartition = new Map<number, ConsumedRecord[]>();
  for (const r of consumed) {
    assert.ok(r.partition >= 0 && r.partition < options.partitions, `${label}: partition ${r.partition} out of range`);
    let list = byPartition.get(r.partition);
    if (!list) byPartition.set(r.partition, (list = []));
    list.push(r);
    if (r.key !== null) {
      const k = r.key.toString('hex');
      const seen = keyPartition.get(k);
      if (seen !== undefined) assert.equal(r.partition, seen, `${label}: key ${show(r.key)} is in partitions ${seen} and ${r.partition}`);
      keyPartition.set(k, r.partition);
      if (options.javaPartitioner) {
        assert.equal(r.partition, javaPartition(r.key, options.partitions), `${label}: key ${show(r.key)} is in partition ${r.partition}, Java's murmur2 partitioner puts it in ${javaPartition(r.key, options.partitions)}`);
      }
    }
  }

  // Per partition: contiguous offsets, and the records in produce order, byte-exact.
  const producedAt = produced.map((rec, i) => ({ rec, i }));
  for (const [partition, list] of byPartition) {
    list.sort((a, b) => a.offset - b.offset);
    list.forEach((r, j) => assert.equal(r.offset, start + j, `${label}: partition ${partition} offsets are not contiguous from ${start}: ${list.map((x) => x.offset).join(',')}`));
    const keysHere = new Set(list.map((r) => (r.key === null ? '' : r.key.toString('hex'))));
    const expected = producedAt.filter(({ rec }) => keysHere.has(rec.key === null ? '' : rec.key.toString('hex')));
    assert.equal(list.length, expected.length, `${label}: partition ${partition} has ${list.length} records, its keys were produced ${expected.length} times`);
    list.forEach((got, j) => {
      const { rec: want, i } = expected[j]!;
      const where = `${label}: record #${i} (partition ${partition} offset ${got.offset})`;
      assert.ok(sameBytes(got.key, want.key), `${where}: key ${show(got.key)}, produced ${show(want.key)}`);
      assert.ok(sameBytes(got.value, want.value), `${where}: value ${show(got.value)}, produced ${show(want.value)}`);
      assert.ok(
        sameHeaders(got.headers, want.headers, options.emptyHeaderMayBeNull ?? false),
        `${where}: headers ${JSON.stringify(got.headers.map(([n, v]) => [n, show(v)]))}, produced ${JSON.stringify(want.headers.map(([n, v]) => [n, show(v)]))}`,
      );
      if (options.acks) {
        const ack = options.acks[i]!;
        assert.deepEqual({ partition: got.partition, offset: got.offset }, { partition: ack.partition, offset: ack.offset }, `${where} was acknowledged at partition ${ack.partition} offset ${ack.offset}`);
      }
    });
  }
}

// ---------------------------------------------------------------------------
// Python client scripts (JSON on stdin, one JSON object on the last stdout line)

export interface WireRecord {
  partition?: number;
  offset?: number;
  timestamp?: number;
  key: string | null;
  value: string | null;
  headers: [string, string | null][];
}

const b64 = (b: Buffer | null) => (b === null ? null : b.toString('base64'));
const unb64 = (s: string | null | undefined) => (s === null || s === undefined ? null : Buffer.from(s, 'base64'));

export function toWire(r: TestRecord): WireRecord {
  return { key: b64(r.key), value: b64(r.value), headers: r.headers.map(([n, v]) => [n, b64(v)]) };
}

export function fromWire(w: WireRecord): ConsumedRecord {
  return {
    partition: w.partition ?? -1,
    offset: w.offset ?? -1,
    timestamp: w.timestamp,
    key: unb64(w.key),
    value: unb64(w.value),
    headers: (w.headers ?? []).map(([n, v]) => [n, unb64(v)]),
  };
}

export const pyScript = (name: string) => join(repoRoot, 'test', 'interop', 'py', name);

/** Runs `test/interop/py/<script> <command> <bootstrap>` with `input` as JSON; returns the parsed last stdout line. */
export async function runPython<T = any>(script: string, command: string, bootstrap: string, input: unknown, timeoutMs = 30_000): Promise<T> {
  const r = await run(PYTHON, [pyScript(script), command, bootstrap], { input: JSON.stringify(input), timeoutMs });
  const lines = r.stdout.toString('utf8').trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  if (r.code !== 0 || !last.startsWith('{')) throw new Error(describeRun(`${script} ${command}`, r));
  const result = JSON.parse(last) as T & { error?: string };
  return result;
}

// ---------------------------------------------------------------------------
// What the broker stored

/** The compression codec (attributes & 7) of every batch in the first `partitions` partitions of `topic`, read with a raw Fetch. */
export async function storedCodecs(port: number, topic: string, partitions: number): Promise<number[]> {
  const conn = await RawConnection.connect(port);
  try {
    const response = await conn.request(ApiKey.Fetch, 12, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 64 * 1024 * 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic,
          topicId: ZERO_UUID,
          partitions: Array.from({ length: partitions }, (_, p) => ({
            partition: p,
            currentLeaderEpoch: -1,
            fetchOffset: 0n,
            lastFetchedEpoch: -1,
            logStartOffset: -1n,
            partitionMaxBytes: 16 * 1024 * 1024,
          })),
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    });
    const codecs: number[] = [];
    for (const t of response.responses) {
      for (const p of t.partitions) {
        assert.equal(p.errorCode, 0, `raw fetch of ${topic}-${p.partitionIndex}: error ${p.errorCode}`);
        if (p.records) for (const batch of scanBatches(p.records).batches) codecs.push(batch.compression);
      }
    }
    return codecs;
  } finally {
    conn.close();
  }
}

export const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const;
export type Codec = (typeof CODECS)[number];
export const CODEC_ID: Record<Codec, number> = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

/** A topic name unique within a test run. */
let topicCounter = 0;
export function topicName(prefix: string): string {
  return `${prefix}-${process.pid}-${++topicCounter}`;
}

/** Creates `topic` through Metadata auto-creation (the broker's num.partitions), for clients without an admin API. */
export async function autoCreateTopic(port: number, topic: string): Promise<number> {
  const conn = await RawConnection.connect(port);
  try {
    const response = await conn.request(ApiKey.Metadata, 12, { topics: [{ topicId: ZERO_UUID, name: topic }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false });
    const t = response.topics[0]!;
    assert.equal(t.errorCode, 0, `auto-creating ${topic}: error ${t.errorCode}`);
    return t.partitions.length;
  } finally {
    conn.close();
  }
}
