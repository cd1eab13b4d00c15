/**
 * Every tool answers --help (exit 0) and rejects an unknown flag with one
 * line and exit code 1.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { brokerApiVersions } from '../../src/cli/broker-api-versions.js';
import type { CliIo } from '../../src/cli/common.js';
import { configs } from '../../src/cli/configs.js';
import { consoleConsumer } from '../../src/cli/console-consumer.js';
import { consoleProducer } from '../../src/cli/console-producer.js';
import { consumerPerfTest } from '../../src/cli/consumer-perf-test.js';
import { deleteRecords } from '../../src/cli/delete-records.js';
import { dumpLog } from '../../src/cli/dump-log.js';
import { getOffsets } from '../../src/cli/get-offsets.js';
import { producerPerfTest } from '../../src/cli/producer-perf-test.js';
import { topics } from '../../src/cli/topics.js';
import { lines, runTool } from './helpers.js';

const TOOLS: Record<string, (argv: string[], io: CliIo) => Promise<number>> = {
  topics,
  'console-producer': consoleProducer,
  'console-consumer': consoleConsumer,
  configs,
  'get-offsets': getOffsets,
  'delete-records': deleteRecords,
  'broker-api-versions': brokerApiVersions,
  'producer-perf-test': producerPerfTest,
  'consumer-perf-test': consumerPerfTest,
  'dump-log': dumpLog,
};

describe('--help and unknown flags', () => {
  for (const [name, tool] of Object.entries(TOOLS)) {
    it(name, async () => {
      const help = await runTool(tool, ['--help']);
      assert.equal(help.code, 0);
      assert.match(help.stdout, new RegExp(`^Usage: ganglion ${name} \\[options\\]\\n`));
      assert.match(help.stdout, /-h, --help +Print usage information\./);
      const bad = await runTool(tool, ['--definitely-not-a-flag']);
      assert.equal(bad.code, 1);
      assert.equal(lines(bad.stderr).length, 1, bad.stderr);
      assert.match(bad.stderr, new RegExp(`^ganglion ${name}: unknown option '--definitely-not-a-flag'`));
    });
  }
});
