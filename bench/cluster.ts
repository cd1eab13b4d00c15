/**
 * Cluster benchmark: three local brokers on Debian's ZooKeeper, each a
 * `ganglion server-start` process with its own port and temp log dir.
 * In one run it measures
 *
 *   1. acks=all produce throughput to an RF=3 topic against an RF=1 topic
 *      led by the same broker (kcat or confluent-kafka-python, the clients
 *      and settings of bench/broker.ts), the median of --runs runs;
 *   2. failover after kill -9 of a partition leader: the time from the
 *      kill to the first acks=all produce the new leader acknowledges
 *      (the target: within zookeeper.session.timeout.ms + 2 s);
 *   3. the same after SIGTERM (a controlled shutdown; target < 1 s);
 *
 * 2 and 3 are repeated --rounds times (the stopped broker is started again
 * between rounds and every ISR is full again before the next) and printed
 * as min / median / max.
 *
 *   npm run build && node dist/bench/cluster.js [options]
 *
 *   --records N            records per throughput run (default 200000)
 *   --record-size B        value size in bytes (default 1024)
 *   --partitions P         partitions of the throughput topics (default 1;
 *                          leaders spread over the brokers, the same for both RFs)
 *   --runs R               throughput runs, the median is printed (default 3)
 *   --rounds K             failover rounds of each kind (default 3)
 *   --producer kcat|python throughput client (default kcat)
 *   --producer-set K=V     a librdkafka setting over the bench's (repeatable)
 *   --session-timeout-ms T zookeeper.session.timeout.ms of the brokers (default 6000)
 *   --zk-tick-ms T         ZooKeeper's tickTime (default min(2000, T/2); 2000 is
 *                          Debian's; sessions expire on tick boundaries)
 *   --broker-set K=V       a broker setting for all three (repeatable)
 *   --broker-log-level L   server-start --log-level of the brokers (e.g. debug, with
 *                          --timeline or --keep; default info)
 *   --only throughput|kill|term   run only these parts (repeatable)
 *   --failover-leader other|controller   the leader to stop: a broker that is
 *                          not the controller (default), or the controller
 *                          itself (its failover includes a controller election)
 *   --probe-interval-ms I  pause between the probe's produce attempts (default 10)
 *   --timeline             print every broker's log lines and the probe's attempts
 *                          around each failover, in ms from the signal
 *   --keep                 keep the temp directory (ZooKeeper, logs, broker output)
 *
 * The failover probe (bench/cluster-probe.ts) is an idealised producer over
 * the wire protocol: one acks=all Produce of one record at a time to the
 * partition's leader, and on any error a Metadata request to the brokers in
 * turn; it sends steadily before the signal, so the figures also give the
 * gap a producing client sees between its last acknowledgment from the old
 * leader and its first from the new one. After a kill -9 the bench also
 * notes when ZooKeeper logged the session's expiry (its log is polled every
 * 10 ms), the largest part of that failover. Every round checks that the
 * partition's high watermark covers every acknowledged probe record.
 *
 * Linux only (/proc). Needs Debian's `zookeeper` (and a JVM), `kcat`, and
 * for --producer python `/usr/bin/python3` with confluent_kafka.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Admin } from '../src/client/index.js';
import { BrokerConnection } from '../src/client/connection.js';
import { ApiKey } from '../src/protocol/messages/api-table.js';
import type { MetadataResponse } from '../src/protocol/messages/metadata.js';
import { LocalCluster, type LocalBroker } from './cluster-local.js';
import { CLK_TCK, MB, fail, fmt, kvArgs, loadAverage, median, producerConfig, writeDataFile, xArgs } from './common.js';
import { FailoverProbe, type ProbeEvent } from './cluster-probe.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository root, from dist/bench or bench/. */
const ROOT = resolve(HERE, basename(dirname(HERE)) === 'dist' ? '../..' : '..');
const PYTHON = '/usr/bin/python3';
const BROKERS = 3;

// ---------------------------------------------------------------- options

type Part = 'throughput' | 'kill' | 'term';

