/**
 * Transactions over the wire against an in-process broker, with the
 * generated codecs: FindCoordinator for transactional ids, the full
 * InitProducerId / AddPartitionsToTxn / Produce / EndTxn cycle with the last
 * stable offset (ListOffsets and Fetch read_committed) and the aborted
 * transactions Fetch reports, TxnOffsetCommit visible only on commit,
 * timeouts, bad input answered with Kafka's codes, Describe/List/
 * DescribeProducers, and a restart with a transaction open.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { ApiKey } from '../../../src/protocol/messages/api-table.js';
import { buildBatch, readTxnMarker, scanBatches } from '../../../src/protocol/records/index.js';
import { makeTempDir, removeDir, sleep, startTestBroker, waitFor, type TestBroker } from '../../helpers/broker.js';
import { RawConnection } from '../../interop/raw-client.js';

const CONFIG = {
  'num.partitions': 2,
  'transaction.state.log.num.partitions': 3,
  'offsets.topic.num.partitions': 2,
  'transaction.abort.timed.out.transaction.cleanup.interval.ms': 100,
};

interface Producer {
  id: string;
  pid: bigint;
  epoch: number;
  seq: Map<string, number>;
}

class Client {
  constructor(
    readonly conn: RawConnection,
    private readonly topic: string,
  ) {}

  static async open(b: TestBroker, topic: string): Promise<Client> {
    const conn = await RawConnection.connect(b.port);
    const c = new Client(conn, topic);
    const md = await conn.request(ApiKey.Metadata, 9, { topics: [{ name: topic }], allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    assert.equal(md.topics[0]!.errorCode, 0);
    return c;
  }

  async init(id: string, timeoutMs = 60000, version = 4): Promise<Producer> {
    for (;;) {
      const r = await this.conn.request(ApiKey.InitProducerId, version, { transactionalId: id, transactionTimeoutMs: timeoutMs, producerId: -1n, producerEpoch: -1 });
      if (r.errorCode === ErrorCode.CONCURRENT_TRANSACTIONS || r.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
        await sleep(20);
        continue;
      }
      assert.equal(r.errorCode, 0, `InitProducerId ${id}`);
      return { id, pid: r.producerId, epoch: r.producerEpoch, seq: new Map() };
    }
  }

  async add(p: Producer, partitions: number[], topic = this.topic, version = 3): Promise<number[]> {
    const r = await this.conn.request(ApiKey.AddPartitionsToTxn, version, {
      v3AndBelowTransactionalId: p.id,
      v3AndBelowProducerId: p.pid,
      v3AndBelowProducerEpoch: p.epoch,
      v3AndBelowTopics: [{ name: topic, partitions }],
    });
    return r.resultsByTopicV3AndBelow![0]!.resultsByPartition.map((x) => x.partitionErrorCode);
  }

  async produce(p: Producer | null, partition: number, values: string[], opts: { transactional?: boolean; transactionalId?: string | null } = {}) {
    const key = `${this.topic}-${partition}`;
    const seq = p?.seq.get(key) ?? 0;
    const batch = buildBatch(
      values.map((value) => ({ value })),
      p === null ? {} : { producerId: p.pid, producerEpoch: p.epoch, baseSequence: seq, transactional: opts.transactional ?? true },
    );
    const r = await this.conn.request(ApiKey.Produce, 9, {
      transactionalId: opts.transactionalId !== undefined ? opts.transactionalId : (p?.id ?? null),
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: this.topic, partitionData: [{ index: partition, records: batch }] }],
    });
    const res = r.responses[0]!.partitionResponses[0]!;
    if (res.errorCode === 0 && p) p.seq.set(key, seq + values.length);
    return res;
  }

  async end(p: Producer, commit: boolean, version = 3): Promise<number> {
    for (;;) {
      const r = await this.conn.request(ApiKey.EndTxn, version, { transactionalId: p.id, producerId: p.pid, producerEpoch: p.epoch, committed: commit });
      if (r.errorCode === ErrorCode.CONCURRENT_TRANSACTIONS) {
        await sleep(10);
        continue;
      }
      return r.errorCode;
    }
  }

  async listOffset(partition: number, isolationLevel: number): Promise<bigint> {
    const r = await this.conn.request(ApiKey.ListOffsets, 5, { replicaId: -1, isolationLevel, topics: [{ name: this.topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n }] }] });
    return r.topics[0]!.partitions[0]!.offset ?? -1n;
  }

  async fetch(partition: number, isolationLevel: number, fetchOffset = 0n) {
    const r = await this.conn.request(ApiKey.Fetch, 11, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: this.topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
    const data = r.responses[0]!.partitions[0]!;
    const batches = data.records ? scanBatches(data.records).batches : [];
    const values: string[] = [];
    const markers: string[] = [];
    for (const b of batches) {
      if (b.isControl) markers.push(readTxnMarker(b)!.commit ? 'COMMIT' : 'ABORT');
      else for (const rec of b.records()) values.push(rec.value!.toString());
    }
    return { data, values, markers };
  }

  async describe(ids: string[]) {
    return (await this.conn.request(ApiKey.DescribeTransactions, 0, { transactionalIds: ids })).transactionStates;
  }
}

const READ_UNCOMMITTED = 0;
const READ_COMMITTED = 1;

describe('transactions over the wire', () => {
  let b: TestBroker;
  let c: Client;
  const topic = 'txn-wire';

  before(async () => {
    b = await startTestBroker({ config: CONFIG });
    c = await Client.open(b, topic);
  });
  after(async () => {
    c?.conn.close();
    await b?.close();
  });

  test('FindCoordinator answers transactional ids with this broker (v1 and batched v4), creating __transaction_state', async () => {
    const v1 = await c.conn.request(ApiKey.FindCoordinator, 1, { key: 'tx-find', keyType: 1 });
    assert.equal(v1.errorCode, 0);
    assert.equal(v1.port, b.port);
    const v4 = await c.conn.request(ApiKey.FindCoordinator, 4, { keyType: 1, coordinatorKeys: ['a', 'b'] });
    assert.deepEqual(v4.coordinators!.map((x) => [x.key, x.errorCode, x.port]), [['a', 0, b.port], ['b', 0, b.port]]);
    const md = await c.conn.request(ApiKey.Metadata, 9, { topics: [{ name: '__transaction_state' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    assert.equal(md.topics[0]!.partitions.length, 3);
    assert.equal(md.topics[0]!.isInternal, true);
  });

  test('commit: the last stable offset holds read_committed readers at the open transaction until its COMMIT marker', async () => {
    const p = await c.init('tx-commit');
    assert.equal((await c.produce(null, 0, ['before'])).errorCode, 0);
    assert.deepEqual(await c.add(p, [0]), [0]);
    const first = await c.produce(p, 0, ['t1', 't2']);
    assert.equal(first.errorCode, 0);
    assert.equal((await c.produce(null, 0, ['plain-during'])).errorCode, 0);
    assert.equal(await c.listOffset(0, READ_COMMITTED), first.baseOffset, 'LSO at the transaction start');
    assert.equal(await c.listOffset(0, READ_UNCOMMITTED), first.baseOffset + 3n);
    const pending = await c.fetch(0, READ_COMMITTED);
    assert.deepEqual(pending.values, ['before']);
    assert.equal(pending.data.lastStableOffset, first.baseOffset);
    assert.equal(await c.end(p, true), 0);
    await waitFor(async () => (await c.listOffset(0, READ_COMMITTED)) === first.baseOffset + 4n, { what: 'LSO after the COMMIT marker' });
    const done = await c.fetch(0, READ_COMMITTED);
    assert.deepEqual(done.values, ['before', 't1', 't2', 'plain-during']);
    assert.deepEqual(done.markers, ['COMMIT']);
    assert.deepEqual(done.data.abortedTransactions, []);
    assert.equal((await c.describe(['tx-commit']))[0]!.transactionState, 'CompleteCommit');
  });

  test('abort: read_committed fetches list the aborted transaction, read_uncommitted ones do not', async () => {
    const p = await c.init('tx-abort');
    assert.deepEqual(await c.add(p, [1]), [0]);
    const a = await c.produce(p, 1, ['x1', 'x2', 'x3']);
    assert.equal(a.errorCode, 0);
    assert.equal(await c.end(p, false), 0);
    await waitFor(async () => (await c.describe(['tx-abort']))[0]!.transactionState === 'CompleteAbort', { what: 'CompleteAbort' });
    const committed = await c.fetch(1, READ_COMMITTED);
    assert.deepEqual(committed.data.abortedTransactions, [{ producerId: p.pid, firstOffset: a.baseOffset }]);
    assert.deepEqual(committed.values, ['x1', 'x2', 'x3'], 'the broker returns the records; the client drops them');
    assert.deepEqual(committed.markers, ['ABORT']);
    assert.equal((await c.fetch(1, READ_UNCOMMITTED)).data.abortedTransactions, null);
    // A fetch starting after the aborted transaction does not list it.
    const later = await c.fetch(1, READ_COMMITTED, a.baseOffset + 4n);
    assert.deepEqual(later.data.abortedTransactions, []);
  });

  test('bad input gets Kafka error codes and never pins the last stable offset', async () => {
    const p = await c.init('tx-bad');
    // A transactional batch for a partition not added to a transaction.
    assert.equal((await c.produce(p, 0, ['stray'])).errorCode, ErrorCode.INVALID_TXN_STATE);
    // Transactional batch without a transactional id in the request.
    assert.deepEqual(await c.add(p, [0]), [0]);
    assert.equal((await c.produce(p, 0, ['no-id'], { transactionalId: null })).errorCode, ErrorCode.INVALID_TXN_STATE);
    // A forged producer id for an existing transactional id; an unknown transactional id.
    const forged = { ...p, pid: p.pid + 100n, seq: new Map() };
    assert.equal((await c.produce(forged, 0, ['forged'])).errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    assert.deepEqual(await c.add({ ...p, id: 'never-initialised' }, [0]), [ErrorCode.INVALID_PRODUCER_ID_MAPPING]);
    assert.deepEqual(await c.add(p, [0, 7]), [ErrorCode.OPERATION_NOT_ATTEMPTED, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    // Old epochs: PRODUCER_FENCED from v2, INVALID_PRODUCER_EPOCH before.
    const stale = { ...p, epoch: p.epoch - 1 };
    assert.equal(await c.end(stale, true, 1), ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal(await c.end(stale, true, 3), ErrorCode.PRODUCER_FENCED);
    assert.deepEqual(await c.add(stale, [0], topic, 1), [ErrorCode.INVALID_PRODUCER_EPOCH]);
    // Nothing was written in the open transaction: the LSO is the high watermark.
    assert.equal(await c.listOffset(0, READ_COMMITTED), await c.listOffset(0, READ_UNCOMMITTED));
    assert.equal(await c.end(p, false), 0);
    await waitFor(async () => (await c.describe(['tx-bad']))[0]!.transactionState === 'CompleteAbort');
    assert.equal(await c.end(p, true), ErrorCode.INVALID_TXN_STATE, 'commit after the abort');
    const fresh = await c.init('tx-bad');
    assert.equal(await c.end(fresh, true), ErrorCode.INVALID_TXN_STATE, 'no transaction open');
    const timeout = await c.conn.request(ApiKey.InitProducerId, 4, { transactionalId: 'tx-bad', transactionTimeoutMs: 3_600_000, producerId: -1n, producerEpoch: -1 });
    assert.equal(timeout.errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    // KIP-360 with a foreign producer id: fenced (v4) / invalid epoch (v3).
    const v4 = await c.conn.request(ApiKey.InitProducerId, 4, { transactionalId: 'tx-bad', transactionTimeoutMs: 60000, producerId: 999999n, producerEpoch: 0 });
    assert.equal(v4.errorCode, ErrorCode.PRODUCER_FENCED);
    const v3 = await c.conn.request(ApiKey.InitProducerId, 3, { transactionalId: 'tx-bad', transactionTimeoutMs: 60000, producerId: 999999n, producerEpoch: 0 });
    assert.equal(v3.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    // WriteTxnMarkers: unknown topic; then an epoch older than one the partition has seen; a stale coordinator epoch.
    const marker = (producerEpoch: number, coordinatorEpoch: number, name = topic) =>
      c.conn.request(ApiKey.WriteTxnMarkers, 1, {
        markers: [{ producerId: fresh.pid, producerEpoch, transactionResult: false, coordinatorEpoch, topics: [{ name, partitionIndexes: [0] }] }],
      });
    const codeOf = (r: Awaited<ReturnType<typeof marker>>) => r.markers[0]!.topics[0]!.partitions[0]!.errorCode;
    assert.equal(codeOf(await marker(fresh.epoch, 0, 'no-such-topic')), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(codeOf(await marker(fresh.epoch + 1, 5)), ErrorCode.NONE);
    assert.equal(codeOf(await marker(fresh.epoch, 5)), ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal(codeOf(await marker(fresh.epoch + 1, 4)), ErrorCode.TRANSACTION_COORDINATOR_FENCED);
  });

  test('a second producer with the same transactional id fences the first; the first one\'s writes are refused', async () => {
    const a = await c.init('tx-fence');
    assert.deepEqual(await c.add(a, [1]), [0]);
    assert.equal((await c.produce(a, 1, ['a1'])).errorCode, 0);
    const bProducer = await c.init('tx-fence');
    assert.equal(bProducer.pid, a.pid);
    assert.ok(bProducer.epoch >= a.epoch + 2, 'the epoch was bumped twice');
    assert.equal((await c.produce(a, 1, ['a2'])).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal(await c.end(a, true), ErrorCode.PRODUCER_FENCED);
    assert.deepEqual(await c.add(bProducer, [1]), [0]);
    assert.equal((await c.produce(bProducer, 1, ['b1'])).errorCode, 0);
    assert.equal(await c.end(bProducer, true), 0);
    await waitFor(async () => (await c.describe(['tx-fence']))[0]!.transactionState === 'CompleteCommit');
    const read = await c.fetch(1, READ_COMMITTED);
    assert.ok(read.values.includes('b1'), 'b\'s record is visible');
    assert.ok(read.data.abortedTransactions!.some((t) => t.producerId === a.pid), 'a\'s transaction was aborted');
  });

  test('a transaction past its timeout is aborted and the last stable offset moves on', async () => {
    const p = await c.init('tx-timeout', 300);
    assert.deepEqual(await c.add(p, [0]), [0]);
    const r = await c.produce(p, 0, ['late']);
    assert.equal(r.errorCode, 0);
    assert.equal(await c.listOffset(0, READ_COMMITTED), r.baseOffset);
    await waitFor(async () => (await c.listOffset(0, READ_COMMITTED)) > r.baseOffset, { timeoutMs: 5000, what: 'the timeout abort' });
    // The markers (which move the LSO) are written before the CompleteAbort state record.
    await waitFor(async () => (await c.describe(['tx-timeout']))[0]!.transactionState === 'CompleteAbort', { timeoutMs: 5000, what: 'CompleteAbort' });
    const d = (await c.describe(['tx-timeout']))[0]!;
    assert.equal(d.producerEpoch, p.epoch + 1, 'the zombie is fenced');
    assert.equal((await c.produce(p, 0, ['zombie'])).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  test('TxnOffsetCommit: offsets become visible only when the transaction commits', async () => {
    const group = 'txn-offsets-group';
    const fetchOffset = async () => {
      const r = await c.conn.request(ApiKey.OffsetFetch, 7, { groupId: group, topics: [{ name: topic, partitionIndexes: [0] }], requireStable: false });
      return r.topics![0]!.partitions[0]!.committedOffset;
    };
    const commitOffsets = async (p: Producer, offset: bigint) => {
      const r = await c.conn.request(ApiKey.TxnOffsetCommit, 3, {
        transactionalId: p.id,
        groupId: group,
        producerId: p.pid,
        producerEpoch: p.epoch,
        generationId: -1,
        memberId: '',
        groupInstanceId: null,
        topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: 'm' }] }],
      });
      return r.topics[0]!.partitions[0]!.errorCode;
    };
    const addOffsets = async (p: Producer) => {
      for (;;) {
        const r = await c.conn.request(ApiKey.AddOffsetsToTxn, 3, { transactionalId: p.id, producerId: p.pid, producerEpoch: p.epoch, groupId: group });
        // The previous transaction may still be completing (its markers): clients retry.
        if (r.errorCode !== ErrorCode.CONCURRENT_TRANSACTIONS) return r.errorCode;
        await sleep(10);
      }
    };
    const p = await c.init('tx-offsets');
    const emptyGroupAdd = await c.conn.request(ApiKey.AddOffsetsToTxn, 3, { transactionalId: p.id, producerId: p.pid, producerEpoch: p.epoch, groupId: '' });
    assert.equal(emptyGroupAdd.errorCode, ErrorCode.INVALID_GROUP_ID);
    const emptyGroupCommit = await c.conn.request(ApiKey.TxnOffsetCommit, 3, {
      transactionalId: p.id,
      groupId: '',
      producerId: p.pid,
      producerEpoch: p.epoch,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    assert.equal(emptyGroupCommit.topics[0]!.partitions[0]!.errorCode, ErrorCode.INVALID_GROUP_ID);
    assert.equal(await commitOffsets(p, 5n), ErrorCode.INVALID_TXN_STATE, 'AddOffsetsToTxn first');
    assert.equal(await addOffsets(p), 0);
    assert.equal(await commitOffsets(p, 5n), 0);
    assert.equal(await fetchOffset(), -1n, 'not visible before the commit');
    const stable = await c.conn.request(ApiKey.OffsetFetch, 7, { groupId: group, topics: [{ name: topic, partitionIndexes: [0, 1] }], requireStable: true });
    assert.deepEqual(
      stable.topics![0]!.partitions.map((x) => [x.partitionIndex, x.errorCode]),
      [[0, ErrorCode.UNSTABLE_OFFSET_COMMIT], [1, ErrorCode.NONE]],
      'require_stable: pending in an open transaction',
    );
    assert.equal(await c.end(p, true), 0);
    await waitFor(async () => (await fetchOffset()) === 5n, { what: 'the committed offset' });
    const settled = await c.conn.request(ApiKey.OffsetFetch, 7, { groupId: group, topics: [{ name: topic, partitionIndexes: [0] }], requireStable: true });
    assert.deepEqual([settled.topics![0]!.partitions[0]!.errorCode, settled.topics![0]!.partitions[0]!.committedOffset], [0, 5n]);

    assert.equal(await addOffsets(p), 0);
    assert.equal(await commitOffsets(p, 9n), 0);
    assert.equal(await c.end(p, false), 0);
    await waitFor(async () => (await c.describe(['tx-offsets']))[0]!.transactionState === 'CompleteAbort');
    assert.equal(await fetchOffset(), 5n, 'an aborted transaction\'s offsets never show');
    assert.equal(await commitOffsets({ ...p, epoch: p.epoch - 1 }, 1n), ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  test('AddPartitionsToTxn v4 (the brokers\' batched form) adds or only verifies, per transaction', async () => {
    const a = await c.init('tx-v4-a');
    const bp = await c.init('tx-v4-b');
    const r = await c.conn.request(ApiKey.AddPartitionsToTxn, 4, {
      transactions: [
        { transactionalId: a.id, producerId: a.pid, producerEpoch: a.epoch, verifyOnly: false, topics: [{ name: topic, partitions: [0] }] },
        { transactionalId: bp.id, producerId: bp.pid, producerEpoch: bp.epoch, verifyOnly: true, topics: [{ name: topic, partitions: [1] }] },
        { transactionalId: 'tx-v4-none', producerId: 1n, producerEpoch: 0, verifyOnly: false, topics: [{ name: topic, partitions: [1] }] },
      ],
    });
    assert.equal(r.errorCode, 0);
    assert.deepEqual(
      r.resultsByTransaction!.map((t) => [t.transactionalId, t.topicResults[0]!.resultsByPartition[0]!.partitionErrorCode]),
      [[a.id, ErrorCode.NONE], [bp.id, ErrorCode.INVALID_TXN_STATE], ['tx-v4-none', ErrorCode.INVALID_PRODUCER_ID_MAPPING]],
    );
    const verify = await c.conn.request(ApiKey.AddPartitionsToTxn, 5, {
      transactions: [{ transactionalId: a.id, producerId: a.pid, producerEpoch: a.epoch, verifyOnly: true, topics: [{ name: topic, partitions: [0, 1] }] }],
    });
    assert.deepEqual(verify.resultsByTransaction![0]!.topicResults[0]!.resultsByPartition.map((x) => x.partitionErrorCode), [ErrorCode.NONE, ErrorCode.INVALID_TXN_STATE]);
    assert.equal(await c.end(a, false), 0);
    // KIP-360 InitProducerId with a foreign producer id: INVALID_PRODUCER_EPOCH before v4.
    const v3 = await c.conn.request(ApiKey.InitProducerId, 3, { transactionalId: a.id, transactionTimeoutMs: 60000, producerId: a.pid + 1000n, producerEpoch: 0 });
    assert.equal(v3.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  test('DescribeTransactions, ListTransactions and DescribeProducers', async () => {
    const p = await c.init('tx-describe');
    assert.deepEqual(await c.add(p, [1]), [0]);
    const r = await c.produce(p, 1, ['d']);
    const [d] = await c.describe(['tx-describe']);
    assert.equal(d!.transactionState, 'Ongoing');
    assert.equal(d!.producerId, p.pid);
    assert.deepEqual(d!.topics.map((t) => [t.topic, t.partitions]), [[topic, [1]]]);
    assert.ok(d!.transactionStartTimeMs > 0n, 'a start time');
    assert.equal((await c.describe(['who']))[0]!.errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    const list = await c.conn.request(ApiKey.ListTransactions, 1, { stateFilters: ['Ongoing'], producerIdFilters: [], durationFilter: -1n });
    assert.ok(list.transactionStates.some((t) => t.transactionalId === 'tx-describe' && t.transactionState === 'Ongoing'), 'listed');
    assert.ok(list.transactionStates.every((t) => t.transactionState === 'Ongoing'), 'only Ongoing ones');
    const producers = await c.conn.request(ApiKey.DescribeProducers, 0, { topics: [{ name: topic, partitionIndexes: [1] }] });
    const mine = producers.topics[0]!.partitions[0]!.activeProducers.find((x) => x.producerId === p.pid)!;
    assert.equal(mine.currentTxnStartOffset, r.baseOffset);
    assert.equal(mine.lastSequence, 0);
    assert.equal(await c.end(p, true), 0);
  });
});

test('a restart keeps open transactions (state, last stable offset) and committed transactional offsets; the timeout still aborts', async () => {
  const dir = await makeTempDir('ganglion-txn-restart-');
  const topic = 'txn-restart';
  try {
    let b = await startTestBroker({ dir, config: CONFIG });
    let c = await Client.open(b, topic);
    const p = await c.init('tx-restart', 1500);
    assert.deepEqual(await c.add(p, [0]), [0]);
    const r = await c.produce(p, 0, ['open-1', 'open-2']);
    assert.equal(r.errorCode, 0);
    c.conn.close();
    await b.close();

    b = await startTestBroker({ dir, config: CONFIG });
    c = await Client.open(b, topic);
    await waitFor(async () => (await c.describe(['tx-restart']))[0]!.errorCode !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, { what: 'the load' });
    const [d] = await c.describe(['tx-restart']);
    assert.equal(d!.errorCode, 0);
    assert.ok(['Ongoing', 'PrepareAbort', 'CompleteAbort'].includes(d!.transactionState), d!.transactionState);
    if (d!.transactionState === 'Ongoing') assert.equal(await c.listOffset(0, READ_COMMITTED), r.baseOffset, 'still pinned after the restart');
    await waitFor(async () => (await c.describe(['tx-restart']))[0]!.transactionState === 'CompleteAbort', { timeoutMs: 5000, what: 'the timeout abort after the restart' });
    assert.equal(await c.listOffset(0, READ_COMMITTED), await c.listOffset(0, READ_UNCOMMITTED));
    const read = await c.fetch(0, READ_COMMITTED);
    assert.deepEqual(read.data.abortedTransactions, [{ producerId: p.pid, firstOffset: r.baseOffset }]);
    c.conn.close();
    await b.close();
  } finally {
    await removeDir(dir);
  }
});
