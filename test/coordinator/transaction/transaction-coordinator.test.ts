/**
 * The transaction coordinator's state machine over an in-memory
 * __transaction_state and a recording marker writer: InitProducerId (new id,
 * epoch bumps, KIP-360 retries, fencing, exhausted epochs), AddPartitions,
 * EndTxn with markers and completion, CONCURRENT_TRANSACTIONS while a write
 * or markers are in flight, timeouts, expiration, replay after a restart
 * (prepared transactions completed), Describe/List, and the record schemas.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TransactionCoordinator } from '../../../src/coordinator/transaction/transaction-coordinator.js';
import {
  TxnState,
  decodeTxnLogKey,
  decodeTxnLogValue,
  encodeTxnLogKey,
  encodeTxnLogValue,
} from '../../../src/coordinator/transaction/txn-log-records.js';
import type { MarkerTarget, TransactionCoordinatorConfig, TransactionHost, TxnLog } from '../../../src/coordinator/transaction/types.js';
import { ErrorCode, KafkaError } from '../../../src/protocol/errors.js';
import { RecordBatch } from '../../../src/protocol/records/index.js';
import { Writer } from '../../../src/protocol/primitives.js';
import { FakeScheduler, MemoryLog, settle } from '../fakes.js';

/** The group coordinator tests' in-memory log, with the leader epoch a TxnLog also has. */
class MemoryTxnLog extends MemoryLog implements TxnLog {
  coordinatorEpoch = 0;

  /** The states written for `id`, in order (null = tombstone). */
  states(id: string): Array<number | null> {
    const out: Array<number | null> = [];
    for (const b of this.batches) {
      for (const r of new RecordBatch(b).records()) {
        if (r.key && decodeTxnLogKey(r.key) === id) out.push(r.value === null ? null : decodeTxnLogValue(r.value).state);
      }
    }
    return out;
  }
}

class MemoryTxnHost implements TransactionHost {
  readonly logs = new Map<number, MemoryTxnLog>();
  readonly markers: MarkerTarget[] = [];
  topics = new Map<string, number>([['orders', 3], ['payments', 2]]);
  created: boolean;
  nextProducerId = 1000;
  /** Error code per "topic-partition" for the next markers (then NONE). */
  markerErrors = new Map<string, number[]>();
  markerGate: Promise<void> | null = null;

  constructor(readonly partitions: number, existing = true) {
    this.created = existing;
    if (existing) this.create();
  }

  private create(): void {
    this.created = true;
    for (let p = 0; p < this.partitions; p++) if (!this.logs.has(p)) this.logs.set(p, new MemoryTxnLog(p));
  }

  txnTopicPartitionCount(): number | null {
    return this.created ? this.partitions : null;
  }

  async ensureTxnTopic(): Promise<void> {
    this.create();
  }

  txnLog(partition: number): TxnLog | null {
    return this.created ? (this.logs.get(partition) ?? null) : null;
  }

  topicPartitionCount(topic: string): number | null {
    return this.topics.get(topic) ?? null;
  }

  async writeMarker(target: MarkerTarget): Promise<number> {
    if (this.markerGate) await this.markerGate;
    const queue = this.markerErrors.get(`${target.topic}-${target.partition}`);
    const code = queue?.shift();
    if (code !== undefined && code !== ErrorCode.NONE) return code;
    this.markers.push(target);
    return ErrorCode.NONE;
  }

  async generateProducerId(): Promise<number> {
    return this.nextProducerId++;
  }
}

const CONFIG: TransactionCoordinatorConfig = {
  txnTopicNumPartitions: 3,
  maxTimeoutMs: 900_000,
  abortTimedOutIntervalMs: 10_000,
  transactionalIdExpirationMs: 7 * 24 * 3600 * 1000,
  removeExpiredIntervalMs: 3600_000,
  loadBufferSize: 1 << 20,
};

async function setup(host = new MemoryTxnHost(3), config: Partial<TransactionCoordinatorConfig> = {}) {
  const scheduler = new FakeScheduler();
  const coordinator = new TransactionCoordinator({ host, scheduler, config: { ...CONFIG, ...config } });
  coordinator.startup();
  await scheduler.advance(0);
  return { host, scheduler, coordinator };
}

