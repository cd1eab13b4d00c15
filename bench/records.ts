/**
 * Record batch micro-benchmarks:
 *
 *   npx tsx bench/records.ts          (or: node --expose-gc dist/bench/records.js after a build)
 *   BENCH_SECONDS=3 for steadier figures on a busy machine.
 *
 * - produce-path validation: scanBatches + validate (header + CRC-32C) over a
 *   1 MiB `records` field of 1 KiB records, as one batch and as 16 batches;
 * - record iteration (records/s) per codec, decompression included;
 * - building batches (MB/s of record bytes) per codec, sync and async.
 */
import os from 'node:os';
import {
  CompressionType,
  RecordBatch,
  buildBatch,
  buildBatchAsync,
  compressionName,
  scanBatches,
  type RecordInput,
} from '../src/protocol/records/index.js';

const MIN_SECONDS = Number(process.env['BENCH_SECONDS'] ?? 1);
const CODECS = [CompressionType.None, CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd];
const RECORD_SIZE = 1024;
const MiB = 1024 * 1024;

/** Log-like values: compressible, but not a run of one byte. */
function payload(seed: number, size: number): Buffer {
  const words = ['user', 'order', 'id', 'status', 'created', 'amount', 'EUR', 'ok', 'pending', '{', '}', ':', ','];
  let x = seed * 7919 + 1;
  const parts: string[] = [];
  let length = 0;
  while (length < size) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const word = x % 3 === 0 ? String(x % 100000) : words[x % words.length]!;
    parts.push(word);
    length += word.length + 1;
  }
  return Buffer.from(parts.join(' ')).subarray(0, size);
}

function records(count: number): RecordInput[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => ({
    key: `key-${i % 64}`,
    value: payload(i, RECORD_SIZE),
    timestamp: now + i,
  }));
}

/** Warm-up lasts a third of the measurement: the heap and JIT settle after a few hundred calls. */
const WARMUP_NS = BigInt(Math.round((MIN_SECONDS * 1e9) / 3));

/** Starts each figure from a clean heap when --expose-gc is on, so one figure's garbage is not billed to the next. */
function settle(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function measure(fn: () => unknown): Promise<number> {
  settle();
  for (const end = process.hrtime.bigint() + WARMUP_NS; process.hrtime.bigint() < end; ) await fn();
  let ops = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(MIN_SECONDS * 1e9));
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 10; i++) await fn();
    ops += 10;
    now = process.hrtime.bigint();
  }
  return ops / (Number(now - start) / 1e9);
}

function measureSync(fn: () => unknown): number {
  settle();
  for (const end = process.hrtime.bigint() + WARMUP_NS; process.hrtime.bigint() < end; ) fn();
  let ops = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(MIN_SECONDS * 1e9));
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 10; i++) fn();
    ops += 10;
    now = process.hrtime.bigint();
  }
  return ops / (Number(now - start) / 1e9);
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits });

async function main(): Promise<void> {
  console.log(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load ${os.loadavg()[0]!.toFixed(1)}, ${MIN_SECONDS}s per figure\n`);

  // 1. Produce-path validation: header walk + CRC, zero copies, no record work.
  const perMiB = Math.floor(MiB / (RECORD_SIZE + 20));
  const oneBatch = buildBatch(records(perMiB));
  const sixteen = Buffer.concat(
    Array.from({ length: 16 }, (_, i) => buildBatch(records(Math.floor(perMiB / 16)), { baseOffset: i * 64 })),
  );
  console.log('produce path: scanBatches + validate (header + CRC-32C) + setBaseOffset');
  for (const [label, buf] of [
    [`1 batch of ${perMiB} x 1 KiB records`, oneBatch],
    ['16 batches of 64 KiB', sixteen],
  ] as const) {
    let next = 0;
    const ops = measureSync(() => {
      const scan = scanBatches(buf);
      for (const batch of scan.batches) {
        batch.validate({ produce: true });
        batch.setBaseOffset(next);
        next += batch.recordsCount;
      }
    });
    console.log(`  ${label.padEnd(34)} ${fmt((ops * buf.length) / MiB / 1024, 2)} GiB/s  (${fmt(ops)} buffers/s of ${fmt(buf.length / 1024)} KiB)`);
  }
  const headersOnly = measureSync(() => scanBatches(sixteen));
  console.log(`  ${'scanBatches alone, 16 batches'.padEnd(34)} ${fmt(headersOnly)} buffers/s (${fmt(1e9 / headersOnly / 16)} ns per batch)`);

  // 2. Record iteration.
  console.log('\nrecord iteration (decompression included), 1 MiB batch of 1 KiB records');
  const iterationInput = records(perMiB);
  for (const codec of CODECS) {
    const batch = new RecordBatch(buildBatch(iterationInput, { compression: codec }));
    let sink = 0;
    const ops = measureSync(() => {
      for (const record of batch.records()) sink += record.value!.length;
    });
    if (sink === 0) throw new Error('no records iterated');
    console.log(
      `  ${compressionName(codec).padEnd(7)} ${fmt(ops * perMiB).padStart(11)} records/s   ${fmt((ops * perMiB * RECORD_SIZE) / MiB).padStart(6)} MiB/s of values   (batch ${fmt(batch.sizeInBytes / 1024)} KiB)`,
    );
  }

  // 3. Building.
  console.log('\nbuilding a batch of 1 MiB of 1 KiB records (MiB/s of record bytes)');
  for (const codec of CODECS) {
    const input = records(perMiB);
    const bytes = perMiB * RECORD_SIZE;
    const sync = measureSync(() => buildBatch(input, { compression: codec }));
    const async = await measure(() => buildBatchAsync(input, { compression: codec }));
    console.log(
      `  ${compressionName(codec).padEnd(7)} sync ${fmt((sync * bytes) / MiB).padStart(6)} MiB/s   async ${fmt((async * bytes) / MiB).padStart(6)} MiB/s`,
    );
  }
}

await main();
