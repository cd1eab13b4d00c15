/**
 * Consumer groups with the Python clients (Debian's /usr/bin/python3):
 * confluent-kafka (librdkafka; eager `range` and `cooperative-sticky`) and
 * kafka-python. Each member is its own process (test/interop/py/groups_member.py).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { PyMember, coversExactly, pythonHas, startGroupBroker, waitFor, type GroupTestBroker } from '../coordinator/interop-helpers.js';

const confluentMissing = !pythonHas('confluent_kafka') && '/usr/bin/python3 cannot import confluent_kafka (CI installs it: .ci/run)';
const kafkaPythonMissing = !pythonHas('kafka') && '/usr/bin/python3 cannot import kafka (CI installs it: .ci/run)';

let env: GroupTestBroker;
let producer: Producer;
let kafka: Kafka;

before(async () => {
  env = await startGroupBroker();
  kafka = new Kafka({ brokers: [env.bootstrap], logLevel: logLevel.NOTHING, clientId: 'groups-python-test' });
  producer = kafka.producer();
  await producer.connect();
});

after(async () => {
  await producer?.disconnect();
  await env?.cleanup();
});

async function createTopic(topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  await admin.disconnect();
}

/** Produces `count` records spread round-robin over the partitions; values are `${start + i}`. */
async function produce(topic: string, count: number, partitions: number, start = 0): Promise<void> {
  await producer.send({
    topic,
    messages: Array.from({ length: count }, (_, i) => ({ partition: (start + i) % partitions, value: String(start + i) })),
  });
}

function startMembers(n: number, args: Record<string, string | number | undefined>): PyMember[] {
  return Array.from({ length: n }, (_, i) => PyMember.start(`m${i}`, { ...args, 'client-id': `member-${i}` }));
}

async function waitBalanced(members: PyMember[], partitions: number, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    () => coversExactly(members.filter((m) => m.running).map((m) => m.assignment), partitions) && members.every((m) => !m.running || m.assignment.length > 0),
    timeoutMs,
    `a balanced assignment\n${members.map((m) => m.describe()).join('\n')}`,
  );
}

function seen(members: PyMember[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of members) for (const r of m.records()) counts.set(r.v, (counts.get(r.v) ?? 0) + 1);
  return counts;
}

async function splitSixPartitions(lib: string, strategy: string): Promise<void> {
  const topic = `split-${lib}-${strategy}`;
  await createTopic(topic, 6);
  const members = startMembers(3, { lib, bootstrap: env.bootstrap, group: `g-${topic}`, topic, strategy, 'session-ms': 10000 });
  try {
    await waitBalanced(members, 6);
    assert.deepEqual(members.map((m) => m.assignment.length), [2, 2, 2]);
    await produce(topic, 60, 6);
    await waitFor(() => seen(members).size === 60, 20_000, `all 60 records\n${members.map((m) => m.describe()).join('\n')}`);
    const counts = seen(members);
    assert.ok([...counts.values()].every((c) => c === 1), 'each record read once');
    // Every member read only the partitions it owns.
    for (const m of members) assert.ok(m.records().every((r) => m.assignment.includes(r.p)), m.describe());
  } finally {
    await Promise.all(members.map((m) => m.close()));
  }
}

test('confluent-kafka, eager range: three members split six partitions, every record read once', { skip: confluentMissing }, () =>
  splitSixPartitions('confluent', 'range'),
);

test('confluent-kafka, cooperative-sticky: three members split six partitions, every record read once', { skip: confluentMissing }, () =>
  splitSixPartitions('confluent', 'cooperative-sticky'),
);

test('kafka-python: three members split six partitions, every record read once', { skip: kafkaPythonMissing }, () =>
  splitSixPartitions('kafka-python', 'range'),
);

test('a member killed with -9 loses its partitions to the others after the session timeout; nothing is skipped', { skip: confluentMissing }, async () => {
  const topic = 'kill-member';
  await createTopic(topic, 6);
  const members = startMembers(3, { lib: 'confluent', bootstrap: env.bootstrap, group: 'g-kill', topic, strategy: 'range', 'session-ms': 6000 });
  try {
    await waitBalanced(members, 6);
    await produce(topic, 30, 6);
    await waitFor(() => seen(members).size === 30, 20_000, 'the first 30 records');
    const victim = members[1]!;
    const orphaned = victim.assignment;
    const killedAt = Date.now();
    await victim.kill();
    await produce(topic, 30, 6, 30);
    const survivors = [members[0]!, members[2]!];
    await waitBalanced(survivors, 6, 30_000);
    const movedAfter = Date.now() - killedAt;
    assert.ok(movedAfter >= 5000, `partitions moved after the 6 s session timeout (${movedAfter} ms)`);
    assert.ok(orphaned.every((p) => survivors.some((m) => m.assignment.includes(p))));
    await waitFor(() => seen(members).size === 60, 20_000, `all 60 records\n${members.map((m) => m.describe()).join('\n')}`);
    // At least once: every record was read by someone (the victim's uncommitted ones maybe twice).
    for (let i = 0; i < 60; i++) assert.ok(seen(members).has(String(i)), `record ${i}`);
  } finally {
    await Promise.all(members.map((m) => m.close()));
  }
});

test('static membership: a member restarted within the session timeout keeps its partitions, without a rebalance', { skip: confluentMissing }, async () => {
  const topic = 'static-members';
  await createTopic(topic, 6);
  const args = { lib: 'confluent', bootstrap: env.bootstrap, group: 'g-static', topic, strategy: 'range', 'session-ms': 15000 };
  const members = [0, 1, 2].map((i) => PyMember.start(`s${i}`, { ...args, instance: `instance-${i}`, 'client-id': `static-${i}` }));
  let restarted: PyMember | undefined;
  try {
    await waitBalanced(members, 6);
    // Let the group settle (late joiners may cause a second generation at start).
    await new Promise((r) => setTimeout(r, 1500));
    const before = members.map((m) => [...m.assignment]);
    const changes = members.map((m) => m.assignmentChanges);
    await members[1]!.kill();
    restarted = PyMember.start('s1-again', { ...args, instance: 'instance-1', 'client-id': 'static-1' });
    await waitFor(() => restarted!.assignment.length > 0, 15_000, `the restarted member's assignment\n${restarted.describe()}`);
    assert.deepEqual(restarted.assignment, before[1]);
    await produce(topic, 30, 6);
    await waitFor(() => seen([...members, restarted!]).size === 30, 20_000, 'all records after the restart');
    // The others saw no revocation or new assignment.
    assert.equal(members[0]!.assignmentChanges, changes[0]);
    assert.equal(members[2]!.assignmentChanges, changes[2]);
    assert.deepEqual(members[0]!.assignment, before[0]);
    assert.deepEqual(members[2]!.assignment, before[2]);
  } finally {
    await Promise.all([...members, ...(restarted ? [restarted] : [])].map((m) => m.close()));
  }
});
