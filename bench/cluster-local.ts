/**
 * The cluster benchmark's cluster: Debian's ZooKeeper (through
 * startZooKeeperServer) and N `ganglion server-start` processes on free
 * ports, each with its own log dir under one temp dir, all under one
 * ZooKeeper chroot. Brokers can be signalled (kill -9, SIGTERM) and
 * started again on the same port and data.
 *
 * Brokers run in their own process group, so a Ctrl-C in the terminal
 * reaches only the bench, which then kills them by pid (no controlled
 * shutdowns racing each other on the way out). `killAllNow()` is
 * synchronous for a process 'exit' handler.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { startZooKeeperServer, type RunningZooKeeperServer } from '../src/zookeeper/zookeeper-server.js';

export interface LocalClusterOptions {
  brokers: number;
  /** ZooKeeper's data, every broker's log dir and output go under here. */
  dir: string;
  /** The repository root (bin/ganglion.js, config/server.properties). */
  root: string;
  sessionTimeoutMs: number;
  /** ZooKeeper's tickTime: sessions may last 2 to 20 ticks, and expire on tick boundaries. */
  zkTickMs: number;
  /** Broker settings over config/server.properties and the cluster's own. */
  brokerConfig: Record<string, string>;
  /** server-start --log-level of the brokers (server-start's default: info). */
  brokerLogLevel?: string;
  startTimeoutMs?: number;
}

const CHROOT = '/ganglion-bench';

/**
 * A free TCP port below the kernel's ephemeral range. A port from there
 * (what listen(0) hands out) can meanwhile become the source port of some
 * other outgoing connection on a busy machine, before a broker or
 * ZooKeeper binds it or while a killed broker is down; and a client
 * probing a port of that range before anyone listens can end up connected
 * to itself (TCP simultaneous open) and read its own request back.
 */
export async function freePort(): Promise<number> {
  const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  const top = Math.min(low ?? 32768, 32768);
  const bottom = Math.min(10_000, top - 1000);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = bottom + Math.floor(Math.random() * (top - bottom));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port found between ${bottom} and ${top}`);
}

function canListen(port: number): Promise<boolean> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export class LocalBroker {
  private child: ChildProcess | null = null;
  private exitedPromise: Promise<void> = Promise.resolve();
  private log: WriteStream | null = null;
  /** How many times it was started (runs are marked in its output file). */
  runs = 0;

  constructor(
    readonly id: number,
    readonly port: number,
    /** Everything the broker printed, over all its runs (JSON log lines). */
    readonly outputFile: string,
    private readonly args: string[],
    private readonly startTimeoutMs: number,
  ) {}

  get host(): string {
    return '127.0.0.1';
  }

  get bootstrap(): string {
    return `127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.running ? this.child!.pid : undefined;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves when the current run has exited (at once when not running). */
  get exited(): Promise<void> {
    return this.exitedPromise;
  }

  /** Starts the broker and resolves once it logs that it serves; rejects if it exits first or takes too long. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`broker ${this.id} is already running`);
    this.runs++;
    this.log ??= createWriteStream(this.outputFile, { flags: 'a' });
    this.log.write(`=== broker ${this.id} run ${this.runs} started at ${new Date().toISOString()} ===\n`);
    const child = spawn(process.execPath, this.args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.child = child;
    this.exitedPromise = new Promise((resolve) => child.once('close', () => resolve()));
    const exitedEarly = this.exitedPromise.then(() => {
      throw new Error(`broker ${this.id} exited (code ${child.exitCode}, signal ${child.signalCode}) while starting; see ${this.outputFile}`);
    });
    const log = this.log;
    let tail = '';
    let serving = false;
    const started = new Promise<void>((resolve) => {
      const scan = (chunk: Buffer) => {
        log.write(chunk);
        if (serving) return;
        // Only a tail is kept: the marker may straddle two chunks.
        tail = (tail + chunk.toString('utf8')).slice(-4096);
        if (tail.includes('"broker started"')) {
          serving = true;
          resolve();
        }
      };
      child.stdout!.on('data', scan);
      child.stderr!.on('data', scan);
    });
    let timer: NodeJS.Timeout | undefined;
    const tooSlow = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`broker ${this.id} did not start within ${this.startTimeoutMs} ms; see ${this.outputFile}`)), this.startTimeoutMs);
    });
    try {
      await Promise.race([started, exitedEarly, tooSlow]);
    } catch (error) {
      await this.kill();
      throw error;
    } finally {
      clearTimeout(timer);
      exitedEarly.catch(() => undefined);
    }
  }

  /** Sends a signal to this broker only (by pid); false when it is not running. */
  signal(signal: NodeJS.Signals): boolean {
    if (!this.running) return false;
    this.child!.kill(signal);
    return true;
  }

  /** kill -9 and waits for the exit. */
  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }

  /** Waits for the exit; SIGKILL after `timeoutMs`. Returns false when it had to be killed. */
  async waitForExit(timeoutMs: number): Promise<boolean> {
    if (!this.running) return true;
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      this.signal('SIGKILL');
    }, timeoutMs);
    await this.exited;
    clearTimeout(timer);
    return !killed;
  }

  /** Flushes and closes the output file (after the last run). */
  async closeOutput(): Promise<void> {
    const log = this.log;
    this.log = null;
    if (log) await new Promise<void>((resolve) => log.end(resolve));
  }
}

