/**
 * Wire-protocol benchmark: how fast the broker's two hot messages go through
 * the generated codecs.
 *
 *   npm run build && node dist/bench/protocol.js [seconds-per-figure]
 *
 * - Produce request decode: a frame carrying one 1 MiB batch of 1 KiB records
 *   is decoded (header + body) and its batch validated (header + CRC-32C),
 *   without decoding records. The batch stays a view into the frame.
 * - Fetch response encode: a response carrying 16 partitions x 1 MiB of
 *   batches is encoded; the batches are referenced, not copied.
 */
import os from 'node:os';
import { ApiKey, apiByKey } from '../src/protocol/messages/api-table.js';
import type { FetchResponse } from '../src/protocol/messages/fetch.js';
import { decodeRequestHeader, encodeRequestHeader, requestHeaderVersion } from '../src/protocol/messages/headers.js';
import type { ProduceRequest } from '../src/protocol/messages/produce.js';
import { Reader, Writer } from '../src/protocol/primitives.js';
import { buildBatch, scanBatches } from '../src/protocol/records/index.js';

const MiB = 1024 * 1024;
const seconds = Number(process.argv[2] ?? 2);

function oneMiBBatch(): Buffer {
  const value = Buffer.alloc(1024, 0x61);
  const records = Array.from({ length: 1000 }, (_, i) => ({ key: `key-${i}`, value }));
  return buildBatch(records);
}

/** Runs `fn` repeatedly for `seconds` and returns operations per second. */
function measure(fn: () => void): number {
  for (let i = 0; i < 20; i++) fn();
  let ops = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < end) {
    for (let i = 0; i < 10; i++) fn();
    ops += 10;
    now = process.hrtime.bigint();
  }
  return ops / (Number(now - start) / 1e9);
}

function produceFrame(batch: Buffer, version: number): Buffer {
  const request: ProduceRequest = {
    transactionalId: null,
    acks: 1,
    timeoutMs: 30000,
    topicData: [{ name: 'bench', partitionData: [{ index: 0, records: batch }] }],
  };
  const w = new Writer(256);
  encodeRequestHeader(w, { requestApiKey: ApiKey.Produce, requestApiVersion: version, correlationId: 1, clientId: 'bench' }, requestHeaderVersion(ApiKey.Produce, version));
  apiByKey(ApiKey.Produce).encodeRequest(w, request, version);
  return w.toBuffer();
}

function main(): void {
  console.log(`node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(1)}, ${seconds}s per figure\n`);
  const batch = oneMiBBatch();
  const produce = apiByKey(ApiKey.Produce);
  for (const version of [9, 11]) {
    const frame = produceFrame(batch, version);
    const rate = measure(() => {
      const r = new Reader(frame);
      const header = decodeRequestHeader(r);
      const request = produce.decodeRequest(r, header.requestApiVersion);
      const records = request.topicData[0]!.partitionData[0]!.records!;
      for (const b of scanBatches(records).batches) b.validate({ produce: true });
    });
    console.log(`Produce v${version} request decode + batch validation: ${((rate * frame.length) / MiB).toFixed(0)} MiB/s (${rate.toFixed(0)} frames/s of ${(frame.length / MiB).toFixed(2)} MiB)`);
  }

  const fetch = apiByKey(ApiKey.Fetch);
  const partitions = Array.from({ length: 16 }, (_, i) => ({
    partitionIndex: i,
    errorCode: 0,
    highWatermark: 1000n,
    lastStableOffset: 1000n,
    logStartOffset: 0n,
    abortedTransactions: null,
    preferredReadReplica: -1,
    records: batch,
  }));
  const response: FetchResponse = { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: [{ topic: 'bench', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions }] };
  const bytes = 16 * batch.length;
  for (const version of [11, 16]) {
    let chunks = 0;
    const rate = measure(() => {
      const w = new Writer(1024);
      fetch.encodeResponse(w, response, version);
      chunks = w.toChunks().length;
    });
    console.log(
      `Fetch v${version} response encode (16 x 1 MiB batches referenced in ${chunks} chunks, not copied): ` +
        `${rate.toFixed(0)} responses/s = ${((rate * bytes) / MiB / 1024).toFixed(0)} GiB/s of batch payload`,
    );
  }
}

main();
