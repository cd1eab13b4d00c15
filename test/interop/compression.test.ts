/**
 * Cross-client compression matrix: records produced with gzip, snappy, lz4
 * and zstd by one client are consumed byte-exact by another. The broker
 * stores batches as the producer compressed them (compression.type=producer),
 * which a raw Fetch confirms, so each pair also proves the consumer decodes
 * the producer's codec framing (snappy raw vs xerial, lz4 frames, zstd).
 *
 * librdkafka before 2.8 (Debian ships 2.0.2 in kcat and confluent-kafka)
 * silently sends gzip, snappy and lz4 batches uncompressed to a broker that
 * does not list Produce v0-2 (confluentinc/librdkafka#4956). Like Kafka 4.0
 * (KAFKA-18659), Ganglion lists them and refuses them when used, so every
 * producer here, librdkafka included, must store its own codec:
 *
 *   kafka-python -> kcat, kafkajs
 *   kafkajs      -> confluent-kafka, kafka-python, @platformatic/kafka
 *   kcat         -> kafkajs
 *   confluent    -> kafka-python
 *   @platformatic/kafka -> confluent-kafka
 *
 * @platformatic/kafka uses node:zlib for zstd, which Node 20 lacks; its zstd
 * cases are left out there, as the test name says.
 */
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { Consumer, compatibilityPartitioner, Producer } from '@platformatic/kafka';
import type { Kafka } from 'kafkajs';
import { onPath, pythonHas, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { kcatConsumeAll, kcatProduce } from './kcat-util.js';
import { KAFKAJS_CODEC, kafkajsFetchAll, newKafka, toKafkajsMessage } from './kafkajs-util.js';
import { clientOptions, platformaticFetchAll, toPlatformaticMessage } from './platformatic-util.js';
import {
  checkRoundTrip,
  CODEC_ID,
  CODECS,
  fromWire,
  makeRecords,
  runPython,
  storedCodecs,
  toWire,
  type Codec,
  type ConsumedRecord,
  type TestRecord,
  type WireRecord,
} from './support.js';

const PARTITIONS = 3;
const HAS_KCAT = onPath('kcat') !== null;
const HAS_CONFLUENT = pythonHas('confluent_kafka');
// kafka-python compresses with the lz4, snappy and zstandard Python modules (Debian: python3-lz4, python3-snappy, python3-zstandard).
const HAS_KAFKA_PYTHON = pythonHas('kafka', 'lz4.frame', 'snappy', 'zstandard');
const NODE_ZSTD = typeof (zlib as unknown as Record<string, unknown>).zstdCompressSync === 'function';

type Client = 'kcat' | 'kafkajs' | 'confluent' | 'kafka-python' | 'platformatic';

function missing(...clients: Client[]): string | false {
  const gone = clients.filter(
    (c) => (c === 'kcat' && !HAS_KCAT) || (c === 'confluent' && !HAS_CONFLUENT) || (c === 'kafka-python' && !HAS_KAFKA_PYTHON),
  );
  return gone.length ? `${gone.join(', ')} (or its codec modules) not installed (CI installs them: .ci/run)` : false;
}

/** A value too small to compress alone (null or empty) gets a header that compresses well. */
function withCompressibleHeaderIfTiny(r: TestRecord): TestRecord {
  if (r.value !== null && r.value.length >= 64) return r;
  return { ...r, headers: [...r.headers, ['pad', Buffer.from('compressible padding; '.repeat(12))]] };
}

describe('compression across clients', () => {
  let b: TestBroker;
  let kafka: Kafka;

  before(async () => {
    b = await startTestBroker({ config: { 'num.partitions': PARTITIONS } });
    kafka = newKafka(b.bootstrap);
  });
  after(async () => {
    await b?.close();
  });

  /** Creates the pair's topics (one per codec) with kafkajs's admin. */
  async function createTopics(topics: string[]) {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: PARTITIONS })), waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
  }

  // -- producers: each returns when every record of every codec is acknowledged

  async function produce(client: Client, jobs: { topic: string; codec: Codec; records: TestRecord[] }[]): Promise<void> {
    switch (client) {
      case 'kcat':
        for (const { topic, codec, records } of jobs) {
          const lines = records.map((r) => `${r.key!.toString()}\t${r.value!.toString()}\n`).join('');
          await kcatProduce(b.bootstrap, topic, lines, ['-K', '\t', '-z', codec, '-H', `codec=${codec}`]);
        }
        return;
      case 'kafkajs': {
        const producer = kafka.producer();
        await producer.connect();
        try {
          for (const { topic, codec, records } of jobs) {
            await producer.send({ topic, acks: -1, compression: KAFKAJS_CODEC[codec], messages: records.map(toKafkajsMessage) });
          }
        } finally {
          await producer.disconnect();
        }
        return;
      }
      case 'platformatic': {
        const producer = new Producer({ ...clientOptions(b.bootstrap), partitioner: compatibilityPartitioner });
        try {
          for (const { topic, codec, records } of jobs) {
            await producer.send({ messages: records.map((r) => toPlatformaticMessage(topic, r)), acks: -1, compression: codec });
          }
        } finally {
          await producer.close();
        }
        return;
      }
      case 'confluent':
      case 'kafka-python': {
        const script = client === 'confluent' ? 'confluent_client.py' : 'kafka_python_client.py';
        const result = await runPython<{ results: { topic: string; acks: { error: string | null }[] }[] }>(script, 'produce', b.bootstrap, {
          acks: -1,
          linger_ms: 20,
          jobs: jobs.map(({ topic, codec, records }) => ({ topic, compression: codec, records: records.map(toWire) })),
        });
        for (const r of result.results) {
          assert.deepEqual(r.acks.filter((a) => a.error !== null), [], `${client} produce to ${r.topic}`);
        }
        return;
      }
    }
  }

  // -- consumers: every record of each topic

  async function consume(client: Client, topics: string[]): Promise<Map<string, ConsumedRecord[]>> {
    const all = [...Array(PARTITIONS).keys()];
    const out = new Map<string, ConsumedRecord[]>();
    switch (client) {
      case 'kcat':
        for (const topic of topics) out.set(topic, await kcatConsumeAll(b.bootstrap, topic));
        return out;
      case 'kafkajs':
        for (const topic of topics) out.set(topic, await kafkajsFetchAll(kafka, topic, all));
        return out;
      case 'platformatic': {
        const consumer = new Consumer({ ...clientOptions(b.bootstrap), groupId: 'interop-unused' });
        try {
          for (const topic of topics) out.set(topic, await platformaticFetchAll(consumer, topic, all));
        } finally {
          await consumer.close();
        }
        return out;
      }
      case 'confluent':
      case 'kafka-python': {
        const script = client === 'confluent' ? 'confluent_client.py' : 'kafka_python_client.py';
        const result = await runPython<{ results: { topic: string; records: WireRecord[]; complete: boolean; errors: string[] }[] }>(script, 'consume', b.bootstrap, {
          jobs: topics.map((topic) => ({ topic, partitions: all })),
        });
        for (const r of result.results) {
          assert.deepEqual(r.errors, [], `${client} consume ${r.topic}`);
          assert.ok(r.complete, `${client} read ${r.topic} to the end`);
          out.set(r.topic, r.records.map(fromWire));
        }
        return out;
      }
    }
  }

  /**
   * The records a producer can express: kcat writes text and one header set per run, and a kcat consumer reads text.
   *
   * Every record must shrink when compressed on its own: librdkafka (kcat, confluent) sends a batch
   * uncompressed when compressing it does not make it smaller, and which records share a batch is
   * up to timing (linger.ms against a loaded machine), so a null or empty value left alone in a batch
   * was stored uncompressed now and then. Those records get a compressible header; kcat, which
   * cannot set headers per record, produces none of them.
   */
  function recordsFor(from: Client, consumers: Client[], codec: Codec): { produced: TestRecord[]; expected: TestRecord[] } {
    const text = from === 'kcat' || consumers.includes('kcat');
    // Enough repetitive data that every codec really compresses, varied enough to catch reordering.
    const made = makeRecords({
      count: 40,
      binary: !text,
      headers: from !== 'kcat',
      nullAt: from === 'kcat' ? -1 : 3,
      emptyAt: from === 'kcat' ? -1 : 4,
      maxValueBytes: 600,
      compressible: true,
      tag: `${from}-${codec}`,
    });
    const produced = from === 'kcat' ? made : made.map(withCompressibleHeaderIfTiny);
    const expected = from === 'kcat' ? produced.map((r) => ({ ...r, headers: [['codec', Buffer.from(codec)]] as [string, Buffer][] })) : produced;
    return { produced, expected };
  }

  /** Each producer's records are read back by each of its consumers. */
  const plan: [Client, Client[]][] = [
    ['kafka-python', ['kcat', 'kafkajs']],
    ['kafkajs', ['confluent', 'kafka-python', 'platformatic']],
    ['kcat', ['kafkajs']],
    ['confluent', ['kafka-python']],
    ['platformatic', ['confluent']],
  ];
  /** What the broker should hold: the producer's codec (the test guarding librdkafka#4956). */
  const expectedStored = (codec: Codec): number[] => [CODEC_ID[codec]];

  const supports = (client: Client, codec: Codec) => NODE_ZSTD || codec !== 'zstd' || client !== 'platformatic';

  for (const [from, consumers] of plan) {
    const codecs = CODECS.filter((c) => supports(from, c));
    const limits = consumers.filter((to) => !CODECS.every((c) => supports(to, c)) && codecs.includes('zstd')).map((to) => `${to} without zstd`);
    if (codecs.length < CODECS.length) limits.unshift(`${from} without zstd`);
    const note = limits.length ? ` (${limits.join(', ')}: @platformatic/kafka needs node:zlib zstd, Node >= 22.15)` : '';
    test(`${from} -> ${consumers.join(', ')}: ${codecs.join(', ')}${note}`, { skip: missing(from, ...consumers), timeout: 60_000 }, async () => {
      const jobs = codecs.map((codec) => ({ codec, topic: `cmp-${from}-${codec}`, ...recordsFor(from, consumers, codec) }));
      await createTopics(jobs.map((j) => j.topic));
      await produce(from, jobs.map(({ topic, codec, produced }) => ({ topic, codec, records: produced })));
      for (const { topic, codec } of jobs) {
        const stored = await storedCodecs(b.port, topic, PARTITIONS);
        assert.ok(stored.length > 0, `${topic}: nothing stored`);
        assert.deepEqual([...new Set(stored)], expectedStored(codec), `${topic}: ${from} with ${codec}: the broker holds batches with codecs ${stored}`);
      }
      for (const to of consumers) {
        const readable = jobs.filter((j) => supports(to, j.codec));
        const consumed = await consume(to, readable.map((j) => j.topic));
        for (const { topic, codec, expected } of readable) {
          checkRoundTrip(expected, consumed.get(topic) ?? [], { partitions: PARTITIONS, javaPartitioner: true, label: `${from} -> ${to} (${codec})` });
        }
      }
    });
  }
});
