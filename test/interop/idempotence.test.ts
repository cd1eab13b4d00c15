/**
 * Idempotent producers end to end: InitProducerId and duplicate / sequence /
 * epoch handling over the wire, then real clients (confluent-kafka-python
 * with enable.idempotence, kafkajs with idempotent: true) producing while the
 * broker process is killed with SIGKILL and restarted mid-stream: every
 * record must be in the log exactly once, in order.
 *
 * Scale: the librdkafka test sends 100k records (3 partitions), the kafkajs
 * test 20k (kafkajs sends one request at a time per broker, so it is slower);
 * each stays well under 30 s on two cores.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/api-table.js';
import { buildBatch, scanBatches } from '../../src/protocol/records/index.js';
import kafkajs from 'kafkajs';
import {
  LiveProcess,
  PYTHON,
  freePort,
  makeTempDir,
  removeDir,
  skipUnlessPython,
  sleep,
  startBrokerProcess,
  startTestBroker,
  type BrokerProcess,
  type TestBroker,
} from '../helpers/broker.js';
import { RawConnection } from './raw-client.js';
import { autoCreateTopic, pyScript, runPython, topicName } from './support.js';

const SCRIPT = 'idem_producer.py';

describe('idempotent produce over the wire', () => {
  let b: TestBroker;
  const topic = 'idem-wire';

  before(async () => {
    b = await startTestBroker({ config: { 'num.partitions': 1 } });
    await autoCreateTopic(b.port, topic);
  });
  after(async () => {
    await b?.close();
  });

  async function initProducerId(conn: RawConnection, version: number, transactionalId: string | null = null) {
    return conn.request(ApiKey.InitProducerId, version, { transactionalId, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
  }

  async function produce(conn: RawConnection, records: Buffer, acks = -1) {
    const response = await conn.request(ApiKey.Produce, 9, {
      transactionalId: null,
      acks,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    });
    return response.responses[0]!.partitionResponses[0]!;
  }

  const batch = (pid: bigint, epoch: number, seq: number, n = 2, transactional = false) =>
    buildBatch(
      Array.from({ length: n }, (_, i) => ({ value: `seq-${seq + i}` })),
      { producerId: pid, producerEpoch: epoch, baseSequence: seq, transactional },
    );

  test('InitProducerId v0-5 without a transactional id hands out a fresh producer id at epoch 0 each time', async () => {
    const conn = await RawConnection.connect(b.port);
    try {
      const ids = new Set<bigint>();
      for (let v = 0; v <= 5; v++) {
        const r = await initProducerId(conn, v);
        assert.equal(r.errorCode, ErrorCode.NONE, `v${v}`);
        assert.equal(r.producerEpoch, 0);
        assert.ok(r.producerId >= 0n, 'a producer id');
        ids.add(r.producerId);
      }
      assert.equal(ids.size, 6);
      const empty = await initProducerId(conn, 4, '');
      assert.equal(empty.errorCode, ErrorCode.INVALID_REQUEST);
    } finally {
      conn.close();
    }
  });

  test('a retried batch is answered with its original offset and stored once; gaps, stale epochs and stray transactional batches are refused', async () => {
    const conn = await RawConnection.connect(b.port);
    try {
      const { producerId: pid } = await initProducerId(conn, 4);
      const first = await produce(conn, batch(pid, 0, 0));
      assert.equal(first.errorCode, ErrorCode.NONE);
      const second = await produce(conn, batch(pid, 0, 2));
      assert.equal(second.baseOffset, first.baseOffset + 2n);
      // Retries of both batches (as after a lost response): same offsets, nothing appended.
      const retry1 = await produce(conn, batch(pid, 0, 0));
      const retry2 = await produce(conn, batch(pid, 0, 2), 1);
      assert.deepEqual([retry1.errorCode, retry1.baseOffset], [ErrorCode.NONE, first.baseOffset]);
      assert.deepEqual([retry2.errorCode, retry2.baseOffset], [ErrorCode.NONE, second.baseOffset]);
      const next = await produce(conn, batch(pid, 0, 4));
      assert.equal(next.baseOffset, second.baseOffset + 2n, 'the retries took no offsets');

      const gap = await produce(conn, batch(pid, 0, 9));
      assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
      const newEpochNotZero = await produce(conn, batch(pid, 1, 6));
      assert.equal(newEpochNotZero.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
      const bumped = await produce(conn, batch(pid, 1, 0));
      assert.equal(bumped.errorCode, ErrorCode.NONE);
      const stale = await produce(conn, batch(pid, 0, 6));
      assert.equal(stale.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
      // A transactional batch outside any transaction must not open one (the LSO would be stuck).
      const stray = await produce(conn, batch(pid, 1, 2, 1, true));
      assert.equal(stray.errorCode, ErrorCode.INVALID_TXN_STATE);
      const after = await produce(conn, batch(pid, 1, 2));
      assert.equal(after.errorCode, ErrorCode.NONE, 'the refused batch did not consume sequences');
    } finally {
      conn.close();
    }
  });

  test('producer ids are not repeated after a restart', async () => {
    const dir = await makeTempDir('ganglion-idem-restart-');
    try {
      const seen: bigint[] = [];
      for (let round = 0; round < 2; round++) {
        const broker = await startTestBroker({ dir });
        const conn = await RawConnection.connect(broker.port);
        for (let i = 0; i < 3; i++) seen.push((await initProducerId(conn, 3)).producerId);
        conn.close();
        await broker.close();
      }
      assert.equal(new Set(seen).size, 6, `ids ${seen.join(',')}`);
    } finally {
      await removeDir(dir);
    }
  });
});

// ---------------------------------------------------------------------------
// kill -9 while producing

interface KillRun {
  broker: BrokerProcess;
  dir: string;
  port: number;
  restarts: number;
}

async function startKillable(partitions: number): Promise<KillRun> {
  const dir = await makeTempDir('ganglion-idem-kill-');
  const port = await freePort();
  const broker = await startBrokerProcess({ logDir: join(dir, 'data'), port, overrides: { 'num.partitions': partitions, 'log.segment.bytes': 1 << 20 } });
  return { broker, dir, port, restarts: 0 };
}

async function killAndRestart(run: KillRun, downMs = 700): Promise<void> {
  run.broker.process.kill('SIGKILL');
  await run.broker.process.exited;
  await sleep(downMs);
  run.broker = await startBrokerProcess({ logDir: run.broker.logDir, port: run.port, overrides: { 'num.partitions': 3, 'log.segment.bytes': 1 << 20 } });
  run.restarts++;
}

async function stopKillable(run: KillRun | undefined): Promise<void> {
  if (!run) return;
  await run.broker.process.stop(3000);
  await removeDir(run.dir);
}

/** Every partition p holds exactly p, p+P, p+2P, ... < count, in order, at contiguous offsets. */
function checkExactlyOnceInOrder(values: Record<string, number[]>, offsets: Record<string, number[]>, count: number, partitions: number, label: string) {
  let total = 0;
  for (let p = 0; p < partitions; p++) {
    const got = values[String(p)] ?? [];
    total += got.length;
    const expected: number[] = [];
    for (let i = p; i < count; i += partitions) expected.push(i);
    if (got.length !== expected.length || got.some((v, j) => v !== expected[j])) {
      const firstBad = got.findIndex((v, j) => v !== expected[j]);
      assert.fail(`${label}: partition ${p} has ${got.length} records, expected ${expected.length}; first difference at #${firstBad}: got ${got[firstBad]}, expected ${expected[firstBad]}`);
    }
    const [first, last, n] = offsets[String(p)] ?? [];
    assert.equal(last! - first! + 1, n, `${label}: partition ${p} offsets are contiguous`);
  }
  assert.equal(total, count);
}

