import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_ERRORS, ErrorCode, KafkaError, errorByCode, errorByName, errorName } from '../../src/protocol/errors.js';

test('codes and names are unique', () => {
  const codes = new Set(ALL_ERRORS.map((e) => e.code));
  const names = new Set(ALL_ERRORS.map((e) => e.name));
  assert.equal(codes.size, ALL_ERRORS.length);
  assert.equal(names.size, ALL_ERRORS.length);
});

test('the table is contiguous from -1 to the highest code', () => {
  const codes = ALL_ERRORS.map((e) => e.code);
  assert.equal(codes[0], -1);
  codes.forEach((code, i) => assert.equal(code, i - 1));
  assert.ok(codes.at(-1)! >= 129);
});

test('well-known codes', () => {
  assert.equal(ErrorCode.UNKNOWN_SERVER_ERROR, -1);
  assert.equal(ErrorCode.NONE, 0);
  assert.equal(ErrorCode.OFFSET_OUT_OF_RANGE, 1);
  assert.equal(ErrorCode.CORRUPT_MESSAGE, 2);
  assert.equal(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 3);
  assert.equal(ErrorCode.NOT_LEADER_OR_FOLLOWER, 6);
  assert.equal(ErrorCode.MESSAGE_TOO_LARGE, 10);
  assert.equal(ErrorCode.NOT_COORDINATOR, 16);
  assert.equal(ErrorCode.NOT_ENOUGH_REPLICAS, 19);
  assert.equal(ErrorCode.REBALANCE_IN_PROGRESS, 27);
  assert.equal(ErrorCode.UNSUPPORTED_VERSION, 35);
  assert.equal(ErrorCode.TOPIC_ALREADY_EXISTS, 36);
  assert.equal(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 45);
  assert.equal(ErrorCode.UNKNOWN_PRODUCER_ID, 59);
  assert.equal(ErrorCode.MEMBER_ID_REQUIRED, 79);
  assert.equal(ErrorCode.INVALID_RECORD, 87);
  assert.equal(ErrorCode.PRODUCER_FENCED, 90);
  assert.equal(ErrorCode.UNKNOWN_TOPIC_ID, 100);
  assert.equal(ErrorCode.STALE_MEMBER_EPOCH, 113);
});

test('retriable flags follow the Java client', () => {
  for (const name of ['CORRUPT_MESSAGE', 'NOT_LEADER_OR_FOLLOWER', 'NOT_ENOUGH_REPLICAS', 'COORDINATOR_LOAD_IN_PROGRESS', 'UNKNOWN_TOPIC_OR_PARTITION']) {
    assert.equal(errorByName(name)!.retriable, true, name);
  }
  for (const name of ['NONE', 'UNKNOWN_SERVER_ERROR', 'MESSAGE_TOO_LARGE', 'INVALID_RECORD', 'TOPIC_AUTHORIZATION_FAILED', 'PRODUCER_FENCED']) {
    assert.equal(errorByName(name)!.retriable, false, name);
  }
});

test('every entry has a meaning', () => {
  for (const e of ALL_ERRORS) assert.ok(e.meaning.length > 0, e.name);
});

test('lookup by code', () => {
  assert.equal(errorByCode(2)!.name, 'CORRUPT_MESSAGE');
  assert.equal(errorByCode(9999), undefined);
  assert.equal(errorName(87), 'INVALID_RECORD');
  assert.equal(errorName(9999), 'UNKNOWN_ERROR_CODE(9999)');
});

test('KafkaError carries code, name and retriable', () => {
  const e = new KafkaError(ErrorCode.CORRUPT_MESSAGE, 'CRC mismatch');
  assert.ok(e instanceof Error);
  assert.equal(e.code, 2);
  assert.equal(e.errorName, 'CORRUPT_MESSAGE');
  assert.equal(e.retriable, true);
  assert.match(e.message, /^CORRUPT_MESSAGE: CRC mismatch$/);
  const plain = new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS);
  assert.match(plain.message, /^TOPIC_ALREADY_EXISTS: /);
  const unknown = new KafkaError(4242);
  assert.equal(unknown.errorName, 'UNKNOWN_ERROR_CODE(4242)');
  assert.equal(unknown.retriable, false);
});
