/**
 * Produce throughput of the broker for plain, idempotent and transactional
 * producers, in one run: a pipelined raw client sends pre-built Produce
 * requests (so the client costs almost nothing), acks=all, `inflight`
 * requests in flight on one connection (5, the idempotent maximum), to one
 * partition. Plain and idempotent rounds alternate; the report gives the
 * median of the rounds. The transactional run commits one transaction per
 * `txnRecords` records: AddPartitionsToTxn, the batches, EndTxn (which
 * writes the COMMIT marker) — sequentially, as a transactional producer does.
 *
 *   npx tsx bench/idempotence.ts [records=1000000] [recordsPerBatch=100] [recordSize=100] [rounds=5] [txnRecords=100]
 *
 * With BOOTSTRAP=host:port it measures that broker (e.g. `ganglion
 * server-start` in another process, so client and broker do not share an
 * event loop); otherwise it starts one in this process.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../src/broker/broker.js';
import { ApiKey, apiByKey, type ApiRequest, type ApiResponse } from '../src/protocol/messages/api-table.js';
import { decodeResponseHeader, encodeRequestHeader, requestHeaderVersion, responseHeaderVersion } from '../src/protocol/messages/headers.js';
import { Reader, Writer } from '../src/protocol/primitives.js';
import { buildBatch } from '../src/protocol/records/index.js';

const records = Number(process.argv[2] ?? 1_000_000);
const perBatch = Number(process.argv[3] ?? 100);
const recordSize = Number(process.argv[4] ?? 100);
const rounds = Number(process.argv[5] ?? 5);
const txnRecords = Number(process.argv[6] ?? 100);
const inflight = 5;
const PRODUCE_VERSION = 9;

/** One connection; requests are pipelined and answered in order. */
class Conn {
  private pending: Buffer = Buffer.alloc(0);
  private waiters: Array<(frame: Buffer) => void> = [];
  private correlation = 1;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
      while (this.pending.length >= 4) {
        const size = this.pending.readInt32BE(0);
        if (this.pending.length < 4 + size) break;
        const frame = this.pending.subarray(4, 4 + size);
        this.pending = this.pending.subarray(4 + size);
        this.waiters.shift()!(frame);
      }
    });
  }

  static connect(host: string, port: number): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port }, () => resolve(new Conn(socket)));
      socket.once('error', reject);
    });
  }

  frame<K extends ApiKey>(apiKey: K, version: number, request: ApiRequest<K>): Buffer {
    const w = new Writer(1024);
    w.int32(0);
    encodeRequestHeader(w, { requestApiKey: apiKey, requestApiVersion: version, correlationId: this.correlation++, clientId: 'bench' }, requestHeaderVersion(apiKey, version));
    apiByKey(apiKey).encodeRequest(w, request, version);
    const buf = w.toBuffer();
    buf.writeInt32BE(buf.length - 4, 0);
    return buf;
  }

  sendFrame(frame: Buffer): Promise<Buffer> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.socket.write(frame);
    });
  }

  async request<K extends ApiKey>(apiKey: K, version: number, request: ApiRequest<K>): Promise<ApiResponse<K>> {
    const frame = await this.sendFrame(this.frame(apiKey, version, request));
    return decode(apiKey, version, frame);
  }

  close(): void {
    this.socket.destroy();
  }
}

function decode<K extends ApiKey>(apiKey: K, version: number, frame: Buffer): ApiResponse<K> {
  const r = new Reader(frame);
  decodeResponseHeader(r, responseHeaderVersion(apiKey, version));
  return apiByKey(apiKey).decodeResponse(r, version);
}

function check(errorCode: number, what: string): void {
  if (errorCode !== 0) throw new Error(`${what} failed with error ${errorCode}`);
}

const value = Buffer.alloc(recordSize, 'v');
function batchFor(producer: { id: bigint; epoch: number } | null, seq: number, transactional = false): Buffer {
  const recs = Array.from({ length: perBatch }, () => ({ value }));
  return producer === null
    ? buildBatch(recs)
    : buildBatch(recs, { producerId: producer.id, producerEpoch: producer.epoch, baseSequence: seq, transactional });
}

function produceFrame(conn: Conn, topic: string, batch: Buffer, transactionalId: string | null = null): Buffer {
  return conn.frame(ApiKey.Produce, PRODUCE_VERSION, {
    transactionalId,
    acks: -1,
    timeoutMs: 30000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
  });
}

/** Sends the frames with `inflight` requests outstanding; returns ms. */
async function pump(conn: Conn, frames: Buffer[]): Promise<number> {
  const start = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < frames.length) {
      const frame = frames[next++]!;
      const response = decode(ApiKey.Produce, PRODUCE_VERSION, await conn.sendFrame(frame));
      check(response.responses[0]!.partitionResponses[0]!.errorCode, 'produce');
    }
  };
  await Promise.all(Array.from({ length: inflight }, lane));
  return performance.now() - start;
}

async function createTopic(conn: Conn, topic: string): Promise<void> {
  const r = await conn.request(ApiKey.CreateTopics, 5, {
    topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 10000,
    validateOnly: false,
  });
  check(r.topics[0]!.errorCode, `create ${topic}`);
}

