/**
 * The marker channel against a real broker over the wire: markers for
 * several partitions (and producers) answered per partition, the broker's
 * WriteTxnMarkers refusing a stale coordinator epoch, unknown topics, an
 * unknown broker and a broker that went away.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Admin } from '../../../src/client/index.js';
import { BrokerConnection } from '../../../src/client/connection.js';
import { silentLogger } from '../../../src/logging.js';
import { TxnMarkerChannel } from '../../../src/coordinator/transaction/marker-channel.js';
import type { MarkerTarget } from '../../../src/coordinator/transaction/types.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { ApiKey } from '../../../src/protocol/messages/api-table.js';
import { freePort, startTestBroker, type TestBroker } from '../../helpers/broker.js';

const TOPIC = 'markers';
const REMOTE = 7;
let broker: TestBroker;
let channel: TxnMarkerChannel;

before(async () => {
  broker = await startTestBroker();
  const admin = new Admin({ 'bootstrap.servers': broker.bootstrap });
  try {
    await admin.createTopics([{ topic: TOPIC, numPartitions: 2, replicationFactor: 1 }]);
  } finally {
    await admin.close();
  }
  channel = new TxnMarkerChannel({
    brokerId: 1,
    addressOf: (id) => (id === REMOTE ? { host: broker.host, port: broker.port } : undefined),
    requestTimeoutMs: 5000,
    logger: silentLogger,
  });
});

after(async () => {
  channel?.close();
  await broker?.close();
});

function marker(partition: number, changes: Partial<MarkerTarget> = {}): MarkerTarget {
  return { topic: TOPIC, partition, producerId: 42, producerEpoch: 0, commit: true, coordinatorEpoch: 3, ...changes };
}

/** Log end offsets of the topic's partitions (each marker is one control record). */
async function endOffsets(): Promise<number[]> {
  const conn = await BrokerConnection.open({ host: broker.host, port: broker.port, clientId: 'test', requestTimeoutMs: 5000, connectTimeoutMs: 5000, maxResponseBytes: 1 << 20 });
  try {
    const r = await conn.request(ApiKey.ListOffsets, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: TOPIC, partitions: [0, 1].map((p) => ({ partitionIndex: p, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 })) }],
    });
    return r.topics[0]!.partitions.sort((a, b) => a.partitionIndex - b.partitionIndex).map((p) => Number(p.offset));
  } finally {
    conn.close();
  }
}

test('markers issued together reach the leader and each partition gets its own answer', async () => {
  const before = await endOffsets();
  const codes = await Promise.all([
    channel.send(REMOTE, marker(0)),
    channel.send(REMOTE, marker(1)),
    // Another producer in the same request, and the same producer with another epoch (next request).
    channel.send(REMOTE, marker(0, { producerId: 43, commit: false })),
    channel.send(REMOTE, marker(1, { producerEpoch: 1 })),
    channel.send(REMOTE, marker(0, { topic: 'no-such-topic' })),
  ]);
  assert.deepEqual(codes, [ErrorCode.NONE, ErrorCode.NONE, ErrorCode.NONE, ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  assert.deepEqual(await endOffsets(), [before[0]! + 2, before[1]! + 2]);
});

test('the leader refuses a marker from an older coordinator epoch or producer epoch', async () => {
  assert.equal(await channel.send(REMOTE, marker(0, { producerId: 50, coordinatorEpoch: 9 })), ErrorCode.NONE);
  assert.equal(await channel.send(REMOTE, marker(0, { producerId: 50, coordinatorEpoch: 8 })), ErrorCode.TRANSACTION_COORDINATOR_FENCED);
  assert.equal(await channel.send(REMOTE, marker(1, { producerId: 51, producerEpoch: 4 })), ErrorCode.NONE);
  assert.equal(await channel.send(REMOTE, marker(1, { producerId: 51, producerEpoch: 3 })), ErrorCode.INVALID_PRODUCER_EPOCH);
});

test('an unknown broker or an unreachable one is answered with a retriable error, never a rejection', async () => {
  assert.equal(await channel.send(99, marker(0)), ErrorCode.BROKER_NOT_AVAILABLE);
  const port = await freePort();
  const gone = new TxnMarkerChannel({ brokerId: 1, addressOf: () => ({ host: '127.0.0.1', port }), requestTimeoutMs: 2000, logger: silentLogger });
  try {
    assert.equal(await gone.send(REMOTE, marker(0)), ErrorCode.NETWORK_EXCEPTION);
  } finally {
    gone.close();
  }
  assert.equal(await gone.send(REMOTE, marker(0)), ErrorCode.BROKER_NOT_AVAILABLE, 'after close');
});
