/**
 * Broker benchmark with real Kafka clients (librdkafka through kcat and
 * confluent-kafka-python): produce throughput of fixed-size records with
 * acks=1 and acks=all, consume throughput from the beginning, and the
 * broker's resident memory, against a broker running in its own process.
 *
 *   npm run build && node dist/bench/broker.js [options]
 *
 *   --records N          records per produce phase (default 1000000)
 *   --record-size B      value size in bytes (default 1024)
 *   --partitions P       partitions of each topic (default 1)
 *   --runs R             repeat produce/consume R times, print the median (default 3)
 *   --producer kcat|python|raw   producing client (default kcat)
 *   --consumer kcat|python|raw   consuming client (default kcat)
 *                        raw = a minimal client in this script (pre-built
 *                        Produce requests, 16 in flight / Fetch requests
 *                        reading batch headers only): the broker's ceiling
 *                        with the client cost taken out, not a real client
 *   --baseline           also run the same clients against a null broker
 *                        (Ganglion's network layer and codecs, no storage:
 *                        produced batches are counted and dropped, fetches
 *                        are served from a synthetic log of N records), to
 *                        show what the clients alone can do on this machine
 *   --baseline-only      only the null broker
 *   --cpu-prof           run the broker under `node --cpu-prof` and print the
 *                        top self-time functions of each phase
 *   --keep               keep the temp directory (data file, logs, profiles)
 *   --broker-env K=V     set an environment variable of the broker process
 *   --client-env K=V     ... of the client processes (both repeatable), e.g.
 *                        MALLOC_MMAP_THRESHOLD_=67108864 (see bench/README.md)
 *   --producer-set K=V   a librdkafka setting of the producer over the bench's
 *   --consumer-set K=V   (see producerConfig/consumerConfig; repeatable)
 *   --broker-node-arg A  a node option for the broker process (repeatable),
 *                        e.g. --trace-gc or --max-semi-space-size=64
 *
 * Each run produces N records with acks=1 to a new topic, N with acks=all to
 * another, then consumes the acks=1 topic from offset 0 (page cache warm, as
 * for a consumer that keeps up), and deletes both topics. Produced counts are
 * checked with ListOffsets, consumed counts by the consumer.
 *
 * kcat phases are timed as the wall time of the kcat process (start-up and
 * metadata included, a few ms); the Python and raw clients time themselves
 * (python: first produce() to the end of flush(), assign() to the N-th
 * message). The broker's VmRSS is sampled from /proc every 100 ms and its
 * VmHWM (the kernel's peak) read before it is stopped. Per phase the bench
 * prints the CPU used by the broker process (all threads: event loop,
 * libuv pool, GC, kernel time) and by the client, per second and per GB
 * moved, with the broker's share of system time and its minor page faults
 * per MB: figures that stay meaningful on a shared machine where the
 * throughput itself swings with the load. A broker near 1.0 CPU is bound by
 * its event loop; a client near its own limit bounds the figure instead.
 *
 * Linux only (/proc). Needs `kcat` and `/usr/bin/python3` with
 * confluent_kafka (Debian packages kcat, python3-confluent-kafka).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Admin } from '../src/client/index.js';
import { CLK_TCK, MB, fail, fmt, kvArgs, loadAverage, median, producerConfig, writeDataFile, xArgs } from './common.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository root, from dist/bench or bench/. */
const ROOT = resolve(HERE, basename(dirname(HERE)) === 'dist' ? '../..' : '..');
const PY_DIR = join(ROOT, 'bench', 'py');
const PYTHON = '/usr/bin/python3';

// ---------------------------------------------------------------- options

type Client = 'kcat' | 'python' | 'raw';

