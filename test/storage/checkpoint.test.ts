import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  formatCheckpoint,
  parseCheckpoint,
  readCheckpointFile,
  writeCheckpointFile,
} from '../../src/storage/checkpoint.js';
import { CorruptCheckpointError } from '../../src/storage/errors.js';
import { withTempDir } from './make-batch.js';

test("checkpoint text is Kafka's format", () => {
  const text = formatCheckpoint([
    { topic: 'orders', partition: 0, offset: 1234 },
    { topic: '__consumer_offsets', partition: 17, offset: 0 },
    { topic: 'a.b-c_d', partition: 2, offset: 9_007_199_254_740_991 },
  ]);
  assert.equal(text, '0\n3\norders 0 1234\n__consumer_offsets 17 0\na.b-c_d 2 9007199254740991\n');
  const parsed = parseCheckpoint(text);
  assert.equal(parsed.size, 3);
  assert.deepEqual(parsed.get('orders-0'), { topic: 'orders', partition: 0, offset: 1234 });
  assert.deepEqual(parsed.get('a.b-c_d-2'), { topic: 'a.b-c_d', partition: 2, offset: 9_007_199_254_740_991 });
  assert.equal(formatCheckpoint([]), '0\n0\n');
  assert.equal(parseCheckpoint('0\n0\n').size, 0);
});

test('malformed checkpoints are refused', () => {
  for (const bad of ['', '1\n0\n', '0\n2\nt 0 1\n', '0\n1\nt 0\n', '0\n1\nt x 1\n', '0\n1\nt 0 1.5\n', '0\n1\nbad/name 0 1\n', '0\nx\n']) {
    assert.throws(() => parseCheckpoint(bad, 'f'), CorruptCheckpointError, JSON.stringify(bad));
  }
});

test('checkpoint files round trip atomically', () =>
  withTempDir(async (dir) => {
    const path = join(dir, 'recovery-point-offset-checkpoint');
    assert.equal((await readCheckpointFile(path)).size, 0); // missing = empty
    const entries = Array.from({ length: 50 }, (_, i) => ({ topic: `t${i % 5}`, partition: i, offset: i * 1000 }));
    await writeCheckpointFile(path, entries);
    const back = await readCheckpointFile(path);
    assert.deepEqual([...back.values()], entries);
    await writeCheckpointFile(path, entries.slice(0, 1));
    assert.equal(readFileSync(path, 'utf8'), '0\n1\nt0 0 0\n');
    assert.deepEqual(readdirSync(dir), ['recovery-point-offset-checkpoint']); // no temp file left
    writeFileSync(path, '0\n5\nt0 0 0\n');
    await assert.rejects(readCheckpointFile(path), CorruptCheckpointError);
  }));
