/**
 * Assembles a broker: configuration, storage, the controller, the replica
 * manager, the API handlers and the socket server. `startBroker` is both what
 * `ganglion server-start` runs and the library API for embedding a broker in
 * another program's tests.
 *
 * Without `zookeeper.connect` the embedded controller makes this node the
 * whole cluster. With it the broker joins a ZooKeeper cluster: it connects
 * (ZkConnectionError after zookeeper.connection.timeout.ms), creates Kafka's
 * persistent znodes, reads or creates `/cluster/id`, opens its logs, starts
 * its listeners, registers `/brokers/ids/<broker.id>` (BrokerIdInUseError
 * when another broker has the id) and joins the controller election. Both
 * modes share the replica manager, the purgatory and the API handlers;
 * cluster mode adds the controller's requests to brokers and the
 * controller-only APIs.
 */
import { loadBrokerConfig, topicConfigError, type BrokerConfig } from '../config/index.js';
import { EmbeddedController } from '../controller/embedded-controller.js';
import type { BrokerRegistration, Controller } from '../controller/types.js';
import { randomUuid } from '../controller/uuid.js';
import { KafkaController } from '../controller/zk/kafka-controller.js';
import { ZkBrokerController } from '../controller/zk/zk-broker.js';
import { createLogger, type Logger, type LogLevel } from '../logging.js';
import { SocketServer, type BoundListener } from '../network/index.js';
import { decompressAsync } from '../protocol/records/index.js';
import { LogManager } from '../storage/index.js';
import { KafkaZkClient } from '../zookeeper/kafka-zk-client.js';
import { HandlerRegistry } from './handler-registry.js';
import { createControllerApiHandlers } from './handlers/controller-apis.js';
import { registerHandlers } from './handlers/index.js';
import { createInterBrokerHandlers } from './handlers/inter-broker.js';
import { Purgatory } from './purgatory.js';
import { ReplicaManager } from './replica-manager.js';
import { createRequestDispatcher } from './request-dispatcher.js';
import type { BrokerServices } from './services.js';
import { groupCoordinatorFor } from './handlers/groups.js';
import { cleanerConfigFor, logConfigFor } from './topic-log-config.js';

export interface StartBrokerOptions {
  /** A server.properties file. */
  configFile?: string;
  /** Settings by Kafka name, e.g. `{ 'num.partitions': 3 }`. */
  config?: Record<string, unknown>;
  /** `--override key=value` settings; they win over the file and `config`. */
  overrides?: Record<string, string>;
  /** Shorthand for `log.dirs`. */
  logDir?: string;
  /**
   * Shorthand for one PLAINTEXT listener on `host:port` (port 0 picks a free
   * port), advertised as the same address.
   */
  port?: number;
  host?: string;
  logger?: Logger;
  logLevel?: LogLevel;
  /** How long shutdown waits for in-flight requests (ms). */
  shutdownGraceMs?: number;
}

export interface RunningBroker {
  readonly brokerId: number;
  readonly clusterId: string;
  /** The first listener's advertised address. */
  readonly host: string;
  readonly port: number;
  /** `host:port` of every advertised listener, comma separated (for clients' bootstrap.servers). */
  readonly bootstrapServers: string;
  readonly listeners: readonly BoundListener[];
  readonly config: BrokerConfig;
  /** Answers in-flight requests, flushes and closes the logs, writes checkpoints. */
  close(): Promise<void>;
}

function shorthandSettings(options: StartBrokerOptions): Record<string, unknown> {
  const values: Record<string, unknown> = { ...options.config };
  if (options.logDir !== undefined) values['log.dirs'] = options.logDir;
  if (options.port !== undefined || options.host !== undefined) {
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 9092;
    values['listeners'] = `PLAINTEXT://${host}:${port}`;
    values['advertised.listeners'] = `PLAINTEXT://${host}:${port}`;
  }
  return values;
}