interface Options {
  records: number;
  recordSize: number;
  partitions: number;
  runs: number;
  producer: Client;
  consumer: Client;
  targets: Array<'ganglion' | 'null'>;
  cpuProf: boolean;
  keep: boolean;
  /** Extra environment of the broker process / of the client processes. */
  brokerEnv: Record<string, string>;
  clientEnv: Record<string, string>;
  /** Extra node options of the broker process. */
  brokerNodeArgs: string[];
  /** librdkafka settings over the defaults of producerConfig() / consumerConfig(). */
  producerSet: Record<string, string>;
  consumerSet: Record<string, string>;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    records: 1_000_000,
    recordSize: 1024,
    partitions: 1,
    runs: 3,
    producer: 'kcat',
    consumer: 'kcat',
    targets: ['ganglion'],
    cpuProf: false,
    keep: false,
    brokerEnv: {},
    clientEnv: {},
    brokerNodeArgs: [],
    producerSet: {},
    consumerSet: {},
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
    const env = (into: Record<string, string>) => {
      const v = value();
      const eq = v.indexOf('=');
      if (eq <= 0) throw new Error(`${arg} needs KEY=VALUE`);
      into[v.slice(0, eq)] = v.slice(eq + 1);
    };
    const client = () => {
      const v = value();
      if (v !== 'kcat' && v !== 'python' && v !== 'raw') throw new Error(`${arg} is kcat, python or raw`);
      return v;
    };
    switch (arg) {
      case '--records': o.records = int(); break;
      case '--record-size': o.recordSize = int(); break;
      case '--partitions': o.partitions = int(); break;
      case '--runs': o.runs = int(); break;
      case '--producer': o.producer = client(); break;
      case '--consumer': o.consumer = client(); break;
      case '--baseline': o.targets = ['ganglion', 'null']; break;
      case '--baseline-only': o.targets = ['null']; break;
      case '--cpu-prof': o.cpuProf = true; break;
      case '--keep': o.keep = true; break;
      case '--broker-env': env(o.brokerEnv); break;
      case '--client-env': env(o.clientEnv); break;
      case '--broker-node-arg': o.brokerNodeArgs.push(value()); break;
      case '--producer-set': env(o.producerSet); break;
      case '--consumer-set': env(o.consumerSet); break;
      case '--help':
      case '-h':
        console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]);
        process.exit(0);
      // eslint-disable-next-line no-fallthrough
      default:
        throw new Error(`unknown option ${arg} (--help)`);
    }
  }
  return o;
}

// ---------------------------------------------------------------- /proc helpers

/** Fields of /proc/PID/stat after the comm field: state(0) ... minflt(7) ... utime(11) stime(12) cutime(13) cstime(14). */
function procStat(pid: number | 'self'): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** Minor page faults of this process's reaped children (cminflt). */
function childMinorFaults(): number {
  return Number(procStat('self')?.[8] ?? 0);
}

/** utime+stime (or the reaped children's when `children`) of a process, in seconds; null once it is gone. */
function cpuSeconds(pid: number | 'self', children = false): number | null {
  const f = procStat(pid);
  if (!f) return null;
  return (children ? Number(f[13]) + Number(f[14]) : Number(f[11]) + Number(f[12])) / CLK_TCK;
}

interface CpuSnapshot {
  user: number;
  sys: number;
  minorFaults: number;
}

function cpuSnapshot(pid: number): CpuSnapshot {
  const f = procStat(pid);
  if (!f) return { user: 0, sys: 0, minorFaults: 0 };
  return { user: Number(f[11]) / CLK_TCK, sys: Number(f[12]) / CLK_TCK, minorFaults: Number(f[7]) };
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Samples a process's VmRSS every 100 ms; `mark()` starts a new window. */
class RssSampler {
  peakKb = 0;
  windowPeakKb = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(private readonly pid: number) {
    this.timer = setInterval(() => this.sample(), 100);
    this.sample();
  }
  private sample(): void {
    const kb = statusKb(this.pid, 'VmRSS');
    if (kb === null) return;
    if (kb > this.peakKb) this.peakKb = kb;
    if (kb > this.windowPeakKb) this.windowPeakKb = kb;
  }
  mark(): number {
    this.sample();
    const w = this.windowPeakKb;
    this.windowPeakKb = 0;
    return w;
  }
  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}

// ---------------------------------------------------------------- processes

async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with code ${child.exitCode} during start-up`);
    const ok = await new Promise<boolean>((res) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`server did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
  /** CPU seconds of the process (and its children), from the kernel's accounting of reaped children. */
  cpu: number;
  /** Minor page faults of the process (and its children), the same way. */
  faults: number;
}

/** Extra environment of client processes (--client-env). */
let clientEnv: Record<string, string> = {};

/** Runs a client to completion. */
async function run(cmd: string, args: string[], timeoutMs = 600_000): Promise<RunResult> {
  const cpuBefore = cpuSeconds('self', true) ?? 0;
  const faultsBefore = childMinorFaults();
  const started = process.hrtime.bigint();
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...clientEnv } });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = (cpuSeconds('self', true) ?? 0) - cpuBefore;
  return { code, stdout, stderr, seconds, cpu, faults: childMinorFaults() - faultsBefore };
}

interface Server {
  name: string;
  bootstrap: string;
  child: ChildProcess;
  rss: RssSampler;
  profileDir: string | null;
  stop(): Promise<{ hwmKb: number | null }>;
}

