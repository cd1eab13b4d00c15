/**
 * kill -9 under load. The broker runs as its own OS process
 * (`ganglion server-start`); confluent-kafka-python produces acks=1 as fast
 * as it can, printing every acknowledged (partition, offset, sequence
 * number); the broker is SIGKILLed mid-stream and restarted on the same log
 * directory and port. Every acknowledged record must be there at its offset,
 * offsets must run from 0 without gaps or duplicates, and each partition must
 * hold the producer's records in the order it sent them (no record twice).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  freePort,
  LiveProcess,
  makeTempDir,
  PYTHON,
  removeDir,
  skipUnlessPython,
  startBrokerProcess,
  type BrokerProcess,
} from '../helpers/broker.js';
import { kafkajsFetchAll, newKafka } from './kafkajs-util.js';
import { pyScript } from './support.js';

const PARTITIONS = 3;
const TOPIC = 'crash-load';
/** Acknowledged records to see before the kill (or whatever came in KILL_AFTER_MS). */
const KILL_AFTER_ACKS = 40_000;
const KILL_AFTER_MS = 6000;

const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => {});
});

test('kill -9 during acks=1 load loses no acknowledged record and leaves no gap or duplicate offset', { skip: skipUnlessPython('confluent_kafka'), timeout: 90_000 }, async (t) => {
  const dir = await makeTempDir('ganglion-crash-');
  cleanup.push(() => removeDir(dir));
  const logDir = join(dir, 'data');
  const port = await freePort();
  const overrides = { 'num.partitions': PARTITIONS, 'log.segment.bytes': 4 * 1024 * 1024 };

  let broker: BrokerProcess = await startBrokerProcess({ logDir, port, overrides });
  cleanup.push(() => broker.process.stop(2000));

  // -- load, then kill -9 mid-stream
  const producer = LiveProcess.start(PYTHON, [pyScript('confluent_client.py'), 'load', broker.bootstrap, JSON.stringify({ topic: TOPIC, value_bytes: 100 })], { label: 'confluent load' });
  cleanup.push(() => producer.stop(1000));
  const started = Date.now();
  await producer.until(() => producer.stdoutLines.length >= KILL_AFTER_ACKS || (Date.now() - started > KILL_AFTER_MS && producer.stdoutLines.length > 1000), KILL_AFTER_MS + 10_000, `${KILL_AFTER_ACKS} acknowledgements`);
  const phase = (what: string) => t.diagnostic(`${what} at ${Date.now() - started} ms`);
  phase('kill -9');
  broker.process.kill('SIGKILL');
  const killedAfterAcks = producer.stdoutLines.length;
  await broker.process.exited;
  producer.child.stdin!.end(); // stop producing; it reports deliveries that completed before the kill
  const { code } = await producer.exited;
  assert.equal(code, 0, producer.output());
  const summary = JSON.parse(producer.stdoutLines.filter((l) => l.startsWith('{')).pop() ?? '{}') as { produced: number; failed: number; undelivered: number };

  const acked = producer.stdoutLines
    .filter((l) => /^\d+ \d+ \d+$/.test(l))
    .map((l) => {
      const [p, o, seq] = l.split(' ');
      return { partition: Number(p), offset: Number(o), seq: Number(seq) };
    });
  t.diagnostic(`produced ${summary.produced}, acknowledged ${acked.length} (${killedAfterAcks} before the kill), not delivered ${summary.failed + summary.undelivered}`);
  assert.ok(acked.length >= 1000, 'the producer got going before the kill');
  assert.ok(summary.produced > acked.length, 'the kill happened mid-stream: some records were never acknowledged');

  // -- restart on the same directory and port; read everything back
  phase('producer done');
  broker = await startBrokerProcess({ logDir, port, overrides });
  phase('restarted');
  const kafka = newKafka(broker.bootstrap);
  const records = await kafkajsFetchAll(kafka, TOPIC, [...Array(PARTITIONS).keys()], { timeoutMs: 60_000 });

  phase('read back');
  const byPartition = new Map<number, { offset: number; seq: number }[]>();
  for (const r of records) {
    const seq = Number(r.value!.subarray(0, 12).toString());
    let list = byPartition.get(r.partition);
    if (!list) byPartition.set(r.partition, (list = []));
    list.push({ offset: r.offset, seq });
  }
  const seen = new Set<number>();
  for (const [partition, list] of byPartition) {
    list.forEach((r, i) => {
      assert.equal(r.offset, i, `partition ${partition}: offset ${r.offset} at position ${i} (gap or duplicate)`);
      if (i > 0) assert.ok(r.seq > list[i - 1]!.seq, `partition ${partition}: offset ${i} holds record ${r.seq} after record ${list[i - 1]!.seq}`);
      assert.ok(!seen.has(r.seq), `record ${r.seq} is stored twice`);
      seen.add(r.seq);
    });
  }
  for (const a of acked) {
    const stored = byPartition.get(a.partition)?.[a.offset];
    assert.ok(stored, `acknowledged record ${a.seq} (partition ${a.partition} offset ${a.offset}) is missing after the restart`);
    assert.equal(stored.seq, a.seq, `partition ${a.partition} offset ${a.offset} holds record ${stored.seq}, record ${a.seq} was acknowledged there`);
  }
  t.diagnostic(`after restart: ${records.length} records stored, ${records.length - acked.length} of them unacknowledged (written before the kill, ack lost)`);

  // The restarted broker takes new writes after the recovered tail.
  const p = kafka.producer();
  await p.connect();
  const [meta] = await p.send({ topic: TOPIC, acks: 1, messages: [{ partition: 0, value: 'after-restart' }] });
  await p.disconnect();
  assert.equal(Number(meta!.baseOffset), byPartition.get(0)?.length ?? 0);
});