interface Options {
  records: number;
  recordSize: number;
  partitions: number;
  runs: number;
  rounds: number;
  producer: 'kcat' | 'python';
  producerSet: Record<string, string>;
  sessionTimeoutMs: number;
  zkTickMs: number;
  brokerSet: Record<string, string>;
  brokerLogLevel: string | undefined;
  parts: Set<Part>;
  failoverLeader: 'other' | 'controller';
  probeIntervalMs: number;
  timeline: boolean;
  keep: boolean;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    records: 200_000,
    recordSize: 1024,
    partitions: 1,
    runs: 3,
    rounds: 3,
    producer: 'kcat',
    producerSet: {},
    sessionTimeoutMs: 6000,
    zkTickMs: 0,
    brokerSet: {},
    brokerLogLevel: undefined,
    parts: new Set(),
    failoverLeader: 'other',
    probeIntervalMs: 10,
    timeline: false,
    keep: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    const int = () => {
      const n = Number(value());
      if (!Number.isInteger(n) || n <= 0) throw new Error(`${arg} needs a positive integer`);
      return n;
    };
    const kv = (into: Record<string, string>) => {
      const v = value();
      const eq = v.indexOf('=');
      if (eq <= 0) throw new Error(`${arg} needs KEY=VALUE`);
      into[v.slice(0, eq)] = v.slice(eq + 1);
    };
    const oneOf = <T extends string>(...allowed: T[]): T => {
      const v = value();
      if (!(allowed as string[]).includes(v)) throw new Error(`${arg} is ${allowed.join(', ')}`);
      return v as T;
    };
    switch (arg) {
      case '--records': o.records = int(); break;
      case '--record-size': o.recordSize = int(); break;
      case '--partitions': o.partitions = int(); break;
      case '--runs': o.runs = int(); break;
      case '--rounds': o.rounds = int(); break;
      case '--producer': o.producer = oneOf('kcat', 'python'); break;
      case '--producer-set': kv(o.producerSet); break;
      case '--session-timeout-ms': o.sessionTimeoutMs = int(); break;
      case '--zk-tick-ms': o.zkTickMs = int(); break;
      case '--broker-set': kv(o.brokerSet); break;
      case '--broker-log-level': o.brokerLogLevel = oneOf('debug', 'info', 'warn', 'error'); break;
      case '--only': o.parts.add(oneOf('throughput', 'kill', 'term')); break;
      case '--failover-leader': o.failoverLeader = oneOf('other', 'controller'); break;
      case '--probe-interval-ms': o.probeIntervalMs = int(); break;
      case '--timeline': o.timeline = true; break;
      case '--keep': o.keep = true; break;
      case '--help':
      case '-h':
        console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]);
        process.exit(0);
      // eslint-disable-next-line no-fallthrough
      default:
        throw new Error(`unknown option ${arg} (--help)`);
    }
  }
  if (o.parts.size === 0) o.parts = new Set(['throughput', 'kill', 'term']);
  o.zkTickMs ||= Math.min(2000, Math.floor(o.sessionTimeoutMs / 2));
  if (o.sessionTimeoutMs < 2 * o.zkTickMs || o.sessionTimeoutMs > 20 * o.zkTickMs) {
    throw new Error(`ZooKeeper grants sessions of 2 to 20 ticks: --session-timeout-ms ${o.sessionTimeoutMs} needs --zk-tick-ms between ${Math.ceil(o.sessionTimeoutMs / 20)} and ${Math.floor(o.sessionTimeoutMs / 2)}`);
  }
  return o;
}

