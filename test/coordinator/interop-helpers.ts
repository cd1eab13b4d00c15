/**
 * Helpers for the consumer-group tests with real clients
 * (test/interop/groups-*.test.ts): an in-process broker on a free port and
 * its own temp dir, a broker as a child process (for kill -9), a minimal
 * raw protocol client (to send exactly the bad requests we want), and
 * Python group members (test/interop/py/groups_member.py) whose JSON-lines
 * output the tests read.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../src/broker/broker.js';
import { apiByKey, type ApiKey, type ApiRequest, type ApiResponse } from '../../src/protocol/messages/api-table.js';
import { decodeResponseHeader, encodeRequestHeader, requestHeaderVersion, responseHeaderVersion } from '../../src/protocol/messages/headers.js';
import { Reader, Writer } from '../../src/protocol/primitives.js';
import { repoRoot } from '../helpers/repo-root.js';

export { repoRoot };
export const PYTHON = process.env.GANGLION_TEST_PYTHON ?? '/usr/bin/python3';
export const GROUP_MEMBER_PY = join(repoRoot, 'test', 'interop', 'py', 'groups_member.py');

/** Broker settings that keep group tests quick. */
export const FAST_GROUPS = {
  'group.initial.rebalance.delay.ms': 300,
  'group.min.session.timeout.ms': 1000,
  'offsets.topic.num.partitions': 4,
  'offsets.topic.replication.factor': 1,
};

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

export interface GroupTestBroker {
  broker: RunningBroker;
  bootstrap: string;
  dir: string;
  /** Closes the broker; the data stays until `cleanup`. */
  stop(): Promise<void>;
  /** Starts a broker again on the same data directory. */
  restart(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function startGroupBroker(config: Record<string, unknown> = {}): Promise<GroupTestBroker> {
  const dir = await mkdtemp(join(tmpdir(), 'ganglion-groups-'));
  const settings = { ...FAST_GROUPS, 'num.partitions': 1, ...config };
  const start = () =>
    startBroker({
      port: 0,
      host: '127.0.0.1',
      logDir: join(dir, 'data'),
      logLevel: (process.env.GANGLION_TEST_LOG_LEVEL as 'info' | undefined) ?? 'silent',
      shutdownGraceMs: 1000,
      config: settings,
    });
  let broker = await start();
  let running = true;
  const handle: GroupTestBroker = {
    broker,
    bootstrap: broker.bootstrapServers,
    dir,
    async stop() {
      if (running) await broker.close();
      running = false;
    },
    async restart() {
      await handle.stop();
      broker = await start();
      running = true;
      handle.broker = broker;
      handle.bootstrap = broker.bootstrapServers;
    },
    async cleanup() {
      await handle.stop();
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
  return handle;
}

// ---- a broker as a child process ------------------------------------------------

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface BrokerChild {
  child: ChildProcess;
  bootstrap: string;
  exited: Promise<void>;
  output(): string;
}

/** `node bin/ganglion.js server-start --override ...` (needs the compiled dist/). Resolves once it listens. */
export async function startBrokerProcess(logDir: string, port: number, config: Record<string, unknown> = {}): Promise<BrokerChild> {
  if (!existsSync(join(repoRoot, 'dist', 'src', 'cli'))) throw new Error('dist/ is missing: run `npm run build` first');
  const address = `PLAINTEXT://127.0.0.1:${port}`;
  const overrides: Record<string, unknown> = { ...FAST_GROUPS, 'log.dirs': logDir, listeners: address, 'advertised.listeners': address, ...config };
  const args = [join(repoRoot, 'bin', 'ganglion.js'), 'server-start'];
  for (const [k, v] of Object.entries(overrides)) args.push('--override', `${k}=${String(v)}`);
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  try {
    await waitFor(() => gone || log.includes('"broker started"'), 20_000, 'the broker process to start');
    if (gone) throw new Error(`broker process exited:\n${log.slice(-2000)}`);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return { child, bootstrap: `127.0.0.1:${port}`, exited, output: () => log.slice(-3000) };
}

// ---- a raw protocol client ----------------------------------------------------------

/** One connection sending requests of chosen versions and decoding the responses. */
export class RawClient {
  private correlationId = 0;
  private buffer = Buffer.alloc(0);
  private waiting: { resolve: (frame: Buffer) => void; reject: (e: Error) => void }[] = [];

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      while (this.buffer.length >= 4) {
        const size = this.buffer.readInt32BE(0);
        if (this.buffer.length < 4 + size) break;
        const frame = this.buffer.subarray(4, 4 + size);
        this.buffer = this.buffer.subarray(4 + size);
        this.waiting.shift()?.resolve(frame);
      }
    });
    socket.on('close', () => {
      for (const w of this.waiting.splice(0)) w.reject(new Error('connection closed'));
    });
  }

  static async connect(bootstrap: string): Promise<RawClient> {
    const [host, port] = bootstrap.split(',')[0]!.split(':');
    const socket = net.connect(Number(port), host);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawClient(socket);
  }

  async send<K extends ApiKey>(apiKey: K, version: number, request: ApiRequest<K>): Promise<ApiResponse<K>> {
    const api = apiByKey(apiKey);
    const w = new Writer(256);
    const correlationId = ++this.correlationId;
    encodeRequestHeader(w, { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: 'raw-test' }, requestHeaderVersion(apiKey, version));
    api.encodeRequest(w, request, version);
    const body = w.toBuffer();
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length);
    const frame = new Promise<Buffer>((resolve, reject) => this.waiting.push({ resolve, reject }));
    this.socket.write(Buffer.concat([size, body]));
    const r = new Reader(await frame);
    decodeResponseHeader(r, responseHeaderVersion(apiKey, version));
    return api.decodeResponse(r, version);
  }

  close(): void {
    this.socket.destroy();
  }
}

// ---- Python group members -----------------------------------------------------------

export function pythonHas(module: string): boolean {
  if (!existsSync(PYTHON)) return false;
  return spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore', timeout: 20_000 }).status === 0;
}

export interface MemberEvent {
  event: string;
  partitions?: number[];
  p?: number;
  o?: number;
  v?: string;
  error?: string;
}

/** One consumer process of test/interop/py/groups_member.py, reporting JSON lines. */
export class PyMember {
  readonly events: MemberEvent[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;
  private rest = '';
  running = true;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      const lines = (this.rest + chunk).split('\n');
      this.rest = lines.pop()!;
      for (const line of lines) if (line.trim()) this.events.push(JSON.parse(line) as MemberEvent);
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => this.stderr.push(chunk));
    this.exited = new Promise((resolve) =>
      child.once('close', (code) => {
        this.running = false;
        resolve(code);
      }),
    );
  }

