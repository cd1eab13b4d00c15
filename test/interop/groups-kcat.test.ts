/**
 * kcat's balanced consumer (`kcat -G group topic`, librdkafka): two
 * processes share four partitions, two each, and together read every record
 * once.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { coversExactly, startGroupBroker, waitFor } from '../coordinator/interop-helpers.js';

const kcatMissing = spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status !== 0 && 'kcat is not installed (CI installs it: .ci/run)';

interface KcatMember {
  child: ChildProcess;
  assigned: number[];
  values: string[];
  log: string;
}

/**
 * Calls `onLine` with each complete, non-empty line. A line can arrive split
 * over two chunks: matching chunk by chunk now and then missed kcat's
 * "rebalanced ... assigned" line, and the test waited forever.
 */
function onLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) if (line) onLine(line);
  });
}

function kcatMember(bootstrap: string, group: string, topic: string): KcatMember {
  const child = spawn('kcat', ['-u', '-b', bootstrap, '-G', group, '-X', 'auto.offset.reset=earliest', '-f', '%p %o %s\n', topic], { stdio: ['ignore', 'pipe', 'pipe'] });
  const m: KcatMember = { child, assigned: [], values: [], log: '' };
  onLines(child.stdout!, (line) => m.values.push(line.split(' ')[2]!));
  onLines(child.stderr!, (line) => {
    m.log += `${line}\n`;
    // "% Group g rebalanced (memberid ...): assigned: t [0], t [1]" / "...: revoked: ..."
    const match = /rebalanced \(memberid [^)]*\): (?:\S+ )?(assigned|revoked): (.*)/.exec(line);
    if (match) m.assigned = match[1] === 'revoked' ? [] : [...match[2]!.matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1])).sort();
  });
  return m;
}

test('kcat -G: two balanced consumers split four partitions and read every record once', { skip: kcatMissing }, async () => {
  const env = await startGroupBroker();
  const kafka = new Kafka({ brokers: [env.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer();
  const members: KcatMember[] = [];
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'events', numPartitions: 4 }], waitForLeaders: true });
    members.push(kcatMember(env.bootstrap, 'kcat-group', 'events'), kcatMember(env.bootstrap, 'kcat-group', 'events'));
    await waitFor(
      () => coversExactly(members.map((m) => m.assigned), 4) && members.every((m) => m.assigned.length === 2),
      30_000,
      'two partitions each',
    ).catch((error: Error) => {
      // The members' logs as they are now (not when the wait began).
      throw new Error(`${error.message}\n${members.map((m) => m.log.slice(-1500)).join('\n')}`);
    });
    await producer.connect();
    await producer.send({ topic: 'events', messages: Array.from({ length: 40 }, (_, i) => ({ partition: i % 4, value: String(i) })) });
    await waitFor(() => members.flatMap((m) => m.values).length >= 40, 20_000, 'all 40 records');
    const all = members.flatMap((m) => m.values);
    assert.equal(all.length, 40);
    assert.equal(new Set(all).size, 40);
    assert.ok(members.every((m) => m.values.length === 20), 'ten records per partition, two partitions each');
  } finally {
    for (const m of members) m.child.kill('SIGTERM');
    await Promise.all(members.map((m) => new Promise((resolve) => (m.child.exitCode !== null ? resolve(null) : m.child.once('close', resolve)))));
    await producer.disconnect();
    await admin.disconnect();
    await env.cleanup();
  }
});