async function startServer(target: 'ganglion' | 'null', dir: string, opts: Options): Promise<Server> {
  const port = await freePort();
  const listener = `PLAINTEXT://127.0.0.1:${port}`;
  const profileDir = opts.cpuProf ? join(dir, `profile-${target}`) : null;
  const nodeArgs = [...opts.brokerNodeArgs, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])];
  let args: string[];
  if (target === 'ganglion') {
    const logDir = join(dir, 'logs');
    await mkdir(logDir, { recursive: true });
    args = [
      ...nodeArgs,
      join(ROOT, 'bin', 'ganglion.js'),
      'server-start',
      join(ROOT, 'config', 'server.properties'),
      '--override', `log.dirs=${logDir}`,
      '--override', `listeners=${listener}`,
      '--override', `advertised.listeners=${listener}`,
    ];
  } else {
    // process.execArgv carries a TS loader when run through tsx.
    args = [...process.execArgv, ...nodeArgs, fileURLToPath(import.meta.url), '--serve-null', String(port), String(opts.partitions), String(opts.records), String(opts.recordSize)];
  }
  const log = createWriteStream(join(dir, `${target}.log`));
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.brokerEnv } });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  await waitForPort(port, child);
  const rss = new RssSampler(child.pid!);
  return {
    name: target,
    bootstrap: `127.0.0.1:${port}`,
    child,
    rss,
    profileDir,
    async stop() {
      const hwmKb = statusKb(child.pid!, 'VmHWM');
      rss.stop();
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await once(child, 'exit');
        clearTimeout(timer);
      }
      return { hwmKb };
    },
  };
}

// ---------------------------------------------------------------- clients

function consumerConfig(): Record<string, string> {
  return {
    'fetch.max.bytes': String(64 * MB),
    'max.partition.fetch.bytes': String(8 * MB),
    'receive.message.max.bytes': String(80 * MB),
    'fetch.wait.max.ms': '100',
    'queued.max.messages.kbytes': String(256 * 1024),
    'queued.min.messages': '1000000',
  };
}


interface Measured {
  records: number;
  bytes: number;
  seconds: number;
  clientCpu: number;
  clientFaults: number;
}

/** The raw client of this script, in a child process. */
async function runRaw(mode: 'produce' | 'consume', bootstrap: string, topic: string, acks: string, o: Options): Promise<Measured> {
  const r = await run(process.execPath, [
    ...process.execArgv,
    fileURLToPath(import.meta.url),
    '--raw-client', mode, bootstrap, topic, String(o.partitions), String(o.records), String(o.recordSize), acks,
  ]);
  if (r.code !== 0) fail(`raw ${mode}`, r);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { records: number; bytes: number; seconds: number };
  return { records: out.records, bytes: out.bytes, seconds: out.seconds, clientCpu: r.cpu, clientFaults: r.faults };
}

async function produce(client: Client, bootstrap: string, topic: string, acks: string, dataFile: string, o: Options): Promise<Measured> {
  if (client === 'raw') return runRaw('produce', bootstrap, topic, acks, o);
  const conf = { ...producerConfig(acks), ...o.producerSet };
  if (client === 'kcat') {
    const r = await run('kcat', ['-P', '-b', bootstrap, '-t', topic, '-l', ...xArgs(conf), dataFile]);
    if (r.code !== 0 || /fail|error/i.test(r.stderr)) fail('kcat -P', r);
    return { records: o.records, bytes: o.records * o.recordSize, seconds: r.seconds, clientCpu: r.cpu, clientFaults: r.faults };
  }
  const r = await run(PYTHON, [join(PY_DIR, 'produce.py'), bootstrap, topic, String(o.records), String(o.recordSize), ...kvArgs(conf)]);
  if (r.code !== 0) fail('produce.py', r);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { records: number; bytes: number; seconds: number; errors: number };
  if (out.errors > 0) fail(`produce.py (${out.errors} delivery errors)`, r);
  return { records: out.records, bytes: out.bytes, seconds: out.seconds, clientCpu: r.cpu, clientFaults: r.faults };
}

