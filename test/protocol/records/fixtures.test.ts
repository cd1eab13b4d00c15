/**
 * Golden fixtures: every `*.bin` in test/fixtures/records/ (batches captured
 * from real clients) must validate and decode to the records its sibling
 * `*.json` describes (format in that folder's README.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CompressionType,
  buildBatch,
  compressionName,
  splitBatches,
  type KafkaRecord,
} from '../../../src/protocol/records/index.js';

type FixtureBytes = string | null | { hex: string };

interface FixtureRecord {
  key: FixtureBytes;
  value: FixtureBytes;
  headers?: { key: string; value: FixtureBytes }[];
  timestamp?: number;
  offset?: number;
}

interface Fixture {
  description?: string;
  codec?: string;
  records: FixtureRecord[];
}

function toBuffer(bytes: FixtureBytes): Buffer | null {
  if (bytes === null) return null;
  return typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes.hex, 'hex');
}

/** Checks one .bin/.json pair; throws an AssertionError naming the fixture. */
function checkFixture(binPath: string, jsonPath: string): void {
  const fixture = JSON.parse(readFileSync(jsonPath, 'utf8')) as Fixture;
  const bytes = readFileSync(binPath);
  const splitter = splitBatches(bytes);
  const decoded: KafkaRecord[] = [];
  let batches = 0;
  for (const batch of splitter) {
    batches++;
    batch.validate();
    if (fixture.codec !== undefined) assert.equal(compressionName(batch.compression), fixture.codec, `${binPath}: codec`);
    if (!batch.isControl) decoded.push(...batch.records());
  }
  assert.equal(splitter.truncatedBytes, 0, `${binPath}: ends inside a batch`);
  assert.ok(batches > 0, `${binPath}: holds no batch`);
  assert.equal(decoded.length, fixture.records.length, `${binPath}: record count`);
  fixture.records.forEach((want, i) => {
    const got = decoded[i]!;
    const where = `${binPath}: record ${i}`;
    assert.deepEqual(got.key, toBuffer(want.key), `${where} key`);
    assert.deepEqual(got.value, toBuffer(want.value), `${where} value`);
    assert.deepEqual(
      got.headers,
      (want.headers ?? []).map((h) => ({ key: h.key, value: toBuffer(h.value) })),
      `${where} headers`,
    );
    if (want.timestamp !== undefined) assert.equal(got.timestamp, want.timestamp, `${where} timestamp`);
    if (want.offset !== undefined) assert.equal(got.offset, want.offset, `${where} offset`);
  });
}

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above the test file');
    dir = parent;
  }
  return dir;
}

const FIXTURES = join(repoRoot(), 'test', 'fixtures', 'records');
const bins = existsSync(FIXTURES) ? readdirSync(FIXTURES).filter((f) => f.endsWith('.bin')).sort() : [];

if (bins.length === 0) {
  test('captured record fixtures', { skip: `no *.bin fixtures in ${FIXTURES} yet` }, () => {});
}
for (const bin of bins) {
  test(`fixture ${bin}`, () => {
    const json = join(FIXTURES, bin.replace(/\.bin$/, '.json'));
    assert.ok(existsSync(json), `${bin} has no sibling .json`);
    checkFixture(join(FIXTURES, bin), json);
  });
}

test('the fixture checker itself accepts a good pair and rejects a wrong one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ganglion-fixtures-'));
  try {
    const bin = join(dir, 'sample.bin');
    const json = join(dir, 'sample.json');
    writeFileSync(
      bin,
      Buffer.concat([
        buildBatch([{ key: 'k1', value: 'hello', headers: [{ key: 'h', value: 'x' }], timestamp: 5 }], { compression: CompressionType.Gzip }),
        buildBatch([{ key: null, value: Buffer.from([0, 255]) }, { key: 'k3', value: null }], {
          compression: CompressionType.Gzip,
          baseOffset: 1,
        }),
      ]),
    );
    const fixture: Fixture = {
      codec: 'gzip',
      records: [
        { key: 'k1', value: 'hello', headers: [{ key: 'h', value: 'x' }], timestamp: 5, offset: 0 },
        { key: null, value: { hex: '00ff' } },
        { key: 'k3', value: null, offset: 2 },
      ],
    };
    writeFileSync(json, JSON.stringify(fixture));
    checkFixture(bin, json);
    writeFileSync(json, JSON.stringify({ ...fixture, codec: 'lz4' }));
    assert.throws(() => checkFixture(bin, json), /codec/);
    writeFileSync(json, JSON.stringify({ ...fixture, records: fixture.records.slice(1) }));
    assert.throws(() => checkFixture(bin, json), /record count/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
