import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeGroupMetadataValue,
  decodeOffsetCommitValue,
  decodeOffsetsTopicKey,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  javaStringHashCode,
  kafkaAbs,
  partitionForGroup,
} from '../../src/coordinator/index.js';

test('group partitions follow Kafka: Utils.abs(String.hashCode) % n', () => {
  assert.equal(javaStringHashCode(''), 0);
  assert.equal(javaStringHashCode('hello'), 99162322);
  assert.equal(javaStringHashCode('my-group'), javaStringHashCode('my-group'));
  // Kafka's own docs: kafka-cp my-group -> 12 with 50 partitions.
  assert.equal(partitionForGroup('my-group', 50), 12);
  // A string whose hashCode is Integer.MIN_VALUE: Utils.abs maps it to 0 (not n & 0x7fffffff).
  assert.equal(javaStringHashCode('polygenelubricants'), -2147483648);
  assert.equal(kafkaAbs(-2147483648), 0);
  assert.equal(partitionForGroup('polygenelubricants', 50), 0);
  // Negative hashes use |h|.
  const h = javaStringHashCode('notification-email');
  assert.equal(partitionForGroup('notification-email', 7), Math.abs(h) % 7);
  // UTF-16 code units, as Java.
  assert.equal(javaStringHashCode('é😀'), (((0xe9 * 31 + 0xd83d) | 0) * 31 + 0xde00) | 0);
  assert.throws(() => partitionForGroup('g', 0), RangeError);
});

test('offset commit key and value use Kafka schemas (key v1, value v3; v1 with an expire timestamp)', () => {
  const key = encodeOffsetCommitKey('g', 'orders', 5);
  // int16 version 1, string "g", string "orders", int32 5
  assert.deepEqual(key, Buffer.from([0, 1, 0, 1, 0x67, 0, 6, ...Buffer.from('orders'), 0, 0, 0, 5]));
  assert.deepEqual(decodeOffsetsTopicKey(key), { kind: 'offset', group: 'g', topic: 'orders', partition: 5 });
  // Kafka's version 0 keys read the same.
  const v0 = Buffer.from(key);
  v0.writeInt16BE(0, 0);
  assert.deepEqual(decodeOffsetsTopicKey(v0), { kind: 'offset', group: 'g', topic: 'orders', partition: 5 });

  const value = { offset: 42, leaderEpoch: 3, metadata: 'meta', commitTimestamp: 1700000000000, expireTimestamp: null };
  const bytes = encodeOffsetCommitValue(value);
  assert.equal(bytes.readInt16BE(0), 3);
  assert.equal(bytes.length, 2 + 8 + 4 + 2 + 4 + 8);
  assert.deepEqual(decodeOffsetCommitValue(bytes), value);
  const old = { ...value, leaderEpoch: -1, expireTimestamp: 1700000100000 };
  const v1 = encodeOffsetCommitValue(old);
  assert.equal(v1.readInt16BE(0), 1);
  assert.deepEqual(decodeOffsetCommitValue(v1), old);
});

test('group metadata key v2 and value v3 round-trip; older value versions decode', () => {
  assert.deepEqual(decodeOffsetsTopicKey(encodeGroupMetadataKey('payments')), { kind: 'group', group: 'payments' });
  assert.deepEqual(decodeOffsetsTopicKey(Buffer.from([0, 3, 0, 0])), { kind: 'unknown', version: 3 });
  const value = {
    protocolType: 'consumer',
    generation: 7,
    protocol: 'range',
    leader: 'm1',
    currentStateTimestamp: 1700000000000,
    members: [
      {
        memberId: 'm1',
        groupInstanceId: 'instance-1',
        clientId: 'c1',
        clientHost: '/10.0.0.1',
        rebalanceTimeoutMs: 300000,
        sessionTimeoutMs: 45000,
        subscription: Buffer.from([1, 2, 3]),
        assignment: Buffer.from([4, 5]),
      },
    ],
  };
  const bytes = encodeGroupMetadataValue(value);
  assert.equal(bytes.readInt16BE(0), 3);
  assert.deepEqual(decodeGroupMetadataValue(bytes), value);

  const empty = { protocolType: 'consumer', generation: 8, protocol: null, leader: null, currentStateTimestamp: 5, members: [] };
  assert.deepEqual(decodeGroupMetadataValue(encodeGroupMetadataValue(empty)), empty);

  // A v0 value (no rebalance timeout, no state timestamp, no instance id), as Kafka 0.10 wrote.
  const v0 = Buffer.concat([
    Buffer.from([0, 0]),
    str('consumer'),
    int32(2),
    str('range'),
    str('m'),
    int32(1),
    str('m'),
    str('cid'),
    str('/h'),
    int32(10000),
    bytes32(Buffer.from([9])),
    bytes32(Buffer.from([8])),
  ]);
  assert.deepEqual(decodeGroupMetadataValue(v0), {
    protocolType: 'consumer',
    generation: 2,
    protocol: 'range',
    leader: 'm',
    currentStateTimestamp: -1,
    members: [
      {
        memberId: 'm',
        groupInstanceId: null,
        clientId: 'cid',
        clientHost: '/h',
        rebalanceTimeoutMs: 10000,
        sessionTimeoutMs: 10000,
        subscription: Buffer.from([9]),
        assignment: Buffer.from([8]),
      },
    ],
  });
  assert.throws(() => decodeGroupMetadataValue(Buffer.from([0, 9])), RangeError);
});

function str(s: string): Buffer {
  const b = Buffer.from(s);
  const len = Buffer.alloc(2);
  len.writeInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function bytes32(b: Buffer): Buffer {
  return Buffer.concat([int32(b.length), b]);
}
