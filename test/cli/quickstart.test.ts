/**
 * The quick start, as a user types it: the real `ganglion` bin against a
 * broker — create a topic with 3 partitions, list and describe it, produce
 * keyed lines with the console producer, read them back with the console
 * consumer, add a partition, check the offsets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { ganglion, lines } from './helpers.js';

describe('quick start with the ganglion bin', () => {
  let broker: TestBroker;
  let bs: string;
  before(async () => {
    broker = await startTestBroker();
    bs = broker.bootstrap;
  });
  after(async () => broker.close());

  it('creates, lists and describes a topic, produces and consumes keyed records, adds partitions, reads offsets', async () => {
    const create = await ganglion(['topics', '--create', '--topic', 'test', '--partitions', '3', '--replication-factor', '1', '--bootstrap-server', bs]);
    assert.equal(create.code, 0, create.stderr);
    assert.equal(create.stdout, 'Created topic test.\n');

    const list = await ganglion(['topics', '--list', '--bootstrap-server', bs]);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(lines(list.stdout), ['test']);

    const describe = await ganglion(['topics', '--describe', '--topic', 'test', '--bootstrap-server', bs]);
    assert.equal(describe.code, 0, describe.stderr);
    const [header, ...partitions] = lines(describe.stdout);
    assert.match(header!, /^Topic: test\tTopicId: [A-Za-z0-9_-]{22}\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: \S*$/);
    assert.deepEqual(partitions, [0, 1, 2].map((p) => `\tTopic: test\tPartition: ${p}\tLeader: 0\tReplicas: 0\tIsr: 0\tElr: \tLastKnownElr: `));

    // The seeds' producer flag (--broker-list) still works.
    const produce = await ganglion(['console-producer', '--broker-list', bs, '--topic', 'test', '--property', 'parse.key=true', '--property', 'key.separator=:'], {
      input: 'k1:This is a message\nk2:This is another message\n',
    });
    assert.equal(produce.code, 0, produce.stderr);
    assert.equal(produce.stdout, '', 'no prompt when standard input is not a terminal');

    const consume = await ganglion([
      'console-consumer', '--bootstrap-server', bs, '--topic', 'test', '--from-beginning', '--max-messages', '2', '--property', 'print.key=true',
    ]);
    assert.equal(consume.code, 0, consume.stderr);
    assert.deepEqual(lines(consume.stdout).sort(), ['k1\tThis is a message', 'k2\tThis is another message']);
    assert.equal(consume.stderr, 'Processed a total of 2 messages\n');

    const alter = await ganglion(['topics', '--alter', '--topic', 'test', '--partitions', '4', '--bootstrap-server', bs]);
    assert.equal(alter.code, 0, alter.stderr);
    assert.equal(alter.stdout, '');
    const after = await ganglion(['topics', '--describe', '--topic', 'test', '--bootstrap-server', bs]);
    assert.match(after.stdout, /\tPartitionCount: 4\t/);
    assert.equal(lines(after.stdout).length, 5);

    const offsets = await ganglion(['get-offsets', '--bootstrap-server', bs, '--topic', 'test', '--time', '-1']);
    assert.equal(offsets.code, 0, offsets.stderr);
    const rows = lines(offsets.stdout).map((l) => l.split(':'));
    assert.deepEqual(rows.map((r) => `${r[0]}:${r[1]}`), ['test:0', 'test:1', 'test:2', 'test:3']);
    assert.equal(rows.reduce((sum, r) => sum + Number(r[2]), 0), 2);
  });

  it('lists every tool in `ganglion --help`', async () => {
    const help = await ganglion(['--help']);
    assert.equal(help.code, 0);
    for (const tool of [
      'server-start', 'topics', 'console-producer', 'console-consumer', 'configs', 'get-offsets', 'delete-records',
      'broker-api-versions', 'producer-perf-test', 'consumer-perf-test', 'dump-log',
    ]) {
      assert.match(help.stdout, new RegExp(`^  ${tool} +\\S.*\\(kafka-`, 'm'), `${tool} missing from --help`);
    }
  });
});