async function initProducerId(conn: Conn, transactionalId: string | null): Promise<{ id: bigint; epoch: number }> {
  for (;;) {
    const r = await conn.request(ApiKey.InitProducerId, 4, { transactionalId, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
    // The transaction coordinator may still be loading (first use creates __transaction_state).
    if (r.errorCode === 14 || r.errorCode === 15 || r.errorCode === 51) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      continue;
    }
    check(r.errorCode, 'InitProducerId');
    return { id: r.producerId, epoch: r.producerEpoch };
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function rate(n: number, ms: number): string {
  return `${Math.round((n * 1000) / ms).toLocaleString('en-US')} records/s (${((n * recordSize * 1000) / ms / 1048576).toFixed(1)} MB/s)`;
}

const logDir = process.env.BOOTSTRAP ? null : await mkdtemp(join(tmpdir(), 'ganglion-bench-idem-'));
const broker = logDir === null ? null : await startBroker({ port: 0, logDir, logLevel: 'silent', config: { 'transaction.state.log.num.partitions': 4 } });
const [host, portText] = (process.env.BOOTSTRAP ?? broker!.bootstrapServers).split(':') as [string, string];
const conn = await Conn.connect(host, Number(portText));
const batches = Math.ceil(records / perBatch);
const total = batches * perBatch;
console.log(`${total.toLocaleString('en-US')} records per round, ${perBatch} per batch, ${recordSize} B values, acks=all, ${inflight} requests in flight, ${rounds} rounds`);

try {
  const plain: number[] = [];
  const idem: number[] = [];
  // Round 0 warms up (JIT, page cache) and is not counted.
  const runPlain = async (round: number) => {
    const plainTopic = `bench-plain-${Date.now()}-${round}`;
    await createTopic(conn, plainTopic);
    const plainBatch = batchFor(null, 0);
    // Produce rewrites the base offset in place: every request gets its own copy.
    const plainFrames = Array.from({ length: batches }, () => produceFrame(conn, plainTopic, Buffer.from(plainBatch)));
    return pump(conn, plainFrames);
  };
  const runIdempotent = async (round: number) => {
    const idemTopic = `bench-idem-${Date.now()}-${round}`;
    await createTopic(conn, idemTopic);
    const producer = await initProducerId(conn, null);
    const idemFrames = Array.from({ length: batches }, (_, i) => produceFrame(conn, idemTopic, batchFor(producer, i * perBatch)));
    return pump(conn, idemFrames);
  };
  // Round 0 warms up (JIT, page cache) and is not counted; the order alternates so neither kind always goes first.
  for (let round = 0; round <= rounds; round++) {
    if (round % 2 === 0) {
      plain.push(await runPlain(round));
      idem.push(await runIdempotent(round));
    } else {
      idem.push(await runIdempotent(round));
      plain.push(await runPlain(round));
    }
    console.log(`  round ${round}${round === 0 ? ' (warm-up)' : ''}: plain ${rate(total, plain.at(-1)!)}, idempotent ${rate(total, idem.at(-1)!)}`);
    if (round === 0) {
      plain.pop();
      idem.pop();
    }
  }
  const p = median(plain);
  const i = median(idem);
  console.log(`plain produce:      ${rate(total, p)}`);
  console.log(`idempotent produce: ${rate(total, i)} (${((p / i - 1) * 100).toFixed(1)} % vs plain)`);

  if (!process.env.SKIP_TXN) {
    const txnTopic = `bench-txn-${Date.now()}`;
    await createTopic(conn, txnTopic);
    const transactionalId = `bench-txn-${Date.now()}`;
    const producer = await initProducerId(conn, transactionalId);
    const txns = Math.max(1, Math.floor(Math.min(total, 200_000) / txnRecords));
    const batchesPerTxn = Math.max(1, Math.round(txnRecords / perBatch));
    const txnBatch = Math.min(perBatch, txnRecords);
    let seq = 0;
    let concurrentRetries = 0;
    const start = performance.now();
    for (let t = 0; t < txns; t++) {
      for (;;) {
        const add = await conn.request(ApiKey.AddPartitionsToTxn, 3, {
          v3AndBelowTransactionalId: transactionalId,
          v3AndBelowProducerId: producer.id,
          v3AndBelowProducerEpoch: producer.epoch,
          v3AndBelowTopics: [{ name: txnTopic, partitions: [0] }],
        });
        const code = add.resultsByTopicV3AndBelow![0]!.resultsByPartition[0]!.partitionErrorCode;
        if (code === 51) {
          // CONCURRENT_TRANSACTIONS: the previous transaction is still completing; clients back off and retry.
          concurrentRetries++;
          await new Promise((resolve) => setTimeout(resolve, 5));
          continue;
        }
        check(code, 'AddPartitionsToTxn');
        break;
      }
      const frames: Buffer[] = [];
      for (let b = 0; b < batchesPerTxn; b++) {
        const recs = Array.from({ length: txnBatch }, () => ({ value }));
        frames.push(produceFrame(conn, txnTopic, buildBatch(recs, { producerId: producer.id, producerEpoch: producer.epoch, baseSequence: seq, transactional: true }), transactionalId));
        seq += txnBatch;
      }
      await pump(conn, frames);
      const end = await conn.request(ApiKey.EndTxn, 3, { transactionalId, producerId: producer.id, producerEpoch: producer.epoch, committed: true });
      check(end.errorCode, 'EndTxn');
    }
    const ms = performance.now() - start;
    const n = txns * batchesPerTxn * txnBatch;
    console.log(`transactional produce, ${batchesPerTxn * txnBatch} records per transaction: ${rate(n, ms)}, ${Math.round((txns * 1000) / ms).toLocaleString('en-US')} transactions/s (${concurrentRetries} CONCURRENT_TRANSACTIONS retries)`);
  }
} finally {
  conn.close();
  await broker?.close();
  if (logDir) await rm(logDir, { recursive: true, force: true });
}