// ---------------------------------------------------------------- small helpers

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** utime+stime of a process in seconds (0 once it is gone). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** Pids of this process's children (brokers, ZooKeeper's JVM, clients), from /proc. */
function ownChildren(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Client processes running now, killed if the bench is interrupted. */
const clients = new Set<ChildProcess>();

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs a client to completion (wall time measured here). */
async function run(cmd: string, args: string[], timeoutMs = 600_000): Promise<RunResult> {
  const started = performance.now();
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  clients.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((res) => {
    child.once('error', (err) => {
      stderr += String(err);
      res(null);
    });
    child.once('close', (c) => res(c));
  });
  clearTimeout(timer);
  clients.delete(child);
  return { code, stdout, stderr, seconds: (performance.now() - started) / 1000 };
}

// ---------------------------------------------------------------- cluster views

/** One broker's Metadata (all topics when `topics` is null), on a fresh connection. */
async function metadataFrom(b: LocalBroker, topics: string[] | null): Promise<MetadataResponse> {
  const conn = await BrokerConnection.open({
    host: b.host,
    port: b.port,
    clientId: 'cluster-bench',
    requestTimeoutMs: 10_000,
    connectTimeoutMs: 5_000,
    maxResponseBytes: 64 * MB,
  });
  try {
    return await conn.request(ApiKey.Metadata, {
      topics: topics ? topics.map((name) => ({ name })) : null,
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
  } finally {
    conn.close();
  }
}

/**
 * Polls every running broker until each reports every running broker, the
 * same controller, and every partition (of `topics`, or all) with a leader
 * and a full ISR that satisfies `extra`; returns the controller id.
 */
async function waitUntilHealthy(
  cluster: LocalCluster,
  what: string,
  options: { topics?: string[]; extra?: (topic: string, leader: number) => boolean; timeoutMs?: number } = {},
): Promise<number> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const running = cluster.running();
    const ids = JSON.stringify(running.map((b) => b.id));
    const views = await Promise.all(running.map((b) => metadataFrom(b, options.topics ?? null).catch((e: unknown) => String(e))));
    const problems: string[] = [];
    let controller = -2;
    for (const [i, v] of views.entries()) {
      const who = `broker ${running[i]!.id}`;
      if (typeof v === 'string') {
        problems.push(`${who}: ${v}`);
        continue;
      }
      if (JSON.stringify(v.brokers.map((b) => b.nodeId).sort((a, b) => a - b)) !== ids) problems.push(`${who} sees brokers ${v.brokers.map((b) => b.nodeId)}`);
      const seen = v.controllerId ?? -1;
      if (seen < 0 || (controller !== -2 && seen !== controller)) problems.push(`${who} sees controller ${seen}`);
      controller = seen;
      for (const t of v.topics) {
        if (t.errorCode !== 0) problems.push(`${who}: ${t.name} error ${t.errorCode}`);
        for (const p of t.partitions) {
          const full = p.leaderId >= 0 && p.isrNodes.length === p.replicaNodes.length;
          if (!full || (options.extra && !options.extra(t.name!, p.leaderId))) {
            problems.push(`${who}: ${t.name}-${p.partitionIndex} leader ${p.leaderId} isr [${p.isrNodes}] of [${p.replicaNodes}]`);
          }
        }
      }
    }
    if (problems.length === 0 && controller >= 0) return controller;
    last = problems.slice(0, 5).join('; ');
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${last}`);
    await sleep(100);
  }
}

/** Creates a topic with an explicit assignment through Ganglion's Admin client. */
async function createTopic(cluster: LocalCluster, topic: string, replicaAssignment: number[][], configs: Record<string, string>): Promise<void> {
  await withAdmin(cluster, (admin) => admin.createTopics([{ topic, replicaAssignment, configs }]));
}

async function withAdmin<T>(cluster: LocalCluster, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin({ 'bootstrap.servers': cluster.bootstrapServers });
  try {
    return await fn(admin);
  } finally {
    await admin.close();
  }
}

/** The sum of the partitions' high watermarks (ListOffsets latest). */
async function highWatermarks(cluster: LocalCluster, topic: string, partitions: number): Promise<number> {
  return withAdmin(cluster, async (admin) => {
    const ends = await admin.listOffsets(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, spec: 'latest' as const })));
    return ends.reduce((s, e) => s + Number(e.offset), 0);
  });
}

/**
 * Notices when ZooKeeper logs that it expired a session (its log has no
 * timestamps): polls the end of zookeeper.log every 10 ms.
 */
class SessionExpiryWatch {
  expiredAt: number | null = null;
  private offset = -1;
  private readonly timer: NodeJS.Timeout;
  private busy = false;

  constructor(private readonly file: string) {
    // The log goes away with the temp dir when the bench is interrupted: nothing to notice then.
    this.timer = setInterval(() => void this.poll().catch(() => undefined), 10);
  }

  /** Starts from the current end of the log. */
  async init(): Promise<void> {
    this.offset = (await stat(this.file)).size;
  }

  private async poll(): Promise<void> {
    if (this.busy || this.offset < 0 || this.expiredAt !== null) return;
    this.busy = true;
    try {
      const fh = await open(this.file, 'r');
      try {
        const { size } = await fh.stat();
        if (size > this.offset) {
          const buf = Buffer.alloc(size - this.offset);
          await fh.read(buf, 0, buf.length, this.offset);
          this.offset = size;
          if (buf.toString('utf8').includes('Expiring session')) this.expiredAt = performance.now();
        }
      } finally {
        await fh.close();
      }
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

// ---------------------------------------------------------------- throughput

/** Produces the records with acks=all; returns the client's seconds (kcat: its wall time; python: its own timing). */
async function produce(cluster: LocalCluster, topic: string, dataFile: string, o: Options): Promise<number> {
  const conf = { ...producerConfig('all'), ...o.producerSet };
  if (o.producer === 'kcat') {
    const r = await run('kcat', ['-P', '-b', cluster.bootstrapServers, '-t', topic, '-l', ...xArgs(conf), dataFile]);
    if (r.code !== 0 || /fail|error/i.test(r.stderr)) fail('kcat -P', r);
    return r.seconds;
  }
  const script = join(ROOT, 'bench', 'py', 'produce.py');
  const r = await run(PYTHON, [script, cluster.bootstrapServers, topic, String(o.records), String(o.recordSize), ...kvArgs(conf)]);
  if (r.code !== 0) fail('produce.py', r);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; errors: number };
  if (out.errors > 0) fail(`produce.py (${out.errors} delivery errors)`, r);
  return out.seconds;
}

interface ThroughputRun {
  rf: number;
  /** The client's seconds for all the records. */
  seconds: number;
}

async function throughputRun(cluster: LocalCluster, rf: 1 | 3, runNo: number, dataFile: string, o: Options): Promise<ThroughputRun> {
  const topic = `bench-rf${rf}-run${runNo}`;
  // Leaders spread over the brokers, partition p on broker p % 3 for both RFs; followers the next two.
  const assignment = Array.from({ length: o.partitions }, (_, p) => Array.from({ length: rf }, (_, r) => (p + r) % BROKERS));
  await createTopic(cluster, topic, assignment, { 'min.insync.replicas': rf === 3 ? '2' : '1' });
  await waitUntilHealthy(cluster, `${topic}'s leaders`, { topics: [topic], timeoutMs: 60_000 });
  const firstAckMs = await firstAcknowledgment(cluster, topic, o);
  const warmUp = await highWatermarks(cluster, topic, o.partitions);
  const load = loadAverage();
  const before = cluster.brokers.map((b) => cpuSeconds(b.pid));
  const started = performance.now();
  const seconds = await produce(cluster, topic, dataFile, o);
  // CPU over the client's whole run (python times only its produce loop, so rates use this wall time).
  const wall = (performance.now() - started) / 1000;
  const cpu = cluster.brokers.map((b, i) => cpuSeconds(b.pid) - before[i]!);
  const inLog = await highWatermarks(cluster, topic, o.partitions);
  if (inLog !== warmUp + o.records) throw new Error(`${topic}: high watermarks add up to ${inLog}, expected ${warmUp} + ${o.records}`);
  const leaderSet = new Set(assignment.map((replicas) => replicas[0]!));
  const cpuText = cpu.map((c, id) => `${id}${leaderSet.has(id) ? '*' : ''} ${fmt(c / wall, 2)}`).join(', ');
  const perGb = (cpu.reduce((a, b) => a + b, 0) * 1024 * MB) / (o.records * o.recordSize);
  console.log(
    `  run ${runNo}  RF=${rf}  ${fmt(o.records / seconds).padStart(9)} records/s ${fmt((o.records * o.recordSize) / MB / seconds, 1).padStart(7)} MB/s` +
      `  (${fmt(seconds, 2)} s, load ${load.split(' ')[0]}; broker CPU/s ${cpuText}; all brokers ${fmt(perGb, 2)} CPU-s/GB; ` +
      `first ack on the new topic after ${fmt(firstAckMs)} ms)`,
  );
  return { rf, seconds };
}

/**
 * Produces one record with acks=all to every partition of a new topic and
 * returns when the last was acknowledged (ms). The timed run starts after
 * it, so it measures a steady state: the followers of a new partition may
 * take a while to start fetching, and acks=all waits for them.
 */
async function firstAcknowledgment(cluster: LocalCluster, topic: string, o: Options): Promise<number> {
  const started = performance.now();
  const probes = Array.from(
    { length: o.partitions },
    (_, partition) =>
      new FailoverProbe({
        brokers: cluster.brokers.map((b) => ({ id: b.id, host: b.host, port: b.port })),
        topic,
        partition,
        recordSize: o.recordSize,
        intervalMs: o.probeIntervalMs,
        produceTimeoutMs: 30_000,
      }),
  );
  try {
    for (const p of probes) p.start();
    await Promise.all(probes.map((p) => p.until(() => p.acked > 0, 60_000, `a first acknowledgment on ${topic}`)));
  } finally {
    await Promise.all(probes.map((p) => p.stop()));
  }
  return performance.now() - started;
}

async function throughput(cluster: LocalCluster, dir: string, o: Options): Promise<ThroughputRun[]> {
  const dataFile = join(dir, 'records.txt');
  if (o.producer === 'kcat') await writeDataFile(dataFile, o.records, o.recordSize);
  console.log(
    `\nacks=all produce, RF=3 (min.insync.replicas=2) vs RF=1, ${fmt(o.records)} records of ${o.recordSize} bytes, ` +
      `${o.partitions} partition(s), ${o.producer}; broker CPU in CPU-seconds per second (* = a leader) and per GB produced`,
  );
  const runs: ThroughputRun[] = [];
  for (let runNo = 1; runNo <= o.runs; runNo++) {
    // Alternate the order so a load drift during the bench does not favour one RF.
    const order: Array<1 | 3> = runNo % 2 === 1 ? [1, 3] : [3, 1];
    for (const rf of order) runs.push(await throughputRun(cluster, rf, runNo, dataFile, o));
    await withAdmin(cluster, (admin) => admin.deleteTopics([`bench-rf1-run${runNo}`, `bench-rf3-run${runNo}`]));
  }
  await rm(dataFile, { force: true });
  return runs;
}

// ---------------------------------------------------------------- failover

type FailoverKind = 'kill' | 'term';

interface FailoverRound {
  /** ms from the signal to the first acknowledgment by the new leader. */
  firstAckMs: number;
  newLeader: number;
  /** ms from the signal until Metadata (from any broker) named the new leader. */
  leaderSeenMs: number | null;
  /** ms between the last acknowledgment before the move and the first after it. */
  gapMs: number;
  /** ms from the signal to the victim's exit. */
  exitMs: number;
  /** ms from the signal until ZooKeeper logged a session expiry (kill -9 only). */
  expiredMs: number | null;
  /** Failed attempts of the probe between the signal and that acknowledgment, by error. */
  errors: Record<string, number>;
}

async function failoverRound(cluster: LocalCluster, kind: FailoverKind, round: number, o: Options): Promise<FailoverRound> {
  const controller = await waitUntilHealthy(cluster, 'every broker up with full ISRs');
  const ids = cluster.brokers.map((b) => b.id);
  const candidates = o.failoverLeader === 'controller' ? [controller] : ids.filter((id) => id !== controller);
  const victimId = candidates[(round - 1) % candidates.length]!;
  const victim = cluster.broker(victimId);
  const topic = `failover-${kind}-${round}`;
  await createTopic(cluster, topic, [[victimId, ...ids.filter((id) => id !== victimId)]], { 'min.insync.replicas': '2' });
  await waitUntilHealthy(cluster, `${topic} led by broker ${victimId}`, { topics: [topic], extra: (_, leader) => leader === victimId, timeoutMs: 60_000 });

  const probe = new FailoverProbe({
    brokers: cluster.brokers.map((b) => ({ id: b.id, host: b.host, port: b.port })),
    topic,
    partition: 0,
    recordSize: o.recordSize,
    intervalMs: o.probeIntervalMs,
    produceTimeoutMs: 2000,
  });
  const expiry = kind === 'kill' ? new SessionExpiryWatch(cluster.zkLogFile) : null;
  await expiry?.init();
  probe.start();
  const load = loadAverage();
  let signalledAt = 0;
  let wallAt = 0;
  let exitedAt = 0;
  try {
    // A steady producer before the fault: connections open, metadata known.
    await probe.until(() => probe.acked >= 20, 30_000, 'acknowledgments before the fault');
    wallAt = Date.now();
    signalledAt = performance.now();
    victim.signal(kind === 'kill' ? 'SIGKILL' : 'SIGTERM');
    void victim.exited.then(() => (exitedAt = performance.now()));
    const byNewLeader = (e: ProbeEvent) => e.kind === 'acked' && e.at > signalledAt && e.broker !== victimId;
    await probe.until(() => probe.events.some(byNewLeader), o.sessionTimeoutMs + 60_000, 'an acknowledgment from a new leader');
    await sleep(200);
  } finally {
    await probe.stop();
    expiry?.stop();
  }
  if (!(await victim.waitForExit(120_000))) console.log(`  (broker ${victimId} did not exit within 120 s of the signal: killed)`);

  const first = probe.events.find((e) => e.kind === 'acked' && e.at > signalledAt && e.broker !== victimId)!;
  const lastBefore = probe.events.filter((e) => e.kind === 'acked' && e.at < first.at).at(-1)!;
  const seen = probe.events.find((e) => e.kind === 'leader' && e.at > signalledAt && e.broker !== victimId);
  const errors: Record<string, number> = {};
  for (const e of probe.events) {
    if (e.kind === 'error' && e.at > signalledAt && e.at <= first.at) errors[e.detail!] = (errors[e.detail!] ?? 0) + 1;
  }
  const r: FailoverRound = {
    firstAckMs: first.at - signalledAt,
    newLeader: first.broker,
    leaderSeenMs: seen ? seen.at - signalledAt : null,
    gapMs: first.at - lastBefore.at,
    exitMs: exitedAt - signalledAt,
    expiredMs: expiry?.expiredAt != null ? expiry.expiredAt - signalledAt : null,
    errors,
  };

  // Nothing acknowledged may be missing from the new leader's log.
  const hw = await highWatermarks(cluster, topic, 1);
  if (hw < probe.acked) throw new Error(`${topic}: high watermark ${hw} is below the ${probe.acked} records the probe had acknowledged`);

  console.log(
    `  round ${round}: leader ${victimId}${victimId === controller ? ' (the controller)' : ''} -> ${r.newLeader}: ` +
      `first acks=all ack after ${fmt(r.firstAckMs)} ms (${r.expiredMs === null ? '' : `session expired in ZooKeeper after ${fmt(r.expiredMs)} ms; `}new leader in Metadata after ${r.leaderSeenMs === null ? '?' : fmt(r.leaderSeenMs)} ms; ` +
      `no ack for ${fmt(r.gapMs)} ms; broker exited after ${fmt(r.exitMs)} ms); ` +
      `errors before: ${Object.entries(errors).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}; load ${load.split(' ')[0]}`,
  );
  if (o.timeline) await printTimeline(cluster, wallAt, signalledAt, first.at - signalledAt, probe.events, r.expiredMs);

  const restartAt = performance.now();
  await victim.start();
  await waitUntilHealthy(cluster, `broker ${victimId} back in every ISR`);
  console.log(`           broker ${victimId} restarted and back in every ISR after ${fmt((performance.now() - restartAt) / 1000, 1)} s`);
  return r;
}

/**
 * Every broker's log lines from just before the signal to just after the
 * first new acknowledgment, in ms from the signal (a broker's identical
 * lines in a row folded), the probe's attempts, and when ZooKeeper expired
 * a session.
 */
async function printTimeline(
  cluster: LocalCluster,
  wallAt: number,
  signalledAt: number,
  untilMs: number,
  events: readonly ProbeEvent[],
  expiredMs: number | null,
): Promise<void> {
  const lines: Array<{ t: number; text: string }> = [];
  if (expiredMs !== null) lines.push({ t: expiredMs, text: 'zookeeper: Expiring session (seen in its log within ~10 ms)' });
  // The probe's own view, runs of the same outcome folded.
  let run: { t: number; last: number; key: string; n: number } | null = null;
  const flush = () => {
    if (run) lines.push({ t: run.t, text: `probe: ${run.key}${run.n > 1 ? ` x${run.n} (until ${fmt(run.last)} ms)` : ''}` });
  };
  for (const e of events) {
    const t = e.at - signalledAt;
    if (t < -200 || t > untilMs + 200) continue;
    const key = e.kind === 'leader' ? `Metadata names leader ${e.broker}` : `Produce to ${e.broker}: ${e.kind === 'acked' ? 'acked' : e.detail}`;
    if (run && run.key === key) {
      run.n++;
      run.last = t;
      continue;
    }
    flush();
    run = { t, last: t, key, n: 1 };
  }
  flush();
  for (const b of cluster.brokers) {
    const text = await readFile(b.outputFile, 'utf8');
    let lastText = '';
    let repeats = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      const t = Number(entry.time) - wallAt;
      if (!(t >= -200 && t <= untilMs + 200)) continue;
      const { level: _level, time: _time, name: _name, msg, ...fields } = entry;
      const text = `broker ${b.id}: ${String(msg)} ${JSON.stringify(fields)}`;
      if (text === lastText) {
        repeats++;
        continue;
      }
      if (repeats > 0) lines.push({ t, text: `broker ${b.id}: (the line before ${repeats} more times)` });
      lastText = text;
      repeats = 0;
      lines.push({ t, text });
    }
  }
  for (const l of lines.sort((a, b) => a.t - b.t)) console.log(`             ${fmt(l.t).padStart(7)} ms  ${l.text.slice(0, 220)}`);
}

async function failover(cluster: LocalCluster, kind: FailoverKind, o: Options): Promise<FailoverRound[]> {
  const what =
    kind === 'kill'
      ? `kill -9 of a partition leader (zookeeper.session.timeout.ms=${o.sessionTimeoutMs}, tickTime ${o.zkTickMs} ms; target: within ${fmt(o.sessionTimeoutMs + 2000)} ms)`
      : 'SIGTERM of a partition leader, a controlled shutdown (target: < 1,000 ms)';
  console.log(`\nfailover after ${what}; RF=3, min.insync.replicas=2, probe every ${o.probeIntervalMs} ms`);
  const rounds: FailoverRound[] = [];
  for (let round = 1; round <= o.rounds; round++) rounds.push(await failoverRound(cluster, kind, round, o));
  return rounds;
}

// ---------------------------------------------------------------- summary

function printSummary(o: Options, tput: ThroughputRun[], fo: Map<FailoverKind, FailoverRound[]>): void {
  console.log(`\nsummary   (load average at the end: ${loadAverage()})`);
  if (tput.length > 0) {
    const rate = (rf: number) => median(tput.filter((r) => r.rf === rf).map((r) => o.records / r.seconds));
    const [r1, r3] = [rate(1), rate(3)];
    const mbps = (r: number) => fmt((r * o.recordSize) / MB, 1);
    console.log(`  acks=all produce, median of ${o.runs} run(s), ${fmt(o.records)} x ${o.recordSize} B, ${o.partitions} partition(s), ${o.producer}:`);
    console.log(`    RF=1  ${fmt(r1).padStart(9)} records/s ${mbps(r1).padStart(7)} MB/s`);
    console.log(`    RF=3  ${fmt(r3).padStart(9)} records/s ${mbps(r3).padStart(7)} MB/s   (${fmt((100 * r3) / r1)}% of RF=1)`);
  }
  for (const [kind, rounds] of fo) {
    if (rounds.length === 0) continue;
    const stats = (xs: number[]) => `min ${fmt(Math.min(...xs)).padStart(6)}  median ${fmt(median(xs)).padStart(6)}  max ${fmt(Math.max(...xs)).padStart(6)} ms`;
    const target = kind === 'kill' ? o.sessionTimeoutMs + 2000 : 1000;
    const title =
      kind === 'kill'
        ? `kill -9 of the leader, zookeeper.session.timeout.ms=${o.sessionTimeoutMs} (tickTime ${o.zkTickMs} ms), target <= ${fmt(target)} ms`
        : `SIGTERM of the leader (controlled shutdown), target < ${fmt(target)} ms`;
    const first = rounds.map((r) => r.firstAckMs);
    const within = first.filter((ms) => ms <= target).length;
    console.log(`  ${title}, ${rounds.length} round(s), leader ${o.failoverLeader === 'controller' ? 'is the controller' : 'is not the controller'}:`);
    console.log(`    first acks=all ack from the new leader  ${stats(first)}   (${within}/${rounds.length} within target)`);
    const expired = rounds.map((r) => r.expiredMs).filter((ms): ms is number => ms !== null);
    if (expired.length > 0) console.log(`    session expired in ZooKeeper           ${stats(expired)}`);
    const seen = rounds.map((r) => r.leaderSeenMs).filter((ms): ms is number => ms !== null);
    if (seen.length > 0) console.log(`    new leader named in Metadata           ${stats(seen)}`);
    console.log(`    producer without acks (gap)            ${stats(rounds.map((r) => r.gapMs))}`);
    if (kind === 'term') console.log(`    broker process exited                  ${stats(rounds.map((r) => r.exitMs))}`);
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const dir = await mkdtemp(join(tmpdir(), 'ganglion-bench-cluster-'));
  let cluster: LocalCluster | null = null;
  let cleaning: Promise<void> | null = null;
  const cleanUp = () =>
    (cleaning ??= (async () => {
      for (const c of clients) c.kill('SIGKILL');
      await cluster?.close().catch((e: unknown) => console.error(`stopping the cluster: ${String(e)}`));
      // Whatever is left (ZooKeeper when its start failed half-way) goes before its files do.
      const left = ownChildren();
      killAll(left);
      if (left.length > 0) await sleep(200);
      if (o.keep) console.log(`kept ${dir}`);
      else await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    })());
  // Ctrl-C or a kill: stop everything started, then exit.
  const stopAndExit = (code: number) => void cleanUp().finally(() => process.exit(code));
  process.once('SIGINT', () => {
    console.error('\nSIGINT: stopping the cluster');
    stopAndExit(130);
  });
  process.once('SIGTERM', () => {
    console.error('\nSIGTERM: stopping the cluster');
    stopAndExit(143);
  });
  // An exception thrown inside a library's callback (not through our awaits) ends the bench the same way.
  process.on('uncaughtException', (err) => {
    console.error(err.stack ?? String(err));
    stopAndExit(1);
  });
  // Last resort when the process exits before the clean-up ran: every child process of ours, by pid.
  process.once('exit', () => killAll(ownChildren()));

  try {
    console.log(
      `cluster bench: ${BROKERS} brokers (ganglion server-start, one process each) on Debian's ZooKeeper, ` +
        `zookeeper.session.timeout.ms=${o.sessionTimeoutMs}, ZooKeeper tickTime ${o.zkTickMs} ms; node ${process.version}; ` +
        `load average ${loadAverage()}`,
    );
    const set = Object.entries(o.brokerSet).map(([k, v]) => `${k}=${v}`);
    if (set.length > 0) console.log(`broker settings: ${set.join(' ')}`);
    if (o.brokerLogLevel) console.log(`broker log level: ${o.brokerLogLevel}`);
    cluster = await LocalCluster.start({
      brokers: BROKERS,
      dir,
      root: ROOT,
      sessionTimeoutMs: o.sessionTimeoutMs,
      zkTickMs: o.zkTickMs,
      brokerConfig: o.brokerSet,
      brokerLogLevel: o.brokerLogLevel,
    });
    const controller = await waitUntilHealthy(cluster, 'the cluster to form');
    console.log(`brokers ${cluster.bootstrapServers} (ids 0-${BROKERS - 1}), controller ${controller}, ZooKeeper ${cluster.zkConnect}`);

    const tput = o.parts.has('throughput') ? await throughput(cluster, dir, o) : [];
    const fo = new Map<FailoverKind, FailoverRound[]>();
    for (const kind of ['kill', 'term'] as const) if (o.parts.has(kind)) fo.set(kind, await failover(cluster, kind, o));
    printSummary(o, tput, fo);
  } finally {
    await cleanUp();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exit(1);
});
