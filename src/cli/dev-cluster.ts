/**
 * `ganglion dev-cluster`: a whole cluster on this machine with one command,
 * for trying cluster mode out. It starts ZooKeeper (Debian's package) and
 * N brokers, each its own `ganglion server-start` process with its own log
 * dir and port (9092, 9093, ...), all under one data directory, prints the
 * bootstrap servers, and on Ctrl-C (or SIGTERM) stops the brokers one after
 * another (each a controlled shutdown), then ZooKeeper.
 *
 * The brokers' settings are those of config/cluster/server-N.properties,
 * with replication scaled down when there are fewer than three brokers and
 * a shorter controlled-shutdown backoff.
 * Data is kept between runs, so a stopped cluster starts again as it was.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startZooKeeperServer, type RunningZooKeeperServer } from '../zookeeper/index.js';
import { CliError, intArg, newCommand, parseArgs, processIo, runTool, type CliIo } from './common.js';

interface DevClusterOptions {
  brokers: number;
  zookeeperPort: number;
  basePort: number;
  dataDir: string;
  host: string;
}

/** The chroot every broker shares, as in config/cluster/ (so zkCli shows /ganglion/brokers/ids). */
const CHROOT = '/ganglion';
const BROKER_START_TIMEOUT_MS = 60_000;
/** A broker's controlled shutdown may retry for a while; after this it is killed. */
const BROKER_STOP_TIMEOUT_MS = 60_000;
const BIN = fileURLToPath(new URL('../../../bin/ganglion.js', import.meta.url));

export async function devCluster(argv: string[], io: CliIo = processIo): Promise<number> {
  return runTool(io, 'dev-cluster', () => run(argv, io));
}

/** One broker's settings (config/cluster/server-N.properties, with replication fitted to the cluster size). */
export function brokerSettings(id: number, opts: DevClusterOptions): Record<string, string> {
  const rf = Math.min(3, opts.brokers);
  const minIsr = Math.min(2, rf);
  const port = opts.basePort + id;
  return {
    'broker.id': String(id),
    // Every interface, as config/cluster/ does: "localhost" may resolve to ::1 or 127.0.0.1, and clients try both.
    listeners: `PLAINTEXT://:${port}`,
    'advertised.listeners': `PLAINTEXT://${opts.host}:${port}`,
    'log.dirs': join(opts.dataDir, `broker-${id}`),
    'zookeeper.connect': `${opts.host}:${opts.zookeeperPort}${CHROOT}`,
    'num.partitions': '1',
    'default.replication.factor': String(rf),
    'min.insync.replicas': String(minIsr),
    'offsets.topic.replication.factor': String(rf),
    'transaction.state.log.replication.factor': String(rf),
    'transaction.state.log.min.isr': String(minIsr),
    'group.initial.rebalance.delay.ms': '0',
    // The last broker to stop cannot hand its leaderships to anyone and retries its controlled
    // shutdown max.retries times: a shorter pause than Kafka's 5 s keeps Ctrl-C quick.
    'controlled.shutdown.retry.backoff.ms': '1000',
  };
}

