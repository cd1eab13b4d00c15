/**
 * configs, get-offsets, delete-records and broker-api-versions, in-process
 * against a broker, plus the unreachable-broker message.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { brokerApiVersions } from '../../src/cli/broker-api-versions.js';
import { configs } from '../../src/cli/configs.js';
import { consoleProducer } from '../../src/cli/console-producer.js';
import { deleteRecords } from '../../src/cli/delete-records.js';
import { getOffsets } from '../../src/cli/get-offsets.js';
import { topics } from '../../src/cli/topics.js';
import { freePort, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { lines, runTool, topicName } from './helpers.js';

describe('ganglion configs, get-offsets, delete-records, broker-api-versions', () => {
  let broker: TestBroker;
  let bs: string;
  let topic: string;
  before(async () => {
    broker = await startTestBroker();
    bs = broker.bootstrap;
    topic = topicName('adm');
    assert.equal((await runTool(topics, ['--create', '--topic', topic, '--partitions', '2', '--bootstrap-server', bs])).code, 0);
    const input = Array.from({ length: 20 }, (_, i) => `key${i}\t${i}`).join('\n');
    const p = await runTool(consoleProducer, ['--bootstrap-server', bs, '--topic', topic, '--property', 'parse.key=true'], input);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(p.stderr, '');
  });
  after(async () => broker.close());

  const cfg = (...args: string[]) => runTool(configs, ['--bootstrap-server', bs, ...args]);

  it('alters and describes topic configs', async () => {
    const alter = await cfg('--entity-type', 'topics', '--entity-name', topic, '--alter', '--add-config', 'retention.ms=3600000,cleanup.policy=[delete,compact]');
    assert.equal(alter.code, 0, alter.stderr);
    assert.equal(alter.stdout, `Completed updating config for topic ${topic}.\n`);

    const d = await cfg('--entity-type', 'topics', '--entity-name', topic, '--describe');
    assert.equal(d.code, 0, d.stderr);
    const out = lines(d.stdout);
    assert.equal(out[0], `Dynamic configs for topic ${topic} are:`);
    assert.equal(
      out[1],
      '  cleanup.policy=delete,compact sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=delete,compact, DEFAULT_CONFIG:log.cleanup.policy=delete}',
    );
    assert.match(out[2]!, /^  retention\.ms=3600000 sensitive=false synonyms=\{DYNAMIC_TOPIC_CONFIG:retention\.ms=3600000, .*DEFAULT_CONFIG:log\.retention\.hours=168\}$/);
    assert.equal(out.length, 3);

    const del = await cfg('--topic', topic, '--alter', '--delete-config', 'cleanup.policy');
    assert.equal(del.code, 0, del.stderr);
    const after = lines((await cfg('--topic', topic, '--describe')).stdout);
    assert.equal(after.length, 2);
    assert.match(after[1]!, /^  retention\.ms=3600000 /);

    const missing = await cfg('--topic', topic, '--alter', '--delete-config', 'segment.ms');
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Invalid config(s): segment.ms\n');

    const all = await cfg('--entity-type', 'topics', '--entity-name', topic, '--describe', '--all');
    assert.equal(lines(all.stdout)[0], `All configs for topic ${topic} are:`);
    assert.ok(lines(all.stdout).some((l) => l.startsWith('  segment.bytes=')));
  });

  it('describes brokers and reports what it cannot do', async () => {
    const d = await cfg('--entity-type', 'brokers', '--entity-name', '0', '--describe');
    assert.equal(d.code, 0, d.stderr);
    assert.equal(lines(d.stdout)[0], 'Dynamic configs for broker 0 are:');
    const everyBroker = await cfg('--entity-type', 'brokers', '--describe');
    assert.deepEqual(lines(everyBroker.stdout), ['Dynamic configs for broker 0 are:', 'Default configs for brokers in the cluster are:']);
    const all = await cfg('--broker', '0', '--describe', '--all');
    assert.ok(lines(all.stdout).some((l) => /^  log\.dirs=\S+ sensitive=false synonyms=\{STATIC_BROKER_CONFIG:log\.dirs=/.test(l)), all.stdout);

    const cases: Array<[string[], RegExp]> = [
      [['--entity-type', 'topics', '--entity-name', 'x'], /^Command must include exactly one action: --describe, --alter\n$/],
      [['--describe'], /^At least one entity type must be specified\n$/],
      [['--entity-type', 'widgets', '--describe'], /^Invalid entity type widgets/],
      [['--entity-type', 'users', '--describe'], /not supported by Ganglion yet/],
      [['--entity-type', 'brokers', '--entity-name', 'zero', '--describe'], /must be a valid integer broker id/],
      [['--topic', 'x', '--alter'], /^At least one of --add-config, --add-config-file, or --delete-config must be specified with --alter\n$/],
      [['--topic', 'x', '--alter', '--add-config', 'novalue'], /Invalid entity config: all configs to be added must be in the format "key=val"/],
      [['--entity-type', 'topics', '--entity-name', 'no-such-topic', '--describe'], /^Error while executing config command with args '.*': The topic 'no-such-topic' does not exist\.\n$/],
    ];
    for (const [args, expected] of cases) {
      const r = await cfg(...args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, expected, args.join(' '));
    }
  });

  it('prints offsets by time, with partition filters', async () => {
    const latest = lines((await runTool(getOffsets, ['--bootstrap-server', bs, '--topic', topic])).stdout);
    assert.equal(latest.length, 2);
    assert.ok(latest.every((l) => Number(l.split(':')[2]) > 2), `both partitions hold records: ${latest}`);
    assert.deepEqual(latest.map((l) => l.split(':').slice(0, 2).join(':')), [`${topic}:0`, `${topic}:1`]);
    assert.equal(latest.reduce((s, l) => s + Number(l.split(':')[2]), 0), 20);

    assert.deepEqual(lines((await runTool(getOffsets, ['--bootstrap-server', bs, '--topic', topic, '--time', '-2'])).stdout), [`${topic}:0:0`, `${topic}:1:0`]);
    assert.deepEqual(lines((await runTool(getOffsets, ['--bootstrap-server', bs, '--topic', topic, '--time', 'earliest', '--partitions', '1'])).stdout), [`${topic}:1:0`]);
    assert.deepEqual(lines((await runTool(getOffsets, ['--bootstrap-server', bs, '--topic-partitions', `${topic}:1-`, '--time', '0'])).stdout), [`${topic}:1:0`]);
    const future = await runTool(getOffsets, ['--bootstrap-server', bs, '--topic', topic, '--time', String(Date.now() + 3_600_000)]);
    assert.equal(future.code, 0);
    assert.equal(future.stdout, '', 'no offset for a timestamp after every record');
    const max = lines((await runTool(getOffsets, ['--bootstrap-server', bs, '--topic', topic, '--time', '-3'])).stdout);
    assert.equal(max.length, 2);

    const none = await runTool(getOffsets, ['--bootstrap-server', bs, '--topic', 'nothing-matches-this']);
    assert.equal(none.code, 1);
    assert.equal(none.stderr, 'Error occurred: Could not match any topic-partitions with the specified filters\n');
    const bad = await runTool(getOffsets, ['--bootstrap-server', bs, '--time', 'yesterday']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^Error occurred: Malformed time argument yesterday\. /);
  });

  it('deletes records and prints the low watermarks', async () => {
    const ends = lines((await runTool(getOffsets, ['--bootstrap-server', bs, '--topic', topic])).stdout).map((l) => Number(l.split(':')[2]));
    const file = join(broker.dir, 'offsets.json');
    await writeFile(file, JSON.stringify({ partitions: [{ topic, partition: 0, offset: 2 }, { topic, partition: 1, offset: ends[1]! + 100 }], version: 1 }));
    const r = await runTool(deleteRecords, ['--bootstrap-server', bs, '--offset-json-file', file]);
    assert.equal(r.code, 0, r.stderr);
    const out = lines(r.stdout);
    assert.deepEqual(out.slice(0, 3), ['Executing records delete operation', 'Records delete operation completed:', `partition: ${topic}-0\tlow_watermark: 2`]);
    assert.match(out[3]!, new RegExp(`^partition: ${topic}-1\\terror: OFFSET_OUT_OF_RANGE`));
    assert.deepEqual(lines((await runTool(getOffsets, ['--bootstrap-server', bs, '--topic', topic, '--time', '-2'])).stdout), [`${topic}:0:2`, `${topic}:1:0`]);

    await writeFile(file, '{"partitions":[{"topic":"a","partition":0,"offset":1},{"topic":"a","partition":0,"offset":2}],"version":1}');
    const dup = await runTool(deleteRecords, ['--bootstrap-server', bs, '--offset-json-file', file]);
    assert.equal(dup.code, 1);
    assert.equal(dup.stderr, 'Offset json file contains duplicate topic partitions: a-0\n');
    await writeFile(file, 'not json');
    assert.equal((await runTool(deleteRecords, ['--bootstrap-server', bs, '--offset-json-file', file])).stderr, 'The input string is not a valid JSON\n');
    const noFile = await runTool(deleteRecords, ['--bootstrap-server', bs]);
    assert.equal(noFile.stderr, 'Missing required argument "[offset-json-file]"\n');
  });

  it('lists the broker API versions, Produce and Fetch with their usable versions', async () => {
    const r = await runTool(brokerApiVersions, ['--bootstrap-server', bs]);
    assert.equal(r.code, 0, r.stderr);
    const out = lines(r.stdout);
    assert.equal(out[0], `${bs} (id: 0 rack: null isFenced: false) -> (`);
    assert.match(out[1]!, /^\tProduce\(0\): \d+ to \d+ \[usable: \d+\],$/);
    assert.match(out[2]!, /^\tFetch\(1\): \d+ to \d+ \[usable: \d+\],$/);
    assert.ok(out.includes('\tApiVersions(18): 0 to 4 [usable: 4],'), r.stdout);
    assert.ok(out.some((l) => /^\t\w+\(\d+\): UNSUPPORTED,?$/.test(l)));
    assert.equal(out[out.length - 1], ')');
    assert.doesNotMatch(out[out.length - 2]!, /,$/);
  });

  it('reports an unreachable broker with one clear line', async () => {
    const port = await freePort();
    const settings = join(broker.dir, 'fast-timeout.properties');
    await writeFile(settings, 'default.api.timeout.ms=1000\nrequest.timeout.ms=500\n');
    const r = await runTool(topics, ['--list', '--bootstrap-server', `127.0.0.1:${port}`, '--command-config', settings]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error while executing topic command : .*timed out after 1000 ms.*\n$/);
    assert.equal(lines(r.stderr).length, 1);
  });
});
