import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { buildBatch, buildTxnMarkerBatch } from '../../src/protocol/records/index.js';
import { MAX_TIMESTAMP } from '../../src/protocol/records/layout.js';
import { readInt64 } from '../../src/storage/batch-header.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { ProducerStateManager, incrementSequence, readProducerBatchInfo } from '../../src/storage/producer-state.js';
import { openLog, smallConfig } from './helpers.js';
import { makeTempDir, removeDir } from '../helpers/broker.js';

interface Opts {
  pid?: number;
  epoch?: number;
  seq?: number;
  count?: number;
  txn?: boolean;
  size?: number;
}

function idem({ pid = 7, epoch = 0, seq = 0, count = 1, txn = false, size = 10 }: Opts): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({ value: `v${seq + i}`.padEnd(size, '.') }));
  return buildBatch(records, { producerId: BigInt(pid), producerEpoch: epoch, baseSequence: seq, transactional: txn });
}

/** What a partition does: check, append unless duplicate, update. Returns [baseOffset, duplicate]. */
async function produce(log: PartitionLog, state: ProducerStateManager, batch: Buffer): Promise<[number, boolean]> {
  const check = state.checkClientBatch(batch);
  if (check.kind === 'duplicate') return [check.batch.firstOffset, true];
  const r = await log.append(batch);
  state.onAppended(check.info, r.baseOffset, r.lastOffset, readInt64(batch, MAX_TIMESTAMP));
  return [r.baseOffset, false];
}

async function marker(log: PartitionLog, state: ProducerStateManager, pid: number, epoch: number, commit: boolean, coordinatorEpoch = 0): Promise<number> {
  state.checkMarker(pid, epoch, coordinatorEpoch);
  const r = await log.append(buildTxnMarkerBatch({ commit, coordinatorEpoch, producerId: BigInt(pid), producerEpoch: epoch }));
  state.onMarker(pid, epoch, commit, coordinatorEpoch, r.baseOffset);
  return r.baseOffset;
}

function code(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    if (err instanceof KafkaError) return err.code;
    throw err;
  }
  return ErrorCode.NONE;
}