async function code(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return ErrorCode.NONE;
  } catch (err) {
    if (err instanceof KafkaError) return err.code;
    throw err;
  }
}

const init = (c: TransactionCoordinator, id: string, producerId = -1, producerEpoch = -1, timeoutMs = 60_000) =>
  c.initProducerId({ transactionalId: id, transactionTimeoutMs: timeoutMs, producerId, producerEpoch });

test('the log records use Kafka schemas: key v0, value v0 (and v1 flexible values are read)', () => {
  const key = encodeTxnLogKey('tx-1');
  assert.deepEqual([...key], [0, 0, 0, 4, ...Buffer.from('tx-1')]);
  assert.equal(decodeTxnLogKey(key), 'tx-1');
  const value = {
    producerId: 42,
    producerEpoch: 3,
    transactionTimeoutMs: 60000,
    state: TxnState.Ongoing,
    partitions: new Map([['orders', [0, 2]]]),
    lastUpdateTimestamp: 1700000000123,
    startTimestamp: 1700000000000,
  };
  const bytes = encodeTxnLogValue(value);
  assert.equal(bytes.readInt16BE(0), 0, 'value version 0');
  assert.deepEqual(decodeTxnLogValue(bytes), value);
  // An Empty state with no partitions writes a null array, as Kafka does.
  const empty = encodeTxnLogValue({ ...value, state: TxnState.Empty, partitions: new Map() });
  assert.deepEqual(decodeTxnLogValue(empty).partitions, new Map());
  // v1: compact strings and arrays, tagged fields.
  const w = new Writer(64);
  w.int16(1).int64(7n).int16(1).int32(1000).int8(TxnState.CompleteCommit);
  w.compactArrayLength(1).compactString('t').compactArrayLength(1).int32(5).uvarint(0);
  w.int64(2n).int64(1n).uvarint(0);
  assert.deepEqual(decodeTxnLogValue(w.toBuffer()), {
    producerId: 7,
    producerEpoch: 1,
    transactionTimeoutMs: 1000,
    state: TxnState.CompleteCommit,
    partitions: new Map([['t', [5]]]),
    lastUpdateTimestamp: 2,
    startTimestamp: 1,
  });
});

