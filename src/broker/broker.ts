/**
 * Assembles a broker: configuration, storage, the controller (embedded for a
 * single node), the replica manager, the API handlers and the socket server.
 * `startBroker` is both what `ganglion server-start` runs and the library API
 * for embedding a broker in another program's tests.
 */
import { loadBrokerConfig, topicConfigError, type BrokerConfig } from '../config/index.js';
import { EmbeddedController } from '../controller/embedded-controller.js';
import type { BrokerRegistration } from '../controller/types.js';
import { createLogger, type Logger, type LogLevel } from '../logging.js';
import { SocketServer, type BoundListener } from '../network/index.js';
import { decompressAsync } from '../protocol/records/index.js';
import { LogManager } from '../storage/index.js';
import { HandlerRegistry } from './handler-registry.js';
import { registerHandlers } from './handlers/index.js';
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
  if (config.zookeeper) {
    throw new Error('zookeeper.connect is set, but cluster mode is not available yet: remove it to run a single-node broker');
  }
  const brokerId = config.brokerId < 0 ? 0 : config.brokerId;

  const logManager = await LogManager.open(config.logDirs, logConfigFor(config), {
    retentionCheckIntervalMs: config.get('log.retention.check.interval.ms'),
    flushCheckIntervalMs: config.get('log.flush.scheduler.interval.ms'),
    recoveryPointCheckpointIntervalMs: config.get('log.flush.offset.checkpoint.interval.ms'),
    logStartOffsetCheckpointIntervalMs: config.get('log.flush.start.offset.checkpoint.interval.ms'),
    recoveryThreadsPerDataDir: config.get('num.recovery.threads.per.data.dir'),
    logger: logger.child({ component: 'storage' }),
    decompress: decompressAsync,
    cleaner: cleanerConfigFor(config),
  });

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
    await logManager.close();
    throw err;
  }

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

  let controller: EmbeddedController;
  try {
    controller = await EmbeddedController.open({
      broker: registration,
      metadataDir: config.logDirs[0]!,
      numPartitions: config.get('num.partitions'),
      defaultReplicationFactor: config.get('default.replication.factor'),
      deleteTopicEnable: config.get('delete.topic.enable'),
      validateTopicConfigs: (configs) => topicConfigError(configs, config),
      delegate: replicaManager,
    });
  } catch (err) {
    await server.stop({ graceMs: 0 });
    await logManager.close();
    throw err;
  }

  const services: BrokerServices = { brokerId, config, controller, replicaManager, logManager, registry, logger };
  registerHandlers(registry, services);
  markReady();

  const first = registration.endpoints[0]!;
  logger.info('broker started', {
    brokerId,
    clusterId: controller.clusterId,
    listeners: bound.map((b) => `${b.name}://${b.host}:${b.port}`),
    logDirs: config.logDirs,
  });

  let closing: Promise<void> | null = null;
  return {
    brokerId,
    clusterId: controller.clusterId,
    host: first.host,
    port: first.port,
    bootstrapServers: registration.endpoints.map((e) => `${e.host}:${e.port}`).join(','),
    listeners: bound,
    config,
    close() {
      closing ??= (async () => {
        // Parked fetches and joins answer now with what they have, so in-flight requests finish quickly.
        groupCoordinatorFor(services).close();
        purgatory.close();
        await server.stop({ graceMs: options.shutdownGraceMs ?? 5000 });
        await controller.close();
        await logManager.close();
        logger.info('broker stopped', { brokerId });
      })();
      return closing;
    },
  };
}
