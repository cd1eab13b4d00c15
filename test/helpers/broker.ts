/**
 * Shared helpers for tests that need a running broker or a child process:
 * an in-process broker on a free port and a temp dir, a broker as a separate
 * OS process (the `ganglion server-start` CLI, for kill -9), child processes
 * with a timeout and captured output, polling, free ports and client probes.
 *
 * Everything cleans up after itself: temp dirs are removed on close and
 * child processes are killed by pid when a test gives up on them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { startBroker, type RunningBroker, type StartBrokerOptions } from '../../src/broker/broker.js';
import type { LogLevel } from '../../src/logging.js';
import { repoRoot } from './repo-root.js';

export { repoRoot };

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A fresh directory under the OS temp dir. */
export function makeTempDir(prefix = 'ganglion-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** Polls `cond` every `intervalMs` until it is true; throws after `timeoutMs`. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<void> {
  const { timeoutMs = 5000, intervalMs = 10, what = 'condition' } = options;
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** A TCP port nobody listens on right now (for a broker process that must keep its port across restarts). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// ---------------------------------------------------------------------------
// In-process broker

export interface TestBroker {
  readonly broker: RunningBroker;
  readonly dir: string;
  readonly host: string;
  readonly port: number;
  /** `host:port`, for clients' bootstrap servers. */
  readonly bootstrap: string;
  /** Closes the broker and removes its directory. */
  close(): Promise<void>;
}

export interface TestBrokerOptions {
  /** Broker settings by Kafka name. */
  config?: Record<string, unknown>;
  /** Defaults to 'silent' (GANGLION_TEST_LOG_LEVEL overrides). */
  logLevel?: LogLevel;
  /** Use this dir instead of a fresh temp dir (it is then not removed on close). */
  dir?: string;
  extra?: Partial<StartBrokerOptions>;
}

/** Starts a broker in this process on a free port and a fresh temp dir. */
export async function startTestBroker(options: TestBrokerOptions = {}): Promise<TestBroker> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await makeTempDir('ganglion-broker-'));
  let broker: RunningBroker;
  try {
    broker = await startBroker({
      port: 0,
      host: '127.0.0.1',
      logDir: join(dir, 'data'),
      logLevel: options.logLevel ?? ((process.env.GANGLION_TEST_LOG_LEVEL as LogLevel | undefined) ?? 'silent'),
      shutdownGraceMs: 1000,
      config: options.config,
      ...options.extra,
    });
  } catch (err) {
    if (ownDir) await removeDir(dir);
    throw err;
  }
  let closed: Promise<void> | null = null;
  return {
    broker,
    dir,
    host: broker.host,
    port: broker.port,
    bootstrap: `${broker.host}:${broker.port}`,
    close() {
      closed ??= (async () => {
        try {
          await broker.close();
        } finally {
          if (ownDir) await removeDir(dir);
        }
      })();
      return closed;
    },
  };
}

// ---------------------------------------------------------------------------
// Child processes

