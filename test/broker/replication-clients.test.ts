/**
 * A real client against replicated partitions: kafkajs (its own protocol
 * code) produces with acks=all to the harness leader of a 3-replica topic
 * while a follower stops and the ISR shrinks, then is refused once the ISR
 * falls below min.insync.replicas, and a kafkajs consumer group reads back
 * exactly what was acknowledged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { waitFor } from '../helpers/broker.js';
import { ReplicationHarness, logBytes } from '../helpers/replication-harness.js';

const { Kafka, logLevel } = kafkajs;

test('kafkajs: acks=all through a follower failure, NOT_ENOUGH_REPLICAS below min.insync.replicas, everything acknowledged is read back', async () => {
  const h = await ReplicationHarness.start({
    brokers: 3,
    config: {
      'replica.fetch.wait.max.ms': 100,
      'replica.fetch.backoff.ms': 100,
      'replica.lag.time.max.ms': 1000,
      'offsets.topic.replication.factor': 3,
      'group.initial.rebalance.delay.ms': 0,
    },
  });
  const kafka = new Kafka({ brokers: [h.broker(1).bootstrap], logLevel: logLevel.NOTHING, clientId: 'replication-kafkajs' });
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, retry: { retries: 2, initialRetryTime: 100 } });
  const consumer = kafka.consumer({ groupId: 'replication-readers', retry: { retries: 5 } });
  try {
    await h.createTopic('kjs', [[1, 2, 3]], { 'min.insync.replicas': '2' });
    await producer.connect();
    let sent = 0;
    const send = async (n: number) => {
      const messages = Array.from({ length: n }, (_, i) => ({ key: `k${sent + i}`, value: `value-${sent + i}` }));
      const [meta] = await producer.send({ topic: 'kjs', acks: -1, messages });
      assert.equal(meta!.errorCode, 0);
      assert.equal(meta!.baseOffset, String(sent));
      sent += n;
    };
    for (let i = 0; i < 20; i++) await send(50);
    for (const id of [2, 3]) assert.ok(h.log(id, 'kjs').logEndOffset >= 1000, `broker ${id} had every acknowledged record`);

    // One follower down: acks=all waits until the ISR drops it, then carries on with two replicas.
    await h.stopBroker(3);
    for (let i = 0; i < 10; i++) await send(50);
    assert.deepEqual(h.state('kjs').isr, [1, 2]);
    assert.ok(h.log(2, 'kjs').logEndOffset >= 1500);

    // Two followers down: the ISR shrinks to the leader alone and acks=all is refused.
    await h.stopBroker(2);
    await assert.rejects(
      async () => {
        for (let i = 0; i < 10; i++) await send(1);
      },
      // kafkajs retries the retriable error, then gives up with it as the cause.
      (err: Error & { cause?: { type?: string } }) => /^NOT_ENOUGH_REPLICAS/.test(err.cause?.type ?? ''),
    );
    await waitFor(() => h.state('kjs').isr.length === 1, { what: 'ISR down to the leader', timeoutMs: 5000 });
    const acknowledged = sent;

    // Both return and catch up; the ISR is whole again.
    await h.startBroker(2);
    await h.startBroker(3);
    await waitFor(() => h.state('kjs').isr.length === 3, { what: 'ISR whole again', timeoutMs: 10_000 });
    const leaderLog = h.log(1, 'kjs');
    for (const id of [2, 3]) assert.ok((await logBytes(h.log(id, 'kjs'))).equals(await logBytes(leaderLog)), `broker ${id} equals the leader`);

    // A kafkajs group reads everything from the leader: every acknowledged record, once, in order.
    const seen: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: 'kjs', fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value!.toString());
      },
    });
    await waitFor(() => seen.length >= leaderLog.highWatermark, { what: 'the consumer read to the high watermark', timeoutMs: 20_000 });
    assert.ok(seen.length >= acknowledged);
    for (let i = 0; i < acknowledged; i++) assert.equal(seen[i], `value-${i}`);
  } finally {
    await producer.disconnect().catch(() => undefined);
    await consumer.disconnect().catch(() => undefined);
    await h.close();
  }
});
