/**
 * producer-perf-test and consumer-perf-test with tiny counts: they run,
 * produce what they say, and print Kafka's lines.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { consumerPerfTest } from '../../src/cli/consumer-perf-test.js';
import { getOffsets } from '../../src/cli/get-offsets.js';
import { producerPerfTest } from '../../src/cli/producer-perf-test.js';
import { topics } from '../../src/cli/topics.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { lines, runTool, topicName } from './helpers.js';

const TOTAL =
  /^(\d+) records sent, \d+\.\d{6} records\/sec \(\d+\.\d{2} MB\/sec\), \d+\.\d{2} ms avg latency, \d+\.\d{2} ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99\.9th\.$/;
const WINDOW = /^\d+ records sent, \d+\.\d records\/sec \(\d+\.\d{2} MB\/sec\), \d+\.\d ms avg latency, \d+\.\d ms max latency\.$/;
const DATE = '\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}:\\d{3}';

describe('ganglion producer-perf-test and consumer-perf-test', () => {
  let broker: TestBroker;
  let bs: string;
  let topic: string;
  before(async () => {
    broker = await startTestBroker();
    bs = broker.bootstrap;
    topic = topicName('perf');
    assert.equal((await runTool(topics, ['--create', '--topic', topic, '--partitions', '2', '--bootstrap-server', bs])).code, 0);
  });
  after(async () => broker.close());

  it('produces --num-records records and prints the summary', async () => {
    const r = await runTool(producerPerfTest, [
      '--topic', topic, '--num-records', '2000', '--record-size', '100', '--throughput', '-1',
      '--producer-props', `bootstrap.servers=${bs}`, 'acks=1', 'linger.ms=2', '--print-metrics',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const out = lines(r.stdout);
    assert.equal(TOTAL.exec(out[0]!)?.[1], '2000', r.stdout);
    assert.ok(out.some((l) => /^producer-metrics:records-sent:\{client-id=perf-producer-client\} +: 2000\.000$/.test(l)), r.stdout);
    const ends = lines((await runTool(getOffsets, ['--bootstrap-server', bs, '--topic', topic])).stdout);
    assert.equal(ends.reduce((s, l) => s + Number(l.split(':')[2]), 0), 2000);
  });

  it('throttles to --throughput and prints progress every --reporting-interval', async () => {
    const payloads = join(broker.dir, 'payloads.txt');
    await writeFile(payloads, 'alpha\nbeta\ngamma\n');
    const started = Date.now();
    const r = await runTool(producerPerfTest, [
      '--topic', topic, '--num-records', '60', '--payload-file', payloads, '--throughput', '100',
      '--bootstrap-server', bs, '--reporting-interval', '200',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Date.now() - started >= 550, 'about 0.6 s at 100 records/s');
    const out = lines(r.stdout);
    assert.deepEqual(out.slice(0, 2), [`Reading payloads from: ${payloads}`, 'Number of messages read: 3']);
    assert.match(out[out.length - 1]!, TOTAL);
    const windows = out.slice(2, -1);
    assert.ok(windows.length >= 1, r.stdout);
    for (const w of windows) assert.match(w, WINDOW);
  });

  it('consumes --messages records and prints the CSV summary; warns on timeout', async () => {
    const r = await runTool(consumerPerfTest, ['--bootstrap-server', bs, '--topic', topic, '--messages', '2000']);
    assert.equal(r.code, 0, r.stderr);
    const out = lines(r.stdout);
    assert.equal(out[0], 'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec');
    const m = new RegExp(`^${DATE}, ${DATE}, (\\d+\\.\\d{4}), \\S+, (\\d+), \\S+, \\d+, \\d+, \\S+, \\S+$`).exec(out[1]!);
    assert.ok(m, out[1]);
    assert.ok(Number(m[2]) >= 2000);
    assert.ok(Number(m[1]) > 0);

    const short = await runTool(consumerPerfTest, ['--bootstrap-server', bs, '--topic', topic, '--messages', '100000', '--timeout', '300', '--hide-header']);
    assert.equal(short.code, 0, short.stderr);
    const shortOut = lines(short.stdout);
    assert.equal(
      shortOut[0],
      'WARNING: Exiting before consuming the expected number of messages: timeout (300 ms) exceeded. You can use the --timeout option to increase the timeout.',
    );
    assert.match(shortOut[1]!, new RegExp(`^${DATE}, ${DATE}, `));
    assert.equal(shortOut.length, 2);
  });

  it('consumes as a member of --group', async () => {
    const r = await runTool(consumerPerfTest, ['--bootstrap-server', bs, '--topic', topic, '--messages', '2000', '--group', 'perf-group', '--hide-header']);
    assert.equal(r.code, 0, r.stderr);
    const m = new RegExp(`^${DATE}, ${DATE}, \\d+\\.\\d{4}, \\S+, (\\d+), \\S+, (\\d+), \\d+, \\S+, \\S+$`).exec(lines(r.stdout)[0]!);
    assert.ok(m, r.stdout);
    assert.ok(Number(m[1]) >= 2000);
  });

  it('rejects bad flags with one line and exit code 1', async () => {
    const cases: Array<[typeof producerPerfTest, string[], RegExp]> = [
      [producerPerfTest, ['--topic', 't', '--num-records', '1', '--throughput', '-1', '--producer-props', 'bootstrap.servers=x:1'], /^Either --record-size or --payload-file or --payload-monotonic must be specified but not more than one\.\n$/],
      [producerPerfTest, ['--topic', 't', '--num-records', '1', '--record-size', '1', '--producer-props', 'bootstrap.servers=x:1'], /^Missing required argument "\[throughput\]"\n$/],
      [producerPerfTest, ['--topic', 't', '--num-records', '1', '--record-size', '1', '--throughput', '-1'], /^Either --producer-props or --producer\.config must be specified\.\n$/],
      [producerPerfTest, ['--topic', 't', '--num-records', 'lots'], /argument 'lots' is invalid/],
      [consumerPerfTest, ['--bootstrap-server', 'x:1', '--topic', 't'], /^Missing required argument "\[messages\]"\n$/],
    ];
    for (const [tool, args, expected] of cases) {
      const r = await runTool(tool, args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, expected, args.join(' '));
    }
  });
});
