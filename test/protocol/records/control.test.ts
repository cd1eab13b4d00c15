import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ControlRecordType,
  RecordBatch,
  buildBatch,
  buildTxnMarkerBatch,
  encodeControlKey,
  parseControlKey,
  parseTxnMarker,
  readTxnMarker,
} from '../../../src/protocol/records/index.js';
import { ErrorCode } from '../../../src/protocol/errors.js';

test('commit and abort markers build as transactional control batches', () => {
  for (const commit of [true, false]) {
    const batch = new RecordBatch(
      buildTxnMarkerBatch({ commit, coordinatorEpoch: 77, producerId: 123n, producerEpoch: 4, baseOffset: 500, timestamp: 1000 }),
    );
    batch.validate({ produce: true });
    assert.equal(batch.isControl, true);
    assert.equal(batch.isTransactional, true);
    assert.equal(batch.producerId, 123n);
    assert.equal(batch.producerEpoch, 4);
    assert.equal(batch.baseSequence, -1);
    assert.equal(batch.recordsCount, 1);
    assert.equal(batch.baseOffset, 500);
    const [record] = [...batch.records()];
    assert.deepEqual(record!.key, Buffer.from([0, 0, 0, commit ? 1 : 0]));
    assert.deepEqual(record!.value, Buffer.from([0, 0, 0, 0, 0, 77]));
    assert.equal(record!.timestamp, 1000);
    assert.deepEqual(parseTxnMarker(record!), { commit, coordinatorEpoch: 77 });
    assert.deepEqual(readTxnMarker(batch), { commit, coordinatorEpoch: 77 });
  }
});

test('data batches have no marker', () => {
  assert.equal(readTxnMarker(new RecordBatch(buildBatch([{ value: 'x' }]))), null);
});

test('control keys: version and type; other control types are not markers', () => {
  assert.deepEqual(parseControlKey(encodeControlKey(ControlRecordType.LeaderChange)), { version: 0, type: 2 });
  assert.equal(parseTxnMarker({ key: encodeControlKey(ControlRecordType.SnapshotHeader), value: null }), null);
  assert.throws(() => parseControlKey(null), { code: ErrorCode.CORRUPT_MESSAGE });
  assert.throws(() => parseControlKey(Buffer.from([0, 0, 1])), { code: ErrorCode.CORRUPT_MESSAGE });
  assert.throws(() => parseTxnMarker({ key: encodeControlKey(1), value: Buffer.from([0, 0, 0]) }), {
    code: ErrorCode.CORRUPT_MESSAGE,
  });
});

test('a newer marker value version with extra bytes still yields the epoch', () => {
  const value = Buffer.from([0, 1, 0, 0, 1, 0, 0xde, 0xad]);
  assert.deepEqual(parseTxnMarker({ key: encodeControlKey(ControlRecordType.Commit), value }), {
    commit: true,
    coordinatorEpoch: 256,
  });
});