async function consume(client: Client, bootstrap: string, topic: string, o: Options): Promise<Measured> {
  if (client === 'raw') return runRaw('consume', bootstrap, topic, '1', o);
  const conf = { ...consumerConfig(), ...o.consumerSet };
  if (client === 'kcat') {
    // -f '' prints nothing per message; -e exits at the end of every
    // partition, saying on stderr at which offset: they must add up to N.
    const r = await run('kcat', ['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-f', '', ...xArgs(conf)]);
    if (r.code !== 0) fail('kcat -C', r);
    const ends = [...r.stderr.matchAll(/Reached end of topic \S+ \[(\d+)\] at offset (\d+)/g)];
    const total = ends.reduce((n, m) => n + Number(m[2]), 0);
    if (ends.length !== o.partitions || total !== o.records) fail(`kcat -C (reached offsets summing to ${total}, expected ${o.records})`, r);
    return { records: o.records, bytes: o.records * o.recordSize, seconds: r.seconds, clientCpu: r.cpu, clientFaults: r.faults };
  }
  const r = await run(PYTHON, [join(PY_DIR, 'consume.py'), bootstrap, topic, String(o.partitions), String(o.records), ...kvArgs(conf)]);
  if (r.code !== 0) fail('consume.py', r);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { records: number; bytes: number; seconds: number };
  if (out.records !== o.records) fail(`consume.py (got ${out.records} of ${o.records} records)`, r);
  return { records: out.records, bytes: out.bytes, seconds: out.seconds, clientCpu: r.cpu, clientFaults: r.faults };
}

// ---------------------------------------------------------------- the benchmark

interface Phase {
  target: string;
  run: number;
  name: string;
  m: Measured;
  brokerCpu: number;
  brokerSys: number;
  brokerFaults: number;
  rssPeakKb: number;
  startNs: bigint;
  endNs: bigint;
  load: string;
}


function printPhase(p: Phase): void {
  const { m } = p;
  const perGb = (cpu: number) => fmt((cpu * 1024 * MB) / m.bytes, 2);
  console.log(
    `  ${p.target.padEnd(8)} run ${p.run}  ${p.name.padEnd(16)} ${fmt(m.records / m.seconds).padStart(9)} records/s ` +
      `${fmt(m.bytes / MB / m.seconds, 1).padStart(7)} MB/s  (${fmt(m.seconds, 2)} s, load ${p.load.split(' ')[0]})`,
  );
  console.log(
    `${' '.repeat(19)}broker ${fmt(p.brokerCpu / m.seconds, 2)} CPU (${perGb(p.brokerCpu)} CPU-s/GB, ` +
      `${fmt((100 * p.brokerSys) / Math.max(p.brokerCpu, 0.01))}% sys, ${fmt((p.brokerFaults * MB) / m.bytes)} page faults/MB), ` +
      `RSS peak ${fmt(p.rssPeakKb / 1024)} MB; client ${fmt(m.clientCpu / m.seconds, 2)} CPU (${perGb(m.clientCpu)} CPU-s/GB, ` +
      `${fmt((m.clientFaults * MB) / m.bytes)} page faults/MB)`,
  );
}

async function measurePhase(
  server: Server,
  phases: Phase[],
  runNo: number,
  name: string,
  fn: () => Promise<Measured>,
): Promise<void> {
  const pid = server.child.pid!;
  const load = loadAverage();
  server.rss.mark();
  const cpu0 = cpuSnapshot(pid);
  const startNs = process.hrtime.bigint();
  const m = await fn();
  const endNs = process.hrtime.bigint();
  const cpu1 = cpuSnapshot(pid);
  const p: Phase = {
    target: server.name,
    run: runNo,
    name,
    m,
    brokerCpu: cpu1.user + cpu1.sys - cpu0.user - cpu0.sys,
    brokerSys: cpu1.sys - cpu0.sys,
    brokerFaults: cpu1.minorFaults - cpu0.minorFaults,
    rssPeakKb: server.rss.mark(),
    startNs,
    endNs,
    load,
  };
  phases.push(p);
  printPhase(p);
}

async function benchTarget(target: 'ganglion' | 'null', dir: string, dataFile: string, o: Options, phases: Phase[]) {
  const server = await startServer(target, dir, o);
  const admin = target === 'ganglion' ? new Admin({ 'bootstrap.servers': server.bootstrap }) : null;
  console.log(`${target}: listening on ${server.bootstrap} (pid ${server.child.pid}), RSS after start ${fmt((statusKb(server.child.pid!, 'VmRSS') ?? 0) / 1024)} MB`);
  try {
    for (let runNo = 1; runNo <= o.runs; runNo++) {
      for (const acks of ['1', 'all']) {
        const topic = `bench-acks${acks}-${runNo}`;
        await admin?.createTopics([{ topic, numPartitions: o.partitions }]);
        await measurePhase(server, phases, runNo, `produce acks=${acks}`, () =>
          produce(o.producer, server.bootstrap, topic, acks, dataFile, o),
        );
        if (admin) {
          const ends = await admin.listOffsets(Array.from({ length: o.partitions }, (_, partition) => ({ topic, partition, spec: 'latest' as const })));
          const total = ends.reduce((s, e) => s + Number(e.offset), 0);
          if (total !== o.records) throw new Error(`${topic}: ${total} records in the log, expected ${o.records}`);
        }
      }
      const topic = `bench-acks1-${runNo}`;
      await measurePhase(server, phases, runNo, 'consume', () => consume(o.consumer, server.bootstrap, topic, o));
      await admin?.deleteTopics([topic, `bench-acksall-${runNo}`]);
    }
  } finally {
    await admin?.close();
    const peakSampled = server.rss.peakKb;
    const { hwmKb } = await server.stop();
    console.log(
      `${target}: broker peak RSS ${fmt(peakSampled / 1024)} MB sampled every 100 ms, VmHWM ${hwmKb === null ? '?' : fmt(hwmKb / 1024)} MB`,
    );
    if (server.profileDir) printProfile(server.profileDir, phases.filter((p) => p.target === target));
  }
  return server;
}

