import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/repo-root.js';
import { GENERATED_MARKER, generate, parseSpec, stripComments, writeGenerated } from '../../scripts/gen-protocol.js';

const specDir = join(repoRoot, '..', 'shared', 'kafka-protocol', 'message');
const committedDir = join(repoRoot, 'src', 'protocol', 'messages');

test('committed codecs are exactly what the generator produces', (t) => {
  if (!existsSync(specDir)) {
    t.skip(`../shared/kafka-protocol not found next to the repository (${specDir}); cannot check the generated codecs`);
    return;
  }
  const out = mkdtempSync(join(tmpdir(), 'ganglion-gen-'));
  try {
    const written = writeGenerated(generate(specDir), out);
    const committed = readdirSync(committedDir).filter((f) => f.endsWith('.ts')).sort();
    assert.deepEqual(committed, written, 'same file list (no missing or extra files in src/protocol/messages)');
    for (const name of written) {
      const fresh = readFileSync(join(out, name), 'utf8');
      const current = readFileSync(join(committedDir, name), 'utf8');
      assert.ok(fresh.startsWith(GENERATED_MARKER), `${name} starts with the generated marker`);
      assert.ok(current === fresh, `${name} differs from a fresh generation: run \`npm run gen:protocol\``);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('generation is deterministic', (t) => {
  if (!existsSync(specDir)) {
    t.skip('../shared/kafka-protocol not found; nothing to generate');
    return;
  }
  const a = generate(specDir).files;
  const b = generate(specDir).files;
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [name, text] of a) assert.equal(b.get(name), text, name);
});

test('generated code carries no spec prose', (t) => {
  if (!existsSync(specDir)) {
    t.skip('../shared/kafka-protocol not found');
    return;
  }
  const produce = generate(specDir).files.get('produce.ts')!;
  assert.ok(!produce.includes('The transactional ID'));
  assert.ok(!/about/i.test(produce));
});

test('stripComments keeps // inside strings', () => {
  const text = '{ // comment\n  "a": "http://x", // another\n  "b": "q\\"//" }';
  assert.deepEqual(JSON.parse(stripComments(text)), { a: 'http://x', b: 'q"//' });
});

test('parseSpec refuses unknown keys so spec format changes are noticed', () => {
  assert.throws(() => parseSpec('{ "name": "X", "surprise": 1 }', 'X.json'), /unknown key "surprise"/);
});