class BrokerProcess {
  private readonly child: ChildProcess;
  private readonly log: WriteStream;
  private ready = false;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly id: number,
    readonly address: string,
    readonly logFile: string,
    settings: Record<string, string>,
  ) {
    const args = [BIN, 'server-start'];
    for (const [k, v] of Object.entries(settings)) args.push('--override', `${k}=${v}`);
    this.log = createWriteStream(logFile, { flags: 'a' });
    this.child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolveExit) => {
      this.child.once('error', () => resolveExit({ code: null, signal: null }));
      this.child.once('exit', (code, signal) => resolveExit({ code, signal }));
    });
    this.child.stdout!.pipe(this.log, { end: false });
    this.child.stderr!.pipe(this.log, { end: false });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves once the broker logs that it serves; rejects if it exits first or takes too long. */
  async started(): Promise<void> {
    // The log goes to stdout or stderr depending on the broker's logger: watch both.
    const streams = [this.child.stdout!, this.child.stderr!];
    let seen = '';
    const found = new Promise<void>((resolveStarted) => {
      const scan = (chunk: Buffer) => {
        // Only the tail is kept: the marker may straddle two chunks.
        seen = (seen + chunk.toString('utf8')).slice(-4096);
        if (seen.includes('"broker started"')) {
          this.ready = true;
          for (const s of streams) s.off('data', scan);
          resolveStarted();
        }
      };
      for (const s of streams) s.on('data', scan);
    });
    const failed = this.exited.then(({ code, signal }) => {
      if (!this.ready) throw new Error(`broker ${this.id} exited (code ${code}, signal ${signal}) before it started; see ${this.logFile}`);
    });
    let timer: NodeJS.Timeout | undefined;
    const slow = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`broker ${this.id} did not start within ${BROKER_START_TIMEOUT_MS / 1000} s; see ${this.logFile}`)), BROKER_START_TIMEOUT_MS);
    });
    try {
      await Promise.race([found, failed, slow]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM (a controlled shutdown), SIGKILL if it takes longer than `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    if (this.running) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    await new Promise<void>((resolveEnd) => this.log.end(resolveEnd));
  }

  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const program = newCommand(io, 'dev-cluster', 'Start ZooKeeper and N brokers on this machine, for trying cluster mode out; Ctrl-C stops them.')
    .option('--brokers <n>', 'Number of brokers.', intArg, 3)
    .option('--zookeeper-port <port>', "ZooKeeper's client port.", intArg, 2181)
    .option('--base-port <port>', "The first broker's port; broker N listens on base-port + N.", intArg, 9092)
    .option('--data-dir <dir>', 'Where ZooKeeper, the brokers and their logs keep their files (kept between runs).', './data/dev-cluster')
    .option('--host <host>', 'The host name the brokers advertise and ZooKeeper is reached at.', 'localhost');
  const opts = parseArgs<DevClusterOptions>(program, argv);
  if (opts.brokers < 1) throw new CliError('--brokers must be at least 1');
  for (const [name, port] of [['--zookeeper-port', opts.zookeeperPort], ['--base-port', opts.basePort]] as const) {
    if (port < 1 || port > 65535) throw new CliError(`${name} must be a port number (1-65535)`);
  }
  if (opts.basePort + opts.brokers - 1 > 65535) throw new CliError('--base-port + --brokers goes past port 65535');
  const dataDir = resolve(opts.dataDir);
  const shown = (path: string) => (relative(process.cwd(), path).startsWith('..') ? path : relative(process.cwd(), path) || '.');
  await mkdir(dataDir, { recursive: true });

  // Ctrl-C from now on stops whatever has started; a second one kills it.
  let stopping: NodeJS.Signals | null = null;
  let wakeUp: () => void = () => {};
  const stopRequested = new Promise<void>((resolveStop) => (wakeUp = resolveStop));
  const brokers: BrokerProcess[] = [];
  let zookeeper: RunningZooKeeperServer | null = null;
  const removeSignals = io.onSignal((signal) => {
    if (stopping !== null) {
      io.stderr.write('Killing the cluster\n');
      for (const b of brokers) b.kill();
      if (zookeeper) process.kill(zookeeper.pid, 'SIGKILL');
      return;
    }
    stopping = signal;
    wakeUp();
  });

  try {
    io.stdout.write(`Starting ZooKeeper on ${opts.host}:${opts.zookeeperPort} ...\n`);
    const zkDir = join(dataDir, 'zookeeper');
    zookeeper = await startZooKeeperServer({ dataDir: zkDir, port: opts.zookeeperPort, logFile: join(dataDir, 'zookeeper.log') });
    io.stdout.write(`ZooKeeper  ${opts.host}:${opts.zookeeperPort}  data: ${shown(zkDir)}  log: ${shown(join(dataDir, 'zookeeper.log'))}\n`);

    for (let id = 0; id < opts.brokers && stopping === null; id++) {
      const settings = brokerSettings(id, { ...opts, dataDir });
      brokers.push(new BrokerProcess(id, `${opts.host}:${opts.basePort + id}`, join(dataDir, `broker-${id}.log`), settings));
    }
    // Each broker registers itself; they start in parallel.
    await Promise.race([Promise.all(brokers.map((b) => b.started())), stopRequested]);
    if (stopping === null) {
      for (const b of brokers) {
        io.stdout.write(
          `broker ${b.id}   ${b.address}  data: ${shown(join(dataDir, `broker-${b.id}`))}  log: ${shown(b.logFile)}  ` +
            `(npx ganglion topics --bootstrap-server ${b.address} --describe)\n`,
        );
      }
      const bootstrap = brokers.map((b) => b.address).join(',');
      io.stdout.write(
        `\nCluster is up: ${brokers.length} broker(s), ZooKeeper ${opts.host}:${opts.zookeeperPort}${CHROOT}\n` +
          `Bootstrap servers: ${bootstrap}\n` +
          `Try:   npx ganglion topics --bootstrap-server ${bootstrap} --create --topic test --partitions 3 --replication-factor ${Math.min(3, brokers.length)}\n` +
          `Press Ctrl-C to stop the cluster.\n`,
      );
      for (const b of brokers) {
        void b.exited.then(({ code, signal }) => {
          if (stopping === null) io.stderr.write(`broker ${b.id} exited (code ${code}, signal ${signal}); see ${shown(b.logFile)}\n`);
        });
      }
      await stopRequested;
    }
    // Stopping on request is the normal end, as for server-start.
    return 0;
  } finally {
    await stopAll(brokers, zookeeper, io);
    removeSignals();
  }
}

/** Brokers one at a time, newest first (each hands its leaderships to those still running), then ZooKeeper. */
async function stopAll(brokers: readonly BrokerProcess[], zookeeper: RunningZooKeeperServer | null, io: CliIo): Promise<void> {
  if (brokers.length > 0 || zookeeper) io.stdout.write('Stopping the cluster ...\n');
  for (const b of [...brokers].reverse()) {
    const wasRunning = b.running;
    await b.stop(BROKER_STOP_TIMEOUT_MS);
    if (wasRunning) io.stdout.write(`broker ${b.id} stopped\n`);
  }
  if (zookeeper) {
    await zookeeper.stop();
    io.stdout.write('ZooKeeper stopped\n');
  }
}
