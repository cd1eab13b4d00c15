/**
 * What the cluster failure tests share: a partition's state as the brokers
 * report it (Metadata), waiting for a leader / ISR to change, topic creation
 * through Ganglion's Admin client, and the confluent-kafka-python producer
 * and reader (test/cluster/py/cluster_client.py) with the check that every
 * acknowledged record is readable, in order, exactly once.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Admin, type NewTopic } from '../../src/client/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/api-table.js';
import { LiveProcess, PYTHON, describeRun, repoRoot, run, sleep } from '../helpers/broker.js';
import type { TestCluster } from '../helpers/cluster.js';

export const CLIENT_SCRIPT = join(repoRoot, 'test', 'cluster', 'py', 'cluster_client.py');

export interface PartitionView {
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  /** Sorted. */
  isr: number[];
  errorCode: number;
}

/** One partition as broker `via` reports it in Metadata; null when the broker does not answer. */
export async function partitionView(cluster: TestCluster, via: number, topic: string, partition: number): Promise<PartitionView | null> {
  try {
    const t = (await cluster.metadata(via, [topic])).topics[0];
    const p = t?.partitions.find((q) => q.partitionIndex === partition);
    if (!t || !p) return null;
    return {
      leader: p.leaderId,
      leaderEpoch: p.leaderEpoch ?? -1,
      replicas: [...p.replicaNodes],
      isr: [...p.isrNodes].sort((a, b) => a - b),
      errorCode: t.errorCode || p.errorCode,
    };
  } catch {
    return null;
  }
}

/**
 * Polls every running broker (or those in `via`: a SIGSTOPped broker never
 * answers) until each reports a state of the partition satisfying `cond`
 * (they all learn it from the controller's UpdateMetadata); returns it.
 */
