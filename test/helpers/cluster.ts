/**
 * A real cluster for tests: Debian's ZooKeeper plus N brokers, each a
 * separate `ganglion server-start` process (so tests can kill -9 one) with
 * its own port and log dir, all under one ZooKeeper chroot per cluster.
 * Timeouts are short (6 s ZooKeeper sessions, 3 s replica lag) so failover
 * tests finish quickly; brokers start in parallel.
 *
 *   const cluster = await startCluster({ brokers: 3 });
 *   await cluster.waitForController();
 *   ... clients on cluster.bootstrapServers ...
 *   await cluster.broker(1).kill('SIGKILL');
 *   await cluster.close();
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { BrokerConnection } from '../../src/client/connection.js';
import { silentLogger } from '../../src/logging.js';
import { ApiKey, type ApiRequest, type ApiResponse } from '../../src/protocol/messages/api-table.js';
import type { MetadataResponse } from '../../src/protocol/messages/metadata.js';
import { KafkaZkClient } from '../../src/zookeeper/kafka-zk-client.js';
import { freePort, makeTempDir, removeDir, sleep, startBrokerProcess, type BrokerProcess } from './broker.js';
import { startZooKeeper, type TestZooKeeper } from './zookeeper.js';

/** Settings every cluster broker gets unless the test overrides them. */
const CLUSTER_DEFAULTS: Record<string, string> = {
  'zookeeper.session.timeout.ms': '6000',
  'zookeeper.connection.timeout.ms': '10000',
  'replica.lag.time.max.ms': '3000',
  'controlled.shutdown.retry.backoff.ms': '500',
  'log.retention.check.interval.ms': '300000',
};

export interface ClusterBroker {
  readonly id: number;
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly bootstrap: string;
  readonly logDir: string;
  /** The OS process id while running. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** The running process (its output, for assertion messages). */
  readonly process: BrokerProcess['process'] | null;
  /** Everything this broker logged, over all its runs (for a failing test's diagnostics). */
  output(): string;
  /** Sends `signal` (SIGKILL by default) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGTERM (a controlled shutdown) and waits for the exit. */
  stop(): Promise<void>;
  /**
   * Starts the broker again on the same port and log dir, stopping it first if
   * running; after a kill it first waits until ZooKeeper dropped the old
   * registration (the old session's timeout), since the id is refused until then.
   */
  restart(): Promise<void>;
}

export interface StartClusterOptions {
  brokers?: number;
  /** Settings for every broker, by Kafka name. */
  brokerConfig?: Record<string, string>;
  /** Use this ZooKeeper (not closed by the cluster) instead of starting one. */
  zk?: TestZooKeeper;
  /** How long each broker may take to log "broker started" (ms). */
  startTimeoutMs?: number;
}

export interface TestCluster {
  readonly zk: TestZooKeeper;
  /** The cluster's zookeeper.connect value (with its chroot). */
  readonly zkConnect: string;
  readonly chroot: string;
  /** Every running broker's `host:port`, comma separated. */
  readonly bootstrapServers: string;
  broker(id: number): ClusterBroker;
  brokers(): ClusterBroker[];
  /** Starts a new broker with this id (scale-out). */
  addBroker(id: number, config?: Record<string, string>): Promise<ClusterBroker>;
  /** The active controller's id from `/controller`, or null. */
  controllerId(): Promise<number | null>;
  /**
   * Waits until a controller is elected and every running broker's Metadata
   * names it and lists exactly the running brokers; returns its id.
   */
  waitForController(timeoutMs?: number): Promise<number>;
  /** A broker's Metadata for all topics (or the given ones). */
  metadata(id: number, topics?: string[]): Promise<MetadataResponse>;
  /** Sends one request to one broker (its newest version both sides speak) on a fresh connection. */
  request<K extends ApiKey>(id: number, apiKey: K, body: ApiRequest<K>): Promise<ApiResponse<K>>;
  /** A ZooKeeper client inside the cluster's chroot (closed with the cluster). */
  zkClient(): Promise<KafkaZkClient>;
  /** Kills every broker, removes their dirs, and the chroot (or the whole ZooKeeper if started here). */
  close(): Promise<void>;
}

