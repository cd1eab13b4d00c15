import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecoder, framePrefix } from '../../src/network/frame-decoder.js';
import { ProtocolError } from '../../src/protocol/protocol-error.js';
import { frame } from './helpers.js';

function counting(max: number) {
  const allocs: number[] = [];
  const decoder = new FrameDecoder({
    maxFrameBytes: max,
    allocate: (n) => {
      allocs.push(n);
      return Buffer.allocUnsafe(n);
    },
  });
  return { decoder, allocs };
}

const bodies = ['a', 'hello', 'x'.repeat(300), '\u0000\u0001\u0002', 'last frame'];
const stream = Buffer.concat(bodies.map((b) => frame(b)));

test('frames split at every byte boundary are delivered whole and in order', () => {
  for (let i = 0; i <= stream.length; i++) {
    const { decoder } = counting(1000);
    const out: Buffer[] = [];
    decoder.push(stream.subarray(0, i), out);
    decoder.push(stream.subarray(i), out);
    assert.deepEqual(
      out.map((f) => f.toString()),
      bodies,
      `split at ${i}`,
    );
    assert.ok(decoder.atBoundary);
  }
});

test('frames split at every pair of boundaries, and byte by byte', () => {
  const small = Buffer.concat([frame('abc'), frame('defgh')]);
  for (let i = 0; i <= small.length; i++) {
    for (let j = i; j <= small.length; j++) {
      const { decoder } = counting(100);
      const out: Buffer[] = [];
      decoder.push(small.subarray(0, i), out);
      decoder.push(small.subarray(i, j), out);
      decoder.push(small.subarray(j), out);
      assert.deepEqual(
        out.map((f) => f.toString()),
        ['abc', 'defgh'],
      );
    }
  }
  const { decoder } = counting(1000);
  const out: Buffer[] = [];
  for (let i = 0; i < stream.length; i++) decoder.push(stream.subarray(i, i + 1), out);
  assert.deepEqual(
    out.map((f) => f.toString()),
    bodies,
  );
});

test('frames within one chunk are zero-copy views; a spanning frame is assembled with one allocation', () => {
  const { decoder, allocs } = counting(1000);
  const out: Buffer[] = [];
  decoder.push(stream, out);
  assert.equal(out.length, bodies.length);
  for (const f of out) assert.equal(f.buffer, stream.buffer, 'frame is a view into the chunk');
  assert.equal(allocs.length, 0);

  // A 300-byte body delivered in 7 pieces: one allocation of exactly 300 bytes.
  const big = frame('y'.repeat(300));
  const out2: Buffer[] = [];
  for (let off = 0; off < big.length; off += 50) decoder.push(big.subarray(off, off + 50), out2);
  assert.equal(out2.length, 1);
  assert.equal(out2[0]!.toString(), 'y'.repeat(300));
  assert.deepEqual(allocs, [300]);
});

test('oversized, negative and zero sizes throw ProtocolError without allocating', () => {
  for (const size of [0x7fffffff, 1001, -1, -0x80000000, 0]) {
    const { decoder, allocs } = counting(1000);
    const out: Buffer[] = [];
    const bytes = Buffer.alloc(8);
    bytes.writeInt32BE(size, 0);
    assert.throws(() => decoder.push(bytes, out), ProtocolError, `size ${size}`);
    assert.equal(allocs.length, 0);
    assert.equal(out.length, 0);
    // Poisoned: the stream can no longer be trusted.
    assert.throws(() => decoder.push(frame('ok'), out), ProtocolError);
  }
});

test('a large declared size holds only the bytes received so far', () => {
  const max = 100 * 1024 * 1024;
  const { decoder, allocs } = counting(max);
  const out: Buffer[] = [];
  decoder.push(framePrefix(max), out);
  decoder.push(Buffer.alloc(10), out);
  assert.equal(out.length, 0);
  assert.equal(allocs.length, 0);
  assert.equal(decoder.partialBytes, 14);
});

test('frames completed before a bad prefix in the same chunk are kept', () => {
  const { decoder } = counting(10);
  const out: Buffer[] = [];
  assert.throws(() => decoder.push(Buffer.concat([frame('ok'), frame('this is too long')]), out), ProtocolError);
  assert.deepEqual(
    out.map((f) => f.toString()),
    ['ok'],
  );
});

test('maxFrameBytes is validated', () => {
  assert.throws(() => new FrameDecoder({ maxFrameBytes: 0 }), RangeError);
  assert.throws(() => new FrameDecoder({ maxFrameBytes: 2 ** 31 }), RangeError);
  assert.throws(() => framePrefix(-1), RangeError);
});
