/**
 * Bad input over raw sockets (node:net). Each case sends something broken
 * and checks the broker's answer — the proper Kafka error where the protocol
 * has one, otherwise the connection closed (never a hang) — and then that
 * the broker still serves real clients: a kafkajs producer connected before
 * all of this keeps producing on its old connection, and a fresh kafkajs
 * admin connection works. Valid frames come from the generated codecs and
 * the records builder, and are then corrupted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Kafka, Producer } from 'kafkajs';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/api-table.js';
import { decodeApiVersionsResponse } from '../../src/protocol/messages/api-versions.js';
import { decodeResponseHeader } from '../../src/protocol/messages/headers.js';
import { Reader, ZERO_UUID } from '../../src/protocol/primitives.js';
import { buildBatch } from '../../src/protocol/records/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { newKafka } from './kafkajs-util.js';
import { decodeResponse, RawConnection, requestFrame, sizePrefixed } from './raw-client.js';

const TOPIC = 'bad-input';
/** How long a broker may take to drop a connection it should drop. */
const CLOSE_WITHIN_MS = 3000;

/** CRC-32 (IEEE), the checksum of legacy magic 0/1 messages. */
function crc32(data: Buffer): number {
  let c = ~0;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

/** A legacy message set holding one magic-1 message (offset, size, crc, magic, attributes, timestamp, key, value). */
function magicOneMessageSet(value: Buffer): Buffer {
  const body = Buffer.alloc(1 + 1 + 8 + 4 + 4 + value.length);
  let at = 0;
  at = body.writeInt8(1, at); // magic
  at = body.writeInt8(0, at); // attributes
  body.writeBigInt64BE(BigInt(Date.now()), at);
  at += 8;
  at = body.writeInt32BE(-1, at); // null key
  at = body.writeInt32BE(value.length, at);
  value.copy(body, at);
  const message = Buffer.alloc(4 + body.length);
  message.writeUInt32BE(crc32(body), 0);
  body.copy(message, 4);
  const set = Buffer.alloc(8 + 4 + message.length);
  set.writeBigInt64BE(0n, 0);
  set.writeInt32BE(message.length, 8);
  message.copy(set, 12);
  return set;
}

describe('bad input over raw sockets', () => {
  let b: TestBroker;
  let kafka: Kafka;
  let producer: Producer;
  let sent = 0;

  before(async () => {
    b = await startTestBroker({ config: { 'num.partitions': 1 } });
    kafka = newKafka(b.bootstrap);
    producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: TOPIC, acks: 1, messages: [{ value: 'first' }] });
    sent = 1;
  });
  after(async () => {
    await producer?.disconnect();
    await b?.close();
  });

  /** The broker still serves kafkajs: on the connection it had before, and on a new one. */
  async function stillServed(): Promise<void> {
    const [meta] = await producer.send({ topic: TOPIC, acks: 1, messages: [{ value: `after-${sent}` }] });
    assert.equal(meta!.errorCode, 0);
    assert.equal(Number(meta!.baseOffset), sent++);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [p0] = await admin.fetchTopicOffsets(TOPIC);
      assert.equal(p0!.high, String(sent));
    } finally {
      await admin.disconnect();
    }
  }

  /** Sends `bytes` on a fresh connection and expects the broker to close it without answering. */
  async function expectClosed(bytes: Buffer, what: string): Promise<void> {
    const conn = await RawConnection.connect(b.port);
    try {
      conn.write(bytes);
      const closed = await conn.waitClosed(CLOSE_WITHIN_MS);
      assert.ok(closed, `${what}: the broker kept the connection open for ${CLOSE_WITHIN_MS} ms`);
      assert.equal(conn.frames.length, 0, `${what}: the broker answered`);
    } finally {
      conn.close();
    }
  }

  test('garbage bytes close the connection', async () => {
    // An HTTP request: its first four bytes read as a ~1.2 GB frame size.
    await expectClosed(Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'), 'HTTP request');
    // A small frame of 0xff bytes: API key -1.
    await expectClosed(sizePrefixed(Buffer.alloc(24, 0xff)), '0xff frame');
    // A frame too short to hold a request header.
    await expectClosed(sizePrefixed(Buffer.from([0, 3])), '2-byte frame');
    await stillServed();
  });

  test('a frame claiming 2 GB is refused at once, without waiting for (or buffering) its body', async () => {
    const header = Buffer.alloc(4 + 64);
    header.writeInt32BE(0x7fffffff, 0);
    await expectClosed(header, '2 GB frame');
    // Just above socket.request.max.bytes (100 MiB by default).
    const above = Buffer.alloc(4);
    above.writeInt32BE(100 * 1024 * 1024 + 1, 0);
    await expectClosed(above, 'frame over socket.request.max.bytes');
    await stillServed();
  });

  test('a negative frame size closes the connection', async () => {
    for (const size of [-1, -2147483648]) {
      const bytes = Buffer.alloc(8);
      bytes.writeInt32BE(size, 0);
      await expectClosed(bytes, `size ${size}`);
    }
    await stillServed();
  });

  test('an unknown API key closes the connection (as Kafka does)', async () => {
    const frame = requestFrame(ApiKey.ApiVersions, 0, {}, 7);
    frame.writeInt16BE(9999, 4); // the API key, right after the size
    await expectClosed(frame, 'API key 9999');
    await stillServed();
  });

  test('an unsupported version of Metadata closes the connection (as Kafka does)', async () => {
    const frame = requestFrame(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }, 8);
    frame.writeInt16BE(99, 6); // the API version
    await expectClosed(frame, 'Metadata v99');
    await stillServed();
  });

  test('ApiVersions with a too-new version gets a v0 answer with UNSUPPORTED_VERSION and the API list', async () => {
    const conn = await RawConnection.connect(b.port);
    try {
      const frame = requestFrame(ApiKey.ApiVersions, 4, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' }, 42);
      frame.writeInt16BE(127, 6);
      conn.write(frame);
      const response = await conn.nextFrame(CLOSE_WITHIN_MS);
      assert.ok(response, 'an answer');
      const r = new Reader(response);
      assert.equal(decodeResponseHeader(r, 0).correlationId, 42);
      const body = decodeApiVersionsResponse(r, 0);
      assert.equal(r.remaining, 0, 'a version-0 body, nothing after it');
      assert.equal(body.errorCode, ErrorCode.UNSUPPORTED_VERSION);
      const byKey = new Map(body.apiKeys.map((k) => [k.apiKey, k]));
      assert.deepEqual(byKey.get(ApiKey.ApiVersions), { apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 4 });
      for (const key of [ApiKey.Produce, ApiKey.Fetch, ApiKey.ListOffsets, ApiKey.Metadata]) assert.ok(byKey.has(key), `API ${key} listed`);
      // The client can now downgrade on the same connection.
      const v3 = await conn.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });
      assert.equal(v3.errorCode, 0);
      assert.deepEqual(v3.apiKeys.map((k) => k.apiKey), body.apiKeys.map((k) => k.apiKey));
    } finally {
      conn.close();
    }
    await stillServed();
  });

  test('a truncated request body closes the connection', async () => {
    const full = requestFrame(ApiKey.Metadata, 12, { topics: [{ topicId: ZERO_UUID, name: TOPIC }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }, 9);
    const body = full.subarray(4, full.length - 6); // the frame is whole, its content is cut short
    await expectClosed(sizePrefixed(body), 'truncated Metadata body');
    // An array claiming 2^31-1 topics with nothing behind it must not allocate them.
    const huge = requestFrame(ApiKey.Metadata, 1, { topics: [] }, 10);
    huge.writeInt32BE(0x7fffffff, huge.length - 4);
    await expectClosed(huge, 'Metadata with a 2^31-1 topic count');
    // A peer that sends half a frame and goes away.
    const conn = await RawConnection.connect(b.port);
    conn.write(full.subarray(0, 20));
    conn.close();
    await stillServed();
  });

  // Guards a bug where the connection was destroyed while the responses to the
  // requests pipelined before the bad one were still corked, so they were lost.
  test('requests pipelined before a bad one are answered in order, then the connection closes', async () => {
    const conn = await RawConnection.connect(b.port);
    try {
      const metadata = (id: number) => requestFrame(ApiKey.Metadata, 12, { topics: [{ topicId: ZERO_UUID, name: TOPIC }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }, id);
      const bad = requestFrame(ApiKey.ApiVersions, 0, {}, 3);
      bad.writeInt16BE(9999, 4);
      conn.write(Buffer.concat([metadata(1), metadata(2), bad]));
      assert.ok(await conn.waitClosed(CLOSE_WITHIN_MS), 'closed after the bad request');
      assert.deepEqual(conn.frames.map((f) => decodeResponse(ApiKey.Metadata, 12, f).correlationId), [1, 2]);
    } finally {
      conn.close();
    }
    await stillServed();
  });

  async function produceRaw(conn: RawConnection, records: Buffer, version = 9) {
    const response = await conn.request(ApiKey.Produce, version, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 5000,
      topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
    });
    return response.responses[0]!.partitionResponses[0]!;
  }

  test('a Produce with a flipped CRC byte gets CORRUPT_MESSAGE, and the connection goes on', async () => {
    const conn = await RawConnection.connect(b.port);
    try {
      const good = () => buildBatch([{ key: 'k', value: 'valid record' }, { key: 'k2', value: 'another' }]);
      const badValue = good();
      badValue[badValue.length - 3]! ^= 0x01; // a byte of the last record, covered by the CRC
      const badCrc = good();
      badCrc[17]! ^= 0x80; // the CRC field itself
      for (const [what, records] of [['record byte', badValue], ['CRC byte', badCrc]] as const) {
        const r = await produceRaw(conn, records);
        assert.equal(r.errorCode, ErrorCode.CORRUPT_MESSAGE, `${what}: error ${r.errorCode}`);
        assert.equal(r.baseOffset, -1n);
      }
      const ok = await produceRaw(conn, good());
      assert.equal(ok.errorCode, 0, 'a valid batch on the same connection');
      assert.equal(ok.baseOffset, BigInt(sent));
      sent += 2;
    } finally {
      conn.close();
    }
    await stillServed();
  });

  test('a Produce without any record batch gets INVALID_RECORD (not the retriable CORRUPT_MESSAGE)', async () => {
    const conn = await RawConnection.connect(b.port);
    try {
      for (const records of [Buffer.alloc(0), null]) {
        const r = await produceRaw(conn, records as Buffer);
        assert.equal(r.errorCode, ErrorCode.INVALID_RECORD, `records ${records === null ? 'null' : 'empty'}: error ${r.errorCode}`);
      }
    } finally {
      conn.close();
    }
    await stillServed();
  });

  test('a Produce with a legacy magic-1 message set gets INVALID_RECORD or UNSUPPORTED_VERSION', async () => {
    const conn = await RawConnection.connect(b.port);
    try {
      for (const version of [3, 9]) {
        const r = await produceRaw(conn, magicOneMessageSet(Buffer.from('legacy')), version);
        assert.ok([ErrorCode.INVALID_RECORD, ErrorCode.UNSUPPORTED_VERSION].includes(r.errorCode as never), `Produce v${version}: error ${r.errorCode}`);
        assert.equal(r.baseOffset, -1n);
      }
    } finally {
      conn.close();
    }
    await stillServed();
  });
});