export async function startCluster(options: StartClusterOptions = {}): Promise<TestCluster> {
  const ownZk = options.zk === undefined;
  const zk = options.zk ?? (await startZooKeeper());
  const chroot = `/ganglion-${randomBytes(4).toString('hex')}`;
  const zkConnect = zk.connect + chroot;
  const baseDir = await makeTempDir('ganglion-cluster-');
  const members = new Map<number, Member>();
  let zkClient: KafkaZkClient | null = null;

  const settingsFor = (id: number, extra: Record<string, string> = {}): Record<string, string> => ({
    ...CLUSTER_DEFAULTS,
    ...options.brokerConfig,
    ...extra,
    'broker.id': String(id),
    'node.id': String(id),
    'zookeeper.connect': zkConnect,
  });

  const addBroker = async (id: number, config?: Record<string, string>): Promise<ClusterBroker> => {
    if (members.has(id)) throw new Error(`broker ${id} is already part of this cluster`);
    const member = new Member(id, await freePort(), join(baseDir, `broker-${id}`), settingsFor(id, config), {
      startTimeoutMs: options.startTimeoutMs,
      // As with Kafka, a broker killed without a clean shutdown keeps its registration until its
      // ZooKeeper session times out, and a new process with its id is refused until then.
      untilUnregistered: async () => {
        const zk = await cluster.zkClient();
        const deadline = Date.now() + 30_000;
        while ((await zk.getBrokerIds()).includes(id)) {
          if (Date.now() > deadline) throw new Error(`broker ${id} is still registered in ZooKeeper after 30 s`);
          await sleep(100);
        }
      },
    });
    members.set(id, member);
    await member.start();
    return member;
  };

  const cluster: TestCluster = {
    zk,
    zkConnect,
    chroot,
    get bootstrapServers() {
      return [...members.values()]
        .filter((m) => m.running)
        .map((m) => m.bootstrap)
        .join(',');
    },
    broker(id) {
      const member = members.get(id);
      if (!member) throw new Error(`no broker ${id} in this cluster`);
      return member;
    },
    brokers: () => [...members.values()],
    addBroker,
    async zkClient() {
      zkClient ??= await KafkaZkClient.connect({
        connect: zk.zkConnect(chroot),
        sessionTimeoutMs: 10_000,
        connectionTimeoutMs: 10_000,
        logger: silentLogger,
      });
      return zkClient;
    },
    async controllerId() {
      return (await cluster.zkClient()).getControllerId();
    },
    async waitForController(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last = 'no answer yet';
      for (;;) {
        // The brokers' Metadata first (cheap while they start); ZooKeeper's /controller confirms it.
        const running = cluster
          .brokers()
          .filter((b) => b.running)
          .map((b) => b.id)
          .sort((a, b) => a - b);
        const views = await Promise.all(running.map((id) => cluster.metadata(id).catch((err: unknown) => String(err))));
        const named = views.map((v) => (typeof v === 'string' ? -1 : (v.controllerId ?? -1)));
        const agreeing =
          named[0]! >= 0 &&
          named.every((c) => c === named[0]) &&
          views.every((v) => typeof v !== 'string' && JSON.stringify(v.brokers.map((b) => b.nodeId).sort((a, b) => a - b)) === JSON.stringify(running));
        if (agreeing && (await cluster.controllerId()) === named[0]) return named[0]!;
        last = JSON.stringify(views.map((v) => (typeof v === 'string' ? v : { controller: v.controllerId, brokers: v.brokers.map((b) => b.nodeId) })));
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for the cluster to agree on a controller (brokers' views: ${last})`);
        await sleep(100);
      }
    },
    metadata(id, topics) {
      return cluster.request(id, ApiKey.Metadata, {
        topics: topics ? topics.map((name) => ({ name })) : null,
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      });
    },
    async request(id, apiKey, body) {
      const conn = await BrokerConnection.open({
        host: '127.0.0.1',
        port: cluster.broker(id).port,
        clientId: 'cluster-test',
        requestTimeoutMs: 30_000,
        connectTimeoutMs: 5_000,
        maxResponseBytes: 100 * 1024 * 1024,
      });
      try {
        return await conn.request(apiKey, body);
      } finally {
        conn.close();
      }
    },
    async close() {
      await Promise.all([...members.values()].map((m) => m.kill('SIGKILL')));
      await removeDir(baseDir);
      if (zkClient) {
        await zkClient.session.removeRecursive('/').catch(() => undefined);
        await zkClient.close();
      }
      if (ownZk) await zk.close();
    },
  };

  try {
    const count = options.brokers ?? 3;
    await Promise.all(Array.from({ length: count }, (_, id) => addBroker(id)));
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return cluster;
}

class Member implements ClusterBroker {
  private proc: BrokerProcess | null = null;
  private readonly runs: BrokerProcess['process'][] = [];

  constructor(
    readonly id: number,
    readonly port: number,
    readonly logDir: string,
    private readonly settings: Record<string, string>,
    private readonly options: { startTimeoutMs?: number; untilUnregistered(): Promise<void> },
  ) {}

  get bootstrap(): string {
    return `127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.proc !== null && this.proc.process.running;
  }

  get pid(): number | undefined {
    return this.running ? this.proc!.process.child.pid : undefined;
  }

  get process(): BrokerProcess['process'] | null {
    return this.proc?.process ?? null;
  }

  async start(): Promise<void> {
    this.proc = await startBrokerProcess({
      logDir: this.logDir,
      port: this.port,
      overrides: this.settings,
      timeoutMs: this.options.startTimeoutMs ?? 30_000,
    });
    this.runs.push(this.proc.process);
  }

  output(): string {
    return this.runs
      .map((run, i) => `=== broker ${this.id}, run ${i + 1} ===\n${[...run.stdoutLines, ...run.stderrLines].join('\n')}`)
      .join('\n');
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running) return;
    this.proc!.process.kill(signal);
    await this.proc!.process.exited;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    // A controlled shutdown may take its retries with their backoff: give it time before SIGKILL.
    await this.proc!.process.stop(60_000);
  }

  /** Stops the broker if running (SIGTERM), waits until its registration is gone, and starts it again. */
  async restart(): Promise<void> {
    await this.stop();
    await this.options.untilUnregistered();
    await this.start();
  }
}
