/**
 * The console producer and consumer: line parsing (keys, headers, null
 * marker), formatter properties, partition/offset selection, exits
 * (--max-messages, --timeout-ms, signals), compression, and byte-exact
 * exchange with kcat.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { consoleConsumer } from '../../src/cli/console-consumer.js';
import { consoleProducer } from '../../src/cli/console-producer.js';
import { dumpLog } from '../../src/cli/dump-log.js';
import { getOffsets } from '../../src/cli/get-offsets.js';
import { topics } from '../../src/cli/topics.js';
import { runOk, skipUnlessOnPath, startTestBroker, type TestBroker } from '../helpers/broker.js';
import type { CliIo } from '../../src/cli/common.js';
import { TestIo, lines, runTool, startGanglion, topicName } from './helpers.js';

describe('ganglion console-producer and console-consumer', () => {
  let broker: TestBroker;
  let bs: string;
  const produce = (topic: string, input: string, ...args: string[]) =>
    runTool(consoleProducer, ['--bootstrap-server', bs, '--topic', topic, ...args], input);
  const consume = (topic: string, ...args: string[]) => runTool(consoleConsumer, ['--bootstrap-server', bs, '--topic', topic, ...args]);
  const newTopic = async (partitions = 1) => {
    const name = topicName('con');
    const r = await runTool(topics, ['--create', '--topic', name, '--partitions', String(partitions), '--bootstrap-server', bs]);
    assert.equal(r.code, 0, r.stderr);
    return name;
  };
  before(async () => {
    broker = await startTestBroker();
    bs = broker.bootstrap;
  });
  after(async () => broker.close());

  it('round-trips keys and headers with every formatter field', async () => {
    const topic = await newTopic();
    const p = await produce(topic, 'h1:v1,h2:v2\tk1\tfirst\nh3:\tk2\tsecond\n', '--property', 'parse.key=true', '--property', 'parse.headers=true');
    assert.equal(p.code, 0, p.stderr);
    assert.equal(p.stderr, '');

    const c = await consume(
      topic, '--from-beginning', '--max-messages', '2',
      '--property', 'print.timestamp=true', '--property', 'print.partition=true', '--property', 'print.offset=true',
      '--property', 'print.headers=true', '--property', 'print.key=true',
    );
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stderr, 'Processed a total of 2 messages\n');
    const out = lines(c.stdout);
    assert.equal(out.length, 2);
    assert.match(out[0]!, /^CreateTime:\d{13}\tPartition:0\tOffset:0\th1:v1,h2:v2\tk1\tfirst$/);
    assert.match(out[1]!, /^CreateTime:\d{13}\tPartition:0\tOffset:1\th3:\tk2\tsecond$/);

    const custom = await consume(
      topic, '--from-beginning', '--max-messages', '2', '--property', 'print.key=true', '--property', 'print.value=false',
      '--property', 'line.separator=;', '--property', 'print.headers=true', '--property', 'headers.separator=|', '--property', 'key.separator= = ',
    );
    assert.equal(custom.stdout, 'h1:v1|h2:v2 = k1;h3: = k2;');
  });

  it('sends null keys and values for null.marker and prints null.literal', async () => {
    const topic = await newTopic();
    const p = await produce(topic, 'NULL\tv1\nk2\tNULL\nplain\tline\twith tabs\n', '--property', 'parse.key=true', '--property', 'null.marker=NULL');
    assert.equal(p.code, 0, p.stderr);
    const c = await consume(topic, '--from-beginning', '--max-messages', '3', '--property', 'print.key=true', '--property', 'null.literal=<null>');
    assert.deepEqual(lines(c.stdout), ['<null>\tv1', 'k2\t<null>', 'plain\tline\twith tabs']);
  });

  it('stops at a line without the key separator, after sending the lines before it', async () => {
    const topic = await newTopic();
    const p = await produce(topic, 'k\tgood\nbad line\nk\tnever sent\n', '--property', 'parse.key=true');
    assert.equal(p.code, 1);
    assert.equal(p.stderr, "No key separator found on line number 2: 'bad line'\n");
    const c = await consume(topic, '--from-beginning', '--max-messages', '1');
    assert.deepEqual(lines(c.stdout), ['good']);
    assert.deepEqual(lines((await runTool(getOffsets, ['--bootstrap-server', bs, '--topic', topic])).stdout), [`${topic}:0:1`]);
  });

  it('reads one partition from an offset, earliest or latest', async () => {
    const topic = await newTopic(2);
    const input = Array.from({ length: 10 }, (_, i) => `key${i}\tm${i}`).join('\n');
    const p = await produce(topic, input, '--sync', '--property', 'parse.key=true');
    assert.equal(p.code, 0, p.stderr);
    const ends = lines((await runTool(getOffsets, ['--bootstrap-server', bs, '--topic', topic])).stdout).map((l) => Number(l.split(':')[2]));
    assert.equal(ends[0]! + ends[1]!, 10);
    const read = async (partition: number, ...args: string[]) =>
      lines((await consume(topic, '--partition', String(partition), ...args)).stdout);
    const p0 = ends[0]! > 0 ? await read(0, '--offset', 'earliest', '--max-messages', String(ends[0])) : [];
    const p1 = ends[1]! > 0 ? await read(1, '--from-beginning', '--max-messages', String(ends[1])) : [];
    assert.deepEqual([...p0, ...p1].sort(), input.split('\n').map((l) => l.split('\t')[1]!).sort());

    const busy = ends[0]! >= ends[1]! ? 0 : 1;
    const whole = busy === 0 ? p0 : p1;
    const fromOne = await read(busy, '--offset', '1', '--max-messages', String(whole.length - 1), '--property', 'print.offset=true');
    assert.deepEqual(fromOne, whole.slice(1).map((v, i) => `Offset:${i + 1}\t${v}`));

    const latest = await consume(topic, '--partition', '0', '--timeout-ms', '500');
    assert.equal(latest.code, 0);
    assert.equal(latest.stdout, '');
    assert.match(latest.stderr, /ERROR Error processing message, terminating consumer process: .*Timeout.*\nProcessed a total of 0 messages\n$/);
  });

  it('prompts with > before each line when standard input is a terminal', async () => {
    const topic = await newTopic();
    const io = new TestIo('first\nsecond\n');
    io.stdin.isTTY = true;
    assert.equal(await consoleProducer(['--bootstrap-server', bs, '--topic', topic], io), 0);
    assert.equal(io.output, '>>>', 'one prompt per read, the last one answered by end of input');
    assert.deepEqual(lines((await consume(topic, '--from-beginning', '--max-messages', '2')).stdout), ['first', 'second']);
  });

  it('sends gzip batches for --compression-codec without a value', async () => {
    const topic = await newTopic();
    const p = await produce(topic, 'a\nb\nc\n', '--compression-codec');
    assert.equal(p.code, 0, p.stderr);
    const segment = join(broker.dir, 'data', `${topic}-0`, '00000000000000000000.log');
    const d = await runTool(dumpLog, ['--files', segment]);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /compresscodec: gzip crc: \d+ isvalid: true/);
    assert.deepEqual(lines((await consume(topic, '--from-beginning', '--max-messages', '3')).stdout), ['a', 'b', 'c']);
  });

  it('rejects bad options with one line and exit code 1', async () => {
    const cases: Array<[(argv: string[], io: CliIo) => Promise<number>, string[], RegExp]> = [
      [consoleConsumer, ['--bootstrap-server', 'x:1', '--topic', 't', '--offset', '3'], /^The partition is required when offset is specified\.\n$/],
      [consoleConsumer, ['--bootstrap-server', 'x:1', '--topic', 't', '--partition', '0', '--offset', 'soon'], /^The provided offset value 'soon' is incorrect/],
      [consoleConsumer, ['--bootstrap-server', 'x:1', '--topic', 't', '--partition', '0', '--offset', '1', '--from-beginning'], /^Options from-beginning and offset cannot be specified together\.\n$/],
      [consoleConsumer, ['--bootstrap-server', 'x:1'], /^Exactly one of --topic or --include is required\.\n$/],
      [consoleConsumer, ['--topic', 't'], /^Missing required argument "\[bootstrap-server\]"\n$/],
      [consoleConsumer, ['--bootstrap-server', 'x:1', '--topic', 't', '--partition', '0', '--group', 'g'], /^Option "\[group\]" can't be used with option "\[partition\]"\n$/],
      [consoleProducer, ['--bootstrap-server', 'x:1'], /^Missing required argument "\[topic\]"\n$/],
      [consoleProducer, ['--topic', 't'], /^Missing required argument "\[bootstrap-server\]"\n$/],
      [consoleProducer, ['--topic', 't', '--bootstrap-server', 'x:1', '--property', 'parse.key'], /^ganglion console-producer: Invalid property 'parse.key': expected key=value\n$/],
      [consoleProducer, ['--topic', 't', '--bootstrap-server', 'x:1', '--compression-codec', 'brotli'], /compression\.type/],
      [consoleProducer, ['--topic', 't', '--bootstrap-server', 'x:1', '--frobnicate'], /^ganglion console-producer: unknown option '--frobnicate'/],
    ];
    for (const [tool, args, expected] of cases) {
      const r = await runTool(tool, args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, expected, args.join(' '));
      assert.equal(lines(r.stderr).length, 1, r.stderr);
    }
  });

  it('reports failed sends: logged and exit 0 (async), exit 1 with --sync', async () => {
    const unreachable = ['--bootstrap-server', '127.0.0.1:1', '--topic', 'nowhere', '--max-block-ms', '300', '--producer-property', 'enable.idempotence=false'];
    const async = await runTool(consoleProducer, unreachable, 'a\nbb\n');
    assert.equal(async.code, 0);
    const errors = lines(async.stderr);
    assert.equal(errors.length, 2, async.stderr);
    assert.match(errors[0]!, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] ERROR Error when sending message to topic nowhere with key: null, value: 1 bytes with error: .*300 ms/);
    assert.match(errors[1]!, /value: 2 bytes with error: /);
    const sync = await runTool(consoleProducer, [...unreachable, '--sync'], 'a\nbb\n');
    assert.equal(sync.code, 1);
    assert.equal(lines(sync.stderr).length, 1, 'stops at the first failure');
  });

  it('exits on a signal with "Processed a total of N messages" (in-process and as a process)', async () => {
    const topic = await newTopic();
    await produce(topic, 'one\ntwo\n');
    const io = new TestIo();
    const running = consoleConsumer(['--bootstrap-server', bs, '--topic', topic, '--from-beginning'], io);
    const deadline = Date.now() + 10_000;
    while (!io.output.includes('two') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    io.signal('SIGINT');
    assert.equal(await running, 130);
    assert.equal(io.output, 'one\ntwo\n');
    assert.equal(io.errors, 'Processed a total of 2 messages\n');

    const child = startGanglion(['console-consumer', '--bootstrap-server', bs, '--topic', topic, '--from-beginning']);
    await child.waitForLine('two', 20_000);
    child.kill('SIGINT');
    const exit = await child.exited;
    assert.equal(exit.code, 130, child.output());
    assert.deepEqual(child.stderrLines, ['Processed a total of 2 messages']);
  });

  it('exchanges records byte-exactly with kcat', { skip: skipUnlessOnPath('kcat') }, async () => {
    const topic = await newTopic();
    const text = 'ключ\tзначение ✓\nk2\tvalue with trailing space \n\tempty key\n';
    assert.equal((await produce(topic, text, '--property', 'parse.key=true')).code, 0);
    const kcatOut = await runOk('kcat', ['-b', bs, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k\\t%s\\n']);
    assert.equal(kcatOut.toString('utf8'), text);

    const other = await newTopic();
    await runOk('kcat', ['-b', bs, '-P', '-t', other, '-K', '\t'], { input: text });
    const c = await consume(other, '--from-beginning', '--max-messages', '3', '--property', 'print.key=true');
    assert.equal(c.stdout, text);
  });
});