export interface RunOptions {
  /** Written to the child's stdin, which is then closed. */
  input?: string | Buffer;
  /** Killed with SIGKILL after this long (default 30 s); the result says timedOut. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
  timedOut: boolean;
  durationMs: number;
}

/** Runs a command to completion, capturing its output. Never rejects for a non-zero exit. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 30_000);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.stdin.on('error', () => {});
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err),
        timedOut,
        durationMs: Date.now() - started,
      });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Describes a finished process for assertion messages. */
export function describeRun(what: string, r: RunResult): string {
  const tail = (b: Buffer) => b.toString('utf8').slice(-2000);
  return `${what} exited with ${r.timedOut ? 'a timeout' : `code ${r.code} signal ${r.signal}`} after ${r.durationMs} ms\n--- stdout ---\n${tail(r.stdout)}\n--- stderr ---\n${tail(r.stderr)}`;
}

/** Runs a command and returns stdout, throwing with its output if it fails. */
export async function runOk(command: string, args: readonly string[], options: RunOptions = {}): Promise<Buffer> {
  const r = await run(command, args, options);
  if (r.code !== 0) throw new Error(describeRun(`${command} ${args.join(' ')}`, r));
  return r.stdout;
}

function lineTest(pattern: RegExp | string): (line: string) => boolean {
  return (l) => (typeof pattern === 'string' ? l.includes(pattern) : pattern.test(l));
}

/**
 * A long-running child whose output is collected as it comes, split in lines,
 * so a test can wait for a line and react (e.g. kill -9 a broker mid-stream).
 */
export class LiveProcess {
  readonly stdoutLines: string[] = [];
  readonly stderrLines: string[] = [];
  /** Arrival time (ms since epoch) of each stdout line. */
  readonly stdoutTimes: number[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitCode: number | null | undefined = undefined;
  private outRest = '';
  private errRest = '';
  private listeners = new Set<() => void>();

  constructor(readonly child: ChildProcess, readonly label: string) {
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      const now = Date.now();
      const parts = (this.outRest + chunk).split('\n');
      this.outRest = parts.pop()!;
      for (const line of parts) {
        this.stdoutLines.push(line);
        this.stdoutTimes.push(now);
      }
      this.notify();
    });
    child.stderr?.on('data', (chunk: string) => {
      const parts = (this.errRest + chunk).split('\n');
      this.errRest = parts.pop()!;
      this.stderrLines.push(...parts);
      this.notify();
    });
    child.stdin?.on('error', () => {});
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        if (this.outRest) {
          this.stdoutLines.push(this.outRest);
          this.stdoutTimes.push(Date.now());
        }
        if (this.errRest) this.stderrLines.push(this.errRest);
        this.outRest = this.errRest = '';
        this.exitCode = code;
        this.notify();
        resolve({ code, signal });
      });
    });
  }

  static start(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; label?: string } = {}): LiveProcess {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    child.once('error', () => {});
    return new LiveProcess(child, options.label ?? command);
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  /** Resolves when `cond` holds (re-checked on every output and on exit); rejects on timeout. */
  until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (cond()) {
          done();
          resolve();
        } else if (!this.running) {
          done();
          reject(new Error(`${this.label} exited before ${what}\n${this.output()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} from ${this.label}\n${this.output()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
    });
  }

  /** Waits for a stdout line matching `pattern`; returns its index. */
  async waitForLine(pattern: RegExp | string, timeoutMs = 10_000): Promise<number> {
    const test = lineTest(pattern);
    let index = -1;
    await this.until(() => (index = this.stdoutLines.findIndex(test)) >= 0, timeoutMs, `a line matching ${pattern}`);
    return index;
  }

  /** Waits for a line matching `pattern` on stdout or stderr (e.g. a log line). */
  async waitForOutput(pattern: RegExp | string, timeoutMs = 10_000): Promise<void> {
    const test = lineTest(pattern);
    await this.until(() => this.stdoutLines.some(test) || this.stderrLines.some(test), timeoutMs, `output matching ${pattern}`);
  }

  /** Sends a signal to this child only (by pid). */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the child is gone. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  output(): string {
    return `--- stdout (${this.label}) ---\n${this.stdoutLines.slice(-30).join('\n')}\n--- stderr ---\n${this.stderrLines.slice(-30).join('\n')}`;
  }
}

// ---------------------------------------------------------------------------
// Broker as a separate OS process (bin/ganglion.js server-start)

export interface BrokerProcess {
  readonly process: LiveProcess;
  readonly port: number;
  readonly bootstrap: string;
  readonly logDir: string;
}

/**
 * Runs `node bin/ganglion.js server-start config/server.properties` with the
 * given log dir and port (needs `npm run build`), resolving once it logs
 * "broker started". Stop it with `process.stop()` or `process.kill('SIGKILL')`.
 */
export async function startBrokerProcess(options: {
  logDir: string;
  port: number;
  overrides?: Record<string, string | number>;
  timeoutMs?: number;
}): Promise<BrokerProcess> {
  const bin = join(repoRoot, 'bin', 'ganglion.js');
  if (!existsSync(join(repoRoot, 'dist', 'src', 'cli'))) throw new Error('dist/ is missing: run `npm run build` first');
  const address = `PLAINTEXT://127.0.0.1:${options.port}`;
  const overrides: Record<string, string | number> = {
    'log.dirs': options.logDir,
    listeners: address,
    'advertised.listeners': address,
    ...options.overrides,
  };
  const args = [bin, 'server-start', join(repoRoot, 'config', 'server.properties')];
  for (const [k, v] of Object.entries(overrides)) args.push('--override', `${k}=${v}`);
  const proc = LiveProcess.start(process.execPath, args, { cwd: repoRoot, label: `broker :${options.port}` });
  try {
    await proc.waitForOutput('"broker started"', options.timeoutMs ?? 15_000);
  } catch (err) {
    await proc.stop(1000);
    throw err;
  }
  return { process: proc, port: options.port, bootstrap: `127.0.0.1:${options.port}`, logDir: options.logDir };
}

// ---------------------------------------------------------------------------
// Real clients

/** The Debian python with the Debian Kafka client packages (not a pyenv shim). */
export const PYTHON = process.env.GANGLION_TEST_PYTHON ?? '/usr/bin/python3';

/** The full path of `command` on PATH, or null. */
export function onPath(command: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const full = join(dir, command);
    if (existsSync(full)) return full;
  }
  return null;
}

const moduleCache = new Map<string, boolean>();

/** Whether PYTHON can import every one of `modules`. */
export function pythonHas(...modules: string[]): boolean {
  const key = modules.join(',');
  let ok = moduleCache.get(key);
  if (ok === undefined) {
    const r = existsSync(PYTHON)
      ? spawnSync(PYTHON, ['-c', modules.map((m) => `import ${m}`).join('; ')], { stdio: 'ignore', timeout: 20_000 })
      : null;
    ok = r !== null && r.status === 0;
    moduleCache.set(key, ok);
  }
  return ok;
}

/** `false` when available, else a skip message naming what is missing and how CI gets it. */
export function skipUnlessPython(...modules: string[]): false | string {
  if (!existsSync(PYTHON)) return `${PYTHON} not found (CI installs it: .ci/run)`;
  return pythonHas(...modules) ? false : `${PYTHON} cannot import ${modules.join(', ')} (CI installs the Debian packages: .ci/run)`;
}

export function skipUnlessOnPath(command: string): false | string {
  return onPath(command) ? false : `${command} not on PATH (CI installs it: .ci/run)`;
}
