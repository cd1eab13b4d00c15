import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import * as snappy from 'snappy';
import * as lz4 from 'lz4-napi';
import {
  CompressionType,
  RecordError,
  compress,
  compressAsync,
  compressionName,
  compressionTypeByName,
  decompress,
  decompressAsync,
} from '../../../src/protocol/records/index.js';
import { isXerialFramed } from '../../../src/protocol/records/codecs/snappy.js';
import { lz4OutputBound } from '../../../src/protocol/records/codecs/lz4.js';
import { ErrorCode } from '../../../src/protocol/errors.js';

const zstd = createRequire(import.meta.url)('zstd-napi/binding') as typeof import('zstd-napi/binding.js');

const CODECS = [CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd];
const MB = 1024 * 1024;

function text(size: number): Buffer {
  const out = Buffer.alloc(size);
  let x = 12345;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = 97 + ((x >> 16) % 8); // compressible but not trivial
  }
  return out;
}

const tooLarge = (err: unknown): boolean => err instanceof RecordError && err.code === ErrorCode.MESSAGE_TOO_LARGE;
const corruptMessage = (err: unknown): boolean => err instanceof RecordError && err.code === ErrorCode.CORRUPT_MESSAGE;

test('codec names match compression.type', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((id) => compressionName(id)),
    ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
  );
  assert.equal(compressionTypeByName('zstd'), CompressionType.Zstd);
  assert.throws(() => compressionTypeByName('brotli'), RangeError);
  assert.throws(() => compressionName(6), corruptMessage);
});

for (const codec of CODECS) {
  const name = compressionName(codec);

  test(`${name}: sync and async round trips, all sizes`, async () => {
    for (const size of [0, 1, 100, 65_536, 3 * MB + 17]) {
      const data = text(size);
      const packed = compress(codec, data);
      const packedAsync = await compressAsync(codec, data);
      assert.deepEqual(decompress(codec, packed), data, `${size} sync`);
      assert.deepEqual(await decompressAsync(codec, packedAsync), data, `${size} async`);
      assert.deepEqual(decompress(codec, packedAsync), data, `${size} cross`);
    }
  });

  test(`${name}: output past the limit is refused`, async () => {
    const data = Buffer.alloc(8 * MB, 'a');
    const packed = compress(codec, data);
    assert.ok(packed.length < MB, 'compresses well');
    assert.throws(() => decompress(codec, packed, MB), tooLarge);
    await assert.rejects(decompressAsync(codec, packed, MB), tooLarge);
    // Exactly at the limit is fine.
    assert.equal(decompress(codec, packed, data.length).length, data.length);
    assert.equal((await decompressAsync(codec, packed, data.length)).length, data.length);
  });

  test(`${name}: garbage and truncation give CORRUPT_MESSAGE`, async () => {
    const packed = compress(codec, text(200_000));
    const inputs = [Buffer.alloc(0), Buffer.from('definitely not compressed data'), packed.subarray(0, packed.length >> 1)];
    for (const [i, input] of inputs.entries()) {
      assert.throws(() => decompress(codec, input), corruptMessage, `input ${i}`);
      await assert.rejects(decompressAsync(codec, input), corruptMessage, `input ${i}`);
    }
    // Codecs without checksums (snappy, lz4 here) may decode damaged bytes to
    // different data, which the batch CRC catches; they must never fail otherwise.
    for (let at = 0; at < packed.length; at += Math.ceil(packed.length / 64)) {
      const damaged = Buffer.from(packed).fill(0xa5, at, at + 16);
      try {
        decompress(codec, damaged);
      } catch (err) {
        assert.ok(corruptMessage(err) || tooLarge(err), `damage at ${at}: ${String(err)}`);
      }
    }
  });
}

test('snappy: raw blocks are the default encoding', () => {
  const data = text(100_000);
  const packed = compress(CompressionType.Snappy, data);
  assert.equal(isXerialFramed(packed), false);
  assert.deepEqual(snappy.uncompressSync(packed), data);
  const framed = compress(CompressionType.Snappy, data, { snappyFraming: 'xerial' });
  assert.equal(isXerialFramed(framed), true);
});

/** Xerial framing assembled by hand, as Java's SnappyOutputStream lays it out. */
function xerial(blocks: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1])];
  for (const block of blocks) {
    const compressed = snappy.compressSync(block);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(compressed.length);
    parts.push(length, compressed);
  }
  return Buffer.concat(parts);
}

test('snappy: xerial-framed and raw payloads both decode', async () => {
  const data = text(200_000);
  const blocks = [data.subarray(0, 32_768), data.subarray(32_768, 32_768 + 1000), data.subarray(33_768)];
  const framed = xerial(blocks);
  assert.deepEqual(decompress(CompressionType.Snappy, framed), data);
  assert.deepEqual(await decompressAsync(CompressionType.Snappy, framed), data);
  const raw = snappy.compressSync(data);
  assert.deepEqual(decompress(CompressionType.Snappy, raw), data);
  assert.deepEqual(await decompressAsync(CompressionType.Snappy, raw), data);
  // Our xerial output is laid out the same way: 16-byte header, then 32 KiB blocks.
  const ours = compress(CompressionType.Snappy, data, { snappyFraming: 'xerial' });
  assert.deepEqual(ours.subarray(0, 16), framed.subarray(0, 16));
  assert.deepEqual(ours, xerial([...Array(Math.ceil(data.length / 32_768)).keys()].map((i) => data.subarray(i * 32_768, (i + 1) * 32_768))));
  assert.deepEqual(decompress(CompressionType.Snappy, xerial([])), Buffer.alloc(0));
});

