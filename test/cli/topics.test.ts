/**
 * `ganglion topics` in-process against a broker: every action, Kafka's
 * output and messages, and the flag checks.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { topics } from '../../src/cli/topics.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { lines, runTool, topicName } from './helpers.js';

describe('ganglion topics', () => {
  let broker: TestBroker;
  let bs: string;
  const t = (...args: string[]) => runTool(topics, [...args, '--bootstrap-server', bs]);
  before(async () => {
    broker = await startTestBroker();
    bs = broker.bootstrap;
  });
  after(async () => broker.close());

  it('creates with configs and prints the overrides in --describe', async () => {
    const name = topicName();
    const created = await t('--create', '--topic', name, '--partitions', '2', '--config', 'retention.ms=1000', '--config', 'cleanup.policy=compact');
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, `Created topic ${name}.\n`);
    const d = await t('--describe', '--topic', name);
    assert.equal(d.code, 0, d.stderr);
    const header = lines(d.stdout)[0]!;
    assert.match(header, new RegExp(`^Topic: ${name}\\tTopicId: \\S+\\tPartitionCount: 2\\tReplicationFactor: 1\\tConfigs: `));
    const configs = header.slice(header.indexOf('Configs: ') + 9).split(',');
    assert.ok(configs.includes('retention.ms=1000'), header);
    assert.ok(configs.includes('cleanup.policy=compact'), header);
  });

  it('creates with --replica-assignment', async () => {
    const name = topicName();
    const r = await t('--create', '--topic', name, '--replica-assignment', '0,0,0');
    assert.equal(r.code, 0, r.stderr);
    assert.match((await t('--describe', '--topic', name)).stdout, /PartitionCount: 3\tReplicationFactor: 1/);
  });

  it("warns about '.' and '_' in names, fails on an existing topic unless --if-not-exists", async () => {
    const name = `${topicName()}.with_dot`;
    const r = await t('--create', '--topic', name);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lines(r.stdout), [
      "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.",
      `Created topic ${name}.`,
    ]);
    const again = await t('--create', '--topic', name);
    assert.equal(again.code, 1);
    assert.equal(again.stderr, `Error while executing topic command : Topic '${name}' already exists.\n`);
    const quiet = await t('--create', '--topic', name, '--if-not-exists');
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.doesNotMatch(quiet.stdout, /Created/);
  });

  it('lists, filters with a regular expression, alters and deletes', async () => {
    const prefix = topicName('lst');
    for (const s of ['a', 'b']) assert.equal((await t('--create', '--topic', `${prefix}-${s}`)).code, 0);
    const all = lines((await t('--list')).stdout);
    assert.ok(all.includes(`${prefix}-a`) && all.includes(`${prefix}-b`));
    assert.deepEqual([...all].sort(), all, 'sorted');
    assert.deepEqual(lines((await t('--list', '--topic', `${prefix}-.*`)).stdout), [`${prefix}-a`, `${prefix}-b`]);

    const alter = await t('--alter', '--topic', `${prefix}-a`, '--partitions', '3');
    assert.equal(alter.code, 0, alter.stderr);
    assert.match((await t('--describe', '--topic', `${prefix}-a`)).stdout, /PartitionCount: 3/);
    const shrink = await t('--alter', '--topic', `${prefix}-a`, '--partitions', '2');
    assert.equal(shrink.code, 1);
    assert.match(shrink.stderr, /^Error while executing topic command : .*partitions/i);

    const del = await t('--delete', '--topic', `${prefix}-b`);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(del.stdout, '');
    assert.deepEqual(lines((await t('--list', '--topic', `${prefix}-.*`)).stdout), [`${prefix}-a`]);
  });

  it('reports missing topics unless --if-exists', async () => {
    for (const action of [['--describe'], ['--delete'], ['--alter', '--partitions', '5']]) {
      const r = await t(...action, '--topic', 'no-such-topic');
      assert.equal(r.code, 1, action.join(' '));
      assert.equal(r.stderr, "Topic 'no-such-topic' does not exist as expected\n");
      const quiet = await t(...action, '--topic', 'no-such-topic', '--if-exists');
      assert.equal(quiet.code, 0, quiet.stderr);
      assert.equal(quiet.stdout, '');
    }
  });

  it('prints no partitions for --under-replicated-partitions and --unavailable-partitions on a healthy broker', async () => {
    const name = topicName();
    await t('--create', '--topic', name, '--partitions', '2');
    for (const flag of ['--under-replicated-partitions', '--unavailable-partitions']) {
      const r = await t('--describe', '--topic', name, flag);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '');
    }
    const atMin = await t('--describe', '--topic', name, '--at-min-isr-partitions');
    assert.equal(lines(atMin.stdout).length, 2, 'ISR 1 = min.insync.replicas 1');
  });

  it('rejects bad flag combinations with one line and exit code 1', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--topic', 'x'], /^Command must include exactly one action: --list, --describe, --create, --alter or --delete\n$/],
      [['--list', '--describe'], /^Command must include exactly one action/],
      [['--create'], /^Missing required argument "\[topic\]"\n$/],
      [['--alter', '--topic', 'x'], /^Missing required argument "\[partitions\]"\n$/],
      [['--list', '--config', 'a=b'], /^Option "\[config\]" can't be used with option "\[list\]"\n$/],
      [['--create', '--topic', 'x', '--partitions', '1', '--replica-assignment', '0'], /^Option "\[replica-assignment\]" can't be used with option "\[partitions\]"\n$/],
      [['--create', '--topic', 'x', '--partitions', 'many'], /^ganglion topics: option '--partitions <n>' argument 'many' is invalid/],
      [['--list', '--no-such-flag'], /^ganglion topics: unknown option '--no-such-flag'/],
      [['--create', '--topic', 'x', '--partitions', '0'], /^The partitions must be greater than 0\n$/],
      [['--create', '--topic', 'x', '--config', 'novalue'], /Invalid topic config: all configs to be added must be in the format "key=val"/],
    ];
    for (const [args, expected] of cases) {
      const r = await t(...args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, expected, args.join(' '));
      assert.equal(lines(r.stderr).length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
    }
    const noServer = await runTool(topics, ['--list']);
    assert.equal(noServer.code, 1);
    assert.equal(noServer.stderr, '--bootstrap-server must be specified\n');
  });

  it('prints --help and exits 0', async () => {
    const r = await runTool(topics, ['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--bootstrap-server <server>/);
    assert.match(r.stdout, /--replication-factor <n>/);
  });
});
