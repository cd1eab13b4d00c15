import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader, Writer, ZERO_UUID, uuidFromBytes, uuidToBytes } from '../../src/protocol/primitives.js';
import { ProtocolError } from '../../src/protocol/protocol-error.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const bytesOf = (fill: (w: Writer) => void): Buffer => {
  const w = new Writer();
  fill(w);
  return w.toBuffer();
};
const throwsProtocol = (fn: () => unknown): void => {
  assert.throws(fn, ProtocolError);
};

test('fixed-width integers round-trip at their limits', () => {
  const buf = bytesOf((w) =>
    w
      .int8(-128)
      .int8(127)
      .uint8(255)
      .int16(-32768)
      .int16(32767)
      .uint16(65535)
      .int32(-2147483648)
      .int32(2147483647)
      .uint32(4294967295)
      .int64(-(2n ** 63n))
      .int64(2n ** 63n - 1n)
      .float64(-1.5)
      .bool(true)
      .bool(false),
  );
  assert.equal(buf.length, 1 + 1 + 1 + 2 + 2 + 2 + 4 + 4 + 4 + 8 + 8 + 8 + 1 + 1);
  const r = new Reader(buf);
  assert.equal(r.int8(), -128);
  assert.equal(r.int8(), 127);
  assert.equal(r.uint8(), 255);
  assert.equal(r.int16(), -32768);
  assert.equal(r.int16(), 32767);
  assert.equal(r.uint16(), 65535);
  assert.equal(r.int32(), -2147483648);
  assert.equal(r.int32(), 2147483647);
  assert.equal(r.uint32(), 4294967295);
  assert.equal(r.int64(), -(2n ** 63n));
  assert.equal(r.int64(), 2n ** 63n - 1n);
  assert.equal(r.float64(), -1.5);
  assert.equal(r.bool(), true);
  assert.equal(r.bool(), false);
  assert.equal(r.remaining, 0);
  throwsProtocol(() => r.int8());
});

test('bool reads any non-zero byte as true', () => {
  assert.equal(new Reader(hex('02')).bool(), true);
});

test('varint: zig-zag edge cases and exact encodings', () => {
  const cases: [number, string][] = [
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [-64, '7f'],
    [64, '8001'],
    [2147483647, 'feffffff0f'],
    [-2147483648, 'ffffffff0f'],
  ];
  for (const [value, encoded] of cases) {
    const buf = bytesOf((w) => w.varint(value));
    assert.equal(buf.toString('hex'), encoded, `varint ${value}`);
    const r = new Reader(buf);
    assert.equal(r.varint(), value);
    assert.equal(r.remaining, 0);
  }
});

test('uvarint: 5-byte maximum, overflow and over-long encodings', () => {
  assert.equal(bytesOf((w) => w.uvarint(0xffffffff)).toString('hex'), 'ffffffff0f');
  assert.equal(new Reader(hex('ffffffff0f')).uvarint(), 0xffffffff);
  assert.equal(new Reader(hex('7f')).uvarint(), 127);
  assert.equal(new Reader(hex('8001')).uvarint(), 128);
  // Non-minimal but in range encodings are accepted.
  assert.equal(new Reader(hex('8080808000')).uvarint(), 0);
  throwsProtocol(() => new Reader(hex('ffffffff1f')).uvarint()); // 33 bits
  throwsProtocol(() => new Reader(hex('ffffffffff01')).uvarint()); // 6 bytes
  throwsProtocol(() => new Reader(hex('ff')).uvarint()); // truncated
  throwsProtocol(() => new Reader(Buffer.alloc(0)).uvarint());
});

test('varlong: zig-zag edge cases, 10-byte maximum and overflow', () => {
  const cases: [bigint, string][] = [
    [0n, '00'],
    [-1n, '01'],
    [1n, '02'],
    [2n ** 63n - 1n, 'feffffffffffffffff01'],
    [-(2n ** 63n), 'ffffffffffffffffff01'],
    [-2147483649n, '8180808010'],
  ];
  for (const [value, encoded] of cases) {
    const buf = bytesOf((w) => w.varlong(value));
    assert.equal(buf.toString('hex'), encoded, `varlong ${value}`);
    const r = new Reader(buf);
    assert.equal(r.varlong(), value);
    assert.equal(r.remaining, 0);
  }
  assert.equal(bytesOf((w) => w.uvarlong(2n ** 64n - 1n)).toString('hex'), 'ffffffffffffffffff01');
  assert.equal(new Reader(hex('ffffffffffffffffff01')).uvarlong(), 2n ** 64n - 1n);
  throwsProtocol(() => new Reader(hex('ffffffffffffffffff02')).uvarlong()); // 65 bits
  throwsProtocol(() => new Reader(hex('ffffffffffffffffffff01')).uvarlong()); // 11 bytes
  throwsProtocol(() => new Reader(hex('8080')).varlong()); // truncated
});

