/**
 * Test helpers for the client: a broker on a free port in its own temp dir,
 * restartable on the same port and directory, and small utilities.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../src/broker/broker.js';

export interface TestBroker {
  readonly bootstrapServers: string;
  readonly port: number;
  readonly logDir: string;
  /** Stops the broker (keeps its directory). */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory. */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

export async function startTestBroker(config: Record<string, unknown> = {}): Promise<TestBroker> {
  const logDir = await mkdtemp(join(tmpdir(), 'ganglion-client-test-'));
  let broker: RunningBroker | null = await startBroker({ port: 0, logDir, logLevel: 'silent', config });
  const port = broker.port;
  const bootstrapServers = broker.bootstrapServers;
  return {
    bootstrapServers,
    port,
    logDir,
    async stop() {
      const b = broker;
      broker = null;
      await b?.close();
    },
    async restart() {
      if (broker !== null) await broker.close();
      broker = null;
      // The port may linger briefly after close; retry a few times.
      for (let attempt = 0; ; attempt++) {
        try {
          broker = await startBroker({ port, logDir, logLevel: 'silent', config });
          return;
        } catch (error) {
          if (attempt >= 50) throw error;
          await sleep(100);
        }
      }
    },
    async close() {
      const b = broker;
      broker = null;
      await b?.close();
      await rm(logDir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

let topicCounter = 0;
/** A topic name unique within the test run. */
export function uniqueTopic(prefix = 't'): string {
  return `${prefix}-${process.pid}-${++topicCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Records unhandled promise rejections from here on; `assertNone()` fails
 * when there were any (clients must never leave one behind).
 */
export function trackUnhandledRejections(): { assertNone(): void } {
  const seen: unknown[] = [];
  const listener = (reason: unknown): void => {
    seen.push(reason);
  };
  process.on('unhandledRejection', listener);
  return {
    assertNone() {
      process.off('unhandledRejection', listener);
      if (seen.length > 0) {
        throw new Error(`unhandled rejections: ${seen.map((e) => (e instanceof Error ? e.stack : String(e))).join('\n')}`);
      }
    },
  };
}

/** Polls until `n` records arrived or `timeoutMs` passed. */
export async function pollN<T>(poll: (ms: number) => Promise<T[]>, n: number, timeoutMs = 10000): Promise<T[]> {
  const out: T[] = [];
  const end = Date.now() + timeoutMs;
  while (out.length < n) {
    const left = end - Date.now();
    if (left <= 0) break;
    out.push(...(await poll(Math.min(left, 1000))));
  }
  return out;
}

/** Runs a command without blocking the event loop (the test broker runs in this process). */
export function run(
  command: string,
  args: readonly string[],
  options: { input?: string | Buffer; timeoutMs?: number } = {},
): Promise<{ status: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60000);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.end(options.input ?? '');
  });
}