describe('confluent-kafka-python idempotent producer across kill -9', { skip: skipUnlessPython('confluent_kafka') }, () => {
  let run: KillRun | undefined;
  after(async () => {
    await stopKillable(run);
  });

  test('100k records, broker killed and restarted twice mid-stream: every record exactly once, in order', { timeout: 90_000 }, async () => {
    const partitions = 3;
    const count = 100_000;
    run = await startKillable(partitions);
    const topic = topicName('idem-ck');
    await autoCreateTopic(run.port, topic);
    const producer = LiveProcess.start(PYTHON, [pyScript(SCRIPT), 'produce', run.broker.bootstrap], { label: 'idem producer' });
    producer.child.stdin!.end(JSON.stringify({ topic, count, partitions, progress_every: 2000 }));
    try {
      const acked = () => {
        const last = producer.stdoutLines.filter((l) => l.startsWith('{')).at(-1);
        return last ? (JSON.parse(last) as { acked: number }).acked : 0;
      };
      await producer.until(() => acked() >= 25_000, 30_000, '25k acknowledged records');
      await killAndRestart(run);
      await producer.until(() => acked() >= 60_000 || !producer.running, 40_000, '60k acknowledged records');
      if (producer.running) await killAndRestart(run);
      const { code } = await producer.exited;
      assert.equal(code, 0, producer.output());
      const summary = JSON.parse(producer.stdoutLines.filter((l) => l.startsWith('{')).at(-1)!) as {
        acked: number;
        unflushed: number;
        delivery_errors: string[];
        fatal: string | null;
        elapsed_s: number;
      };
      assert.equal(summary.fatal, null, 'no fatal idempotence error');
      assert.deepEqual(summary.delivery_errors, []);
      assert.equal(summary.acked, count);
      assert.equal(summary.unflushed, 0);
      assert.ok(run.restarts >= 1, 'the broker was restarted');
    } finally {
      producer.kill('SIGKILL');
    }
    const consumed = await runPython<{ values: Record<string, number[]>; offsets: Record<string, number[]>; complete: boolean; errors: string[] }>(
      SCRIPT,
      'consume',
      run.broker.bootstrap,
      { topic, partitions },
      60_000,
    );
    assert.ok(consumed.complete, `read to the end: ${consumed.errors.join('; ')}`);
    checkExactlyOnceInOrder(consumed.values, consumed.offsets, count, partitions, 'librdkafka');
  });
});

