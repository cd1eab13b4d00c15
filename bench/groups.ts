/**
 * Consumer-group coordinator figures, against an in-process broker:
 *
 * 1. Rebalance of a 10-member kafkajs group over a 100-partition topic:
 *    the time from the 10th member starting to join a stable 9-member
 *    group until all 10 report their assignment of the new generation
 *    (every partition owned once). kafkajs members learn about a rebalance
 *    from their heartbeats, sent between fetches, so the heartbeat interval
 *    and fetch wait (both BENCH_HEARTBEAT_MS, default 500) bound it from
 *    below. The formation of the first 9 is timed too.
 * 2. The coordinator's own rebalance cost: 10 raw members over the wire
 *    rejoin at once (JoinGroup x10, SyncGroup x10), no client delays.
 * 3. Offset-commit throughput: 50 concurrent committers (own connection
 *    each, simple consumers of their own group), each committing 2
 *    partitions per OffsetCommit v8, back to back for BENCH_SECONDS (5),
 *    from a worker thread.
 *    Every commit is written to __consumer_offsets before it is answered.
 *
 *   npm run build && node dist/bench/groups.js
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { startBroker } from '../src/broker/broker.js';
import { ApiKey } from '../src/protocol/messages/api-table.js';
import { RawClient } from '../test/coordinator/interop-helpers.js';

const HEARTBEAT_MS = Number(process.env.BENCH_HEARTBEAT_MS ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const COMMITTERS = Number(process.env.BENCH_COMMITTERS ?? 50);
const PARTITIONS = 100;
const MEMBERS = 10;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

interface Member {
  consumer: Consumer;
  generation: number;
  partitions: number[];
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ganglion-bench-groups-'));
  const broker = await startBroker({
    port: 0,
    logDir: dir,
    logLevel: 'silent',
    config: { 'group.initial.rebalance.delay.ms': 0, 'offsets.topic.replication.factor': 1 },
  });
  const kafka = new Kafka({ brokers: [broker.bootstrapServers], logLevel: logLevel.NOTHING, clientId: 'bench' });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'bench', numPartitions: PARTITIONS }], waitForLeaders: true });
  console.log(`groups bench: ${MEMBERS} kafkajs members, ${PARTITIONS} partitions, heartbeat ${HEARTBEAT_MS} ms`);

  // 1. kafkajs rebalance.
  const members: Member[] = [];
  const start = async (): Promise<Member> => {
    const consumer = kafka.consumer({
      groupId: 'bench-group',
      heartbeatInterval: HEARTBEAT_MS,
      maxWaitTimeInMs: HEARTBEAT_MS,
      sessionTimeout: 30000,
      rebalanceTimeout: 30000,
    });
    const m: Member = { consumer, generation: -1, partitions: [] };
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      m.partitions = e.payload.memberAssignment['bench'] ?? [];
      m.generation = Number((e.payload as { generationId?: number }).generationId ?? m.generation + 1);
    });
    await consumer.connect();
    await consumer.subscribe({ topic: 'bench' });
    await consumer.run({ eachMessage: async () => {} });
    members.push(m);
    return m;
  };
  const covered = (ms: Member[]) => {
    const all = ms.flatMap((m) => m.partitions);
    return all.length === PARTITIONS && new Set(all).size === PARTITIONS && ms.every((m) => m.partitions.length > 0);
  };
  let t = performance.now();
  await Promise.all(Array.from({ length: MEMBERS - 1 }, start));
  await waitFor(() => covered(members), 60_000, 'the 9-member group');
  console.log(`  formation of a 9-member group:        ${(performance.now() - t).toFixed(0)} ms`);
  await sleep(1000);
  const joins: number[] = [];
  for (let round = 0; round < 3; round++) {
    const before = members.map((m) => m.partitions);
    t = performance.now();
    const joiner = await start();
    await waitFor(() => covered(members) && members.every((m, i) => i >= before.length || m.partitions !== before[i]), 60_000, 'the rebalance');
    joins.push(performance.now() - t);
    await sleep(500);
    // Leave again for the next round (a rebalance too, not timed).
    members.splice(members.indexOf(joiner), 1);
    await joiner.consumer.disconnect();
    await waitFor(() => covered(members), 60_000, 'the group without the joiner');
    await sleep(500);
  }
  console.log(`  10th member joins, all 10 stable:      ${joins.map((j) => j.toFixed(0)).join(' / ')} ms`);
  await Promise.all(members.map((m) => m.consumer.disconnect()));

  // 2. The coordinator alone: 10 raw members rejoining at once.
  const raws = await Promise.all(Array.from({ length: MEMBERS }, () => RawClient.connect(broker.bootstrapServers)));
  // A subscription whose user data changes every round, so each round is a real rebalance.
  const metadata = (round: number) => Buffer.from([0, 0, 0, 0, 0, 1, 0, 5, ...Buffer.from('bench'), 0, 0, 0, 1, round]);
  const ids = raws.map(() => '');
  const rounds: number[] = [];
  for (let round = 0; round < 6; round++) {
    t = performance.now();
    const joined = await Promise.all(
      raws.map((raw, i) =>
        raw.send(ApiKey.JoinGroup, 5, {
          groupId: 'raw-group',
          sessionTimeoutMs: 30000,
          rebalanceTimeoutMs: 30000,
          memberId: ids[i]!,
          groupInstanceId: `raw-${i}`,
          protocolType: 'consumer',
          protocols: [{ name: 'range', metadata: metadata(round) }],
        }),
      ),
    );
    joined.forEach((j, i) => (ids[i] = j.memberId));
    const generationId = joined[0]!.generationId;
    const leader = joined.find((j) => j.leader === j.memberId)!;
    await Promise.all(
      raws.map((raw, i) =>
        raw.send(ApiKey.SyncGroup, 3, {
          groupId: 'raw-group',
          generationId,
          memberId: ids[i]!,
          groupInstanceId: `raw-${i}`,
          assignments: ids[i] === leader.memberId ? ids.map((id) => ({ memberId: id, assignment: Buffer.alloc(64) })) : [],
        }),
      ),
    );
    if (round > 0) rounds.push(performance.now() - t); // round 0 includes the first join
  }
  const avg = rounds.reduce((a, b) => a + b, 0) / rounds.length;
  console.log(`  coordinator rebalance, 10 raw members: ${avg.toFixed(1)} ms (join + sync, mean of ${rounds.length})`);
  for (const raw of raws) raw.close();

  // 3. Offset commits from concurrent committers, in a worker thread so the clients do not share the broker's event loop.
  const result = await new Promise<{ requests: number; seconds: number }>((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { bootstrap: broker.bootstrapServers } });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  console.log(
    `  offset commits, ${COMMITTERS} committers:        ${(result.requests / result.seconds).toFixed(0)} commits/s ` +
      `(${((2 * result.requests) / result.seconds).toFixed(0)} partition offsets/s, ${((result.seconds * 1000 * COMMITTERS) / result.requests).toFixed(2)} ms per commit)`,
  );

  await admin.disconnect();
  await broker.close();
  await rm(dir, { recursive: true, force: true });
}

/** The committers: each its own connection and group, committing 2 partitions per request, back to back. */
async function commitWorker(bootstrap: string): Promise<void> {
  const committers = await Promise.all(Array.from({ length: COMMITTERS }, () => RawClient.connect(bootstrap)));
  let requests = 0;
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  await Promise.all(
    committers.map(async (raw, i) => {
      let offset = 0n;
      while (performance.now() < deadline) {
        offset++;
        const response = await raw.send(ApiKey.OffsetCommit, 8, {
          groupId: `committer-${i}`,
          generationIdOrMemberEpoch: -1,
          memberId: '',
          groupInstanceId: null,
          topics: [
            {
              name: 'bench',
              partitions: [
                { partitionIndex: (2 * i) % PARTITIONS, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: '' },
                { partitionIndex: (2 * i + 1) % PARTITIONS, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: '' },
              ],
            },
          ],
        });
        if (response.topics[0]!.partitions.some((p) => p.errorCode !== 0)) throw new Error(`commit failed: ${JSON.stringify(response)}`);
        requests++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  for (const raw of committers) raw.close();
  parentPort!.postMessage({ requests, seconds });
}

if (isMainThread) await main();
else await commitWorker((workerData as { bootstrap: string }).bootstrap);
