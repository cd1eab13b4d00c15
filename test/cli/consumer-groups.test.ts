/**
 * `ganglion consumer-groups` against an in-process broker: --list,
 * --describe (lag = end offset − committed), --members, --state,
 * --reset-offsets dry run / execute / refusal while active, --delete,
 * --delete-offsets; and console-consumer --group.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBroker, type RunningBroker } from '../../src/broker/broker.js';
import { consoleConsumer } from '../../src/cli/console-consumer.js';
import { consumerGroups } from '../../src/cli/consumer-groups.js';
import { Admin, Consumer, Producer } from '../../src/client/index.js';
import { lines, runTool, topicName } from './helpers.js';

describe('consumer-groups tool', () => {
  let broker: RunningBroker;
  let logDir: string;
  let bs: string;
  let admin: Admin;

  before(async () => {
    logDir = await mkdtemp(join(tmpdir(), 'ganglion-cg-'));
    broker = await startBroker({ port: 0, logDir, logLevel: 'silent', config: { 'group.initial.rebalance.delay.ms': 0 } });
    bs = broker.bootstrapServers;
    admin = new Admin({ 'bootstrap.servers': bs });
  });
  after(async () => {
    await admin.close();
    await broker.close();
    await rm(logDir, { recursive: true, force: true });
  });

  async function setup(records: number, committed: [number, number]): Promise<{ topic: string; group: string }> {
    const topic = topicName('cg');
    const group = `${topic}-g`;
    await admin.createTopics([{ topic, numPartitions: 2, replicationFactor: 1 }]);
    const producer = new Producer({ 'bootstrap.servers': bs, 'linger.ms': 0 });
    await Promise.all(Array.from({ length: records }, (_, i) => producer.send({ topic, partition: i % 2, value: `v${i}` })));
    await producer.close();
    await admin.alterConsumerGroupOffsets(group, [
      { topic, partition: 0, offset: committed[0] },
      { topic, partition: 1, offset: committed[1] },
    ]);
    return { topic, group };
  }

  const cg = (...args: string[]) => runTool(consumerGroups, ['--bootstrap-server', bs, ...args]);

  it('lists and describes a group with lag = end − committed', async () => {
    const { topic, group } = await setup(20, [3, 7]);
    const l = await cg('--list');
    assert.equal(l.code, 0, l.stderr);
    assert.ok(lines(l.stdout).includes(group), l.stdout);
    const d = await cg('--describe', '--group', group);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stderr, new RegExp(`Consumer group '${group}' has no active members`));
    const out = lines(d.stdout).filter((x) => x !== '');
    assert.match(out[0]!, /^GROUP +TOPIC +PARTITION +CURRENT-OFFSET +LOG-END-OFFSET +LAG +CONSUMER-ID +HOST +CLIENT-ID$/);
    const rows = out.slice(1).map((r) => r.split(/ +/));
    assert.deepEqual(rows, [
      [group, topic, '0', '3', '10', '7', '-', '-', '-'],
      [group, topic, '1', '7', '10', '3', '-', '-', '-'],
    ]);
    // Columns line up: each header starts where its values start.
    const header = out[0]!;
    assert.equal(out[1]!.indexOf(' 3 ') + 1, header.indexOf('CURRENT-OFFSET'));
  });

  it('shows members, state and consumer ids of an active group', async () => {
    const { topic, group } = await setup(4, [0, 0]);
    const consumer = new Consumer({ 'bootstrap.servers': bs, 'group.id': group, 'client.id': 'cg-client', 'enable.auto.commit': false });
    consumer.subscribe([topic]);
    const end = Date.now() + 10000;
    while (consumer.assignment().length < 2 && Date.now() < end) await consumer.poll(100);
    try {
      const m = await cg('--describe', '--group', group, '--members');
      assert.equal(m.code, 0, m.stderr);
      const ml = lines(m.stdout).filter((x) => x !== '');
      assert.match(ml[0]!, /^GROUP +CONSUMER-ID +HOST +CLIENT-ID +#PARTITIONS$/);
      assert.match(ml[1]!, new RegExp(`^${group} +\\S+ +\\S+ +cg-client +2$`));
      const s = await cg('--describe', '--group', group, '--state');
      const sl = lines(s.stdout).filter((x) => x !== '');
      assert.match(sl[0]!, /^GROUP +COORDINATOR \(ID\) +ASSIGNMENT-STRATEGY +STATE +#MEMBERS$/);
      assert.match(sl[1]!, new RegExp(`^${group} +\\S+:\\d+  \\(\\d+\\) +range +Stable +1$`));
      const d = await cg('--describe', '--group', group);
      assert.match(d.stdout, /cg-client/);
      const r = await cg('--reset-offsets', '--group', group, '--topic', topic, '--to-earliest', '--execute');
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`^Error: Assignments can only be reset if the group '${group}' is inactive, but the current state is Stable\\.`));
      const del = await cg('--delete', '--group', group);
      assert.equal(del.code, 1);
      assert.match(del.stderr, /GroupNotEmptyException/);
    } finally {
      await consumer.close();
    }
  });

  it('resets offsets (dry run, execute, each specifier), deletes offsets and groups', async () => {
    const { topic, group } = await setup(20, [3, 7]);
    const committed = async () => (await admin.listConsumerGroupOffsets(group)).map((c) => c.offset);
    const dry = await cg('--reset-offsets', '--group', group, '--topic', topic, '--to-earliest', '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    const dl = lines(dry.stdout).filter((x) => x !== '');
    assert.match(dl[0]!, /^GROUP +TOPIC +PARTITION +NEW-OFFSET$/);
    assert.deepEqual(dl.slice(1).map((r) => r.split(/ +/).slice(2)), [['0', '0'], ['1', '0']]);
    assert.deepEqual(await committed(), [3, 7]);
    const cases: Array<[string[], number[]]> = [
      [['--to-latest'], [10, 10]],
      [['--to-offset', '4'], [4, 4]],
      [['--shift-by', '-2'], [2, 2]],
      [['--shift-by', '100'], [10, 10]],
      [['--to-datetime', '2000-01-01T00:00:00.000'], [0, 0]],
      [['--by-duration', 'P1D'], [0, 0]],
      [['--to-datetime', '2999-01-01T00:00:00.000'], [10, 10]],
    ];
    for (const [spec, expected] of cases) {
      const r = await cg('--reset-offsets', '--group', group, '--all-topics', ...spec, '--execute');
      assert.equal(r.code, 0, `${spec.join(' ')}: ${r.stderr}`);
      assert.deepEqual(await committed(), expected, spec.join(' '));
    }
    const one = await cg('--reset-offsets', '--group', group, '--topic', `${topic}:1`, '--to-offset', '5', '--execute');
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual(await committed(), [10, 5]);
    const delOffsets = await cg('--delete-offsets', '--group', group, '--topic', topic);
    assert.equal(delOffsets.code, 0, delOffsets.stderr);
    assert.match(delOffsets.stdout, /Successful/);
    assert.deepEqual(await committed(), []);
    const del = await cg('--delete', '--group', group);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(del.stdout, `Deletion of requested consumer groups ('${group}') was successful.\n`);
    const gone = await cg('--describe', '--group', group);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /does not exist/);
  });

  it('console-consumer --group reads, commits, and a second run resumes', async () => {
    const topic = topicName('ccg');
    await admin.createTopics([{ topic, numPartitions: 1, replicationFactor: 1 }]);
    const producer = new Producer({ 'bootstrap.servers': bs, 'linger.ms': 0 });
    for (let i = 0; i < 6; i++) await producer.send({ topic, value: `m${i}` });
    await producer.close();
    const group = `${topic}-g`;
    const first = await runTool(consoleConsumer, ['--bootstrap-server', bs, '--topic', topic, '--group', group, '--from-beginning', '--max-messages', '4']);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(lines(first.stdout), ['m0', 'm1', 'm2', 'm3']);
    const second = await runTool(consoleConsumer, ['--bootstrap-server', bs, '--topic', topic, '--consumer-property', `group.id=${group}`, '--timeout-ms', '3000']);
    assert.deepEqual(lines(second.stdout), ['m4', 'm5']);
  });
});