describe('kafkajs idempotent producer across kill -9', () => {
  let run: KillRun | undefined;
  after(async () => {
    await stopKillable(run);
  });

  test('20k records in sends of 200, broker killed and restarted mid-stream: every record exactly once, in order', { timeout: 90_000 }, async () => {
    const partitions = 3;
    const count = 20_000;
    const perSend = 200;
    run = await startKillable(partitions);
    const r = run;
    const topic = topicName('idem-kjs');
    await autoCreateTopic(r.port, topic);
    const kafka = new kafkajs.Kafka({
      brokers: [r.broker.bootstrap],
      clientId: 'idem-kafkajs',
      logLevel: kafkajs.logLevel.NOTHING,
      retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
      connectionTimeout: 1000,
      requestTimeout: 5000,
    });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    let sent = 0;
    let killed: Promise<void> | null = null;
    try {
      for (let start = 0; start < count; start += perSend) {
        const messages = [];
        for (let i = start; i < Math.min(count, start + perSend); i++) messages.push({ partition: i % partitions, value: `${i}:${'x'.repeat(16)}` });
        await producer.send({ topic, acks: -1, messages });
        sent += messages.length;
        // Kill while sends are in flight: the next send (or its retries) meets a dead broker.
        if (killed === null && sent >= count / 3) killed = killAndRestart(r, 300);
      }
      await killed;
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
    assert.equal(r.restarts, 1);
    const consumed = await readAllValues(r.port, topic, partitions);
    checkExactlyOnceInOrder(consumed.values, consumed.offsets, count, partitions, 'kafkajs');
  });
});

/** Reads every record of the topic with a raw Fetch (values "<i>:..."). */
async function readAllValues(port: number, topic: string, partitions: number) {
  const conn = await RawConnection.connect(port);
  const values: Record<string, number[]> = {};
  const offsets: Record<string, number[]> = {};
  try {
    for (let p = 0; p < partitions; p++) {
      const vals: number[] = [];
      let first = -1;
      let last = -1;
      let n = 0;
      let offset = 0n;
      for (;;) {
        const response = await conn.request(ApiKey.Fetch, 11, {
          replicaId: -1,
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 8 << 20,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [{ topic, partitions: [{ partition: p, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 4 << 20 }] }],
          forgottenTopicsData: [],
          rackId: '',
        });
        const data = response.responses[0]!.partitions[0]!;
        assert.equal(data.errorCode, 0);
        const batches = data.records ? scanBatches(data.records).batches : [];
        if (batches.length === 0) break;
        for (const batch of batches) {
          for (const record of await batch.recordsAsync()) {
            if (first < 0) first = record.offset;
            last = record.offset;
            n++;
            vals.push(Number(record.value!.toString('latin1').split(':', 1)[0]));
          }
          offset = BigInt(batch.lastOffset + 1);
        }
      }
      values[String(p)] = vals;
      offsets[String(p)] = [first, last, n];
    }
  } finally {
    conn.close();
  }
  return { values, offsets };
}
