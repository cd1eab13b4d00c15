import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseKeyValuePairs, parseProperties, readPropertiesFile } from '../../src/config/index.js';

const parse = (text: string) => Object.fromEntries(parseProperties(text));

test('separators: =, : and whitespace, with blanks around them', () => {
  assert.deepEqual(parse('a=1\nb: 2\nc 3\nd   =   4\ne\t:\t5\n'), { a: '1', b: '2', c: '3', d: '4', e: '5' });
});

test('only one separator is consumed; the rest belongs to the value', () => {
  assert.deepEqual(parse('a==b\nc:=d\ne = = f\ng  h=i'), { a: '=b', c: '=d', e: '= f', g: 'h=i' });
});

test('comments with # and !, blank lines and leading whitespace', () => {
  const text = '# comment\n! another\n\n   \n   indented = yes\n\t# indented comment\nx=1 # not a comment\n';
  assert.deepEqual(parse(text), { indented: 'yes', x: '1 # not a comment' });
});

test('a key alone has an empty value; trailing blanks of values are kept', () => {
  assert.deepEqual(parse('lonely\nempty=\nspaced=v  \n'), { lonely: '', empty: '', spaced: 'v  ' });
});

test("backslash continues a line and drops the next line's indentation", () => {
  const text = 'listeners=PLAINTEXT://:9092,\\\n          SSL://:9093\nnext=1';
  assert.deepEqual(parse(text), { listeners: 'PLAINTEXT://:9092,SSL://:9093', next: '1' });
});

test('an even number of trailing backslashes does not continue', () => {
  assert.deepEqual(parse('path=C:\\\\\nnext=1'), { path: 'C:\\', next: '1' });
});

test('a continued line may start with # without being a comment; comment lines never continue', () => {
  assert.deepEqual(parse('a=x\\\n  #y\n# c \\\nb=2'), { a: 'x#y', b: '2' });
});

test('a backslash at the very end of the file is dropped', () => {
  assert.deepEqual(parse('a=b\\'), { a: 'b' });
});

test('escapes: \\t \\n \\r \\f, \\uXXXX and escaped separators', () => {
  assert.deepEqual(parse('tab=a\\tb\nnl=a\\nb\ncr=\\r\nff=\\f\nuni=\\u0041\\u00e9\\u4e2d'), {
    tab: 'a\tb',
    nl: 'a\nb',
    cr: '\r',
    ff: '\f',
    uni: 'Aé中',
  });
  assert.deepEqual(parse('key\\=with\\:seps\\ and\\ space = v\\=1\nhash\\#=\\!x'), {
    'key=with:seps and space': 'v=1',
    'hash#': '!x',
  });
});

test('a malformed \\u escape is a ConfigError naming the line', () => {
  assert.throws(
    () => parseProperties('a=1\nb=\\u12G4'),
    (e: unknown) => e instanceof ConfigError && /line 2/.test(e.message),
  );
});

test('CRLF and CR line endings, a byte-order mark, and later duplicates winning', () => {
  assert.deepEqual(parse('\uFEFFa=1\r\nb=2\rc=3\r\na=4'), { a: '4', b: '2', c: '3' });
});

test('UTF-8 text is taken as is', () => {
  assert.deepEqual(parse('name=café ✓'), { name: 'café ✓' });
});

test('readPropertiesFile reads a file; a missing file is a ConfigError', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ganglion-props-'));
  try {
    const file = join(dir, 'client.properties');
    await writeFile(file, 'security.protocol=PLAINTEXT\nclient.id = tool\n');
    assert.deepEqual(Object.fromEntries(await readPropertiesFile(file)), {
      'security.protocol': 'PLAINTEXT',
      'client.id': 'tool',
    });
    await assert.rejects(
      readPropertiesFile(join(dir, 'missing.properties')),
      (e: unknown) => e instanceof ConfigError && /ENOENT/.test(e.message),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('parseKeyValuePairs splits at the first = and rejects pairs without one', () => {
  assert.deepEqual(Object.fromEntries(parseKeyValuePairs(['a=1', 'b=x=y', 'c=', 'a=2'])), { a: '2', b: 'x=y', c: '' });
  assert.throws(() => parseKeyValuePairs(['novalue']), ConfigError);
  assert.throws(() => parseKeyValuePairs(['=1']), ConfigError);
});
