/**
 * Storage throughput: appends of ~1 MB buffers made of batches of 1 KB
 * records (16 records per batch, like a producer with batch.size=16384), to
 * one partition and to several at once, then sequential reads of 1 MB
 * fetches from the start, as a catching-up consumer does.
 *
 *   npm run build && node dist/bench/storage.js
 *   BENCH_MB=2048 BENCH_PARTITIONS=8 BENCH_DIR=/mnt/fast node dist/bench/storage.js
 *
 * Appends resolve once the bytes are in the page cache (no fsync), as
 * Kafka's default flush policy; the final flush() is timed separately.
 *
 * The process gets the broker's memory settings (tuneForBufferChurn, as
 * bin/ganglion.js applies them); BENCH_UNTUNED=1 leaves the defaults, under
 * which every fresh read buffer is faulted in page by page.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writer } from '../src/protocol/primitives.js';
import { crc32c } from '../src/protocol/records/crc32c.js';
import { CRC, CRC_START } from '../src/protocol/records/layout.js';
import { LogManager } from '../src/storage/log-manager.js';
import { logConfig } from '../src/storage/log-config.js';
import type { PartitionLog } from '../src/storage/partition-log.js';
import { tuneForBufferChurn } from '../src/network/buffer-memory.js';

const TOTAL_MB = Number(process.env.BENCH_MB ?? 1024);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 8);
const RECORD_BYTES = 1024;
const RECORDS_PER_BATCH = 16;
const BUFFER_BYTES = 1024 * 1024;

/** One uncompressed batch of `count` records of `size` bytes. */
function makeBatch(count: number, size: number): Buffer {
  const value = Buffer.alloc(size, 0x61);
  const body = new Writer(count * (size + 16));
  for (let i = 0; i < count; i++) {
    const rec = new Writer(size + 16);
    rec.int8(0).varlong(0n).varint(i).varint(-1).varint(size).raw(value).varint(0);
    const bytes = rec.toBuffer();
    body.varint(bytes.length).raw(bytes);
  }
  const records = body.toBuffer();
  const now = BigInt(Date.now());
  const h = new Writer(64);
  h.int64(0n).int32(49 + records.length).int32(0).int8(2).uint32(0).int16(0).int32(count - 1);
  h.int64(now).int64(now).int64(-1n).int16(-1).int32(-1).int32(count);
  const batch = Buffer.concat([h.toBuffer(), records]);
  batch.writeUInt32BE(crc32c(batch.subarray(CRC_START)), CRC);
  return batch;
}

/** ~1 MB of back-to-back batches. */
function makeBuffer(): Buffer {
  const one = makeBatch(RECORDS_PER_BATCH, RECORD_BYTES);
  const n = Math.max(1, Math.floor(BUFFER_BYTES / one.length));
  return Buffer.concat(Array.from({ length: n }, () => one));
}

const mbps = (bytes: number, ms: number) => (bytes / (1024 * 1024) / (ms / 1000)).toFixed(0);

async function appendLoop(log: PartitionLog, buf: Buffer, count: number, inFlight: number): Promise<void> {
  let issued = 0;
  const worker = async () => {
    while (issued < count) {
      issued++;
      await log.append(buf);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

async function readLoop(log: PartitionLog): Promise<number> {
  let offset = log.logStartOffset;
  let bytes = 0;
  while (offset < log.logEndOffset) {
    const { records } = await log.read(offset, BUFFER_BYTES);
    if (records.length === 0) throw new Error(`empty read at ${offset}`);
    bytes += records.length;
    // Next offset: last batch's base + lastOffsetDelta + 1, found by walking headers.
    let pos = 0;
    let last = offset;
    while (pos < records.length) {
      last = Number(records.readBigInt64BE(pos)) + records.readInt32BE(pos + 23);
      pos += 12 + records.readInt32BE(pos + 8);
    }
    offset = last + 1;
  }
  return bytes;
}

async function main(): Promise<void> {
  const tuned = process.env.BENCH_UNTUNED !== '1';
  if (tuned) tuneForBufferChurn();
  const root = process.env.BENCH_DIR ?? tmpdir();
  const dir = await mkdtemp(join(root, 'ganglion-bench-storage-'));
  const config = logConfig({ segmentBytes: 256 * 1024 * 1024, retentionMs: -1 });
  const buf = makeBuffer();
  const count = Math.ceil((TOTAL_MB * 1024 * 1024) / buf.length);
  const total = count * buf.length;
  console.log(
    `storage bench: ${(total / 1048576).toFixed(0)} MB per run, ${buf.length} B appends of ${RECORD_BYTES} B records ` +
      `(${RECORDS_PER_BATCH} per batch), 256 MB segments, dir ${root}, node ${process.version}` +
      `${tuned ? '' : ', BENCH_UNTUNED (default malloc and V8 heap settings)'}`,
  );
  const manager = await LogManager.open([dir], config, { timers: false });
  const rows: string[][] = [];
  try {
    for (const inFlight of (process.env.BENCH_INFLIGHT ?? '1,8').split(',').map(Number)) {
      const log = await manager.createLog(`one-${inFlight}`, 0);
      const t0 = performance.now();
      await appendLoop(log, buf, count, inFlight);
      const t1 = performance.now();
      await log.flush();
      const t2 = performance.now();
      rows.push([`append, 1 partition, ${inFlight} in flight`, mbps(total, t1 - t0), `flush ${(t2 - t1).toFixed(0)} ms`]);
    }

    const logs = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => manager.createLog('many', p)));
    const per = Math.ceil(count / PARTITIONS);
    const t0 = performance.now();
    // Each partition gets its own buffer: append rewrites base offsets in place.
    const bufs = logs.map(() => Buffer.from(buf));
    await Promise.all(logs.map((log, i) => appendLoop(log, bufs[i]!, per, 1)));
    const t1 = performance.now();
    await Promise.all(logs.map((log) => log.flush()));
    const t2 = performance.now();
    rows.push([`append, ${PARTITIONS} partitions, 1 in flight each`, mbps(per * PARTITIONS * buf.length, t1 - t0), `flush ${(t2 - t1).toFixed(0)} ms`]);

    const reader = manager.getLog('one-1', 0)!;
    const r0 = performance.now();
    const bytes = await readLoop(reader);
    const r1 = performance.now();
    rows.push(['sequential read, 1 MB fetches (page cache)', mbps(bytes, r1 - r0), '']);
    const r2 = performance.now();
    const all = await Promise.all(logs.map((log) => readLoop(log)));
    const r3 = performance.now();
    rows.push([`sequential read, ${PARTITIONS} partitions at once`, mbps(all.reduce((a, b) => a + b, 0), r3 - r2), '']);
  } finally {
    await manager.close();
    await rm(dir, { recursive: true, force: true });
  }
  const width = Math.max(...rows.map((r) => r[0]!.length));
  console.log(`${'case'.padEnd(width)}  MB/s   notes`);
  for (const [name, rate, note] of rows) console.log(`${name!.padEnd(width)}  ${rate!.padStart(5)}  ${note}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