export class LocalCluster {
  private constructor(
    readonly zk: RunningZooKeeperServer,
    /** zookeeper.connect of every broker (with the chroot). */
    readonly zkConnect: string,
    /** ZooKeeper's output (no timestamps: slf4j-simple). */
    readonly zkLogFile: string,
    readonly brokers: readonly LocalBroker[],
  ) {}

  /** Starts ZooKeeper, then the brokers in parallel. On failure everything started is stopped. */
  static async start(o: LocalClusterOptions): Promise<LocalCluster> {
    const zkPort = await freePort();
    const zkLogFile = join(o.dir, 'zookeeper.log');
    const zk = await startZooKeeperServer({
      dataDir: join(o.dir, 'zookeeper'),
      port: zkPort,
      host: '127.0.0.1',
      tickTime: o.zkTickMs,
      logFile: zkLogFile,
    });
    const zkConnect = `127.0.0.1:${zkPort}${CHROOT}`;
    const brokers: LocalBroker[] = [];
    try {
      for (let id = 0; id < o.brokers; id++) {
        const port = await freePort();
        const logDir = join(o.dir, `broker-${id}`);
        await mkdir(logDir, { recursive: true });
        const listener = `PLAINTEXT://127.0.0.1:${port}`;
        const settings: Record<string, string> = {
          'log.dirs': logDir,
          listeners: listener,
          'advertised.listeners': listener,
          'zookeeper.session.timeout.ms': String(o.sessionTimeoutMs),
          ...o.brokerConfig,
          'broker.id': String(id),
          'node.id': String(id),
          'zookeeper.connect': zkConnect,
        };
        const args = [join(o.root, 'bin', 'ganglion.js'), 'server-start', join(o.root, 'config', 'server.properties')];
        if (o.brokerLogLevel) args.push('--log-level', o.brokerLogLevel);
        for (const [k, v] of Object.entries(settings)) args.push('--override', `${k}=${v}`);
        brokers.push(new LocalBroker(id, port, join(o.dir, `broker-${id}.log`), args, o.startTimeoutMs ?? 60_000));
      }
      await Promise.all(brokers.map((b) => b.start()));
    } catch (error) {
      await Promise.all(brokers.map((b) => b.kill()));
      await zk.stop();
      throw error;
    }
    return new LocalCluster(zk, zkConnect, zkLogFile, brokers);
  }

  broker(id: number): LocalBroker {
    const b = this.brokers[id];
    if (!b) throw new Error(`no broker ${id}`);
    return b;
  }

  running(): LocalBroker[] {
    return this.brokers.filter((b) => b.running);
  }

  /** Every running broker's host:port, comma separated. */
  get bootstrapServers(): string {
    return this.running()
      .map((b) => b.bootstrap)
      .join(',');
  }

  /** Kills every broker (kill -9: the data is thrown away anyway), then ZooKeeper. */
  async close(): Promise<void> {
    await Promise.all(this.brokers.map((b) => b.kill()));
    await Promise.all(this.brokers.map((b) => b.closeOutput()));
    await this.zk.stop();
  }

  /** Synchronous last resort (process 'exit'): SIGKILL to every process by pid. */
  killAllNow(): void {
    for (const b of this.brokers) b.signal('SIGKILL');
    try {
      process.kill(this.zk.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