test('strings: classic, nullable, compact and compact nullable', () => {
  const buf = bytesOf((w) =>
    w.string('hé').nullableString(null).nullableString('').compactString('漢').compactNullableString(null).compactNullableString('x'),
  );
  assert.equal(buf.toString('hex'), '0003' + '68c3a9' + 'ffff' + '0000' + '04' + 'e6bca2' + '00' + '02' + '78');
  const r = new Reader(buf);
  assert.equal(r.string(), 'hé');
  assert.equal(r.nullableString(), null);
  assert.equal(r.nullableString(), '');
  assert.equal(r.compactString(), '漢');
  assert.equal(r.compactNullableString(), null);
  assert.equal(r.compactNullableString(), 'x');
  assert.equal(r.remaining, 0);
});

test('strings: null where not allowed, negative lengths and overruns throw ProtocolError', () => {
  throwsProtocol(() => new Reader(hex('ffff')).string());
  throwsProtocol(() => new Reader(hex('00')).compactString());
  throwsProtocol(() => new Reader(hex('fffe')).nullableString()); // -2
  throwsProtocol(() => new Reader(hex('8000')).nullableString()); // -32768
  throwsProtocol(() => new Reader(hex('000561')).string()); // 5 announced, 1 present
  throwsProtocol(() => new Reader(hex('0561')).compactString());
  throwsProtocol(() => new Reader(hex('ffffffff0f')).compactNullableString()); // 4 GiB announced
  assert.throws(() => new Writer().string('x'.repeat(0x8000)), RangeError);
});

test('bytes: classic, nullable, compact and compact nullable', () => {
  const buf = bytesOf((w) =>
    w.bytes(hex('0102')).nullableBytes(null).compactBytes(Buffer.alloc(0)).compactNullableBytes(null).compactNullableBytes(hex('ff')),
  );
  assert.equal(buf.toString('hex'), '00000002' + '0102' + 'ffffffff' + '01' + '00' + '02' + 'ff');
  const r = new Reader(buf);
  assert.deepEqual(r.bytes(), hex('0102'));
  assert.equal(r.nullableBytes(), null);
  assert.deepEqual(r.compactBytes(), Buffer.alloc(0));
  assert.equal(r.compactNullableBytes(), null);
  assert.deepEqual(r.compactNullableBytes(), hex('ff'));
  assert.equal(r.remaining, 0);
});

test('bytes: reads are views, and bad lengths throw ProtocolError', () => {
  const buf = hex('00000003 aabbcc');
  const view = new Reader(buf).bytes();
  assert.equal(view.buffer, buf.buffer);
  assert.equal(view.byteOffset, buf.byteOffset + 4);
  throwsProtocol(() => new Reader(hex('ffffffff')).bytes());
  throwsProtocol(() => new Reader(hex('fffffffe')).nullableBytes()); // -2
  throwsProtocol(() => new Reader(hex('80000000')).nullableBytes());
  throwsProtocol(() => new Reader(hex('7fffffff00')).bytes());
  throwsProtocol(() => new Reader(hex('00')).compactBytes());
  throwsProtocol(() => new Reader(hex('0a00')).compactBytes());
});

test('array lengths: null, bounds against the bytes left, negative counts', () => {
  assert.equal(new Reader(hex('ffffffff')).arrayLength(4), null);
  assert.equal(new Reader(hex('00')).compactArrayLength(4), null);
  assert.equal(new Reader(hex('00000002 0000000000000000')).arrayLength(4), 2);
  throwsProtocol(() => new Reader(hex('00000003 0000000000000000')).arrayLength(4));
  throwsProtocol(() => new Reader(hex('7fffffff')).arrayLength(1));
  throwsProtocol(() => new Reader(hex('fffffffe')).arrayLength(1));
  throwsProtocol(() => new Reader(hex('ffffffff0f')).compactArrayLength(1));
  assert.equal(new Reader(hex('03 0000')).compactArrayLength(1), 2);
  throwsProtocol(() => new Reader(hex('04 0000')).compactArrayLength(1));
  // Zero-size elements are still bounded by the frame.
  assert.equal(new Reader(hex('00000002')).arrayLength(0), 2);
  throwsProtocol(() => new Reader(hex('00100000')).arrayLength(0));
  assert.equal(bytesOf((w) => w.arrayLength(null).compactArrayLength(null).compactArrayLength(2)).toString('hex'), 'ffffffff' + '00' + '03');
});

