/**
 * Runs a standalone ZooKeeper server (Debian's `zookeeper` package: a jar
 * and a JVM) as a child process, for tests and `ganglion
 * zookeeper-server-start`. Ganglion does not reimplement ZooKeeper: it
 * locates the installed one, writes a zoo.cfg for a data dir and a port,
 * and waits until the server accepts a client session.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants, createWriteStream } from 'node:fs';
import { access, mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { delimiter, join } from 'node:path';
import { silentLogger } from '../logging.js';
import { ZkSession } from './zk-session.js';

/** Where Debian's `zookeeper` package puts the server and its configuration. */
const DEBIAN_JAR = '/usr/share/java/zookeeper.jar';
const DEBIAN_CONF_DIR = '/etc/zookeeper/conf';
/** An SLF4J binding that logs to stderr; without one ZooKeeper logs nothing. */
const SLF4J_SIMPLE_JAR = '/usr/share/java/slf4j-simple.jar';
const MAIN_CLASS = 'org.apache.zookeeper.server.quorum.QuorumPeerMain';

export interface ZooKeeperInstallation {
  java: string;
  jar: string;
  /** Directories and jars for -cp, the configuration directory first (as Debian's scripts do). */
  classpath: string[];
}

export interface ZooKeeperServerOptions {
  /** Snapshots and transaction logs; created when missing. zoo.cfg is written here too. */
  dataDir: string;
  port: number;
  /** Address to listen on; all interfaces when unset (ZooKeeper's default). */
  host?: string;
  /** ZooKeeper's time unit; sessions may last 2 to 20 ticks. Default 2000 ms. */
  tickTime?: number;
  /** The server's output (appended); discarded when unset. */
  logFile?: string;
  /** How long to wait for the first session. Default 30 s. */
  startTimeoutMs?: number;
}

export interface RunningZooKeeperServer {
  readonly port: number;
  readonly pid: number;
  /** Resolves when the process has exited (for any reason). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 5 s); resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** Finds java and ZooKeeper's jar; the error says how to install them. */
export async function zooKeeperInstallation(): Promise<ZooKeeperInstallation> {
  const java = await findJava();
  if (!(await isReadable(DEBIAN_JAR))) {
    throw new Error(`ZooKeeper is not installed (${DEBIAN_JAR} is missing): install it with \`apt-get install zookeeper\``);
  }
  const classpath = [DEBIAN_CONF_DIR, DEBIAN_JAR];
  if (await isReadable(SLF4J_SIMPLE_JAR)) classpath.push(SLF4J_SIMPLE_JAR);
  return { java, jar: DEBIAN_JAR, classpath };
}

export async function startZooKeeperServer(options: ZooKeeperServerOptions): Promise<RunningZooKeeperServer> {
  const installation = await zooKeeperInstallation();
  const { dataDir, port } = options;
  const probeHost = options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : '127.0.0.1';
  // A server already on the port would answer our probe and pass for this one.
  await assertPortFree(port, options.host);
  await mkdir(dataDir, { recursive: true });
  const configFile = join(dataDir, 'zoo.cfg');
  await writeFile(configFile, zooCfg(options));

  const child = spawn(installation.java, ['-Xmx256m', '-cp', installation.classpath.join(delimiter), MAIN_CLASS, configFile], {
    stdio: ['ignore', options.logFile ? 'pipe' : 'ignore', options.logFile ? 'pipe' : 'ignore'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const spawned = await new Promise<boolean>((resolve) => {
    child.once('spawn', () => resolve(true));
    child.once('error', () => resolve(false));
  });
  if (!spawned || child.pid === undefined) throw new Error(`could not start ${installation.java}`);
  if (options.logFile) {
    const log = createWriteStream(options.logFile, { flags: 'a' });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
  }
  const server: RunningZooKeeperServer = { port, pid: child.pid, exited, stop: (graceMs) => stopChild(child, exited, graceMs) };

  const gone = exited.then(({ code, signal }) => {
    const where = options.logFile ? `; see ${options.logFile}` : '';
    throw new Error(`ZooKeeper exited (code ${code}, signal ${signal}) before accepting sessions on port ${port}${where}`);
  });
  try {
    await Promise.race([waitForSession(probeHost, port, options.startTimeoutMs ?? 30_000), gone]);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

function zooCfg(options: ZooKeeperServerOptions): string {
  const lines = [
    `tickTime=${options.tickTime ?? 2000}`,
    `dataDir=${options.dataDir}`,
    `clientPort=${options.port}`,
    // The admin HTTP server would take port 8080, shared by every instance.
    'admin.enableServer=false',
  ];
  if (options.host) lines.push(`clientPortAddress=${options.host}`);
  return `${lines.join('\n')}\n`;
}

/** Polls with real client sessions: the server is ready when one is established. */
async function waitForSession(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const session = await ZkSession.connect({
        connect: { servers: [{ host, port }], chroot: '', connectString: `${host.includes(':') ? `[${host}]` : host}:${port}` },
        sessionTimeoutMs: 6000,
        connectionTimeoutMs: Math.max(100, Math.min(2000, deadline - Date.now())),
        logger: silentLogger,
      });
      await session.close();
      return;
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`ZooKeeper did not accept a session on ${host}:${port} within ${timeoutMs} ms (${String(lastError)})`);
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

async function assertPortFree(port: number, host: string | undefined): Promise<void> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`port ${port} is already in use: cannot start ZooKeeper on it`) : error),
    );
    server.listen(port, host, () => resolve());
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function findJava(): Promise<string> {
  const candidates: string[] = [];
  if (process.env.JAVA_HOME) candidates.push(join(process.env.JAVA_HOME, 'bin', 'java'));
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir) candidates.push(join(dir, 'java'));
  for (const candidate of candidates) if (await isExecutable(candidate)) return candidate;
  throw new Error('java not found (JAVA_HOME or PATH): install ZooKeeper and a JVM with `apt-get install zookeeper`');
}

async function isReadable(path: string): Promise<boolean> {
  return access(path, constants.R_OK).then(
    () => true,
    () => false,
  );
}

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}
