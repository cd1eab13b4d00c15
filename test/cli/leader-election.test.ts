/**
 * `ganglion leader-election` without a cluster: Kafka's option rules and
 * messages, its JSON file, and its summary lines. The elections against
 * real brokers are in leader-election-cluster.test.ts.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatResults, leaderElection } from '../../src/cli/leader-election.js';
import { parseElectionPartitions } from '../../src/cli/partition-json.js';
import { KafkaError } from '../../src/client/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { makeTempDir, removeDir } from '../helpers/broker.js';
import { runTool } from './helpers.js';

const NOWHERE = '127.0.0.1:1';

describe('ganglion leader-election (no cluster)', () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir('ganglion-election-');
  });
  after(() => removeDir(dir));

  const fails = async (args: string[], message: string | RegExp) => {
    const r = await runTool(leaderElection, args);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    if (typeof message === 'string') assert.equal(r.stderr, `${message}\n`);
    else assert.match(r.stderr, message);
  };

  it('checks its options as Kafka does', async () => {
    await fails([], 'Missing required option(s): bootstrap-server, election-type');
    await fails(['--bootstrap-server', NOWHERE, '--topic', 't', '--partition', '0'], 'Missing required option(s): election-type');
    await fails(['--bootstrap-server', NOWHERE, '--election-type', 'PREFERRED'], 'One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file');
    await fails(
      ['--bootstrap-server', NOWHERE, '--election-type', 'PREFERRED', '--topic', 't', '--partition', '0', '--all-topic-partitions'],
      'One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file',
    );
    await fails(['--bootstrap-server', NOWHERE, '--election-type', 'PREFERRED', '--topic', 't'], 'Missing required option(s): partition');
    await fails(['--bootstrap-server', NOWHERE, '--election-type', 'PREFERRED', '--all-topic-partitions', '--partition', '1'], 'Option partition is only allowed if topic is used');
    await fails(['--bootstrap-server', NOWHERE, '--election-type', 'fastest', '--all-topic-partitions'], "Invalid election type 'fastest': expected PREFERRED or UNCLEAN");
  });

  it('reads the partitions file, refusing duplicates and a missing "partitions" field', async () => {
    assert.deepEqual(parseElectionPartitions('{"partitions": [{"topic": "a", "partition": 1}, {"topic": "b", "partition": 0}]}'), [
      { topic: 'a', partition: 1 },
      { topic: 'b', partition: 0 },
    ]);
    assert.throws(() => parseElectionPartitions(''), /Replica election data is empty/);
    assert.throws(() => parseElectionPartitions('{"topics": []}'), /Replica election data is missing "partitions" field/);
    const dup = join(dir, 'dup.json');
    await writeFile(dup, '{"partitions":[{"topic":"a","partition":1},{"topic":"a","partition":1}]}');
    await fails(['--bootstrap-server', NOWHERE, '--election-type', 'preferred', '--path-to-json-file', dup], 'Replica election data contains duplicate partitions: a-1');
  });

  it("prints Kafka's summary: elected, already elected, then one line per failure", () => {
    const text = formatResults('PREFERRED', [
      { topic: 'b', partition: 0, error: null },
      { topic: 'a', partition: 1, error: new KafkaError(ErrorCode.ELECTION_NOT_NEEDED) },
      { topic: 'a', partition: 0, error: null },
      { topic: 'c', partition: 2, error: new KafkaError(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, 'broker 2 is down') },
    ]);
    assert.equal(
      text,
      'Successfully completed leader election (PREFERRED) for partitions a-0, b-0\n' +
        'Valid replica already elected for partitions a-1\n' +
        'Error completing leader election (PREFERRED) for partition: c-2: PREFERRED_LEADER_NOT_AVAILABLE: broker 2 is down\n',
    );
    assert.equal(formatResults('UNCLEAN', []), '');
  });
});