test('snappy: a forged length preamble is refused before allocating', () => {
  // varint 0xFFFFFFFF then junk: the native decoder would try to allocate 4 GiB.
  const forged = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x01]);
  assert.throws(() => decompress(CompressionType.Snappy, forged, 64 * MB), tooLarge);
  const framed = Buffer.concat([xerial([Buffer.from('x')]).subarray(0, 16), Buffer.from([0, 0, 0, 7]), forged]);
  assert.throws(() => decompress(CompressionType.Snappy, framed, 64 * MB), tooLarge);
  const overrun = Buffer.concat([xerial([]), Buffer.from([0, 0, 1, 0, 1, 2])]);
  assert.throws(() => decompress(CompressionType.Snappy, overrun), corruptMessage);
});

test('lz4: frames with block and content checksums decode', () => {
  const data = text(500_000);
  for (const options of [{ contentChecksum: true }, { blockChecksums: true }, { contentChecksum: true, blockChecksums: true }]) {
    const frame = lz4.compressFrameSync(data, options);
    assert.deepEqual(decompress(CompressionType.Lz4, frame), data);
    assert.ok(lz4OutputBound(frame) >= data.length);
  }
});

test('lz4: the output bound never undercounts', () => {
  for (const size of [0, 1, 1000, 64 * 1024, 64 * 1024 + 1, 2 * MB]) {
    for (const data of [text(size), Buffer.alloc(size, 7)]) {
      assert.ok(lz4OutputBound(lz4.compressFrameSync(data)) >= size, `size ${size}`);
    }
  }
});

test('lz4: a frame whose blocks claim more than the frame allows is corrupt', () => {
  const frame = Buffer.from(lz4.compressFrameSync(text(1000)));
  // The first block size word follows magic(4) + FLG + BD + HC.
  frame.writeUInt32LE(0x7fffffff, 7);
  assert.throws(() => decompress(CompressionType.Lz4, frame), corruptMessage);
});

test('zstd: frames without a content size decode (as Java zstd-jni streams write them)', async () => {
  const data = text(2 * MB + 5);
  const cctx = new zstd.CCtx();
  cctx.setParameter(zstd.CParameter.contentSizeFlag, 0);
  const out = Buffer.alloc(zstd.compressBound(data.length));
  const frame = out.subarray(0, cctx.compress2(out, data));
  assert.equal(zstd.getFrameContentSize(frame), null);
  assert.deepEqual(decompress(CompressionType.Zstd, frame), data);
  assert.deepEqual(await decompressAsync(CompressionType.Zstd, frame), data);
  assert.throws(() => decompress(CompressionType.Zstd, frame, MB), tooLarge);
  await assert.rejects(decompressAsync(CompressionType.Zstd, frame, MB), tooLarge);
});

test('zstd: concatenated frames decode to the concatenation', () => {
  const a = text(1000);
  const b = text(3000);
  const both = Buffer.concat([compress(CompressionType.Zstd, a), compress(CompressionType.Zstd, b)]);
  assert.deepEqual(decompress(CompressionType.Zstd, both), Buffer.concat([a, b]));
});

test('zstd: a failed call does not poison the next one', () => {
  const good = compress(CompressionType.Zstd, text(10_000));
  assert.throws(() => decompress(CompressionType.Zstd, good.subarray(0, 100)), corruptMessage);
  assert.deepEqual(decompress(CompressionType.Zstd, good), text(10_000));
});

test('gzip: what zlib and Java-style gzip streams write decodes', () => {
  const data = text(50_000);
  assert.deepEqual(decompress(CompressionType.Gzip, zlib.gzipSync(data, { level: 1 })), data);
  assert.deepEqual(decompress(CompressionType.Gzip, zlib.gzipSync(data, { level: 9 })), data);
});

test('none: passes data through untouched', () => {
  const data = text(10);
  assert.equal(compress(CompressionType.None, data), data);
  assert.equal(decompress(CompressionType.None, data), data);
});

// @platformatic/kafka ships its own (WebAssembly) snappy and lz4: an independent implementation to check against.
type WasmUtils = {
  snappyCompress(data: Buffer): Uint8Array;
  snappyDecompress(data: Buffer): Uint8Array;
  lz4Compress(data: Buffer): Uint8Array;
  lz4Decompress(data: Buffer): Uint8Array;
};
const wasmUtilsName = '@platformatic/wasm-utils';
const wasm = (await import(wasmUtilsName).catch(() => null)) as WasmUtils | null;

test('interop with an independent snappy and lz4 (@platformatic/wasm-utils)', { skip: wasm === null && 'not installed' }, () => {
  const w = wasm!;
  for (const size of [1, 1000, 300_000]) {
    const data = text(size);
    assert.deepEqual(decompress(CompressionType.Snappy, Buffer.from(w.snappyCompress(data))), data);
    assert.deepEqual(Buffer.from(w.snappyDecompress(compress(CompressionType.Snappy, data))), data);
    assert.deepEqual(decompress(CompressionType.Lz4, Buffer.from(w.lz4Compress(data))), data);
    assert.deepEqual(Buffer.from(w.lz4Decompress(compress(CompressionType.Lz4, data))), data);
  }
});