test('InitProducerId: a new id gets a producer id at epoch 0; each call bumps the epoch; state is written first', async () => {
  const { coordinator, host } = await setup();
  assert.deepEqual(await init(coordinator, 'a'), { producerId: 1000, producerEpoch: 0 });
  assert.deepEqual(await init(coordinator, 'a'), { producerId: 1000, producerEpoch: 1 });
  assert.deepEqual(await init(coordinator, 'b'), { producerId: 1001, producerEpoch: 0 });
  const log = host.logs.get(coordinator.partitionFor('a'))!;
  assert.deepEqual(log.states('a'), [TxnState.Empty, TxnState.Empty]);
  assert.equal(await code(init(coordinator, 'a', -1, -1, 0)), ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  assert.equal(await code(init(coordinator, 'a', -1, -1, 900_001)), ErrorCode.INVALID_TRANSACTION_TIMEOUT);
});

test('InitProducerId with the current id and epoch (KIP-360) bumps; a retry with the previous epoch gets the same answer; others are fenced', async () => {
  const { coordinator } = await setup();
  const first = await init(coordinator, 'a');
  const bumped = await init(coordinator, 'a', first.producerId, first.producerEpoch);
  assert.equal(bumped.producerEpoch, first.producerEpoch + 1);
  assert.deepEqual(await init(coordinator, 'a', first.producerId, first.producerEpoch), bumped, 'a retry of the same bump');
  assert.equal(await code(init(coordinator, 'a', first.producerId + 77, 0)), ErrorCode.PRODUCER_FENCED);
  assert.equal(await code(init(coordinator, 'a', first.producerId, 9)), ErrorCode.PRODUCER_FENCED);
});

test('an exhausted epoch rotates to a new producer id at epoch 0', async () => {
  const host = new MemoryTxnHost(3);
  const { coordinator, scheduler } = await setup(host);
  await init(coordinator, 'a');
  const p = coordinator.partitionFor('a');
  // Rewrite the state with an epoch at the limit and reload it.
  await host.logs.get(p)!.append(
    (await import('../../../src/protocol/records/index.js')).buildBatch([
      {
        key: encodeTxnLogKey('a'),
        value: encodeTxnLogValue({ producerId: 1000, producerEpoch: 32766, transactionTimeoutMs: 1000, state: TxnState.Empty, partitions: new Map(), lastUpdateTimestamp: 1, startTimestamp: -1 }),
      },
    ]),
  );
  coordinator.close();
  const reloaded = new TransactionCoordinator({ host, scheduler, config: CONFIG });
  reloaded.startup();
  await scheduler.advance(0);
  const next = await init(reloaded, 'a');
  assert.deepEqual(next, { producerId: 1001, producerEpoch: 0 });
  reloaded.close();
});

test('a transaction: AddPartitions starts it, EndTxn prepares, markers go to every partition, then it completes', async () => {
  const { coordinator, host, scheduler } = await setup();
  const { producerId, producerEpoch } = await init(coordinator, 'tx');
  assert.equal(await code(coordinator.endTransaction('tx', producerId, producerEpoch, true)), ErrorCode.INVALID_TXN_STATE, 'nothing to commit');
  const t0 = scheduler.now();
  await coordinator.addPartitions('tx', producerId, producerEpoch, [{ topic: 'orders', partitions: [0, 1] }]);
  await scheduler.advance(500);
  await coordinator.addPartitions('tx', producerId, producerEpoch, [{ topic: 'payments', partitions: [1] }, { topic: 'orders', partitions: [1] }]);
  const d = await coordinator.describe('tx');
  assert.equal(d.state, 'Ongoing');
  assert.equal(d.startTimestamp, t0);
  assert.deepEqual(d.topics, [{ topic: 'orders', partitions: [0, 1] }, { topic: 'payments', partitions: [1] }]);
  assert.deepEqual(await coordinator.addPartitions('tx', producerId, producerEpoch, [{ topic: 'orders', partitions: [0, 2] }], true), [{ topic: 'orders', partitions: [2] }], 'verifyOnly lists what is missing');
  await coordinator.verifyPartition('tx', producerId, producerEpoch, 'orders', 0);
  assert.equal(await code(coordinator.verifyPartition('tx', producerId, producerEpoch, 'orders', 2)), ErrorCode.INVALID_TXN_STATE);
  assert.equal(await code(coordinator.verifyPartition('tx', producerId, producerEpoch + 1, 'orders', 0)), ErrorCode.INVALID_PRODUCER_EPOCH);
  assert.equal(await code(coordinator.verifyPartition('tx', producerId + 1, producerEpoch, 'orders', 0)), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  assert.equal(await code(coordinator.verifyPartition(null, producerId, producerEpoch, 'orders', 0)), ErrorCode.INVALID_TXN_STATE);

  await coordinator.endTransaction('tx', producerId, producerEpoch, true);
  await scheduler.advance(0);
  assert.deepEqual(
    host.markers.map((m) => [m.topic, m.partition, m.commit, m.producerId, m.producerEpoch]).sort(),
    [
      ['orders', 0, true, producerId, producerEpoch],
      ['orders', 1, true, producerId, producerEpoch],
      ['payments', 1, true, producerId, producerEpoch],
    ],
  );
  assert.equal((await coordinator.describe('tx')).state, 'CompleteCommit');
  assert.deepEqual((await coordinator.describe('tx')).topics, []);
  const log = host.logs.get(coordinator.partitionFor('tx'))!;
  assert.deepEqual(log.states('tx'), [TxnState.Empty, TxnState.Ongoing, TxnState.Ongoing, TxnState.PrepareCommit, TxnState.CompleteCommit]);
  // A retried commit is fine; an abort now is not.
  assert.equal(await code(coordinator.endTransaction('tx', producerId, producerEpoch, true)), ErrorCode.NONE);
  assert.equal(await code(coordinator.endTransaction('tx', producerId, producerEpoch, false)), ErrorCode.INVALID_TXN_STATE);
  // The next transaction starts a fresh partition set.
  await coordinator.addPartitions('tx', producerId, producerEpoch, [{ topic: 'orders', partitions: [2] }]);
  assert.deepEqual((await coordinator.describe('tx')).topics, [{ topic: 'orders', partitions: [2] }]);
  coordinator.close();
});

test('requests with a wrong producer id or epoch, or during a write or while markers are pending, get Kafka errors', async () => {
  const { coordinator, host, scheduler } = await setup();
  const { producerId, producerEpoch } = await init(coordinator, 'tx');
  assert.equal(await code(coordinator.addPartitions('nope', producerId, producerEpoch, [{ topic: 'orders', partitions: [0] }])), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  assert.equal(await code(coordinator.addPartitions('tx', producerId + 1, producerEpoch, [{ topic: 'orders', partitions: [0] }])), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  assert.equal(await code(coordinator.addPartitions('tx', producerId, producerEpoch + 1, [{ topic: 'orders', partitions: [0] }])), ErrorCode.PRODUCER_FENCED);
  assert.equal(await code(coordinator.endTransaction('tx', producerId, producerEpoch - 1, true)), ErrorCode.PRODUCER_FENCED);

  const log = host.logs.get(coordinator.partitionFor('tx'))!;
  let release!: () => void;
  log.appendGate = new Promise((r) => (release = r));
  const adding = coordinator.addPartitions('tx', producerId, producerEpoch, [{ topic: 'orders', partitions: [0] }]);
  await settle();
  assert.equal(await code(coordinator.addPartitions('tx', producerId, producerEpoch, [{ topic: 'orders', partitions: [1] }])), ErrorCode.CONCURRENT_TRANSACTIONS);
  assert.equal(await code(init(coordinator, 'tx')), ErrorCode.CONCURRENT_TRANSACTIONS);
  log.appendGate = null;
  release();
  await adding;

  let openMarkers!: () => void;
  host.markerGate = new Promise((r) => (openMarkers = r));
  await coordinator.endTransaction('tx', producerId, producerEpoch, false);
  assert.equal(await code(coordinator.addPartitions('tx', producerId, producerEpoch, [{ topic: 'orders', partitions: [1] }])), ErrorCode.CONCURRENT_TRANSACTIONS);
  assert.equal(await code(coordinator.endTransaction('tx', producerId, producerEpoch, false)), ErrorCode.CONCURRENT_TRANSACTIONS);
  assert.equal(await code(coordinator.endTransaction('tx', producerId, producerEpoch, true)), ErrorCode.INVALID_TXN_STATE);
  assert.equal(await code(init(coordinator, 'tx')), ErrorCode.CONCURRENT_TRANSACTIONS);
  host.markerGate = null;
  openMarkers();
  await scheduler.advance(0);
  assert.equal((await coordinator.describe('tx')).state, 'CompleteAbort');

  // A failed state write changes nothing and reports the coordinator error.
  log.failWith = new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'moved');
  assert.equal(await code(coordinator.addPartitions('tx', producerId, producerEpoch, [{ topic: 'orders', partitions: [0] }])), ErrorCode.NOT_COORDINATOR);
  log.failWith = new KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS, 'isr');
  assert.equal(await code(coordinator.addPartitions('tx', producerId, producerEpoch, [{ topic: 'orders', partitions: [0] }])), ErrorCode.COORDINATOR_NOT_AVAILABLE);
  log.failWith = null;
  assert.equal((await coordinator.describe('tx')).state, 'CompleteAbort');
  coordinator.close();
});

test('a marker the partition cannot take yet is retried; a deleted topic is skipped', async () => {
  const { coordinator, host, scheduler } = await setup();
  const { producerId, producerEpoch } = await init(coordinator, 'tx');
  await coordinator.addPartitions('tx', producerId, producerEpoch, [{ topic: 'orders', partitions: [0, 1] }]);
  host.markerErrors.set('orders-0', [ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.NOT_LEADER_OR_FOLLOWER]);
  host.markerErrors.set('orders-1', [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  await coordinator.endTransaction('tx', producerId, producerEpoch, true);
  await scheduler.advance(0);
  assert.equal((await coordinator.describe('tx')).state, 'PrepareCommit');
  await scheduler.advance(1000);
  assert.equal((await coordinator.describe('tx')).state, 'CompleteCommit');
  assert.deepEqual(host.markers.map((m) => `${m.topic}-${m.partition}`), ['orders-0']);
  coordinator.close();
});

test('a second producer with the same transactional id aborts the open transaction of the first, which is fenced', async () => {
  const { coordinator, host, scheduler } = await setup();
  const first = await init(coordinator, 'tx');
  await coordinator.addPartitions('tx', first.producerId, first.producerEpoch, [{ topic: 'orders', partitions: [0] }]);
  assert.equal(await code(init(coordinator, 'tx')), ErrorCode.CONCURRENT_TRANSACTIONS, 'the new producer retries while the abort completes');
  await scheduler.advance(0);
  assert.deepEqual(host.markers.map((m) => [m.commit, m.producerEpoch]), [[false, first.producerEpoch + 1]], 'aborted with a fenced epoch');
  const second = await init(coordinator, 'tx');
  assert.deepEqual(second, { producerId: first.producerId, producerEpoch: first.producerEpoch + 2 });
  assert.equal(await code(coordinator.addPartitions('tx', first.producerId, first.producerEpoch, [{ topic: 'orders', partitions: [0] }])), ErrorCode.PRODUCER_FENCED);
  assert.equal(await code(coordinator.endTransaction('tx', first.producerId, first.producerEpoch, true)), ErrorCode.PRODUCER_FENCED);
  assert.equal(await code(coordinator.verifyPartition('tx', first.producerId, first.producerEpoch, 'orders', 0)), ErrorCode.INVALID_PRODUCER_EPOCH);
  coordinator.close();
});

test('a transaction past its timeout is aborted with the epoch bumped; the timer keeps running', async () => {
  const { coordinator, host, scheduler } = await setup(undefined, { abortTimedOutIntervalMs: 1000 });
  const p = await init(coordinator, 'slow', -1, -1, 5000);
  await coordinator.addPartitions('slow', p.producerId, p.producerEpoch, [{ topic: 'orders', partitions: [2] }]);
  await scheduler.advance(4000);
  assert.equal((await coordinator.describe('slow')).state, 'Ongoing');
  await scheduler.advance(3000);
  const d = await coordinator.describe('slow');
  assert.equal(d.state, 'CompleteAbort');
  assert.equal(d.producerEpoch, p.producerEpoch + 1);
  assert.deepEqual(host.markers.map((m) => [m.topic, m.partition, m.commit]), [['orders', 2, false]]);
  assert.equal(await code(coordinator.endTransaction('slow', p.producerId, p.producerEpoch, true)), ErrorCode.PRODUCER_FENCED);
  // A second transaction also times out: the timer is periodic.
  const again = await init(coordinator, 'slow', -1, -1, 5000);
  await coordinator.addPartitions('slow', again.producerId, again.producerEpoch, [{ topic: 'orders', partitions: [0] }]);
  await scheduler.advance(7000);
  assert.equal((await coordinator.describe('slow')).state, 'CompleteAbort');
  coordinator.close();
});

test('idle transactional ids expire (a tombstone is written); open transactions do not', async () => {
  const { coordinator, host, scheduler } = await setup(undefined, { transactionalIdExpirationMs: 60_000, removeExpiredIntervalMs: 10_000, abortTimedOutIntervalMs: 3_600_000 });
  await init(coordinator, 'idle');
  const busy = await init(coordinator, 'busy', -1, -1, 900_000);
  await coordinator.addPartitions('busy', busy.producerId, busy.producerEpoch, [{ topic: 'orders', partitions: [0] }]);
  await scheduler.advance(75_000);
  assert.equal((await coordinator.describe('idle')).errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
  assert.equal((await coordinator.describe('busy')).state, 'Ongoing');
  assert.deepEqual(host.logs.get(coordinator.partitionFor('idle'))!.states('idle'), [TxnState.Empty, null]);
  coordinator.close();
});

test('a restart replays __transaction_state and completes the transactions it finds prepared', async () => {
  const host = new MemoryTxnHost(3);
  const { coordinator, scheduler } = await setup(host);
  const a = await init(coordinator, 'a');
  await coordinator.addPartitions('a', a.producerId, a.producerEpoch, [{ topic: 'orders', partitions: [1] }]);
  const b = await init(coordinator, 'b');
  await coordinator.addPartitions('b', b.producerId, b.producerEpoch, [{ topic: 'payments', partitions: [0] }]);
  // The markers of a's commit never get written: the broker "crashes" after PrepareCommit.
  host.markerGate = new Promise(() => {});
  await coordinator.endTransaction('a', a.producerId, a.producerEpoch, true);
  coordinator.close();
  host.markerGate = null;
  const restarted = new TransactionCoordinator({ host, scheduler, config: CONFIG });
  restarted.startup();
  await scheduler.advance(0);
  assert.deepEqual(host.markers.map((m) => [m.topic, m.partition, m.commit, m.producerId]), [['orders', 1, true, a.producerId]]);
  assert.equal((await restarted.describe('a')).state, 'CompleteCommit');
  const db = await restarted.describe('b');
  assert.equal(db.state, 'Ongoing');
  assert.deepEqual(db.topics, [{ topic: 'payments', partitions: [0] }]);
  // Epochs continue from the log.
  assert.deepEqual(await init(restarted, 'a'), { producerId: a.producerId, producerEpoch: a.producerEpoch + 1 });
  restarted.close();
});

test('DescribeTransactions and ListTransactions (state, producer id and duration filters)', async () => {
  const { coordinator, scheduler } = await setup();
  const a = await init(coordinator, 'a');
  await coordinator.addPartitions('a', a.producerId, a.producerEpoch, [{ topic: 'orders', partitions: [0] }]);
  await scheduler.advance(5000);
  const b = await init(coordinator, 'b');
  await coordinator.addPartitions('b', b.producerId, b.producerEpoch, [{ topic: 'orders', partitions: [1] }]);
  await init(coordinator, 'c');
  const all = coordinator.list([], []);
  assert.deepEqual(all.transactions.map((t) => t.transactionalId).sort(), ['a', 'b', 'c']);
  assert.deepEqual(coordinator.list(['Ongoing'], []).transactions.map((t) => t.transactionalId).sort(), ['a', 'b']);
  assert.deepEqual(coordinator.list([], [b.producerId]).transactions.map((t) => t.transactionalId), ['b']);
  assert.deepEqual(coordinator.list([], [], 3000).transactions.map((t) => t.transactionalId), ['a'], 'running for at least 3 s');
  assert.deepEqual(coordinator.list(['Bogus', 'Empty'], []).unknownStateFilters, ['Bogus']);
  const d = await coordinator.describe('c');
  assert.deepEqual({ ...d }, { errorCode: 0, transactionalId: 'c', state: 'Empty', timeoutMs: 60000, startTimestamp: -1, producerId: d.producerId, producerEpoch: 0, topics: [] });
  assert.equal((await coordinator.describe('zzz')).errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
  coordinator.close();
});

test('the topic is created on first use; requests wait for nothing else', async () => {
  const host = new MemoryTxnHost(3, false);
  const { coordinator } = await setup(host);
  assert.equal(host.txnTopicPartitionCount(), null);
  assert.deepEqual(await init(coordinator, 'x'), { producerId: 1000, producerEpoch: 0 });
  assert.equal(host.txnTopicPartitionCount(), 3);
  coordinator.close();
  assert.equal(await code(init(coordinator, 'x')), ErrorCode.COORDINATOR_NOT_AVAILABLE, 'closed');
});

test('with completionWaitMs, EndTxn answers once the markers are written, or when the wait runs out', async () => {
  const { coordinator, host, scheduler } = await setup(undefined, { completionWaitMs: 2000 });
  const p = await init(coordinator, 'tx');
  await coordinator.addPartitions('tx', p.producerId, p.producerEpoch, [{ topic: 'orders', partitions: [0] }]);
  await coordinator.endTransaction('tx', p.producerId, p.producerEpoch, true);
  assert.equal((await coordinator.describe('tx')).state, 'CompleteCommit', 'complete when EndTxn answers');
  // The next transaction starts at once: no CONCURRENT_TRANSACTIONS.
  await coordinator.addPartitions('tx', p.producerId, p.producerEpoch, [{ topic: 'orders', partitions: [1] }]);
  let open!: () => void;
  host.markerGate = new Promise((r) => (open = r));
  let answered = false;
  const ending = coordinator.endTransaction('tx', p.producerId, p.producerEpoch, false).then(() => (answered = true));
  await scheduler.advance(1000);
  assert.equal(answered, false);
  await scheduler.advance(1500);
  assert.equal(answered, true, 'answered after the wait');
  await ending;
  assert.equal((await coordinator.describe('tx')).state, 'PrepareAbort');
  host.markerGate = null;
  open();
  await scheduler.advance(0);
  assert.equal((await coordinator.describe('tx')).state, 'CompleteAbort');
  coordinator.close();
});