export async function waitForPartition(
  cluster: TestCluster,
  topic: string,
  partition: number,
  cond: (v: PartitionView) => boolean,
  what: string,
  options: { timeoutMs?: number; via?: readonly number[] } = {},
): Promise<PartitionView> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  let last: Array<PartitionView | null> = [];
  for (;;) {
    const asked = options.via ?? cluster.brokers().filter((b) => b.running).map((b) => b.id);
    last = await Promise.all(asked.map((id) => partitionView(cluster, id, topic, partition)));
    if (last.every((v) => v !== null && cond(v))) return last[0]!;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${topic}-${partition}: ${what}; brokers ${asked.join(',')} report ${JSON.stringify(last)}`);
    }
    await sleep(100);
  }
}

/** The partition's state in ZooKeeper (what the controller committed). */
export async function zkPartitionState(cluster: TestCluster, topic: string, partition: number) {
  return (await cluster.zkClient()).getPartitionState(topic, partition);
}

/**
 * Brings back any broker an earlier test left stopped (a failed test must
 * not fail the next ones too) and waits until every broker names the same
 * controller.
 */
export async function wholeCluster(cluster: TestCluster): Promise<void> {
  for (const b of cluster.brokers()) if (!b.running) await b.restart();
  await cluster.waitForController();
}

/** The group's coordinator as broker `via` names it (FindCoordinator, newest version: batched keys), or null while there is none. */
export async function coordinatorOf(cluster: TestCluster, via: number, group: string): Promise<number | null> {
  const r = await cluster.request(via, ApiKey.FindCoordinator, { keyType: 0, coordinatorKeys: [group] });
  const c = r.coordinators?.[0];
  return c && c.errorCode === ErrorCode.NONE ? c.nodeId : null;
}

export async function createTopic(cluster: TestCluster, topic: NewTopic): Promise<void> {
  const admin = new Admin({ 'bootstrap.servers': cluster.bootstrapServers });
  try {
    await admin.createTopics([topic]);
  } finally {
    await admin.close();
  }
}

// ---------------------------------------------------------------------------
// confluent-kafka-python

export interface ProduceRequest {
  topic: string;
  count: number;
  /** The first record's number (default 0). */
  first?: number;
  partitions?: number;
  /** Records a second (unpaced without it). */
  rate?: number;
  /** librdkafka producer settings over the script's defaults (acks=all). */
  config?: Record<string, string | number | boolean>;
  progress_every?: number;
  flush_s?: number;
}

export interface ProduceSummary {
  acked: number;
  /** Acknowledged record numbers as [first, last] runs. */
  acked_ids: Array<[number, number]>;
  /** Delivery errors by librdkafka error name (e.g. NOT_ENOUGH_REPLICAS). */
  errors: Record<string, number>;
  first_errors: string[];
  fatal: string | null;
  unflushed: number;
  elapsed_s: number;
}

/** A producer process running in the background: its acknowledged count as it goes, and its summary at the end. */
export class PythonProducer {
  private constructor(readonly process: LiveProcess) {}

  static start(bootstrap: string, request: ProduceRequest): PythonProducer {
    const proc = LiveProcess.start(PYTHON, [CLIENT_SCRIPT, 'produce', bootstrap], { label: 'python producer' });
    proc.child.stdin!.end(JSON.stringify(request));
    return new PythonProducer(proc);
  }

  /** Records acknowledged so far (from the progress lines), in all or in one partition. */
  acked(partition?: number): number {
    // The last progress line (the final summary has no per-partition counts: a producer
    // that finished before the test looked must still count).
    const last = this.process.stdoutLines.filter((l) => l.startsWith('{') && (partition === undefined || l.includes('"by_partition"'))).at(-1);
    if (!last) return 0;
    const progress = JSON.parse(last) as { acked: number; by_partition?: number[] };
    return partition === undefined ? progress.acked : (progress.by_partition?.[partition] ?? 0);
  }

  async waitForAcked(n: number, timeoutMs: number, partition?: number): Promise<void> {
    const where = partition === undefined ? '' : ` in partition ${partition}`;
    await this.process.until(() => this.acked(partition) >= n, timeoutMs, `${n} acknowledged records${where}`);
  }

  async summary(timeoutMs = 120_000): Promise<ProduceSummary> {
    const timer = setTimeout(() => this.process.kill('SIGKILL'), timeoutMs);
    const { code } = await this.process.exited;
    clearTimeout(timer);
    const last = this.process.stdoutLines.filter((l) => l.startsWith('{')).at(-1);
    assert.equal(code, 0, this.process.output());
    const summary = JSON.parse(last!) as Partial<ProduceSummary>;
    assert.ok(summary.acked_ids, `the producer printed its summary\n${this.process.output()}`);
    return summary as ProduceSummary;
  }

  kill(): void {
    this.process.kill('SIGKILL');
  }
}

/** Produces and waits for the summary. */
export async function pythonProduce(bootstrap: string, request: ProduceRequest, timeoutMs = 120_000): Promise<ProduceSummary> {
  return PythonProducer.start(bootstrap, request).summary(timeoutMs);
}

/** One line of a member's output (cluster_client.py member). */
export interface MemberEvent {
  e: 'assign' | 'revoke' | 'msg' | 'commit' | 'error' | 'closed';
  t: number;
  member: number;
  p?: number | number[];
  o?: number;
  v?: number;
  ok?: boolean;
  err?: string;
}

/** A consumer group member process (cluster_client.py member) and its events as they come. */
export class GroupMember {
  readonly process: LiveProcess;
  constructor(readonly id: number, bootstrap: string, topic: string, group: string) {
    this.process = LiveProcess.start(PYTHON, [CLIENT_SCRIPT, 'member', bootstrap], { label: `group member ${id}` });
    this.process.child.stdin!.end(JSON.stringify({ topic, group }));
  }

  private readonly parsed: MemberEvent[] = [];
  private linesParsed = 0;

  /** Every event so far (parsed once each: the test polls this while thousands of lines arrive). */
  events(): MemberEvent[] {
    const lines = this.process.stdoutLines;
    for (; this.linesParsed < lines.length; this.linesParsed++) {
      const line = lines[this.linesParsed]!;
      if (line.startsWith('{')) this.parsed.push({ ...(JSON.parse(line) as MemberEvent), member: this.id });
    }
    return this.parsed;
  }

  /** How many records this member has been given (duplicates included). */
  get delivered(): number {
    return this.events().filter((e) => e.e === 'msg').length;
  }
}

export interface Consumed {
  values: Record<string, number[]>;
  offsets: Record<string, number[]>;
  complete: boolean;
  errors: string[];
}

/** Reads every partition of `topic` from offset 0 to its end. */
export async function pythonConsume(bootstrap: string, topic: string, partitions: number, timeoutS = 45): Promise<Consumed> {
  const r = await run(PYTHON, [CLIENT_SCRIPT, 'consume', bootstrap], {
    input: JSON.stringify({ topic, partitions, timeout_s: timeoutS }),
    timeoutMs: (timeoutS + 15) * 1000,
  });
  const last = r.stdout.toString('utf8').trim().split('\n').at(-1) ?? '';
  if (r.code !== 0 || !last.startsWith('{')) throw new Error(describeRun('cluster_client.py consume', r));
  const consumed = JSON.parse(last) as Consumed;
  assert.ok(consumed.complete, `read every partition to its end (errors: ${consumed.errors.join('; ')})`);
  return consumed;
}

export function ackedIds(summary: ProduceSummary): number[] {
  return summary.acked_ids.flatMap(([first, last]) => Array.from({ length: last - first + 1 }, (_, k) => first + k));
}

/**
 * Every acknowledged record is in the log of its partition (i % partitions),
 * each partition holds its records in send order, once each, at contiguous
 * offsets. With `exactly`, the topic holds exactly those records (every one
 * sent, acknowledged or not: idempotence loses nothing and writes nothing
 * twice); `absent` records (refused by the broker) must not be there.
 */
export function checkAcknowledgedReadable(
  consumed: Consumed,
  partitions: number,
  acked: readonly number[],
  options: { exactly?: readonly number[]; absent?: readonly number[] } = {},
): void {
  const all: number[] = [];
  for (let p = 0; p < partitions; p++) {
    const got = consumed.values[String(p)] ?? [];
    const offsets = consumed.offsets[String(p)] ?? [];
    all.push(...got);
    for (let j = 1; j < got.length; j++) {
      if (got[j]! <= got[j - 1]!) assert.fail(`partition ${p}: record ${got[j]} at offset ${offsets[j]} follows ${got[j - 1]} (out of order or a duplicate)`);
      if (offsets[j] !== offsets[j - 1]! + 1) assert.fail(`partition ${p}: offsets jump from ${offsets[j - 1]} to ${offsets[j]}`);
    }
    const stray = got.find((v) => v % partitions !== p);
    if (stray !== undefined) assert.fail(`partition ${p} holds record ${stray}, never sent there`);
  }
  const present = new Set(all);
  const missing = acked.filter((i) => !present.has(i));
  if (missing.length > 0) assert.fail(`${missing.length} acknowledged records are not readable, first ${missing.slice(0, 10).join(',')}`);
  const found = (options.absent ?? []).filter((i) => present.has(i));
  if (found.length > 0) assert.fail(`${found.length} refused records are in the log, first ${found.slice(0, 10).join(',')}`);
  if (options.exactly) {
    const expected = new Set(options.exactly);
    const extra = all.filter((i) => !expected.has(i));
    assert.deepEqual(extra.slice(0, 10), [], 'no record beyond those sent');
    assert.equal(all.length, expected.size, 'every record sent is in the log exactly once');
  }
}

/** The record numbers first..first+count-1. */
export function range(first: number, count: number): number[] {
  return Array.from({ length: count }, (_, k) => first + k);
}

/**
 * Runs `body`; when it fails, the error carries the last lines each broker
 * printed (its log), and what `clients` tells of the clients, which is what
 * explains a cluster test's failure. With
 * GANGLION_TEST_CLUSTER_LOGS=<dir>, every broker's whole output is also
 * written there (broker-<id>.log).
 */
export async function withBrokerLogs<T>(cluster: TestCluster, body: () => Promise<T>, clients: () => string = () => ''): Promise<T> {
  try {
    return await body();
  } catch (error) {
    const dumpDir = process.env.GANGLION_TEST_CLUSTER_LOGS;
    for (const b of cluster.brokers()) {
      if (dumpDir && b.process) await writeFile(join(dumpDir, `broker-${b.id}.log`), [...b.process.stdoutLines, ...b.process.stderrLines].join('\n'));
    }
    const logs = cluster.brokers().map((b) => `=== broker ${b.id} (${b.running ? 'running' : 'stopped'})\n${b.process?.output() ?? '(never started)'}`);
    if (error instanceof Error) error.message += `\n${clients()}\n${logs.join('\n')}`;
    throw error;
  }
}
