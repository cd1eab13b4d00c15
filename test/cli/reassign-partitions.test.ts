/**
 * `ganglion reassign-partitions` without a cluster: Kafka's option rules and
 * messages, its JSON formats, and the proposal of --generate. Every case here
 * fails before the tool would contact a broker (the bootstrap address is
 * never connected to). The runs against real brokers are in
 * reassign-partitions-cluster.test.ts.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatOngoing, parseBrokerList, proposeAssignment, reassignPartitions } from '../../src/cli/reassign-partitions.js';
import { checkReassignment, formatReassignment, parseReassignment, parseTopicsToMove } from '../../src/cli/partition-json.js';
import { makeTempDir, removeDir } from '../helpers/broker.js';
import { runTool } from './helpers.js';

/** An address nothing listens on: reaching it would make a case hang, not pass. */
const NOWHERE = '127.0.0.1:1';

describe('ganglion reassign-partitions (no cluster)', () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir('ganglion-reassign-');
  });
  after(() => removeDir(dir));

  const file = async (name: string, content: string) => {
    const path = join(dir, name);
    await writeFile(path, content);
    return path;
  };
  const fails = async (args: string[], message: string | RegExp) => {
    const r = await runTool(reassignPartitions, args);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    if (typeof message === 'string') assert.equal(r.stderr, `${message}\n`);
    else assert.match(r.stderr, message);
  };

  it('checks the action and its options as Kafka does', async () => {
    await fails(['--bootstrap-server', NOWHERE], 'Command must include exactly one action: --generate, --execute, --verify, --cancel, --list');
    await fails(['--bootstrap-server', NOWHERE, '--list', '--verify'], /^Command must include exactly one action/);
    await fails(['--list'], 'Please specify --bootstrap-server');
    await fails(['--bootstrap-server', NOWHERE, '--generate', '--broker-list', '0,1'], 'Missing required argument "[topics-to-move-json-file]"');
    await fails(['--bootstrap-server', NOWHERE, '--execute'], 'Missing required argument "[reassignment-json-file]"');
    await fails(
      ['--bootstrap-server', NOWHERE, '--verify', '--reassignment-json-file', 'x.json', '--throttle', '100'],
      'Option "[throttle]" can\'t be used with action "[verify]"',
    );
    await fails(['--bootstrap-server', NOWHERE, '--list', '--additional'], 'Option "[additional]" can\'t be used with action "[list]"');
    await fails(['--bootstrap-server', NOWHERE, '--list', '--bogus'], /^ganglion reassign-partitions: unknown option '--bogus'/);
  });

  it('refuses bad plans before contacting the cluster, with Kafka\'s messages', async () => {
    const run = async (name: string, json: string, message: string | RegExp) =>
      fails(['--bootstrap-server', NOWHERE, '--execute', '--reassignment-json-file', await file(name, json)], message);
    await run('v2.json', '{"version":2,"partitions":[]}', 'Error: Not supported version field value 2');
    await run('empty.json', '{"version":1,"partitions":[]}', 'Error: Partition reassignment list cannot be empty');
    await run('bad.json', '{"version":1,', /^Error: The input string is not a valid JSON/);
    await run('no-replicas.json', '{"partitions":[{"topic":"t","partition":0,"replicas":[]}]}', 'Error: Partition replica list cannot be empty');
    await run(
      'dup-part.json',
      '{"partitions":[{"topic":"t","partition":0,"replicas":[1]},{"topic":"t","partition":0,"replicas":[2]}]}',
      'Error: Partition reassignment contains duplicate topic partitions: t-0',
    );
    await run(
      'dup-replica.json',
      '{"partitions":[{"topic":"t","partition":0,"replicas":[1,2,1]}]}',
      'Error: Partition replica lists may not contain duplicate entries: t-0 contains 1',
    );
    await run(
      'dirs.json',
      '{"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any"]}]}',
      'Error: Size of replicas list [1, 2] is different from size of log dirs list [any] for partition t-0',
    );
    await run('dir-move.json', '{"partitions":[{"topic":"t","partition":0,"replicas":[1],"log_dirs":["/data/a"]}]}', /^Error: Moving replicas between log directories is not supported/);
    await run('no-topic.json', '{"partitions":[{"partition":0,"replicas":[1]}]}', /^Error: No such field exists: `topic` in partitions\[0\]/);
    await fails(['--bootstrap-server', NOWHERE, '--verify', '--reassignment-json-file', join(dir, 'missing.json')], /^Error: Unable to read .*missing\.json/);
  });

  it('checks --generate input: broker list and topics', async () => {
    assert.deepEqual(parseBrokerList('0, 1,2'), [0, 1, 2]);
    assert.throws(() => parseBrokerList('0,1,0'), /Broker list contains duplicate entries: 0/);
    assert.throws(() => parseBrokerList('0,x'), /'x' is not a broker id/);
    const topics = await file('dup-topics.json', '{"version":1,"topics":[{"topic":"a"},{"topic":"a"}]}');
    await fails(
      ['--bootstrap-server', NOWHERE, '--generate', '--broker-list', '0,1', '--topics-to-move-json-file', topics],
      'Error: List of topics to reassign contains duplicate entries: a',
    );
    assert.deepEqual(parseTopicsToMove('{"topics": [{"topic": "foo"}, {"topic": "bar"}], "version": 1}'), ['foo', 'bar']);
    assert.deepEqual(parseTopicsToMove('{"version":1}'), []);
  });

  it('writes and reads Kafka\'s reassignment JSON', () => {
    const text = formatReassignment([
      { topic: 'b', partition: 0, replicas: [3] },
      { topic: 'a', partition: 10, replicas: [2, 0] },
      { topic: 'a', partition: 2, replicas: [0, 1] },
    ]);
    assert.equal(
      text,
      '{"version":1,"partitions":[' +
        '{"topic":"a","partition":2,"replicas":[0,1],"log_dirs":["any","any"]},' +
        '{"topic":"a","partition":10,"replicas":[2,0],"log_dirs":["any","any"]},' +
        '{"topic":"b","partition":0,"replicas":[3],"log_dirs":["any"]}]}',
    );
    const plan = parseReassignment(text);
    assert.deepEqual(plan, [
      { topic: 'a', partition: 2, replicas: [0, 1] },
      { topic: 'a', partition: 10, replicas: [2, 0] },
      { topic: 'b', partition: 0, replicas: [3] },
    ]);
    checkReassignment(plan);
  });

  it('proposes each topic spread over the listed brokers with its replication factor', () => {
    const current = [0, 1, 2, 3, 4, 5].map((partition) => ({ topic: 't', partition, replicas: [0, 1, 2] }));
    current.push({ topic: 'single', partition: 0, replicas: [1] });
    for (let round = 0; round < 20; round++) {
      const proposal = proposeAssignment(current, [0, 1, 2, 3]);
      assert.equal(proposal.length, current.length);
      for (const p of proposal) {
        assert.equal(p.replicas.length, p.topic === 't' ? 3 : 1);
        assert.equal(new Set(p.replicas).size, p.replicas.length, 'no broker twice');
        assert.ok(p.replicas.every((b) => [0, 1, 2, 3].includes(b)));
      }
      // Leaders round-robin over the brokers: six partitions on four brokers lead at most twice each.
      const leaders = proposal.filter((p) => p.topic === 't').map((p) => p.replicas[0]!);
      for (const b of [0, 1, 2, 3]) assert.ok(leaders.filter((l) => l === b).length <= 2, `leaders ${leaders}`);
    }
    assert.throws(() => proposeAssignment(current, [0, 1]), /Replication factor: 3 larger than available brokers: 2\./);
  });

  it('lists ongoing reassignments in Kafka\'s words', () => {
    assert.equal(formatOngoing([]), 'No partition reassignments found.');
    assert.equal(
      formatOngoing([
        { topic: 't', partition: 1, replicas: [0, 1, 2, 3], addingReplicas: [3], removingReplicas: [0] },
        { topic: 't', partition: 0, replicas: [1, 2], addingReplicas: [], removingReplicas: [] },
      ]),
      'Current partition reassignments:\nt-0: replicas: 1,2.\nt-1: replicas: 0,1,2,3. adding: 3. removing: 0.',
    );
  });
});
