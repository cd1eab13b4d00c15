import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader } from '../../src/protocol/primitives.js';
import { messageSchemas } from '../../src/protocol/messages/index.js';
import { encodeToBuffer, fuzzFrame, fuzzTargets, makeRand, sampleMessage, seedOf, tryDecode, type FuzzStats } from '../../scripts/fuzz.js';

// Bounded so the file runs in a few seconds; `npx tsx scripts/fuzz.ts --rounds N` runs the same at scale.
const PLAN = { random: 8, truncations: 64, flips: 32, splices: 16 };

test('request decoders (every API and version) and the request header return a value or throw ProtocolError', () => {
  const stats: FuzzStats = { decoded: 0, rejected: 0 };
  const targets = fuzzTargets(false);
  assert.ok(targets.length > 300);
  for (const t of targets) {
    for (let round = 0; round < 3; round++) {
      const rand = makeRand(seedOf(`${t.label}/${round}`));
      fuzzFrame(t.decode, t.frame(rand), rand, PLAN, stats, t.label);
    }
  }
  assert.ok(stats.rejected > 1000, 'most mutations are rejected');
  assert.ok(stats.decoded > 1000, 'valid frames (and some mutations) decode');
});

test('response and data decoders survive truncations and bit flips too', () => {
  const stats: FuzzStats = { decoded: 0, rejected: 0 };
  for (const schema of messageSchemas) {
    if (schema.kind !== 'response' && schema.kind !== 'data') continue;
    for (const version of new Set([schema.minVersion, schema.maxVersion])) {
      const rand = makeRand(seedOf(`${schema.name}/${version}/fuzz`));
      const frame = encodeToBuffer(schema, sampleMessage(schema, version, rand, { unknownTaggedFields: true }), version);
      const decode = (r: Reader): unknown => schema.decode(r, version);
      fuzzFrame(decode, frame, rand, { random: 2, truncations: 16, flips: 8, splices: 4 }, stats, `${schema.name} v${version}`);
    }
  }
  assert.ok(stats.rejected > 0);
});

test('hostile lengths: huge counts and sizes are rejected without allocating', () => {
  const stats: FuzzStats = { decoded: 0, rejected: 0 };
  const before = process.memoryUsage().arrayBuffers;
  const hostile = [
    'ffffffff0f', // max uvarint
    '7fffffff',
    '7fffffff7fffffff7fffffff7fffffff',
    'ffffffff0fffffffff0fffffffff0f',
    '80808080808080808080',
  ].map((h) => Buffer.from(h, 'hex'));
  for (const schema of messageSchemas) {
    for (let version = schema.minVersion; version <= schema.maxVersion; version++) {
      for (const bytes of hostile) {
        for (let shift = 0; shift < 6; shift++) {
          const framed = Buffer.concat([Buffer.alloc(shift), bytes, Buffer.alloc(8, 0xff)]);
          tryDecode((r) => schema.decode(r, version), framed, stats, `${schema.name} v${version} hostile`);
        }
      }
    }
  }
  const grown = process.memoryUsage().arrayBuffers - before;
  assert.ok(grown < 64 * 1024 * 1024, `array buffers grew by ${grown} bytes`);
});