// ---------------------------------------------------------------- cpu profiles

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Top self-time functions of the broker during each phase (profile clock = CLOCK_MONOTONIC, as hrtime). */
function printProfile(dir: string, phases: Phase[]): void {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) {
    console.log(`  (no .cpuprofile in ${dir})`);
    return;
  }
  const profile = JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const label = (id: number) => {
    const cf = byId.get(id)!.callFrame;
    const where = cf.url ? ` ${cf.url.replace(/^.*\/(dist|node_modules)\//, '$1/').replace(/^file:\/\//, '')}:${cf.lineNumber + 1}` : '';
    return `${cf.functionName || '(anonymous)'}${where}`;
  };
  const groups = new Map<string, Phase[]>();
  for (const p of phases) groups.set(p.name, [...(groups.get(p.name) ?? []), p]);
  console.log(`  CPU profile: ${join(dir, files[0]!)}`);
  for (const [name, ps] of groups) {
    const self = new Map<string, number>();
    let total = 0;
    let t = profile.startTime;
    for (let i = 0; i < profile.samples.length; i++) {
      t += profile.timeDeltas[i] ?? 0;
      const ns = BigInt(Math.round(t * 1000));
      if (!ps.some((p) => ns >= p.startNs && ns <= p.endNs)) continue;
      const d = profile.timeDeltas[i + 1] ?? 0; // the time until the next sample is this sample's
      const key = label(profile.samples[i]!);
      self.set(key, (self.get(key) ?? 0) + d);
      total += d;
    }
    const busy = total - (self.get('(idle)') ?? 0);
    console.log(`  ${name}: ${fmt(total / 1000)} ms sampled, main thread busy ${fmt((100 * busy) / Math.max(total, 1))}%; top self time:`);
    for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
      console.log(`    ${fmt(us / 1000).padStart(7)} ms ${fmt((100 * us) / Math.max(total, 1), 1).padStart(5)}%  ${key}`);
    }
  }
}

// ---------------------------------------------------------------- null broker

/**
 * A broker that does no storage work, to measure the clients (and
 * Ganglion's network layer and codecs) alone: ApiVersions, Metadata (every
 * topic asked for exists with `partitions` partitions, led by this node),
 * Produce (counts the records and acks; the bytes are dropped) and Fetch,
 * which serves every partition of every topic as a synthetic log of
 * records/partitions records of `recordSize` bytes in ~1 MB batches, each response
 * copied into a fresh buffer from two pre-built batches as a read from the
 * page cache would be. No long-poll beyond a short wait at the end.
 */
