import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writer } from '../../../src/protocol/primitives.js';
import { sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from '../../../src/protocol/records/varint.js';

const INT32_EDGES = [0, 1, -1, 63, -64, 64, -65, 8191, -8192, 8192, 2 ** 20, -(2 ** 20), 2 ** 31 - 1, -(2 ** 31)];
const LONG_EDGES = [...INT32_EDGES, 2 ** 31, -(2 ** 31) - 1, 2 ** 35 + 7, -(2 ** 40) - 3, 1_700_000_000_000, 2 ** 52 - 1, -(2 ** 52) + 1];

test('number varints match the primitives Writer byte for byte', () => {
  for (const v of INT32_EDGES) {
    const expected = new Writer().varint(v).toBuffer();
    const buf = Buffer.alloc(10);
    assert.equal(writeVarint(buf, 0, v), expected.length, `varint ${v}`);
    assert.deepEqual(buf.subarray(0, expected.length), expected, `varint ${v}`);
    assert.equal(sizeOfVarint(v), expected.length);
  }
});

test('number varlongs match the primitives Writer byte for byte', () => {
  for (const v of LONG_EDGES) {
    const expected = new Writer().varlong(BigInt(v)).toBuffer();
    const buf = Buffer.alloc(10);
    assert.equal(writeVarlong(buf, 0, v), expected.length, `varlong ${v}`);
    assert.deepEqual(buf.subarray(0, expected.length), expected, `varlong ${v}`);
    assert.equal(sizeOfVarlong(v), expected.length);
  }
});

test('varlongs out of the exact float range are refused when writing', () => {
  assert.throws(() => writeVarlong(Buffer.alloc(10), 0, 2 ** 53), RangeError);
  assert.throws(() => sizeOfVarlong(0.5 + 2 ** 40), RangeError);
});