  static start(name: string, args: Record<string, string | number | undefined>): PyMember {
    const argv = [GROUP_MEMBER_PY];
    for (const [k, v] of Object.entries(args)) if (v !== undefined) argv.push(`--${k}`, String(v));
    const child = spawn(PYTHON, argv, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
    child.stdin!.on('error', () => {});
    return new PyMember(name, child);
  }

  /** The member's current partitions (its last reported assignment). */
  get assignment(): number[] {
    const last = this.events.filter((e) => e.event === 'assignment').at(-1);
    return last?.partitions ?? [];
  }

  get assignmentChanges(): number {
    return this.events.filter((e) => e.event === 'assignment').length;
  }

  records(): { p: number; o: number; v: string }[] {
    return this.events.filter((e) => e.event === 'record').map((e) => ({ p: e.p!, o: e.o!, v: e.v! }));
  }

  /** Asks the member to commit, leave the group and exit. */
  async close(): Promise<void> {
    if (!this.running) return;
    this.child.stdin!.end('quit\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }

  /** kill -9: no LeaveGroup, no commit. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  describe(): string {
    return `${this.name}: ${JSON.stringify(this.events.filter((e) => e.event !== 'record').slice(-10))} records=${this.records().length}\n${this.stderr.join('').slice(-1500)}`;
  }
}

/** Every partition 0..n-1 owned by exactly one of the members. */
export function coversExactly(assignments: number[][], partitions: number): boolean {
  const all = assignments.flat();
  return all.length === partitions && new Set(all).size === partitions && all.every((p) => p >= 0 && p < partitions);
}
