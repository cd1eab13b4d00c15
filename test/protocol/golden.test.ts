/**
 * Golden wire fixtures: frames real clients sent (and Ganglion's answers to
 * them), captured by scripts/capture-fixtures.ts into test/fixtures/wire/.
 *
 * For every fixture: decode the header and body with the generated codecs,
 * check that the whole frame was consumed, re-encode and compare the bytes.
 * Record data inside Produce requests and Fetch responses is also split into
 * batches, CRC-checked and iterated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/repo-root.js';
import { apiByKey, ApiKey } from '../../src/protocol/messages/api-table.js';
import {
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
  requestHeaderVersion,
  responseHeaderVersion,
  type RequestHeader,
  type ResponseHeader,
} from '../../src/protocol/messages/headers.js';
import type { FetchResponse } from '../../src/protocol/messages/fetch.js';
import type { ProduceRequest } from '../../src/protocol/messages/produce.js';
import { Reader, Writer } from '../../src/protocol/primitives.js';
import { splitBatches } from '../../src/protocol/records/index.js';

interface IndexEntry {
  file: string;
  client: string;
  api: string;
  apiKey: number;
  version: number;
  direction: 'request' | 'response';
  headerVersion: number;
  variant: string;
}

const WIRE = join(repoRoot, 'test', 'fixtures', 'wire');

/**
 * Fixtures that decode but cannot re-encode to the same bytes because the
 * client wrote something non-canonical. Each needs a reason; none so far.
 */
const DECODE_ONLY: Record<string, string> = {};

function readIndex(): IndexEntry[] {
  const path = join(WIRE, 'index.json');
  if (!existsSync(path)) return [];
  return (JSON.parse(readFileSync(path, 'utf8')) as { fixtures: IndexEntry[] }).fixtures;
}

/** The first differing byte, with context, for a readable failure. */
function firstDifference(actual: Buffer, expected: Buffer): string {
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  const from = Math.max(0, i - 8);
  return (
    `lengths ${actual.length} vs ${expected.length}, first difference at byte ${i}: ` +
    `re-encoded ${actual.subarray(from, i + 8).toString('hex')} vs captured ${expected.subarray(from, i + 8).toString('hex')} ` +
    `(from byte ${from})`
  );
}

/** Splits a records field into batches, validates each (CRC included) and iterates its records. */
function checkRecords(records: Buffer | null, where: string): number {
  if (records === null || records.length === 0) return 0;
  const splitter = splitBatches(records);
  let count = 0;
  for (const batch of splitter) {
    batch.validate();
    for (const record of batch.records()) {
      assert.ok(record.offset >= batch.baseOffset, `${where}: record offset below its batch's base offset`);
      count++;
    }
  }
  // A Fetch response may end with a partial batch (the broker cuts at maxBytes); a Produce request may not.
  return splitter.truncatedBytes === 0 ? count : -count;
}

interface Decoded {
  header: RequestHeader | ResponseHeader;
  body: unknown;
  reencoded: Buffer;
}

function decodeAndReencode(entry: IndexEntry, frame: Buffer): Decoded {
  const api = apiByKey(entry.apiKey);
  assert.ok(api !== undefined, `unknown API key ${entry.apiKey}`);
  assert.equal(api.name, entry.api);
  const r = new Reader(frame);
  const w = new Writer();
  if (entry.direction === 'request') {
    const header = decodeRequestHeader(r);
    assert.equal(header.requestApiKey, entry.apiKey);
    assert.equal(header.requestApiVersion, entry.version);
    assert.equal(header.headerVersion, entry.headerVersion, 'request header version');
    const body = api.decodeRequest(r, entry.version);
    assert.equal(r.remaining, 0, `${r.remaining} bytes left after the request body`);
    const { headerVersion, ...plain } = header;
    encodeRequestHeader(w, plain, headerVersion!);
    api.encodeRequest(w, body, entry.version);
    return { header, body, reencoded: w.toBuffer() };
  }
  const headerVersion = responseHeaderVersion(entry.apiKey, entry.version);
  assert.equal(headerVersion, entry.headerVersion, 'response header version');
  const header = decodeResponseHeader(r, headerVersion);
  const body = api.decodeResponse(r, entry.version);
  assert.equal(r.remaining, 0, `${r.remaining} bytes left after the response body`);
  encodeResponseHeader(w, header, headerVersion);
  api.encodeResponse(w, body, entry.version);
  return { header, body, reencoded: w.toBuffer() };
}

const entries = readIndex();

if (entries.length === 0) {
  test('golden wire fixtures', { skip: `no ${join(WIRE, 'index.json')}: run npx tsx scripts/capture-fixtures.ts` }, () => {});
} else {
  test('the index lists exactly the fixture files', () => {
    const onDisk = readdirSync(WIRE, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .flatMap((d) => readdirSync(join(WIRE, d.name)).map((f) => `${d.name}/${f}`))
      .sort();
    assert.deepEqual(onDisk, entries.map((e) => e.file).sort());
  });

  test('the fixtures cover every client, compression codec and both header styles', () => {
    const clients = new Set(entries.map((e) => e.client));
    for (const client of ['kcat', 'confluent-kafka-python', 'kafka-python', 'kafkajs', 'platformatic-kafka']) {
      assert.ok(clients.has(client), `no fixture from ${client}`);
    }
    const codecs = new Set(entries.filter((e) => e.apiKey === ApiKey.Produce && e.direction === 'request').map((e) => e.variant));
    for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) assert.ok(codecs.has(codec), `no Produce request with ${codec}`);
    const headerVersions = new Set(entries.map((e) => `${e.direction}${e.headerVersion}`));
    for (const hv of ['request1', 'request2', 'response0', 'response1']) assert.ok(headerVersions.has(hv), `no ${hv} header`);
  });

  for (const entry of entries) {
    test(`${entry.file} (${entry.api} v${entry.version} ${entry.direction})`, () => {
      const frame = readFileSync(join(WIRE, entry.file));
      const { header, body, reencoded } = decodeAndReencode(entry, frame);
      if (entry.direction === 'response') {
        assert.equal((header as ResponseHeader).correlationId, frame.readInt32BE(0));
      }

      if (entry.apiKey === ApiKey.Produce && entry.direction === 'request') {
        let records = 0;
        for (const topic of (body as ProduceRequest).topicData) {
          for (const partition of topic.partitionData) {
            const n = checkRecords(partition.records, `${topic.name}[${partition.index}]`);
            assert.ok(n >= 0, `${topic.name}[${partition.index}]: Produce records end inside a batch`);
            records += n;
          }
        }
        assert.ok(records > 0, 'a Produce request fixture carries records');
      }
      if (entry.apiKey === ApiKey.Fetch && entry.direction === 'response') {
        for (const topic of (body as FetchResponse).responses) {
          for (const partition of topic.partitions) checkRecords(partition.records, `${topic.topic ?? ''}[${partition.partitionIndex}]`);
        }
      }

      const quirk = DECODE_ONLY[entry.file];
      if (quirk !== undefined) return; // decode-only, see DECODE_ONLY for why
      if (!reencoded.equals(frame)) assert.fail(`re-encoding differs: ${firstDifference(reencoded, frame)}`);
    });
  }
}

test('header versions follow the API tables (sanity for the index)', () => {
  assert.equal(responseHeaderVersion(ApiKey.ApiVersions, 3), 0);
  assert.equal(requestHeaderVersion(ApiKey.ApiVersions, 3), 2);
  assert.equal(requestHeaderVersion(ApiKey.Produce, 7), 1);
  assert.equal(responseHeaderVersion(ApiKey.Metadata, 12), 1);
});