test('uuid: base64url form, zero uuid, invalid strings', () => {
  const raw = hex('000102030405060708090a0b0c0d0e0f');
  const id = uuidFromBytes(raw);
  assert.equal(id.length, 22);
  assert.deepEqual(uuidToBytes(id), raw);
  assert.equal(ZERO_UUID, 'AAAAAAAAAAAAAAAAAAAAAA');
  const r = new Reader(bytesOf((w) => w.uuid(id)));
  assert.equal(r.uuid(), id);
  throwsProtocol(() => uuidToBytes('short'));
  throwsProtocol(() => new Reader(Buffer.alloc(15)).uuid());
});

test('tagged fields: known, unknown, ordering and size checks', () => {
  const buf = hex('02 00 01 aa 05 02 bbcc');
  const seen: number[] = [];
  const r = new Reader(buf);
  const unknown = r.taggedFields((tag, size) => {
    if (tag !== 0) return false;
    seen.push(size, r.uint8());
    return true;
  });
  assert.deepEqual(seen, [1, 0xaa]);
  assert.deepEqual(unknown, [{ tag: 5, data: hex('bbcc') }]);
  assert.equal(r.remaining, 0);
  assert.equal(new Reader(hex('00')).taggedFields(), undefined);
  throwsProtocol(() => new Reader(hex('02 05 00 01 00')).taggedFields()); // 5 then 1: out of order
  throwsProtocol(() => new Reader(hex('02 01 00 01 00')).taggedFields()); // duplicate
  throwsProtocol(() => new Reader(hex('01 00 05 aa')).taggedFields()); // size overrun
  throwsProtocol(() => new Reader(hex('7f')).taggedFields()); // count cannot fit
  throwsProtocol(() =>
    new Reader(hex('01 00 02 aabb')).taggedFields((_tag, _size) => {
      new Reader(hex('00')).uint8();
      return true; // claims it consumed the field but read nothing
    }),
  );
});

test('sub readers are bounded', () => {
  const r = new Reader(hex('0102030405'));
  const sub = r.sub(2);
  assert.equal(sub.uint16(), 0x0102);
  throwsProtocol(() => sub.uint8());
  assert.equal(r.uint8(), 3);
  throwsProtocol(() => r.sub(3));
  const offset = new Reader(hex('ffff0102'), 2);
  assert.equal(offset.offset, 2);
  assert.equal(offset.uint16(), 0x0102);
});

test('Writer keeps payloads of 1 KiB or more by reference and copies small ones', () => {
  const big = Buffer.alloc(1024, 7);
  const small = Buffer.alloc(1023, 9);
  const w = new Writer();
  w.int32(1).raw(big).int16(2).raw(small).bytes(big);
  const chunks = w.toChunks();
  assert.equal(chunks.filter((c) => c === big).length, 2, 'the big payload is referenced, not copied');
  assert.ok(chunks.every((c) => c === big || c.buffer !== small.buffer), 'the small payload is copied');
  assert.equal(w.length, 4 + 1024 + 2 + 1023 + 4 + 1024);
  const flat = w.toBuffer();
  assert.equal(flat.length, w.length);
  assert.equal(flat.readInt32BE(0), 1);
  assert.deepEqual(flat.subarray(4, 1028), big);
  assert.equal(flat.readInt16BE(1028), 2);
  assert.deepEqual(flat.subarray(1030, 2053), small);
  assert.equal(flat.readInt32BE(2053), 1024);
  assert.deepEqual(flat.subarray(2057), big);
});

test('Writer grows its scratch buffer past the initial size', () => {
  const w = new Writer(16);
  for (let i = 0; i < 1000; i++) w.int32(i);
  const buf = w.toBuffer();
  assert.equal(buf.length, 4000);
  for (let i = 0; i < 1000; i++) assert.equal(buf.readInt32BE(i * 4), i);
  assert.equal(new Writer().toBuffer().length, 0);
});

test('patchInt32 fills a reserved slot; patching flushed bytes is refused', () => {
  const w = new Writer();
  w.int16(7);
  const at = w.reserveInt32();
  w.string('abc');
  w.patchInt32(at, w.length - at - 4);
  const buf = w.toBuffer();
  assert.equal(buf.toString('hex'), '0007' + '00000005' + '0003616263');

  const w2 = new Writer();
  const slot = w2.reserveInt32();
  w2.raw(Buffer.alloc(2048));
  assert.throws(() => w2.patchInt32(slot, 1), RangeError);
});