async function serveNull(port: number, partitions: number, totalRecords: number, recordSize: number): Promise<void> {
  const { SocketServer } = await import('../src/network/index.js');
  // The same process settings as bin/ganglion.js gives the broker.
  const { tuneForBufferChurn } = await import('../src/network/buffer-memory.js');
  tuneForBufferChurn();
  const { HandlerRegistry, defineHandler } = await import('../src/broker/handler-registry.js');
  const { createRequestDispatcher } = await import('../src/broker/request-dispatcher.js');
  const { silentLogger } = await import('../src/logging.js');
  const { ApiKey } = await import('../src/protocol/messages/api-table.js');
  const { buildBatch } = await import('../src/protocol/records/index.js');

  if (totalRecords % partitions !== 0) throw new Error('the null broker needs --records divisible by --partitions');
  const records = totalRecords / partitions; // per partition
  // The synthetic log: full batches of `perBatch` records, then a shorter one.
  const perBatch = Math.max(1, Math.floor(1_000_000 / (recordSize + 12)));
  const value = Buffer.alloc(recordSize, 0x61);
  const fullBatch = buildBatch(Array.from({ length: perBatch }, () => ({ value })));
  const rest = records % perBatch;
  const lastBatch = rest > 0 ? buildBatch(Array.from({ length: rest }, () => ({ value }))) : fullBatch;
  const batchCount = Math.ceil(records / perBatch);
  const batchAt = (i: number) => (i === batchCount - 1 ? lastBatch : fullBatch);
  /** Up to `limit` bytes of whole batches from the one holding `offset` (the first whole when `minOne`). */
  const read = (offset: number, limit: number, minOne: boolean): Buffer => {
    const first = Math.floor(offset / perBatch);
    let size = 0;
    let n = 0;
    for (let i = first; i < batchCount; i++) {
      const len = batchAt(i).length;
      if (size + len > limit && !(minOne && n === 0)) break;
      size += len;
      n++;
    }
    const out = Buffer.allocUnsafe(size);
    for (let i = first, pos = 0; i < first + n; i++) {
      const b = batchAt(i);
      b.copy(out, pos);
      out.writeBigInt64BE(BigInt(i * perBatch), pos); // outside the CRC
      pos += b.length;
    }
    return out;
  };
  const produced = new Map<string, number>();
  const registry = new HandlerRegistry();
  registry.register(
    defineHandler({
      apiKey: ApiKey.ListOffsets,
      minVersion: 1,
      maxVersion: 5,
      handle: (req) => ({
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode: 0,
            timestamp: -1n,
            offset: p.timestamp === -2n ? 0n : BigInt(records),
            leaderEpoch: 0,
          })),
        })),
      }),
    }),
  );
  registry.register(
    defineHandler({
      apiKey: ApiKey.ApiVersions,
      minVersion: 0,
      maxVersion: 3,
      handle: () => ({ errorCode: 0, apiKeys: registry.supportedVersions(), throttleTimeMs: 0 }),
    }),
    defineHandler({
      apiKey: ApiKey.Metadata,
      minVersion: 1,
      maxVersion: 9,
      handle: (req) => ({
        throttleTimeMs: 0,
        brokers: [{ nodeId: 0, host: '127.0.0.1', port, rack: null }],
        clusterId: 'null-broker',
        controllerId: 0,
        topics: (req.topics ?? []).map((t) => ({
          errorCode: 0,
          name: t.name,
          isInternal: false,
          partitions: Array.from({ length: partitions }, (_, i) => ({
            errorCode: 0,
            partitionIndex: i,
            leaderId: 0,
            leaderEpoch: 0,
            replicaNodes: [0],
            isrNodes: [0],
            offlineReplicas: [],
          })),
          topicAuthorizedOperations: -2147483648,
        })),
        clusterAuthorizedOperations: -2147483648,
      }),
    }),
    defineHandler({
      apiKey: ApiKey.Produce,
      minVersion: 3,
      maxVersion: 9,
      handle: (req) => {
        const responses = req.topicData.map((t) => ({
          name: t.name,
          partitionResponses: t.partitionData.map((p) => {
            const key = `${t.name}-${p.index}`;
            const base = produced.get(key) ?? 0;
            const buf = p.records!;
            let next = base;
            for (let pos = 0; pos + 61 <= buf.length; pos += buf.readInt32BE(pos + 8) + 12) {
              next += buf.readInt32BE(pos + 23) + 1; // lastOffsetDelta + 1
            }
            produced.set(key, next);
            return { index: p.index, errorCode: 0, baseOffset: BigInt(base), logAppendTimeMs: -1n, logStartOffset: 0n, recordErrors: [], errorMessage: null };
          }),
        }));
        return req.acks === 0 ? null : { responses, throttleTimeMs: 0 };
      },
    }),
    defineHandler({
      apiKey: ApiKey.Fetch,
      minVersion: 4,
      maxVersion: 12,
      async handle(req) {
        const build = () => {
          let budget = req.maxBytes ?? 0x7fffffff;
          let total = 0;
          const responses = req.topics.map((t) => ({
            topic: t.topic!,
            partitions: t.partitions.map((p) => {
              const offset = Number(p.fetchOffset);
              const data = offset < records ? read(offset, Math.min(p.partitionMaxBytes, budget), total === 0) : Buffer.alloc(0);
              budget -= data.length;
              total += data.length;
              return {
                partitionIndex: p.partition,
                errorCode: 0,
                highWatermark: BigInt(records),
                lastStableOffset: BigInt(records),
                logStartOffset: 0n,
                abortedTransactions: null,
                preferredReadReplica: -1,
                records: data,
              };
            }),
          }));
          return { responses, total };
        };
        let { responses, total } = build();
        if (total === 0 && req.maxWaitMs > 0) {
          await new Promise((r) => setTimeout(r, Math.min(req.maxWaitMs, 50)));
          ({ responses, total } = build());
        }
        return { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses };
      },
    }),
  );
  const server = new SocketServer({
    listeners: [{ name: 'PLAINTEXT', host: '127.0.0.1', port }],
    handler: createRequestDispatcher({ registry, logger: silentLogger }),
    maxRequestBytes: 104857600,
  });
  await server.start();
  const stop = () => {
    void server.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// ---------------------------------------------------------------- raw client

/**
 * A client that costs (almost) nothing, to find the broker's own ceiling:
 * produce sends pre-built Produce v7 requests (one ~1 MB batch per
 * partition, the batch bytes shared by every request, 16 requests in
 * flight on one connection); consume sends Fetch v11 requests (one in
 * flight, as librdkafka does per broker) and only reads batch headers to
 * advance. Prints one JSON line like the Python clients.
 */
async function rawClient(args: string[]): Promise<void> {
  const [mode, bootstrap, topic, partitionsArg, recordsArg, sizeArg, acksArg] = args as [string, string, string, string, string, string, string];
  const partitions = Number(partitionsArg);
  const records = Number(recordsArg);
  const size = Number(sizeArg);
  const { FrameDecoder } = await import('../src/network/index.js');
  const { Reader, Writer } = await import('../src/protocol/primitives.js');
  const { encodeRequestHeader, decodeResponseHeader } = await import('../src/protocol/messages/headers.js');
  const { encodeProduceRequest, decodeProduceResponse } = await import('../src/protocol/messages/produce.js');
  const { encodeFetchRequest, decodeFetchResponse } = await import('../src/protocol/messages/fetch.js');
  const { buildBatch } = await import('../src/protocol/records/index.js');

  const [host, port] = bootstrap.split(':') as [string, string];
  const socket = net.connect(Number(port), host);
  await once(socket, 'connect');
  socket.setNoDelay(true);
  const decoder = new FrameDecoder({ maxFrameBytes: 0x7fffffff });
  const waiting: Array<(frame: Buffer) => void> = [];
  socket.on('data', (chunk: Buffer) => {
    const frames: Buffer[] = [];
    decoder.push(chunk, frames);
    for (const f of frames) waiting.shift()!(f);
  });
  let correlationId = 0;
  /** Sends [prefix+header, ...body]; resolves with the response body reader. */
  const send = (apiKey: number, version: number, body: Buffer[]) =>
    new Promise<InstanceType<typeof Reader>>((res) => {
      const w = new Writer(64);
      encodeRequestHeader(w, { requestApiKey: apiKey, requestApiVersion: version, correlationId: correlationId++, clientId: 'raw' }, 1);
      const header = w.toBuffer();
      const total = header.length + body.reduce((n, b) => n + b.length, 0);
      const prefix = Buffer.allocUnsafe(4);
      prefix.writeInt32BE(total);
      socket.cork();
      socket.write(prefix);
      socket.write(header);
      for (const b of body) socket.write(b);
      socket.uncork();
      waiting.push((frame) => {
        const r = new Reader(frame);
        decodeResponseHeader(r, 0);
        res(r);
      });
    });

  let seconds: number;
  let got = 0;
  let bytes = 0;
  if (mode === 'produce') {
    const perBatch = Math.max(1, Math.floor(1_000_000 / (size + 12)));
    const value = Buffer.alloc(size, 0x61);
    const requestBody = (n: number) => {
      const batch = buildBatch(Array.from({ length: n }, () => ({ value })));
      const w = new Writer(1024);
      const acks = acksArg === 'all' ? -1 : Number(acksArg);
      const topicData = [{ name: topic, partitionData: Array.from({ length: partitions }, (_, index) => ({ index, records: batch })) }];
      encodeProduceRequest(w, { transactionalId: null, acks, timeoutMs: 30000, topicData }, 7);
      return w.toChunks();
    };
    const full = requestBody(perBatch);
    const perRequest = perBatch * partitions;
    const fullRequests = Math.floor(records / perRequest);
    const rest = records - fullRequests * perRequest;
    if (rest % partitions !== 0) throw new Error('raw produce: records must divide evenly over the partitions');
    const plan: Buffer[][] = Array.from({ length: fullRequests }, () => full);
    if (rest > 0) plan.push(requestBody(rest / partitions));
    const started = process.hrtime.bigint();
    let next = 0;
    const worker = async () => {
      while (next < plan.length) {
        const body = plan[next++]!;
        const r = await send(0, 7, body);
        const resp = decodeProduceResponse(r, 7);
        for (const t of resp.responses) for (const p of t.partitionResponses) {
          if (p.errorCode !== 0) throw new Error(`produce error ${p.errorCode}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    seconds = Number(process.hrtime.bigint() - started) / 1e9;
    got = records;
    bytes = records * size;
  } else {
    const offsets = new Array<number>(partitions).fill(0);
    const started = process.hrtime.bigint();
    while (got < records) {
      const w = new Writer(256);
      const fetch = {
        replicaId: -1,
        maxWaitMs: 500,
        minBytes: 1,
        maxBytes: 64 * MB,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic, partitions: offsets.map((o, partition) => ({ partition, currentLeaderEpoch: -1, fetchOffset: BigInt(o), logStartOffset: -1n, partitionMaxBytes: 8 * MB })) }],
        forgottenTopicsData: [],
        rackId: '',
      };
      encodeFetchRequest(w, fetch, 11);
      const resp = decodeFetchResponse(await send(1, 11, w.toChunks()), 11);
      for (const t of resp.responses) for (const p of t.partitions) {
        if (p.errorCode !== 0) throw new Error(`fetch error ${p.errorCode}`);
        const recs = p.records;
        if (!recs) continue;
        for (let pos = 0; pos + 61 <= recs.length; ) {
          const batchBytes = recs.readInt32BE(pos + 8) + 12;
          if (pos + batchBytes > recs.length) break;
          const last = Number(recs.readBigInt64BE(pos)) + recs.readInt32BE(pos + 23);
          if (last >= offsets[p.partitionIndex]!) {
            got += recs.readInt32BE(pos + 57);
            offsets[p.partitionIndex] = last + 1;
          }
          bytes += batchBytes;
          pos += batchBytes;
        }
      }
    }
    seconds = Number(process.hrtime.bigint() - started) / 1e9;
    bytes = got * size; // value bytes, as the other clients count
  }
  socket.destroy();
  console.log(JSON.stringify({ records: got, bytes, seconds, errors: 0 }));
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--serve-null') {
    await serveNull(Number(argv[1]), Number(argv[2]), Number(argv[3]), Number(argv[4]));
    return;
  }
  if (argv[0] === '--raw-client') {
    await rawClient(argv.slice(1));
    return;
  }
  const o = parseOptions(argv);
  clientEnv = o.clientEnv;
  const dir = await mkdtemp(join(tmpdir(), 'ganglion-bench-broker-'));
  const dataFile = join(dir, 'records.txt');
  try {
    console.log(
      `broker bench: ${fmt(o.records)} records of ${o.recordSize} bytes (${fmt((o.records * o.recordSize) / MB)} MB) per phase, ` +
        `${o.partitions} partition(s), ${o.runs} run(s); producer ${o.producer}, consumer ${o.consumer}; ` +
        `node ${process.version}; load average ${loadAverage()}`,
    );
    for (const [what, env] of [['broker', o.brokerEnv], ['client', o.clientEnv]] as const) {
      const set = Object.entries(env).map(([k, v]) => `${k}=${v}`);
      if (set.length > 0) console.log(`${what} environment: ${set.join(' ')}`);
    }
    if (o.brokerNodeArgs.length > 0) console.log(`broker node options: ${o.brokerNodeArgs.join(' ')}`);
    const show = (c: Record<string, string>) => Object.entries(c).map(([k, v]) => `${k}=${v}`).join(' ');
    if (o.producer !== 'raw') console.log(`producer settings: ${show({ ...producerConfig('<acks>'), ...o.producerSet })}`);
    if (o.consumer !== 'raw') console.log(`consumer settings: ${show({ ...consumerConfig(), ...o.consumerSet })}`);
    if (o.producer === 'kcat') await writeDataFile(dataFile, o.records, o.recordSize);
    const phases: Phase[] = [];
    for (const target of o.targets) await benchTarget(target, dir, dataFile, o, phases);
    console.log(`\nmedian of ${o.runs} run(s)   (load average at the end: ${loadAverage()})`);
    for (const target of o.targets) {
      for (const name of ['produce acks=1', 'produce acks=all', 'consume']) {
        const ps = phases.filter((p) => p.target === target && p.name === name);
        if (ps.length === 0) continue;
        const rate = median(ps.map((p) => p.m.records / p.m.seconds));
        const mbps = median(ps.map((p) => p.m.bytes / MB / p.m.seconds));
        const cpu = median(ps.map((p) => p.brokerCpu / p.m.seconds));
        console.log(
          `  ${target.padEnd(8)} ${name.padEnd(16)} ${fmt(rate).padStart(9)} records/s ${fmt(mbps, 1).padStart(7)} MB/s  (broker ${fmt(cpu, 2)} CPU)`,
        );
      }
    }
  } finally {
    if (o.keep) console.log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exit(1);
});