export async function startBroker(options: StartBrokerOptions = {}): Promise<RunningBroker> {
  const config = await loadBrokerConfig({
    file: options.configFile,
    values: shorthandSettings(options),
    overrides: options.overrides,
  });
  const logger = options.logger ?? createLogger({ level: options.logLevel ?? 'info' });
  if (config.unknownKeys.length > 0) {
    logger.warn('ignoring unknown settings', { keys: config.unknownKeys });
  }
  if (config.zookeeper && config.brokerId < 0) {
    throw new Error(
      `broker.id is ${config.brokerId}: a broker joining a ZooKeeper cluster (zookeeper.connect) needs an explicit broker.id of at least 0; generated broker ids are not supported`,
    );
  }
  const brokerId = config.brokerId < 0 ? 0 : config.brokerId;

  // What start-up has opened so far, closed in reverse order if a later step fails.
  const opened: Array<() => Promise<void>> = [];
  const unwind = async (err: unknown): Promise<never> => {
    for (const close of opened.reverse()) {
      await close().catch((closeErr: unknown) => logger.warn('cleanup after a failed start failed', { err: String(closeErr) }));
    }
    throw err;
  };

  let zk: KafkaZkClient | null = null;
  let clusterId = '';
  if (config.zookeeper) {
    zk = await KafkaZkClient.connect({
      connect: config.zookeeper,
      sessionTimeoutMs: config.get('zookeeper.session.timeout.ms'),
      connectionTimeoutMs: config.zookeeperConnectionTimeoutMs,
      logger,
    });
    const session = zk;
    opened.push(() => session.close());
    try {
      await zk.ensurePersistentPaths();
      clusterId = await zk.getOrCreateClusterId(randomUuid());
    } catch (err) {
      return unwind(err);
    }
  }

  let logManager: LogManager;
  try {
    logManager = await LogManager.open(config.logDirs, logConfigFor(config), {
      retentionCheckIntervalMs: config.get('log.retention.check.interval.ms'),
      flushCheckIntervalMs: config.get('log.flush.scheduler.interval.ms'),
      recoveryPointCheckpointIntervalMs: config.get('log.flush.offset.checkpoint.interval.ms'),
      logStartOffsetCheckpointIntervalMs: config.get('log.flush.start.offset.checkpoint.interval.ms'),
      recoveryThreadsPerDataDir: config.get('num.recovery.threads.per.data.dir'),
      logger: logger.child({ component: 'storage' }),
      decompress: decompressAsync,
      cleaner: cleanerConfigFor(config),
    });
  } catch (err) {
    return unwind(err);
  }
  opened.push(() => logManager.close());

  const purgatory = new Purgatory();
  const replicaManager = new ReplicaManager({ brokerId, config, logManager, purgatory, logger });
  const registry = new HandlerRegistry();
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const server = new SocketServer({
    listeners: config.listeners.map((l) => ({ name: l.name, host: l.host, port: l.port })),
    handler: createRequestDispatcher({ registry, logger, onRequest: () => ready }),
    maxRequestBytes: config.get('socket.request.max.bytes'),
    connectionsMaxIdleMs: config.get('connections.max.idle.ms'),
    maxConnections: config.get('max.connections'),
    logger: logger.child({ component: 'network' }),
  });

  let bound: BoundListener[];
  try {
    bound = await server.start();
  } catch (err) {
    return unwind(err);
  }
  opened.push(() => server.stop({ graceMs: 0 }));

  // An advertised port of 0 means "whatever the listener got".
  const registration: BrokerRegistration = {
    brokerId,
    rack: config.get('broker.rack'),
    endpoints: config.advertisedListeners.map((a) => ({
      listenerName: a.name,
      host: a.host,
      port: a.port !== 0 ? a.port : (bound.find((b) => b.name === a.name)?.port ?? a.port),
      securityProtocol: a.securityProtocol,
    })),
  };
  const validateTopicConfigs = (configs: Record<string, string>) => topicConfigError(configs, config);

  let controller: Controller;
  let zkBroker: ZkBrokerController | null = null;
  let kafkaController: KafkaController | null = null;
  if (zk) {
    const session = zk.session;
    zkBroker = new ZkBrokerController({
      registration,
      clusterId,
      zk,
      onNewSession: (listener) => session.onNewSession(listener),
      config,
      replicaManager,
      validateTopicConfigs,
      logger,
    });
    // Followers find their leaders, and leaders change ISRs, through the broker controller.
    replicaManager.setClusterLink(zkBroker.link);
    kafkaController = new KafkaController({ brokerId, zk, config, logger });
    controller = zkBroker;
  } else {
    try {
      controller = await EmbeddedController.open({
        broker: registration,
        metadataDir: config.logDirs[0]!,
        numPartitions: config.get('num.partitions'),
        defaultReplicationFactor: config.get('default.replication.factor'),
        deleteTopicEnable: config.get('delete.topic.enable'),
        validateTopicConfigs,
        delegate: replicaManager,
      });
    } catch (err) {
      return unwind(err);
    }
    clusterId = controller.clusterId;
  }

  const services: BrokerServices = { brokerId, config, controller, replicaManager, logManager, registry, logger };
  registerHandlers(registry, services);
  if (zkBroker && kafkaController) {
    registry.register(...createInterBrokerHandlers(zkBroker), ...createControllerApiHandlers(kafkaController));
  }
  markReady();

  if (zkBroker && kafkaController) {
    const broker = zkBroker;
    const active = kafkaController;
    try {
      // Registration makes this broker live: the controller starts sending it requests.
      await broker.start();
      opened.push(() => broker.close());
      await active.startup();
      opened.push(() => active.shutdown());
    } catch (err) {
      return unwind(err);
    }
  }

  const first = registration.endpoints[0]!;
  logger.info('broker started', {
    brokerId,
    clusterId,
    mode: zk ? 'zookeeper' : 'single-node',
    listeners: bound.map((b) => `${b.name}://${b.host}:${b.port}`),
    logDirs: config.logDirs,
  });

  let closing: Promise<void> | null = null;
  return {
    brokerId,
    clusterId,
    host: first.host,
    port: first.port,
    bootstrapServers: registration.endpoints.map((e) => `${e.host}:${e.port}`).join(','),
    listeners: bound,
    config,
    close() {
      closing ??= (async () => {
        // Leadership moves away while this broker still answers the controller's requests.
        if (zkBroker) await zkBroker.controlledShutdown();
        await kafkaController?.shutdown();
        // Parked fetches and joins answer now with what they have, so in-flight requests finish quickly.
        groupCoordinatorFor(services).close();
        purgatory.close();
        await server.stop({ graceMs: options.shutdownGraceMs ?? 5000 });
        await controller.close();
        // Closing the session removes this broker's registration (and /controller if it held it).
        await zk?.close();
        await logManager.close();
        logger.info('broker stopped', { brokerId });
      })();
      return closing;
    },
  };
}
