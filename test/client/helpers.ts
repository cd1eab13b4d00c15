/**
 * Test helpers for the client: a broker on a free port in its own temp dir,
 * restartable on the same port and directory, and small utilities.
 */
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