describe('producer state', () => {
  let dir: { path: string; cleanup(): Promise<void> };
  const tempDir = async () => {
    const path = await makeTempDir('ganglion-producer-state-');
    return { path, cleanup: () => removeDir(path) };
  };
  let log: PartitionLog;
  let state: ProducerStateManager;

  beforeEach(async () => {
    dir = await tempDir();
    log = await openLog(dir.path, smallConfig({ segmentBytes: 1 << 20 }));
    state = await ProducerStateManager.load(log);
  });
  afterEach(async () => {
    if (log.isOpen) await log.close();
    await dir.cleanup();
  });

  test('reads the producer fields from the header; sequences wrap after 2^31-1', () => {
    const info = readProducerBatchInfo(idem({ pid: 123456789012, epoch: 3, seq: 10, count: 4, txn: true }));
    assert.deepEqual(
      { ...info, maxTimestamp: 0 },
      { producerId: 123456789012, epoch: 3, firstSeq: 10, lastSeq: 13, transactional: true, control: false, maxTimestamp: 0, lastOffsetDelta: 3 },
    );
    assert.equal(incrementSequence(0x7fffffff, 1), 0);
    assert.equal(incrementSequence(0x7ffffffe, 3), 1);
    const plain = readProducerBatchInfo(buildBatch([{ value: 'x' }]));
    assert.equal(plain.producerId, -1);
    assert.equal(plain.lastSeq, -1);
  });

  test('a retry of any of the last five batches is a duplicate answered with its original offset', async () => {
    const offsets: number[] = [];
    for (let i = 0; i < 6; i++) {
      const [offset, dup] = await produce(log, state, idem({ seq: i * 2, count: 2 }));
      assert.equal(dup, false);
      offsets.push(offset);
    }
    assert.deepEqual(offsets, [0, 2, 4, 6, 8, 10]);
    for (let i = 1; i < 6; i++) {
      assert.deepEqual(await produce(log, state, idem({ seq: i * 2, count: 2 })), [offsets[i], true], `retry of batch ${i}`);
    }
    assert.equal(log.logEndOffset, 12, 'nothing appended twice');
    // The first batch fell out of the window: its retry is out of order.
    assert.equal(code(() => state.checkClientBatch(idem({ seq: 0, count: 2 }))), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    // Same first sequence, different length: not a duplicate, out of order.
    assert.equal(code(() => state.checkClientBatch(idem({ seq: 10, count: 1 }))), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });

  test('gaps are out of order; stale epochs are refused; a new epoch starts at 0', async () => {
    await produce(log, state, idem({ seq: 0, count: 3 }));
    assert.equal(code(() => state.checkClientBatch(idem({ seq: 4 }))), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    await produce(log, state, idem({ seq: 3 }));
    await produce(log, state, idem({ epoch: 1, seq: 0 }));
    assert.equal(code(() => state.checkClientBatch(idem({ epoch: 0, seq: 4 }))), ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal(code(() => state.checkClientBatch(idem({ epoch: 2, seq: 5 }))), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.equal(code(() => state.checkClientBatch(idem({ epoch: 2, seq: 0 }))), ErrorCode.NONE);
    assert.equal(state.entry(7)!.epoch, 1);
  });

  test('an unknown producer may start at any sequence; malformed idempotent batches are refused', async () => {
    assert.equal((await produce(log, state, idem({ pid: 99, seq: 41 })))[1], false);
    assert.equal(code(() => state.checkClientBatch(idem({ pid: 99, seq: 43 }))), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.equal(code(() => state.checkClientBatch(idem({ pid: 99, seq: 42 }))), ErrorCode.NONE);
    const noSeq = buildBatch([{ value: 'x' }], { producerId: 5n, producerEpoch: 0, baseSequence: -1 });
    assert.equal(code(() => state.checkClientBatch(noSeq)), ErrorCode.INVALID_RECORD);
    const txnNoPid = buildBatch([{ value: 'x' }], { transactional: true });
    assert.equal(code(() => state.checkClientBatch(txnNoPid)), ErrorCode.INVALID_RECORD);
    const plain = state.checkClientBatch(buildBatch([{ value: 'x' }]));
    assert.deepEqual(plain, { kind: 'append', info: null, startsTransaction: false });
  });

  test('sequence numbers wrap around', async () => {
    await produce(log, state, idem({ seq: 0x7ffffffe, count: 2 }));
    assert.equal(code(() => state.checkClientBatch(idem({ seq: 0 }))), ErrorCode.NONE);
    assert.equal(code(() => state.checkClientBatch(idem({ seq: 1 }))), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });

  test('transactions bound the first unstable offset; aborts are indexed; non-transactional writes inside a transaction are refused', async () => {
    await produce(log, state, buildBatch([{ value: 'plain' }]));
    const t1 = state.checkClientBatch(idem({ pid: 1, seq: 0, txn: true }));
    assert.equal(t1.kind === 'append' && t1.startsTransaction, true);
    await produce(log, state, idem({ pid: 1, seq: 0, count: 2, txn: true })); // 1-2
    await produce(log, state, idem({ pid: 2, seq: 0, txn: true })); // 3
    const more = state.checkClientBatch(idem({ pid: 1, seq: 2, txn: true }));
    assert.equal(more.kind === 'append' && more.startsTransaction, false, 'the transaction is already open here');
    assert.equal(state.firstUnstableOffset(), 1);
    assert.equal(code(() => state.checkClientBatch(idem({ pid: 1, seq: 2 }))), ErrorCode.INVALID_TXN_STATE);
    const abortAt = await marker(log, state, 1, 0, false); // 4
    assert.equal(state.firstUnstableOffset(), 3);
    await marker(log, state, 2, 0, true); // 5
    assert.equal(state.firstUnstableOffset(), null);
    assert.deepEqual(state.abortedTransactions(0, 100), [{ producerId: 1, firstOffset: 1, lastOffset: abortAt, lastStableOffset: 3 }]);
    assert.deepEqual(state.abortedTransactions(5, 100), [], 'ended before the fetch offset');
    assert.deepEqual(state.abortedTransactions(0, 1), [], 'starts at or after the upper bound');
    // Markers with a stale producer epoch or coordinator epoch are refused.
    assert.equal(code(() => state.checkMarker(1, 0, -1)), ErrorCode.TRANSACTION_COORDINATOR_FENCED);
    await marker(log, state, 1, 1, false, 0);
    assert.equal(code(() => state.checkMarker(1, 0, 0)), ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal(code(() => state.checkClientBatch(idem({ pid: 1, epoch: 1, seq: 3 }))), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'after a bump the producer starts at 0');
  });

  test('close writes a snapshot; reopening restores duplicates, epochs, open transactions and the aborted index', async () => {
    for (let i = 0; i < 3; i++) await produce(log, state, idem({ seq: i }));
    await produce(log, state, idem({ pid: 8, seq: 0, txn: true }));
    await produce(log, state, idem({ pid: 9, seq: 0, txn: true }));
    await marker(log, state, 9, 0, false);
    await state.close();
    await log.close();
    assert.ok((await readdir(dir.path)).some((n) => n.endsWith('.snapshot')), 'a snapshot file');
    log = await openLog(dir.path, smallConfig({ segmentBytes: 1 << 20 }), { hadCleanShutdown: true });
    state = await ProducerStateManager.load(log);
    assert.equal(state.mapEndOffset, log.logEndOffset);
    assert.deepEqual(await produce(log, state, idem({ seq: 1 })), [1, true]);
    assert.equal(code(() => state.checkClientBatch(idem({ seq: 4 }))), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.equal(state.firstUnstableOffset(), 3);
    assert.deepEqual(state.abortedTransactions(0, 100).map((t) => [t.producerId, t.firstOffset, t.lastOffset]), [[9, 4, 5]]);
  });

  test('without a clean close the state is rebuilt by replaying the log after the last snapshot', async () => {
    await log.close();
    log = await openLog(dir.path, smallConfig({ segmentBytes: 2048 }));
    state = await ProducerStateManager.load(log);
    let seq = 0;
    // Enough to roll several segments (a snapshot after each roll), and a transaction across them.
    await produce(log, state, idem({ pid: 50, seq: 0, txn: true, size: 100 }));
    for (let i = 0; i < 60; i++) {
      await produce(log, state, idem({ seq, count: 2, size: 100 }));
      seq += 2;
    }
    await marker(log, state, 50, 0, false);
    await produce(log, state, idem({ pid: 51, seq: 0, txn: true }));
    assert.ok(log.segmentCount > 3, 'several segments');
    await new Promise((r) => setTimeout(r, 50)); // let the roll snapshots land
    const snapshots = (await readdir(dir.path)).filter((n) => n.endsWith('.snapshot'));
    assert.ok(snapshots.length >= 1 && snapshots.length <= 2, `kept ${snapshots.join(',')}`);
    const end = log.logEndOffset;
    // "kill -9": the log is reopened without the state's close (no final snapshot).
    await log.close();
    log = await openLog(dir.path, smallConfig({ segmentBytes: 2048 }));
    state = await ProducerStateManager.load(log);
    assert.equal(state.mapEndOffset, end);
    for (let back = 1; back <= 5; back++) {
      const s = seq - back * 2;
      assert.equal((await produce(log, state, idem({ seq: s, count: 2, size: 100 })))[1], true, `retry of seq ${s}`);
    }
    assert.equal((await produce(log, state, idem({ seq, count: 2, size: 100 })))[1], false);
    assert.equal(state.firstUnstableOffset(), end - 1, 'the open transaction of producer 51');
    assert.deepEqual(state.abortedTransactions(0, end).map((t) => [t.producerId, t.firstOffset]), [[50, 0]]);
  });

  test('a damaged snapshot is ignored and the log replayed', async () => {
    for (let i = 0; i < 3; i++) await produce(log, state, idem({ seq: i }));
    await state.close();
    await log.close();
    const { writeFile } = await import('node:fs/promises');
    const name = (await readdir(dir.path)).find((n) => n.endsWith('.snapshot'))!;
    await writeFile(`${dir.path}/${name}`, Buffer.from('garbage that is not a snapshot at all'));
    log = await openLog(dir.path, smallConfig({ segmentBytes: 1 << 20 }), { hadCleanShutdown: true });
    state = await ProducerStateManager.load(log);
    assert.deepEqual(await produce(log, state, idem({ seq: 2 })), [2, true]);
  });

  test('idle producers expire; producers with an open transaction do not', async () => {
    await produce(log, state, idem({ pid: 1, seq: 0 }));
    await produce(log, state, idem({ pid: 2, seq: 0, txn: true }));
    const later = Date.now() + 10_000;
    assert.equal(state.removeExpired(60_000, later), 0);
    assert.equal(state.removeExpired(5_000, later), 1);
    assert.equal(state.entry(1), undefined);
    assert.ok(state.entry(2), 'producer 2 is kept');
    // An expired producer is unknown again: any sequence is accepted.
    assert.equal(code(() => state.checkClientBatch(idem({ pid: 1, seq: 17 }))), ErrorCode.NONE);
  });

  test('truncation drops newer snapshots and aborted entries and rebuilds the state', async () => {
    for (let i = 0; i < 3; i++) await produce(log, state, idem({ seq: i })); // 0..2
    await produce(log, state, idem({ pid: 3, seq: 0, txn: true })); // 3
    await marker(log, state, 3, 0, false); // 4
    await state.takeSnapshot();
    await log.truncateTo(3);
    await state.truncated(3);
    assert.equal(state.mapEndOffset, 3);
    assert.deepEqual(state.abortedTransactions(0, 100), []);
    assert.equal(state.firstUnstableOffset(), null);
    assert.equal(code(() => state.checkClientBatch(idem({ seq: 3 }))), ErrorCode.NONE);
    assert.deepEqual(await produce(log, state, idem({ seq: 2 })), [2, true]);
  });
});

describe('producer state without snapshots', () => {
  test('a log with no snapshot is replayed from its second-to-last segment only (older logs had no producer ids)', async () => {
    const path = await makeTempDir('ganglion-producer-state-');
    try {
      let log = await openLog(path, smallConfig({ segmentBytes: 2048 }));
      // Written without producer state (as before idempotence existed): no snapshots.
      for (let i = 0; i < 40; i++) await log.append(idem({ pid: 1, seq: i, size: 100 }));
      assert.ok(log.segmentCount >= 4, 'several segments');
      const bases = log.segmentInfos().map((s) => s.baseOffset);
      await log.close();
      log = await openLog(path, smallConfig({ segmentBytes: 2048 }), { hadCleanShutdown: true });
      const state = await ProducerStateManager.load(log);
      const entry = state.entry(1)!;
      assert.equal(entry.batches[0]!.firstOffset >= bases[bases.length - 2]!, true, 'nothing read before the second-to-last segment');
      assert.equal(entry.batches.at(-1)!.lastSeq, 39);
      await state.close();
      assert.equal((await readdir(path)).filter((n) => n.endsWith('.snapshot')).length, 1, 'the close wrote one');
      await log.close();
    } finally {
      await removeDir(path);
    }
  });
});
