/**
 * A real ZooKeeper server (Debian's package) for tests: a free port and a
 * temp data dir, stop / start on the same port and data to simulate an
 * outage, and a way to expire a client's session on demand. The JVM is
 * killed by pid if the test process exits without closing it.
 *
 * Self-contained on purpose (no import of ./broker.js): the ZooKeeper layer's
 * tests must not need the broker to load.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zookeeper from 'node-zookeeper-client';
import { parseZooKeeperConnect, type ZooKeeperConnect } from '../../src/config/listeners.js';
import type { ZkSession } from '../../src/zookeeper/zk-session.js';
import { freePort, waitFor } from './broker.js';
import { startZooKeeperServer, type RunningZooKeeperServer } from '../../src/zookeeper/zookeeper-server.js';

export interface TestZooKeeper {
  readonly port: number;
  /** `127.0.0.1:<port>`, a zookeeper.connect value. */
  readonly connect: string;
  readonly dataDir: string;
  /** The parsed connect value, optionally with a chroot ("/kafka"). */
  zkConnect(chroot?: string): ZooKeeperConnect;
  /** Kills the server, keeping its data. */
  stop(): Promise<void>;
  /** Restarts a stopped server on the same port and data. */
  start(): Promise<void>;
  /** Kills the server and removes its data. */
  close(): Promise<void>;
}

/** Skip reason when ZooKeeper is not installed (CI installs it: `apt-get install zookeeper`). */
export function skipUnlessZooKeeper(): false | string {
  return existsSync('/usr/share/java/zookeeper.jar') ? false : 'ZooKeeper not installed (apt-get install zookeeper)';
}

/** `tickTime` 500 ms by default: sessions may then be as short as 1 s. */
export async function startZooKeeper(options: { tickTime?: number } = {}): Promise<TestZooKeeper> {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'ganglion-zk-'));
  const tickTime = options.tickTime ?? 500;
  let server: RunningZooKeeperServer | null = null;
  let killOnExit: (() => void) | null = null;

  const start = async () => {
    if (server) return;
    server = await startZooKeeperServer({ dataDir, port, tickTime, logFile: `${dataDir}/zookeeper.log` });
    const pid = server.pid;
    killOnExit = () => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    process.on('exit', killOnExit);
  };
  const stop = async () => {
    if (!server) return;
    await server.stop();
    server = null;
    if (killOnExit) process.removeListener('exit', killOnExit);
    killOnExit = null;
  };

  try {
    await start();
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const connect = `127.0.0.1:${port}`;
  return {
    port,
    connect,
    dataDir,
    zkConnect(chroot = '') {
      const parsed = parseZooKeeperConnect('zookeeper.connect', connect + chroot);
      if (!parsed.ok) throw new Error(`bad connect string ${connect + chroot}`);
      return parsed.value;
    },
    stop,
    start,
    async close() {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Ends `session`'s current ZooKeeper session from a second connection that
 * presents its id and password (as Kafka's and Curator's tests do); the
 * session then sees an expiry when its connection is dropped.
 */
export async function expireSession(zk: TestZooKeeper, session: ZkSession): Promise<void> {
  // The twin can lose a race: the session's own client may re-attach before the twin closes it
  // (under load it reconnects at once). Try again until the session id really changed.
  const before = session.sessionId;
  for (let attempt = 1; ; attempt++) {
    await closeSessionFromTwin(zk, session);
    try {
      await waitFor(() => session.sessionId !== before, { what: 'a new session', timeoutMs: 8000 });
      return;
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
}

async function closeSessionFromTwin(zk: TestZooKeeper, session: ZkSession): Promise<void> {
  const { sessionId, password } = session.sessionCredentials();
  const options = { sessionTimeout: 6000, sessionId, sessionPassword: password } as Parameters<typeof zookeeper.createClient>[1];
  const twin = zookeeper.createClient(zk.connect, options);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('could not attach to the session to expire it')), 5000);
    twin.once('connected', () => {
      clearTimeout(timer);
      resolve();
    });
    twin.connect();
  });
  await new Promise<void>((resolve) => {
    twin.once('disconnected', () => resolve());
    twin.close();
  });
}
